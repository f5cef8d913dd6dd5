/* Why a process ended: the cause of a result, most specific first, and its name. */
#include <signal.h>
#include <string.h>

#include "sandbox/sandbox.h"

static const char *const cause_names[] = {
#define SBX_X(name, wire) [SBX_CAUSE_##name] = wire,
    SBX_CAUSE_MAP(SBX_X)
#undef SBX_X
};

const char *sbx_cause_name(enum sbx_cause c)
{
    return (unsigned)c < SBX_CAUSE__COUNT ? cause_names[c] : "none";
}

int sbx_cause_from_name(const char *name)
{
    for (int i = 0; name && i < SBX_CAUSE__COUNT; i++)
        if (!strcmp(cause_names[i], name))
            return i;
    return -1;
}

enum sbx_cause sbx_result_cause(const struct sbx_result *r)
{
    if (r->seccomp_nr >= 0)
        return SBX_CAUSE_SECCOMP;
    if (r->output_exceeded)
        return SBX_CAUSE_OUTPUT;
    bool clean_exit = r->exited && !r->term_signal && r->exit_code == 0;
    if (r->oom_killed && !clean_exit)
        return SBX_CAUSE_MEMORY;
    if (r->cpu_exceeded || r->term_signal == SIGXCPU)
        return SBX_CAUSE_CPU;
    if (r->wall_exceeded)
        return SBX_CAUSE_WALL;
    if (r->killed_on_request && (!r->exited || r->term_signal == SIGKILL))
        return SBX_CAUSE_KILLED;
    if (r->term_signal == SIGXFSZ)
        return SBX_CAUSE_FILE_SIZE;
    if (r->cancelled)
        return SBX_CAUSE_CANCELLED;
    return SBX_CAUSE_NONE;
}
