/* Sandbox results to classify, for the unit tests of runner/result.c and
 * service/result_json.c. */
#ifndef SB_TESTS_RESULT_FIXTURE_H
#define SB_TESTS_RESULT_FIXTURE_H

#include <signal.h>
#include <string.h>

#include "sandbox/sandbox.h"

static const struct sbx_limits lim = {
    .wall_ms = 2000, .cpu_ms = 1000, .memory_kb = 262144, .disk_kb = 65536,
    .output_bytes = 1048576, .file_size_kb = 1024, .stack_kb = 8192, .processes = 64,
    .open_files = 256, .cpu_percent = 100,
};

/* A program that ran and exited with code. */
static inline struct sbx_result exited(int code)
{
    struct sbx_result r;
    memset(&r, 0, sizeof r);
    r.exited = true;
    r.exit_code = code;
    r.seccomp_nr = -1;
    return r;
}

static inline struct sbx_result signalled(int sig)
{
    struct sbx_result r = exited(0);
    r.term_signal = sig;
    return r;
}

/* Killed by the supervisor before the agent saw an exit. */
static inline struct sbx_result killed(void)
{
    struct sbx_result r = exited(0);
    r.exited = false;
    r.term_signal = SIGKILL;
    return r;
}

#endif
