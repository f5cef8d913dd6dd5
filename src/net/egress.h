/* Sandbox egress: the thread that proxies allowed connections, answers DNS and audits refusals. */
#ifndef SB_NET_EGRESS_H
#define SB_NET_EGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/error.h"
#include "net/netns.h"
#include "net/policy.h"

/*
 * A network-enabled sandbox has no route out of its namespace: every TCP
 * connection it opens is redirected to a listener SoulBox holds inside the
 * namespace, and every DNS query to SoulBox's resolver there (netns.h,
 * nft.h). The kernel refuses at once what the policy does not allow; what it
 * lets through reaches this thread, which checks the destination again
 * (policy.h), connects from the host to it and relays the bytes, counted and
 * shaped. The resolver answers allowed names only, and what it answers is
 * what the sandbox may then connect to, until the TTL ends.
 */

struct net_limits {
    uint64_t up_bps, down_bps;  /* bytes per second each way, 0: unlimited */
    uint32_t max_connections;   /* at once, 0: unlimited */
    uint64_t max_bytes;         /* sent + received over the sandbox's life, 0: unlimited */
};

struct net_stats {
    uint64_t bytes_sent, bytes_received;
    uint32_t connections;       /* relayed */
    uint32_t refused;           /* refused connections and packets */
};

#define NET_MAX_DNS 4
struct net_engine_cfg {
    const struct net_policy *policy;   /* the config's (copied) */
    struct sockaddr_storage dns[NET_MAX_DNS];   /* upstream resolvers */
    size_t n_dns;
    uint32_t connect_timeout_ms;
    uint32_t dns_timeout_ms;
    /* Audit of a refusal or a limit reached; called on the egress thread. */
    void (*audit)(void *arg, const char *tag, const char *event, const char *detail);
    void *audit_arg;
};

struct net_engine;
struct net_box;

/* Starts the egress thread. Returns 0 or -1 with err. */
int net_engine_start(struct net_engine **out, const struct net_engine_cfg *cfg,
                     struct sb_error *err);
/* Stops it once every box is closed; frees it. */
void net_engine_stop(struct net_engine *ne);
/* The config's policy (for requests to narrow). */
const struct net_policy *net_engine_policy(const struct net_engine *ne);

/* On any thread, inside nothing: plumbs the namespace of pidfd (netns.h) and
 * installs the config's deny entries and the reserved and host ranges. */
int net_engine_plumb(struct net_engine *ne, int pidfd, struct netns_fds *out,
                     struct sb_error *err);

/* Gives a plumbed sandbox its policy (installed before this returns) and
 * limits; fds move into the box. tag names the sandbox in the audit.
 * Returns NULL with err (fds closed). Loop thread of the caller. */
struct net_box *net_box_open(struct net_engine *ne, struct netns_fds *fds,
                             const struct net_policy *policy, const struct net_limits *lim,
                             const char *tag, struct sb_error *err);
void net_box_stats(struct net_box *b, struct net_stats *st);
/* Closes every connection of the box and frees it (on the egress thread). */
void net_box_close(struct net_box *b);

/* Parses a resolver "IP" or "IP:port" / "[IPv6]:port" (port 53 if none). */
int net_parse_resolver(const char *s, struct sockaddr_storage *out, struct sb_error *err);
/* The nameservers of /etc/resolv.conf (at most max). */
size_t net_system_resolvers(struct sockaddr_storage *out, size_t max);

#endif
