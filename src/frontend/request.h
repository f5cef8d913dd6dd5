/* Execute requests: JSON body -> a validated, owned request (pure; fuzzed and unit-tested). */
#ifndef SB_SERVER_REQUEST_H
#define SB_SERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/error.h"
#include "config/config.h"
#include "runner/job.h"
#include "runner/limits.h"

struct exec_req {
    const struct lang *lang;
    struct job_file *files;      /* owned names and contents; files[0] is the entry point */
    size_t nfiles;
    char *stdin_data;            /* NULL: no stdin */
    size_t stdin_len;
    char **args;
    size_t nargs;
    char **env;                  /* "KEY=VALUE" */
    size_t nenv;
    struct sbx_limits limits;    /* resolved against the config */
    struct job_case *cases;      /* test_cases (owned strings) */
    size_t ncases;
    char *callback_url;          /* async only */
    char code_sha256[65];        /* of `code`, or of the files (name NUL content NUL ...) */
    char *limits_json;           /* the resolved limits, for the store and the audit */
    bool interactive;            /* stdin stays open (WebSocket, gRPC Interact) */
};

/* How the result travels: one response, later by id, as a stream of events,
 * or as a stream with stdin typed while it runs. */
enum req_kind { REQ_SYNC, REQ_ASYNC, REQ_STREAM, REQ_INTERACTIVE };

/* "sync", "async", "stream", "interactive" (the executions' `mode`). */
const char *req_kind_name(enum req_kind kind);

/* Parses and validates body (JSON). Unknown fields, wrong types, bad file
 * names, limits above the config maximum and the like fail with err naming
 * the field (SB_E_INVALID_ARGUMENT, SB_E_LIMIT_EXCEEDS_MAX, SB_E_UNKNOWN_LANGUAGE).
 * Returns 0 or -1. On failure nothing needs freeing. */
int exec_req_parse(const char *body, size_t len, const struct sb_config *cfg, enum req_kind kind,
                   struct exec_req *out, struct sb_error *err);
/* The same from a parsed JSON object (a WebSocket message without its "type"). */
int exec_req_from_json(json_t *root, const struct sb_config *cfg, enum req_kind kind,
                       struct exec_req *out, struct sb_error *err);
void exec_req_free(struct exec_req *r);

/* The job request view of r (pointers into r). */
void exec_req_job(const struct exec_req *r, struct job_request *jr);

#endif
