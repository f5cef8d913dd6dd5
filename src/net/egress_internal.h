/* Internals of the egress thread shared by egress.c (boxes, refusals), proxy.c (TCP) and resolver.c (DNS). */
#ifndef SB_NET_EGRESS_INTERNAL_H
#define SB_NET_EGRESS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#include "common/list.h"
#include "net/dnsmsg.h"
#include "net/egress.h"

struct net_engine {
    struct net_engine_cfg cfg;
    struct net_policy policy;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t wake;
    pthread_mutex_t mu;
    struct list_node inbox_open, inbox_close;   /* boxes, under mu */
    bool stopping;
};

/* What the resolver gave out: addr may be reached on ports until expires. */
struct learned {
    int family;
    uint8_t addr[16];
    struct net_ports ports;      /* n == 0: every port */
    uint64_t expires_ms;
};

#define BOX_MAX_LEARNED 1024
#define BOX_MAX_PENDING 64
#define BOX_AUDIT_MAX 50         /* refusals audited one by one, then counted */

struct dns_pending {
    bool used;
    uint16_t id, client_id;
    int client_fd;               /* the sandbox-side socket the query came on */
    struct sockaddr_storage client;
    socklen_t client_len;
    uint8_t query[512];
    size_t query_len;
    struct dns_query q;
    size_t server;               /* index into cfg.dns */
    uint64_t deadline_ms;
    struct net_ports ports;
};

struct bucket {
    uint64_t rate;               /* bytes/s, 0: unlimited */
    double tokens;
    uint64_t last_ns;
};

struct net_box {
    struct net_engine *ne;
    struct list_node node;       /* in an inbox until the thread takes it */
    struct netns_fds fds;
    struct net_policy policy;
    struct net_limits lim;
    char tag[80];
    /* handles on the egress thread */
    uv_poll_t tcp4, tcp6, udp4, udp6, nflog, upstream;
    int upstream_fd;             /* host-side socket to the resolvers */
    int upstream_family;
    uv_timer_t dns_timer;
    unsigned open_handles;
    bool started, closing;
    struct list_node conns;
    unsigned nconns;
    struct bucket up, down;
    struct learned *learned;
    size_t nlearned;
    struct dns_pending pending[BOX_MAX_PENDING];
    pthread_mutex_t nflog_mu;
    pthread_mutex_t audit_mu;    /* audited, unaudited */
    unsigned audited;
    uint64_t unaudited;
    struct net_hostaddrs host;
    /* read by the caller's thread */
    _Atomic uint64_t bytes_sent, bytes_received;
    _Atomic uint32_t connections, refused;
};

uint64_t egress_now_ms(void);
void egress_handle_closed(uv_handle_t *h);
/* An audit record of the box (the first BOX_AUDIT_MAX one by one, then
 * counted). */
void egress_audit(struct net_box *b, const char *detail);
/* A refused connection or packet: counted and audited. */
void egress_refused(struct net_box *b, const char *what, int family, const uint8_t *addr,
                    uint16_t port, const char *why);
const char *egress_verdict_name(enum net_verdict v);
/* Whether the resolver gave addr out for port (and it has not expired). */
bool egress_learned(struct net_box *b, int family, const uint8_t *addr, uint16_t port);
void egress_learn(struct net_box *b, int family, const uint8_t *addr,
                  const struct net_ports *ports, uint32_t ttl_s);

/* proxy.c */
void proxy_accept(uv_poll_t *h, int status, int events);
void proxy_close_all(struct net_box *b);
/* Tokens of a bucket for len bytes: how many may go now. */
size_t bucket_take(struct bucket *k, size_t len);

/* resolver.c */
int resolver_open(struct net_box *b, struct sb_error *err);
void resolver_query(uv_poll_t *h, int status, int events);
void resolver_answer(uv_poll_t *h, int status, int events);
void resolver_tick(uv_timer_t *t);

#endif
