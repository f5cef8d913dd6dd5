/* Agent side: drop to the sandbox's unprivileged uid/gid with no capabilities. */
#ifndef SB_SANDBOX_CREDS_H
#define SB_SANDBOX_CREDS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Clears the capability bounding and ambient sets, supplementary groups,
 * switches real/effective/saved uid and gid, verifies that no capability
 * survived, and sets no_new_privs. Returns 0 or -errno with why set.
 */
int creds_drop(uint32_t uid, uint32_t gid, char *why, size_t whylen);

/* Loads a seccomp BPF program (struct sock_filter[], len bytes). With
 * want_listener, returns the user-notification fd (>= 0); otherwise 0.
 * Requires no_new_privs. Returns -errno with why set on failure. */
int creds_load_seccomp(const void *bpf, uint32_t len, int want_listener,
                       char *why, size_t whylen);

#endif
