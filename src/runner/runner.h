/* The runner's context (engine, config, compile cache, pools) and what every run of a language gets. */
#ifndef SB_RUNNER_RUNNER_H
#define SB_RUNNER_RUNNER_H

#include <stddef.h>

#include "config/config.h"
#include "runner/cache.h"
#include "runner/lang.h"
#include "sandbox/sandbox.h"

struct flight;
struct pools;

struct runner {
    struct sbx_engine *engine;
    const struct sb_config *cfg;
    struct compile_cache *cache;   /* NULL: every compile runs */
    struct flight *flights;        /* compiles in progress, shared by identical requests */
    struct pools *pools;           /* NULL: every run starts cold */
};

/* Starts the egress thread when the config enables network access (else
 * *out = NULL). audit runs on that thread. Returns 0 or -1 with err. */
int runner_net_start(const struct sb_config *cfg,
                     void (*audit)(void *arg, const char *tag, const char *event,
                                   const char *detail),
                     void *arg, struct net_engine **out, struct sb_error *err);
/* A sandbox's egress limits from the config. */
void runner_net_limits(const struct sb_config *cfg, struct net_limits *out);
/* A request's allow list (n == 0: all the config allows) narrowed against
 * the config into *out: 0, or -1 with err (400) naming the entry. */
int runner_net_narrow(const struct sb_config *cfg, const char *const *allow, size_t n,
                      struct net_policy *out, struct sb_error *err);

/* The sandbox engine's settings from the config (pointers into cfg). */
void runner_engine_cfg(const struct sb_config *cfg, struct sbx_engine_cfg *out);

/* The environment a language's programs get before the request's own
 * variables (appended to *env, a NULL-terminated list; free with argv_free). */
int runner_lang_env(const struct lang *l, char ***env, size_t *n);

/* Appends KEY=VALUE to an env list (NULL-terminated, *n entries), replacing
 * an earlier entry with the same key. 0, or -1 without memory. */
int runner_env_put(char ***env, size_t *n, const char *kv);

#endif
