/* Share links for the playground: a validated program (and, optionally, a finished execution's result) kept under an unguessable id. */
#ifndef SB_SERVICE_SHARE_H
#define SB_SERVICE_SHARE_H

#include <jansson.h>
#include <stdint.h>

#include "common/error.h"
#include "config/config.h"
#include "runner/lang.h"
#include "service/gate.h"

struct service;

/* A share to make, validated. */
struct share_req {
    json_t *doc;               /* language (its canonical name), code or files, stdin, args,
                                  limits, test_cases (null when absent); owned */
    char execution_id[40];     /* whose result to copy, "" when none */
    char language[64];
    char code_sha256[65];
};

/* Validates a POST /api/shares body: the execute request's rules (language,
 * code or files, stdin, args, limits, test_cases) plus execution_id; unknown
 * fields are refused. 0, or -1 with err naming the field (invalid_argument,
 * limit_exceeds_max, unknown_language). On failure nothing needs freeing. */
int share_req_parse(json_t *body, const struct sb_config *cfg, const struct lang_registry *langs,
                    struct share_req *out, struct sb_error *err);
void share_req_free(struct share_req *r);

/* id: the new share's (22 url-safe characters, 128 random bits). */
typedef void (*share_made_cb)(void *arg, int rc, const struct sb_error *err, const char *id,
                              uint64_t created_ms);
/* Makes a share for `who` from req (taken over, also on failure). With an
 * execution_id the execution must be one `who` may see (else not_found:
 * "execution_id: no such execution") and finished (else conflict); its
 * result is copied in. Recorded (the oldest beyond server.max_shares go) and
 * audited as share_created, then cb. */
void share_create(struct service *s, const struct caller *who, struct share_req *req,
                  share_made_cb cb, void *arg);

/* share: {"id", "created", the document's fields, "result"} (the callee owns
 * it), or NULL when there is no share id. */
typedef void (*share_read_cb)(void *arg, int rc, const struct sb_error *err, json_t *share);
/* Reads share id; anyone past the gate may (the id is the capability). */
void share_read(struct service *s, const char *id, share_read_cb cb, void *arg);

/* Whether id could be a share's id (its alphabet and length), so that
 * anything else is not found without asking the store. */
bool share_id_ok(const char *id);

#endif
