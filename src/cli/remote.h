/* What the CLI's client commands (exec, run --remote, sandbox) share. */
#ifndef SB_CLI_REMOTE_H
#define SB_CLI_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/http_client.h"
#include "client/sse.h"

/* hc_init with the key from key or $SOULBOX_API_KEY; CLI_EXIT_USAGE after
 * printing why, else 0. timeout_ms 0 keeps the default. */
int remote_client(struct hc_client *c, const char *url, const char *key, uint64_t timeout_ms);

/* Prints an error answer ("soulbox: HTTP 404 not_found: ..."); returns the
 * exit code for it (2 for a bad request, 125 otherwise). */
int remote_failed(const struct hc_response *res);

/* soulbox's exit code for an execution's (or command's) result JSON,
 * printing its status line to stderr unless quiet (see soulbox run). */
int remote_report(json_t *res, bool quiet);

/* Output streamed as Server-Sent Events (an execution's or a command's):
 * stdout and stderr events are written to fds 1 and 2 as they come; the exit
 * event's JSON is kept in result. */
struct remote_stream {
    struct sse_parser sse;
    json_t *result; /* the exit event's, or NULL */
    bool bad;       /* an event was not JSON: the stream was stopped */
};

void remote_stream_init(struct remote_stream *st);
/* An hc_body_fn: pass it with the stream as its arg. */
int remote_stream_body(void *arg, const char *data, size_t len);
void remote_stream_free(struct remote_stream *st);

#endif
