/* The JSON events of streamed executions, shared by WebSocket and SSE:
 * started, stdout/stderr (UTF-8 text, never a character split in two),
 * exit (the full result) and error. */
#ifndef SB_FRONTEND_EVENTS_H
#define SB_FRONTEND_EVENTS_H

#include <jansson.h>
#include <stddef.h>

#include "common/error.h"
#include "runner/result.h"

/* Bytes of a character split across output chunks, per stream. */
struct text_carry {
    char b[2][4];
    size_t n[2];
};

json_t *event_started(const char *id);
/* {"type":"stdout"|"stderr","data":...} for a chunk (stream 1 or 2), holding
 * back an incomplete trailing character for the next chunk; NULL when there
 * is nothing to send yet. Invalid bytes become U+FFFD, as in results. */
json_t *event_output(struct text_carry *tc, int stream, const char *data, size_t len);
/* Whatever is held back at the end (an incomplete character: U+FFFD), or NULL. */
json_t *event_output_flush(struct text_carry *tc, int stream);
/* {"type":"exit", ...the result's fields, "id"}. */
json_t *event_exit(const struct job_result *res, const char *id);
/* {"type":"error","error":{"code":...,"message":...}}. */
json_t *event_error(enum sb_code code, const char *message);

/* Length of data without an incomplete UTF-8 sequence at its end. */
size_t event_utf8_prefix(const char *data, size_t len);

#endif
