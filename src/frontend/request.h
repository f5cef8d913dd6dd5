/* Execute requests: JSON body -> a validated, owned request (pure; fuzzed and unit-tested). */
#ifndef SB_FRONTEND_REQUEST_H
#define SB_FRONTEND_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "net/policy.h"

#include "common/error.h"
#include "config/config.h"
#include "runner/lang.h"
#include "runner/limits.h"
#include "service/exec_req.h"

/* Parses and validates body (JSON). Unknown fields, wrong types, bad file
 * names, limits above the config maximum and the like fail with err naming
 * the field (SB_E_INVALID_ARGUMENT, SB_E_LIMIT_EXCEEDS_MAX, SB_E_UNKNOWN_LANGUAGE).
 * Returns 0 or -1. On failure nothing needs freeing. */
int exec_req_parse(const char *body, size_t len, const struct sb_config *cfg,
                   const struct lang_registry *langs, enum req_kind kind, struct exec_req *out,
                   struct sb_error *err);
/* The same from a parsed JSON object (a WebSocket message without its "type"). */
int exec_req_from_json(json_t *root, const struct sb_config *cfg,
                       const struct lang_registry *langs, enum req_kind kind,
                       struct exec_req *out, struct sb_error *err);

/* Why a request's file name is refused (a static text to follow the name),
 * or NULL when it is fine. */
const char *request_file_name_why(const char *name);

/* A compat API's compile-stage limits (a compile_limits object, SoulBox's
 * names) made acceptable: one at or above the stage's own is dropped (the
 * stage keeps its own), one below the minimum raised to it; all of them for
 * a language without a compile stage. (The compile_limits field itself
 * refuses what is higher.) */
void request_compile_limits_within(const struct sb_config *cfg, const struct lang *l,
                                   json_t *compile);

/* "isolation": "namespaces" | "microvm" (absent / null: sandbox.isolation).
 * 400 for another value, or microvm when the server does not allow it. */
int request_isolation(json_t *v, const struct sb_config *cfg, enum sbx_isolation *out,
                      struct sb_error *err);
/* "network": {"enabled": bool, "allow": [entries]} (or absent / null /
 * false: none). *out gets the policy narrowed against the config (owned:
 * net_policy_free then free), or NULL when the request has no network.
 * 400 when the server does not allow network or an entry is not allowed. */
int request_network(json_t *v, const struct sb_config *cfg, struct net_policy **out,
                    struct sb_error *err);

#endif
