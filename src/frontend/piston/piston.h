/* Piston v2's wire protocol (../shared/compat/piston-v2.md) on the main port, over the service's executions. */
#ifndef SB_FRONTEND_PISTON_PISTON_H
#define SB_FRONTEND_PISTON_PISTON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "frontend/rest/rest_internal.h"
#include "service/lang_probe.h"

/* Routes (compat.piston): GET /api/v2/runtimes, POST /api/v2/execute,
 * GET /api/v2/connect (WebSocket), GET|POST|DELETE /api/v2/packages. */
void piston_runtimes(struct rest_call *rc);
void piston_execute(struct rest_call *rc);
void piston_connect(struct rest_call *rc);
void piston_packages(struct rest_call *rc);
void piston_packages_change(struct rest_call *rc);

/* Answers a path under /api/v2/ that no route has, as Piston does (404
 * {"message":"Not Found"}). true: answered (compat.piston is on). */
bool piston_claims_unknown(struct rest_call *rc);

/* Replies {"message": msg} with status. */
void piston_reply_message(struct rest_call *rc, int status, const char *msg);

/* ---- runtimes (piston_lang.c) ---- */

/* One runtime as Piston names it. */
struct piston_rt {
    const struct lang *lang;
    const char *name;              /* Piston's canonical language name */
    const char *runtime;           /* the package providing several languages, or NULL */
    const char *const *aliases;    /* Piston's aliases (NULL-terminated) */
    char version[32];              /* strict MAJOR.MINOR.PATCH */
    long v[3];
};

/* The available runtimes (probed) in load order; *n set. Caller frees. */
struct piston_rt *piston_runtimes_list(const struct lang_probe *p, size_t *n);
/* [{language, version, aliases[, runtime]}...]. */
json_t *piston_runtimes_json(const struct piston_rt *rts, size_t n);
/* The runtime named `language` (name or alias, exact) whose version is the
 * highest satisfying the semver range `version`, or NULL. */
const struct piston_rt *piston_resolve(const struct piston_rt *rts, size_t n,
                                       const char *language, const char *version);
/* probe output "8.7" -> "8.7.0", "2.16.01" -> "2.16.1", "25" -> "25.0.0"; false if no
 * number found. */
bool piston_semver(const char *probe, char *out, size_t len, long v[3]);
/* node-semver range satisfaction for a release version (no prerelease);
 * an invalid range matches nothing. */
bool piston_range_ok(const char *range, const long v[3]);

/* ---- requests and results (piston_job.c) ---- */

/* A validated Piston execute/init body as the native request JSON (the one
 * service path), plus what the answer needs. */
struct piston_job {
    const struct piston_rt *rt;
    json_t *native;                /* {"language", "files", "stdin", "args", "limits"} */
};

/* Validates body in Piston's order; 0 with job filled, or -1 with msg (the
 * 400 message). interactive: stdin ignored (WebSocket init). */
int piston_job_build(json_t *body, const struct piston_rt *rts, size_t nrts,
                     const struct sb_config *cfg, bool interactive, struct piston_job *job,
                     char *msg, size_t msglen);

struct job_result;
struct stage_result;
struct sb_buf;
/* A stage object (10 keys); output: the run's interleaved output, or NULL
 * (stdout then stderr). */
json_t *piston_stage_json(const struct stage_result *st, const struct sb_buf *output);
/* code and signal of a stage as Piston reports them (WebSocket exit). */
void piston_stage_code(const struct stage_result *st, json_t **code, json_t **signal);
/* The execute answer {language, version[, compile], run}. */
json_t *piston_result_json(const struct piston_rt *rt, const struct job_result *res,
                           const struct sb_buf *output);
/* SIGKILL -> 9 (table of 4.5), or -1. */
int piston_signal_number(const char *name);

#endif
