/* An incremental parser of Server-Sent Events (the WHATWG event stream
 * format): fed bytes as they arrive, it calls back once per event. */
#ifndef SB_CLIENT_SSE_H
#define SB_CLIENT_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define SSE_MAX_EVENT (64u << 20) /* one event's data; more fails the stream */

/* event is "message" when the stream named none; data has its lines joined
 * by '\n' and is NUL-terminated. Returns < 0 to stop. */
typedef int (*sse_event_fn)(void *arg, const char *event, const char *data, size_t len);

struct sse_parser {
    sse_event_fn on_event;
    void *arg;
    struct sb_buf line, data;
    char event[64];
    bool has_data, after_cr;
};

void sse_init(struct sse_parser *p, sse_event_fn fn, void *arg);
/* 0, or -1 when the callback stopped or the stream is malformed or too large. */
int sse_feed(struct sse_parser *p, const char *buf, size_t n);
void sse_free(struct sse_parser *p);

#endif
