/* Resource limits of the sandboxed program: the table the host builds and the agent applies. */
#include "sandbox/rlimits.h"

#include <errno.h>
#include <sys/resource.h>

static void put(struct plan_rlimit *out, uint32_t *n, int res, uint64_t cur, uint64_t max)
{
    out[*n].resource = (uint32_t)res;
    out[*n].cur = cur;
    out[*n].max = max;
    (*n)++;
}

uint32_t rlimits_build(const struct rlimits_spec *s, struct plan_rlimit *out)
{
    uint32_t n = 0;
    /* RLIMIT_CPU counts whole seconds per process: a backstop one second past
     * the limit, the cgroup-wide CPU poll is what enforces it. */
    if (s->cpu_ms) {
        uint64_t cpu_s = (s->cpu_ms + 999) / 1000 + 1;
        put(out, &n, RLIMIT_CPU, cpu_s, cpu_s + 1);
    } else { /* a session's process: its time is the session's */
        put(out, &n, RLIMIT_CPU, RLIM_INFINITY, RLIM_INFINITY);
    }
    uint64_t fsize = s->file_size_kb * 1024;
    put(out, &n, RLIMIT_FSIZE, fsize, fsize);
    put(out, &n, RLIMIT_NOFILE, s->open_files, s->open_files);
    uint64_t stack = s->stack_kb ? s->stack_kb * 1024 : RLIM_INFINITY;
    put(out, &n, RLIMIT_STACK, stack, stack);
    put(out, &n, RLIMIT_NPROC, s->processes, s->processes);
    put(out, &n, RLIMIT_CORE, 0, 0);
    put(out, &n, RLIMIT_MEMLOCK, 64 * 1024, 64 * 1024);
    put(out, &n, RLIMIT_MSGQUEUE, 0, 0);
    return n;
}

static const char *res_name(uint32_t r)
{
    switch (r) {
    case RLIMIT_CPU:      return "RLIMIT_CPU";
    case RLIMIT_FSIZE:    return "RLIMIT_FSIZE";
    case RLIMIT_NOFILE:   return "RLIMIT_NOFILE";
    case RLIMIT_STACK:    return "RLIMIT_STACK";
    case RLIMIT_NPROC:    return "RLIMIT_NPROC";
    case RLIMIT_CORE:     return "RLIMIT_CORE";
    case RLIMIT_MEMLOCK:  return "RLIMIT_MEMLOCK";
    case RLIMIT_MSGQUEUE: return "RLIMIT_MSGQUEUE";
    default:              return "rlimit";
    }
}

int rlimits_apply(const struct plan_exec *e, const char **what)
{
    for (uint32_t i = 0; i < e->n_rlimits; i++) {
        const struct plan_rlimit *r = &e->rlimits[i];
        struct rlimit rl = {r->cur, r->max};
        if (setrlimit((int)r->resource, &rl) < 0) {
            *what = res_name(r->resource);
            return -errno;
        }
    }
    return 0;
}
