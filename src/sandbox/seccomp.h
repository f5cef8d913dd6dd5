/* Host side: the seccomp policy, compiled with libseccomp into a BPF program for the agent. */
#ifndef SB_SANDBOX_SECCOMP_H
#define SB_SANDBOX_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct seccomp_prog {
    uint8_t *bpf;       /* struct sock_filter[] */
    uint32_t len;       /* bytes */
    bool notify;        /* kill-listed calls return USER_NOTIF: load with a listener */
};

/*
 * Compiles the policy. With allowed == NULL (n_allowed 0) the filter allows
 * everything but the deny table; otherwise it is default-deny with `allowed`
 * plus the few calls the agent itself needs after loading it. Either way the
 * deny table's errno rules apply, foreign ABIs (x32, i386) kill the process,
 * and kill-listed calls are reported by name through the agent.
 * Returns 0 or -1 with err set.
 */
int seccomp_compile(const char *const *allowed, size_t n_allowed,
                    struct seccomp_prog *out, struct sb_error *err);

/* As seccomp_compile, with the kill-list action chosen by the caller
 * (notify: report through the agent; otherwise SECCOMP_RET_KILL_PROCESS). */
int seccomp_compile_mode(const char *const *allowed, size_t n_allowed, bool notify,
                         struct seccomp_prog *out, struct sb_error *err);

/* Whether this kernel offers SECCOMP_RET_USER_NOTIF. */
bool seccomp_notify_supported(void);
void seccomp_prog_free(struct seccomp_prog *p);

/* Checks an allowed_syscalls list: every name must be a known x86_64 syscall
 * and none may be one SoulBox always denies. Returns 0 or -1 with err set. */
int seccomp_validate_allowlist(const char *const *names, size_t n, struct sb_error *err);

/* Name of syscall nr on the audit arch (e.g. "ptrace"), or "syscall <nr>". */
const char *seccomp_syscall_name(int nr, uint32_t arch, char *buf, size_t len);

#endif
