/* A sandbox's network namespace made ready for egress: routes, rules and SoulBox's sockets inside it. */
#ifndef SB_NET_NETNS_H
#define SB_NET_NETNS_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* Where, inside every sandbox's namespace, SoulBox listens: connections
 * and DNS queries are redirected there (ports below 1024: the sandbox's
 * unprivileged uid can never bind them itself). */
#define NETNS_PROXY_PORT 1
#define NETNS_DNS_PORT 53

/* Sockets created inside the namespace (they stay in it wherever they are
 * used from); -1 where IPv6 is not available. */
struct netns_fds {
    int nft;          /* NETLINK_NETFILTER: rules and learned addresses */
    int nflog;        /* NFLOG group NFT_LOG_GROUP: refused packets */
    int tcp4, tcp6;   /* the proxy's listeners */
    int udp4, udp6;   /* the resolver's sockets */
};

/* Opens the host's namespace for netns_plumb to come back to (once, at
 * start, on the thread that starts the server). */
int netns_init(struct sb_error *err);
/* On the calling thread: enters the namespace of pidfd, brings lo up, routes
 * every address to it, installs the table (nft.h) and opens the sockets,
 * then returns to the host's namespace. Returns 0, or -1 with err (the
 * descriptors opened so far are closed). */
int netns_plumb(int pidfd, struct netns_fds *out, struct sb_error *err);
void netns_fds_close(struct netns_fds *f);

#endif
