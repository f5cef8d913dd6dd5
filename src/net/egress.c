/* Sandbox egress: the thread that proxies allowed connections, answers DNS and audits refusals. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/egress_internal.h"
#include "net/nft.h"

uint64_t egress_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *egress_verdict_name(enum net_verdict v)
{
    switch (v) {
    case NET_ALLOW: return "allowed";
    case NET_DENIED: return "denied by the policy";
    case NET_RESERVED: return "a reserved address";
    case NET_HOST_ADDR: return "an address of the host";
    case NET_NOT_ALLOWED: break;
    }
    return "not allowed by the policy";
}

/* ---- the kernel's rules, from a policy ---- */

static size_t add_match(struct nft_match *m, size_t n, size_t max, int family,
                        const uint8_t *addr, unsigned prefix, uint16_t lo, uint16_t hi, bool accept)
{
    if (n >= max)
        return n;
    m[n] = (struct nft_match){.family = family, .prefix = (uint8_t)prefix, .port_lo = lo,
                              .port_hi = hi, .accept = accept};
    memcpy(m[n].addr, addr, family == AF_INET ? 4 : 16);
    return n + 1;
}

static bool is_host(const struct net_hostaddrs *h, const struct net_entry *e)
{
    unsigned full = e->family == AF_INET ? 32 : 128;
    for (size_t i = 0; h && i < h->n && e->prefix == full; i++)
        if (h->a[i].family == e->family && !memcmp(h->a[i].addr, e->addr, full / 8))
            return true;
    return false;
}

/* Inside one reserved range (the policy's notion of "listed explicitly"). */
static bool in_reserved(const struct net_entry *e)
{
    const struct net_entry *r;
    size_t n = net_reserved_ranges(&r);
    for (size_t i = 0; i < n; i++) {
        if (r[i].family != e->family || e->prefix < r[i].prefix)
            continue;
        unsigned bits = r[i].prefix, k = 0;
        for (; k < bits / 8 && r[i].addr[k] == e->addr[k]; k++)
            ;
        if (k < bits / 8)
            continue;
        uint8_t mask = bits % 8 ? (uint8_t)(0xff << (8 - bits % 8)) : 0;
        if (!mask || (e->addr[k] & mask) == r[i].addr[k])
            return true;
    }
    return false;
}

/* explicit: the allowed ranges inside reserved ranges or exactly a host
 * address; else every allowed range. */
static size_t allow_rules(const struct net_policy *p, const struct net_hostaddrs *h,
                          bool explicit, struct nft_match *m, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_allow; i++) {
        const struct net_entry *e = &p->allow[i];
        /* no_host: a request's single address the config only holds inside
         * a wider range never opens an address of the host */
        bool listed = (is_host(h, e) && !e->no_host) || in_reserved(e);
        if (e->kind != NET_CIDR || (explicit && !listed))
            continue;
        n = add_match(m, n, max, e->family, e->addr, e->prefix, e->port_lo, e->port_hi, true);
    }
    return n;
}

static int plumb_rules(struct net_engine *ne, int fd, struct sb_error *err)
{
    struct net_hostaddrs host;
    if (net_hostaddrs_load(&host) < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "the host's addresses");
    const struct net_entry *r;
    size_t nr = net_reserved_ranges(&r);
    size_t MAX = ne->policy.n_deny + nr + host.n + 1;
    struct nft_match *m = calloc(MAX, sizeof *m);
    if (!m)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < ne->policy.n_deny; i++) {
        const struct net_entry *e = &ne->policy.deny[i];
        if (e->kind == NET_CIDR)
            n = add_match(m, n, MAX, e->family, e->addr, e->prefix, e->port_lo, e->port_hi, false);
    }
    int rc = nft_rules(fd, "deny", m, n, err);
    n = 0;
    for (size_t i = 0; i < nr; i++)
        n = add_match(m, n, MAX, r[i].family, r[i].addr, r[i].prefix, 0, 65535, false);
    for (size_t i = 0; i < host.n; i++)
        n = add_match(m, n, MAX, host.a[i].family, host.a[i].addr,
                      host.a[i].family == AF_INET ? 32 : 128, 0, 65535, false);
    if (rc == 0)
        rc = nft_rules(fd, "fixed", m, n, err);
    free(m);
    return rc;
}

int net_engine_plumb(struct net_engine *ne, int pidfd, struct netns_fds *out,
                     struct sb_error *err)
{
    if (netns_plumb(pidfd, out, err) < 0)
        return -1;
    if (plumb_rules(ne, out->nft, err) < 0) {
        netns_fds_close(out);
        return -1;
    }
    return 0;
}

/* ---- the learned addresses ---- */

bool egress_learned(struct net_box *b, int family, const uint8_t *addr, uint16_t port)
{
    uint64_t now = egress_now_ms();
    for (size_t i = 0; i < b->nlearned; i++) {
        const struct learned *l = &b->learned[i];
        if (l->family != family || l->expires_ms < now ||
            memcmp(l->addr, addr, family == AF_INET ? 4 : 16))
            continue;
        if (l->ports.n == 0)
            return true;
        for (size_t k = 0; k < l->ports.n; k++)
            if (port >= l->ports.r[k].lo && port <= l->ports.r[k].hi)
                return true;
    }
    return false;
}

/* The kernel's sets hold address . port: a name's ranges become ports, at
 * most 256 of them (a wider range is let through for every port, and the
 * proxy, which checks the range itself, refuses the rest). */
static size_t port_list(const struct net_ports *p, uint16_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        for (uint32_t v = p->r[i].lo; v <= p->r[i].hi; v++) {
            if (n == max)
                return 0;
            out[n++] = (uint16_t)v;
        }
    return n;
}

void egress_learn(struct net_box *b, int family, const uint8_t *addr,
                  const struct net_ports *ports, uint32_t ttl_s)
{
    uint64_t now = egress_now_ms();
    size_t slot = b->nlearned;
    for (size_t i = 0; i < b->nlearned; i++)
        if (b->learned[i].expires_ms < now) {
            slot = i;
            break;
        }
    if (slot == BOX_MAX_LEARNED) {
        slot = 0;
        for (size_t i = 1; i < b->nlearned; i++)
            if (b->learned[i].expires_ms < b->learned[slot].expires_ms)
                slot = i;
    }
    if (slot == b->nlearned)
        b->nlearned++;
    struct learned *l = &b->learned[slot];
    l->family = family;
    memset(l->addr, 0, sizeof l->addr);
    memcpy(l->addr, addr, family == AF_INET ? 4 : 16);
    l->ports = *ports;
    if (ports->n == 1 && ports->r[0].lo == 0 && ports->r[0].hi == 65535)
        l->ports.n = 0;
    l->expires_ms = now + (uint64_t)ttl_s * 1000;
    uint16_t list[256];
    size_t np = l->ports.n ? port_list(&l->ports, list, 256) : 0;
    struct sb_error err;
    if (nft_learn(b->fds.nft, family, addr, list, np, ttl_s * 1000, &err) < 0)
        fprintf(stderr, "soulbox: egress %s: %s\n", b->tag, err.msg);
}

/* ---- refusals ---- */

void egress_audit(struct net_box *b, const char *detail)
{
    if (!b->ne->cfg.audit)
        return;
    /* the egress thread and net_box_stats (draining NFLOG) both audit */
    pthread_mutex_lock(&b->audit_mu);
    bool one_by_one = b->audited < BOX_AUDIT_MAX;
    if (one_by_one)
        b->audited++;
    else
        b->unaudited++;
    pthread_mutex_unlock(&b->audit_mu);
    if (one_by_one)
        b->ne->cfg.audit(b->ne->cfg.audit_arg, b->tag, "network_refused", detail);
}

void egress_refused(struct net_box *b, const char *what, int family, const uint8_t *addr,
                    uint16_t port, const char *why)
{
    atomic_fetch_add(&b->refused, 1);
    char ip[INET6_ADDRSTRLEN] = "?", detail[256];
    if (addr)
        inet_ntop(family, addr, ip, sizeof ip);
    if (addr)
        snprintf(detail, sizeof detail, "%s to %s%s%s port %u refused: %s", what,
                 family == AF_INET6 ? "[" : "", ip, family == AF_INET6 ? "]" : "", port, why);
    else
        snprintf(detail, sizeof detail, "%s refused: %s", what, why);
    egress_audit(b, detail);
}

/* Why the kernel refused a packet: the policy's verdict for its destination. */
static void refused_packet(struct net_box *b, int family, const uint8_t *pkt, size_t len)
{
    uint8_t proto;
    size_t l4;
    const uint8_t *dst;
    if (family == AF_INET && len >= 20 && (pkt[0] >> 4) == 4) {
        proto = pkt[9];
        l4 = (size_t)(pkt[0] & 15) * 4;
        dst = pkt + 16;
    } else if (family == AF_INET6 && len >= 40 && (pkt[0] >> 4) == 6) {
        proto = pkt[6];
        l4 = 40;
        dst = pkt + 24;
    } else {
        egress_refused(b, "a packet", AF_UNSPEC, NULL, 0, "unparsable");
        return;
    }
    uint16_t port = 0;
    if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && len >= l4 + 4)
        port = (uint16_t)(pkt[l4 + 2] << 8 | pkt[l4 + 3]);
    const char *what = proto == IPPROTO_TCP ? "TCP" : proto == IPPROTO_UDP ? "UDP"
                     : proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6 ? "ICMP" : "IP";
    const char *why = "only TCP and DNS leave a sandbox";
    if (proto == IPPROTO_TCP) {
        enum net_verdict v = net_policy_check_addr(&b->policy, family, dst, port, &b->host);
        why = egress_verdict_name(v == NET_ALLOW ? NET_NOT_ALLOWED : v);
    }
    egress_refused(b, what, family, dst, port, why);
}

/* Under b->nflog_mu: the egress thread and net_box_stats both drain. */
static void drain_nflog(struct net_box *b)
{
    uint8_t buf[8192];
    for (int round = 0; round < 16; round++) {
        ssize_t n = recv(b->fds.nflog, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            return;
        for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, (size_t)n);
             m = NLMSG_NEXT(m, n)) {
            if (m->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
                continue;
            const struct nfgenmsg *g = NLMSG_DATA(m);
            size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *g);
            const uint8_t *p = (const uint8_t *)m;
            while (off + NLA_HDRLEN <= m->nlmsg_len) {
                const struct nlattr *a = (const void *)(p + off);
                if (a->nla_len < NLA_HDRLEN || off + a->nla_len > m->nlmsg_len)
                    break;
                if ((a->nla_type & NLA_TYPE_MASK) == NFULA_PAYLOAD)
                    refused_packet(b, g->nfgen_family, p + off + NLA_HDRLEN,
                                   a->nla_len - NLA_HDRLEN);
                off += NLA_ALIGN(a->nla_len);
            }
        }
    }
}

static void on_nflog(uv_poll_t *h, int status, int events)
{
    struct net_box *b = h->data;
    (void)status;
    (void)events;
    pthread_mutex_lock(&b->nflog_mu);
    drain_nflog(b);
    pthread_mutex_unlock(&b->nflog_mu);
}

/* ---- boxes ---- */

static void box_free(struct net_box *b)
{
    netns_fds_close(&b->fds);
    if (b->upstream_fd >= 0)
        close(b->upstream_fd);
    net_policy_free(&b->policy);
    free(b->learned);
    pthread_mutex_destroy(&b->nflog_mu);
    pthread_mutex_destroy(&b->audit_mu);
    free(b);
}

static void box_unref(struct net_box *b)
{
    if (--b->open_handles > 0 || !b->closing)
        return;
    if (b->unaudited && b->ne->cfg.audit) {
        char detail[96];
        snprintf(detail, sizeof detail, "%llu more refusals not audited one by one",
                 (unsigned long long)b->unaudited);
        b->ne->cfg.audit(b->ne->cfg.audit_arg, b->tag, "network_refused", detail);
    }
    box_free(b);
}

void egress_handle_closed(uv_handle_t *h)
{
    box_unref(h->data);
}

static void poll_on(struct net_box *b, uv_poll_t *p, int fd, uv_poll_cb cb)
{
    if (fd < 0)
        return;
    uv_poll_init(&b->ne->loop, p, fd);
    p->data = b;
    b->open_handles++;
    uv_poll_start(p, UV_READABLE, cb);
}

static void box_start(struct net_box *b)
{
    struct net_engine *ne = b->ne;
    b->started = true;
    net_hostaddrs_load(&b->host);
    poll_on(b, &b->tcp4, b->fds.tcp4, proxy_accept);
    poll_on(b, &b->tcp6, b->fds.tcp6, proxy_accept);
    poll_on(b, &b->udp4, b->fds.udp4, resolver_query);
    poll_on(b, &b->udp6, b->fds.udp6, resolver_query);
    poll_on(b, &b->nflog, b->fds.nflog, on_nflog);
    poll_on(b, &b->upstream, b->upstream_fd, resolver_answer);
    uv_timer_init(&ne->loop, &b->dns_timer);
    b->dns_timer.data = b;
    b->open_handles++;
    uv_timer_start(&b->dns_timer, resolver_tick, 250, 250);
}

static void box_stop(struct net_box *b)
{
    b->closing = true;
    proxy_close_all(b);
    uv_handle_t *hs[] = {(uv_handle_t *)&b->tcp4, (uv_handle_t *)&b->tcp6,
                         (uv_handle_t *)&b->udp4, (uv_handle_t *)&b->udp6,
                         (uv_handle_t *)&b->nflog, (uv_handle_t *)&b->upstream,
                         (uv_handle_t *)&b->dns_timer};
    int fds[] = {b->fds.tcp4, b->fds.tcp6, b->fds.udp4, b->fds.udp6, b->fds.nflog,
                 b->upstream_fd, 0};
    b->open_handles++;   /* held while closing them */
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        if (fds[i] >= 0)
            uv_close(hs[i], egress_handle_closed);
    box_unref(b);
}

static void on_wake(uv_async_t *a)
{
    struct net_engine *ne = a->data;
    struct list_node open, closing;
    list_init(&open);
    list_init(&closing);
    pthread_mutex_lock(&ne->mu);
    list_splice_tail(&open, &ne->inbox_open);
    list_splice_tail(&closing, &ne->inbox_close);
    bool stop = ne->stopping;
    pthread_mutex_unlock(&ne->mu);
    while (!list_empty(&open)) {
        struct net_box *b = list_first_entry(&open, struct net_box, node);
        list_remove(&b->node);
        box_start(b);
    }
    while (!list_empty(&closing)) {
        struct net_box *b = list_first_entry(&closing, struct net_box, node);
        list_remove(&b->node);
        if (!b->started)
            box_start(b);
        box_stop(b);
    }
    if (stop)
        uv_close((uv_handle_t *)&ne->wake, NULL);
}

static void engine_main(void *arg)
{
    struct net_engine *ne = arg;
    uv_run(&ne->loop, UV_RUN_DEFAULT);
}

int net_engine_start(struct net_engine **out, const struct net_engine_cfg *cfg,
                     struct sb_error *err)
{
    struct net_engine *ne = calloc(1, sizeof *ne);
    if (!ne)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    ne->cfg = *cfg;
    if (net_policy_copy(&ne->policy, cfg->policy, err) < 0) {
        free(ne);
        return -1;
    }
    ne->cfg.policy = &ne->policy;
    list_init(&ne->inbox_open);
    list_init(&ne->inbox_close);
    pthread_mutex_init(&ne->mu, NULL);
    int rc = uv_loop_init(&ne->loop);
    if (rc == 0) {
        uv_async_init(&ne->loop, &ne->wake, on_wake);
        ne->wake.data = ne;
        rc = uv_thread_create(&ne->thread, engine_main, ne);
    }
    if (rc != 0 || netns_init(err) < 0) {
        if (rc != 0)
            sb_fail(err, SB_E_INTERNAL, "egress thread: %s", uv_strerror(rc));
        net_policy_free(&ne->policy);
        free(ne);
        return -1;
    }
    *out = ne;
    return 0;
}

void net_engine_stop(struct net_engine *ne)
{
    if (!ne)
        return;
    pthread_mutex_lock(&ne->mu);
    ne->stopping = true;
    pthread_mutex_unlock(&ne->mu);
    uv_async_send(&ne->wake);
    uv_thread_join(&ne->thread);
    uv_loop_close(&ne->loop);
    net_policy_free(&ne->policy);
    pthread_mutex_destroy(&ne->mu);
    free(ne);
}

const struct net_policy *net_engine_policy(const struct net_engine *ne)
{
    return &ne->policy;
}

struct net_box *net_box_open(struct net_engine *ne, struct netns_fds *fds,
                             const struct net_policy *policy, const struct net_limits *lim,
                             const char *tag, struct sb_error *err)
{
    struct net_hostaddrs host;
    struct nft_match *m = calloc(policy->n_allow + 1, sizeof *m);
    struct net_box *b = calloc(1, sizeof *b);
    if (!m || !b || !(b->learned = calloc(BOX_MAX_LEARNED, sizeof *b->learned)) ||
        net_policy_copy(&b->policy, policy, err) < 0) {
        if (b)
            free(b->learned);
        free(b);
        free(m);
        netns_fds_close(fds);
        sb_fail(err, SB_E_INTERNAL, "out of memory");
        return NULL;
    }
    b->ne = ne;
    pthread_mutex_init(&b->nflog_mu, NULL);
    pthread_mutex_init(&b->audit_mu, NULL);
    b->fds = *fds;
    *fds = (struct netns_fds){-1, -1, -1, -1, -1, -1};
    b->lim = *lim;
    b->up.rate = lim->up_bps;
    b->down.rate = lim->down_bps;
    b->upstream_fd = -1;
    snprintf(b->tag, sizeof b->tag, "%s", tag ? tag : "");
    list_init(&b->conns);
    net_hostaddrs_load(&host);
    size_t n = allow_rules(policy, &host, true, m, policy->n_allow);
    int rc = nft_rules(b->fds.nft, "explicit", m, n, err);
    n = allow_rules(policy, &host, false, m, policy->n_allow);
    if (rc == 0)
        rc = nft_rules(b->fds.nft, "allow", m, n, err);
    free(m);
    if (rc == 0)
        rc = resolver_open(b, err);
    if (rc < 0) {
        box_free(b);
        return NULL;
    }
    pthread_mutex_lock(&ne->mu);
    list_insert_tail(&ne->inbox_open, &b->node);
    pthread_mutex_unlock(&ne->mu);
    uv_async_send(&ne->wake);
    return b;
}

void net_box_stats(struct net_box *b, struct net_stats *st)
{
    /* refusals the kernel logged but the thread has not read yet count */
    pthread_mutex_lock(&b->nflog_mu);
    drain_nflog(b);
    pthread_mutex_unlock(&b->nflog_mu);
    st->bytes_sent = atomic_load(&b->bytes_sent);
    st->bytes_received = atomic_load(&b->bytes_received);
    st->connections = atomic_load(&b->connections);
    st->refused = atomic_load(&b->refused);
}

void net_box_close(struct net_box *b)
{
    if (!b)
        return;
    struct net_engine *ne = b->ne;
    pthread_mutex_lock(&ne->mu);
    /* still in inbox_open if the thread has not started it (on_wake starts
     * it, then stops it) */
    list_remove(&b->node);
    list_insert_tail(&ne->inbox_close, &b->node);
    pthread_mutex_unlock(&ne->mu);
    uv_async_send(&ne->wake);
}
