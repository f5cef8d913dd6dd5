/* An execution request as the service takes it: typed, validated, owned (front ends decode into it). */
#ifndef SB_SERVICE_EXEC_REQ_H
#define SB_SERVICE_EXEC_REQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "runner/job.h"

struct exec_req {
    const struct lang *lang;
    struct job_file *files;      /* owned names and contents; files[0] is the entry point */
    size_t nfiles;
    char *stdin_data;            /* NULL: no stdin */
    size_t stdin_len;
    char **args;
    size_t nargs;
    char **compile_args;         /* the compiler's, before the sources (compiled languages) */
    size_t ncompile_args;
    struct job_compile_limits compile_limits;  /* lower than the compile stage's own; 0: its own */
    char **env;                  /* "KEY=VALUE" */
    size_t nenv;
    struct sbx_limits limits;    /* resolved against the config */
    struct job_case *cases;      /* test_cases (owned strings) */
    size_t ncases;
    char *callback_url;          /* async only */
    char code_sha256[65];        /* of `code`, or of the files (name NUL content NUL ...) */
    char *limits_json;           /* the resolved limits, for the store and the audit */
    bool interactive;            /* stdin stays open (WebSocket, gRPC Interact) */
    char **return_files;         /* patterns (NULL-terminated), or NULL */
    size_t nreturn_files;
    struct net_policy *net_policy; /* egress (owned), or NULL: none */
    enum sbx_isolation isolation;
    json_t *source;              /* the request as the API took it (a reference), for the
                                    node that takes it from a cluster's queue; or NULL */
};

/* How the result travels: one response, later by id, as a stream of events,
 * or as a stream with stdin typed while it runs. */
enum req_kind { REQ_SYNC, REQ_ASYNC, REQ_STREAM, REQ_INTERACTIVE };

/* "sync", "async", "stream", "interactive" (the executions' `mode`). */
const char *exec_req_kind_name(enum req_kind kind);

void exec_req_free(struct exec_req *r);

/* The job request view of r (pointers into r). */
void exec_req_job(const struct exec_req *r, struct job_request *jr);

#endif
