/* Resolving a request's limits against the config's defaults and maximums. */
#ifndef SB_RUNNER_LIMITS_H
#define SB_RUNNER_LIMITS_H

#include <stdint.h>

#include "config/config.h"
#include "runner/lang.h"
#include "sandbox/sandbox.h"

#define LIMIT_UNSET UINT64_MAX

/* Limits asked for, in API units; LIMIT_UNSET fields take the default. */
struct limit_request {
    uint64_t wall_time_ms, cpu_time_ms, memory_mb, disk_mb, processes, output_kb,
        file_size_kb, open_files, stack_kb;
};

void limit_request_init(struct limit_request *r);

/* A request may lower any limit and raise it up to the config's maximum;
 * above it is an error naming the field (prefix + name, e.g. "limits.memory_mb"),
 * never a silent clamp. Returns 0 or -1 with err (SB_E_LIMIT_EXCEEDS_MAX or
 * SB_E_INVALID_ARGUMENT). */
int limits_resolve(const struct sb_config *cfg, const struct lang_limits *lang,
                   const struct limit_request *req, const char *prefix,
                   struct sbx_limits *out, struct sb_error *err);

/* A language's own defaults (JVMs and GHC want more memory and threads) must
 * fit the server's maximums, or the language is unavailable. Returns 0, or -1
 * with why naming the limit and the maximum. */
int limits_check_lang(const struct sb_config *cfg, const struct lang_limits *lang,
                      struct sb_error *err);

/* Limits of the compile stage: the config's, with the language's overrides. */
/* A request's compile_limits (each when set and lower) into a stage's. */
struct job_compile_limits;
void limits_lower_compile(struct sbx_limits *stage, const struct job_compile_limits *req);
void limits_compile(const struct sb_config *cfg, const struct lang_limits *lang,
                    struct sbx_limits *out);

#endif
