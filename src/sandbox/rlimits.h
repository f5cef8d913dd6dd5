/* Resource limits (setrlimit) of a sandboxed program: built by the host, applied by the agent. */
#ifndef SB_SANDBOX_RLIMITS_H
#define SB_SANDBOX_RLIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "sandbox/plan.h"

struct rlimits_spec {
    uint64_t cpu_ms;        /* backstop only; the cgroup poll enforces exactly */
    uint64_t file_size_kb;
    uint64_t open_files;
    uint64_t stack_kb;      /* 0: unlimited */
    uint64_t processes;     /* tasks of the sandbox uid, the agent included */
};

/* Fills out[] (capacity PLAN_MAX_RLIMITS) and returns the count. */
uint32_t rlimits_build(const struct rlimits_spec *s, struct plan_rlimit *out);

/* Applies every rlimit of e (hard and soft). Returns 0 or -errno, naming the
 * failing resource in *what. */
int rlimits_apply(const struct plan_exec *e, const char **what);

#endif
