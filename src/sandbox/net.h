/* Agent side: the sandbox's network namespace (loopback only). */
#ifndef SB_SANDBOX_NET_H
#define SB_SANDBOX_NET_H

#include <stddef.h>

/* Brings "lo" up in the current (new, empty) network namespace.
 * Returns 0 or -errno with why set. */
int net_lo_up(char *why, size_t whylen);

#endif
