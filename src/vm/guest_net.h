/* Guest side of a microVM sandbox's egress: the interface on QEMU's user-mode network and a DNS forwarder on the loopback. */
#ifndef SB_VM_GUEST_NET_H
#define SB_VM_GUEST_NET_H

#include "common/error.h"

/* lo and eth0 up: 10.0.2.15/24 and fd00:50:b0::15/64, default routes via
 * QEMU's gateway. Returns 0 or -1 with err. */
int guest_net_up(struct sb_error *err);
/* UDP listeners on 127.0.0.1:53 and [::1]:53 (where C libraries ask when
 * there is no resolv.conf, as in a namespace sandbox) forwarding to QEMU's
 * resolver. Returns 0 or -1 with err. */
int guest_dns_open(struct sb_error *err);
/* Its descriptors to poll for input (at most 3); the count. */
int guest_dns_fds(int fds[3]);
/* One of them is readable. */
void guest_dns_ready(int fd);

#endif
