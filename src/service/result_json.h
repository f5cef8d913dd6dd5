/* The one place results become JSON: the result object every API returns, and execution views. */
#ifndef SB_SERVICE_RESULT_JSON_H
#define SB_SERVICE_RESULT_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "runner/result.h"
#include "store/store.h"

/* Invalid UTF-8 in data replaced by U+FFFD: returns false (out untouched)
 * when data is valid UTF-8 as it is, else true with the repaired text
 * appended to out. */
bool result_utf8(const char *data, size_t len, struct sb_buf *out);

/* A JSON string for arbitrary bytes: valid UTF-8 is kept, invalid bytes become
 * U+FFFD and *lossy (may be NULL) is set. NULL only if memory is exhausted. */
json_t *result_json_bytes(const char *data, size_t len, bool *lossy);

/* A stage's fields (stdout, stderr, exit_code, execution_time, status,
 * signal, wall_time_ms, cpu_time_ms, memory_kb, truncated[, message]) added
 * to obj, in the brief's order. */
void result_json_stage(const struct stage_result *st, json_t *obj);

/* The result object (OpenAPI `Result`): every field for every result, the
 * compile stage and test cases when there were any. A new reference, or
 * NULL if memory is exhausted. */
json_t *result_json(const struct job_result *r);

/* An execution (OpenAPI `Execution`): its result's fields when it is done,
 * its id, status (queued/running before the end), language, mode, times and
 * callback state. */
json_t *result_json_execution(const struct exec_row *row);

/* {"executions": [...], "next_cursor": "..."|null}. */
json_t *result_json_list(const struct exec_row *rows, size_t n, uint64_t next_cursor);

#endif
