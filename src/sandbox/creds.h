/* Agent side: drop to the sandbox's unprivileged uid/gid with no capabilities. */
#ifndef SB_SANDBOX_CREDS_H
#define SB_SANDBOX_CREDS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Clears the capability bounding and ambient sets, supplementary groups,
 * switches to real uid `uid` with effective and saved uid `agent_uid` (file
 * access stays `uid`'s through the fsuid), real/effective/saved gid `gid`,
 * verifies that no capability survived, and sets no_new_privs. Returns 0 or
 * -errno with why set. The program's process then takes `uid` for all three
 * with creds_become_program().
 */
int creds_drop(uint32_t uid, uint32_t agent_uid, uint32_t gid, char *why, size_t whylen);

/* In the program's process (vfork child: raw syscalls only): real,
 * effective and saved uid all `uid`, the real one. Returns 0 or -errno. */
int creds_become_program(uint32_t uid);

/* Loads a seccomp BPF program (struct sock_filter[], len bytes). With
 * want_listener, returns the user-notification fd (>= 0); otherwise 0.
 * Requires no_new_privs. Returns -errno with why set on failure. */
int creds_load_seccomp(const void *bpf, uint32_t len, int want_listener,
                       char *why, size_t whylen);

#endif
