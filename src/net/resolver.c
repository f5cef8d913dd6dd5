/* The sandbox's resolver: allowed names forwarded upstream, their addresses learned for the TTL, others NXDOMAIN. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dnsmsg.h"
#include "net/egress_internal.h"

#define TTL_MIN_S 5          /* a TTL of 0 still lets the connection that follows through */
#define TTL_MAX_S 86400

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* The address a resolver is sent to on the upstream socket (IPv4 as
 * IPv4-mapped when that socket is IPv6). */
static socklen_t upstream_addr(const struct net_box *b, size_t i, struct sockaddr_storage *out)
{
    const struct sockaddr_storage *s = &b->ne->cfg.dns[i];
    *out = *s;
    if (b->upstream_family == AF_INET6 && s->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)s;
        struct sockaddr_in6 *m = (struct sockaddr_in6 *)out;
        memset(m, 0, sizeof *m);
        m->sin6_family = AF_INET6;
        m->sin6_port = a->sin_port;
        m->sin6_addr.s6_addr[10] = m->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&m->sin6_addr.s6_addr[12], &a->sin_addr, 4);
    }
    return sa_len(out);
}

int resolver_open(struct net_box *b, struct sb_error *err)
{
    if (b->ne->cfg.n_dns == 0)
        return 0;
    b->upstream_family = AF_INET6;
    b->upstream_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (b->upstream_fd >= 0) {
        int zero = 0;
        setsockopt(b->upstream_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    } else {
        b->upstream_family = AF_INET;
        b->upstream_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (b->upstream_fd < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "socket for the DNS resolvers");
    return 0;
}

static void reply_error(int fd, const struct sockaddr_storage *to, socklen_t tolen,
                        const uint8_t *query, size_t qlen, const struct dns_query *q, int rcode)
{
    uint8_t out[600];
    int n = dns_build_error(query, qlen, q, rcode, out, sizeof out);
    if (n > 0)
        sendto(fd, out, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)to, tolen);
}

static void send_upstream(struct net_box *b, struct dns_pending *p)
{
    struct sockaddr_storage to;
    socklen_t len = upstream_addr(b, p->server, &to);
    sendto(b->upstream_fd, p->query, p->query_len, MSG_DONTWAIT, (struct sockaddr *)&to, len);
    uint32_t t = b->ne->cfg.dns_timeout_ms ? b->ne->cfg.dns_timeout_ms : 2000;
    p->deadline_ms = egress_now_ms() + t;
}

static void forward(struct net_box *b, int fd, const struct sockaddr_storage *from,
                    socklen_t fromlen, const uint8_t *pkt, size_t len, const struct dns_query *q,
                    const struct net_ports *ports)
{
    struct dns_pending *p = NULL;
    for (size_t i = 0; i < BOX_MAX_PENDING && !p; i++)
        if (!b->pending[i].used)
            p = &b->pending[i];
    if (!p || b->upstream_fd < 0 || len > sizeof p->query) {
        reply_error(fd, from, fromlen, pkt, len, q, DNS_SERVFAIL);
        return;
    }
    p->used = true;
    p->client_id = q->id;
    p->id = (uint16_t)arc4random();
    p->client_fd = fd;
    p->client = *from;
    p->client_len = fromlen;
    memcpy(p->query, pkt, len);
    p->query_len = len;
    p->q = *q;
    p->ports = *ports;
    p->server = 0;
    dns_set_id(p->query, len, p->id);
    send_upstream(b, p);
}

void resolver_query(uv_poll_t *h, int status, int events)
{
    struct net_box *b = h->data;
    int fd = h == &b->udp4 ? b->fds.udp4 : b->fds.udp6;
    (void)status;
    (void)events;
    for (int i = 0; i < 64; i++) {
        uint8_t pkt[512];
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(fd, pkt, sizeof pkt, MSG_DONTWAIT, (struct sockaddr *)&from,
                             &fromlen);
        if (n < 0)
            return;
        struct dns_query q;
        if (dns_parse_query(pkt, (size_t)n, &q) < 0)
            continue;                       /* not a query: no answer */
        struct net_ports ports;
        if (!net_policy_check_name(&b->policy, q.name, &ports)) {
            reply_error(fd, &from, fromlen, pkt, (size_t)n, &q, DNS_NXDOMAIN);
            char detail[DNS_MAX_NAME + 64];
            snprintf(detail, sizeof detail, "DNS query for %s refused: not an allowed name",
                     q.name);
            egress_audit(b, detail);
            continue;
        }
        forward(b, fd, &from, fromlen, pkt, (size_t)n, &q, &ports);
    }
}

/* What the answer gives out: allowed addresses learned (for connections on
 * the name's ports until the TTL ends); the others (a name of the policy
 * answering a private address: DNS rebinding) audited, never learned. */
static void learn_answers(struct net_box *b, const struct dns_pending *p,
                          const struct dns_answers *a)
{
    uint16_t port = p->ports.n ? p->ports.r[0].lo : 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct dns_addr *d = &a->a[i];
        enum net_verdict v = net_policy_check_addr(&b->policy, d->family, d->addr, port, &b->host);
        if (v == NET_ALLOW || v == NET_NOT_ALLOWED) {
            uint32_t ttl = d->ttl < TTL_MIN_S ? TTL_MIN_S : d->ttl > TTL_MAX_S ? TTL_MAX_S : d->ttl;
            egress_learn(b, d->family, d->addr, &p->ports, ttl);
            continue;
        }
        char ip[INET6_ADDRSTRLEN], detail[DNS_MAX_NAME + 128];
        inet_ntop(d->family, d->addr, ip, sizeof ip);
        snprintf(detail, sizeof detail, "DNS answer for %s gave %s, %s: not learned", p->q.name,
                 ip, egress_verdict_name(v));
        egress_audit(b, detail);
    }
}

static struct dns_pending *match(struct net_box *b, uint16_t id,
                                 const struct sockaddr_storage *from)
{
    for (size_t i = 0; i < BOX_MAX_PENDING; i++) {
        struct dns_pending *p = &b->pending[i];
        struct sockaddr_storage want;
        socklen_t wl = p->used ? upstream_addr(b, p->server, &want) : 0;
        if (p->used && p->id == id && !memcmp(&want, from, wl))
            return p;
    }
    return NULL;
}

void resolver_answer(uv_poll_t *h, int status, int events)
{
    struct net_box *b = h->data;
    (void)status;
    (void)events;
    for (int i = 0; i < 64; i++) {
        uint8_t pkt[4096];
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        memset(&from, 0, sizeof from);
        ssize_t n = recvfrom(b->upstream_fd, pkt, sizeof pkt, MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fromlen);
        if (n < 0)
            return;
        if (n < 12)
            continue;
        struct dns_pending *p = match(b, (uint16_t)(pkt[0] << 8 | pkt[1]), &from);
        if (!p)
            continue;                       /* late, or not from the resolver asked */
        struct dns_answers *a = malloc(sizeof *a);
        if (a && dns_parse_response(pkt, (size_t)n, &p->q, a) == 0) {
            learn_answers(b, p, a);
            dns_set_id(pkt, (size_t)n, p->client_id);
            sendto(p->client_fd, pkt, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&p->client,
                   p->client_len);
        } else {
            reply_error(p->client_fd, &p->client, p->client_len, p->query, p->query_len, &p->q,
                        DNS_SERVFAIL);
        }
        free(a);
        p->used = false;
    }
}

/* Queries the resolver has not answered in time go to the next one, then fail. */
void resolver_tick(uv_timer_t *t)
{
    struct net_box *b = t->data;
    uint64_t now = egress_now_ms();
    for (size_t i = 0; i < BOX_MAX_PENDING; i++) {
        struct dns_pending *p = &b->pending[i];
        if (!p->used || p->deadline_ms > now)
            continue;
        if (++p->server < b->ne->cfg.n_dns) {
            send_upstream(b, p);
            continue;
        }
        reply_error(p->client_fd, &p->client, p->client_len, p->query, p->query_len, &p->q,
                    DNS_SERVFAIL);
        p->used = false;
    }
}

/* ---- configuration ---- */

int net_parse_resolver(const char *s, struct sockaddr_storage *out, struct sb_error *err)
{
    char host[64];
    unsigned port = 53;
    const char *p = s;
    memset(out, 0, sizeof *out);
    if (*p == '[') {
        const char *e = strchr(p, ']');
        if (!e || (size_t)(e - p - 1) >= sizeof host)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "\"%s\": not an IP or [IPv6]:port", s);
        memcpy(host, p + 1, (size_t)(e - p - 1));
        host[e - p - 1] = '\0';
        p = e + 1;
    } else {
        const char *c = strchr(p, ':');
        size_t n = c && !strchr(c + 1, ':') ? (size_t)(c - p) : strlen(p);
        if (n >= sizeof host)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "\"%s\": not an IP address", s);
        memcpy(host, p, n);
        host[n] = '\0';
        p += n;
    }
    if (*p == ':') {
        char *end;
        unsigned long v = strtoul(p + 1, &end, 10);
        if (!p[1] || *end || v == 0 || v > 65535)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "\"%s\": bad port", s);
        port = (unsigned)v;
    } else if (*p) {
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "\"%s\": not an IP address", s);
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
    } else {
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "\"%s\": not an IP address", s);
    }
    return 0;
}

size_t net_system_resolvers(struct sockaddr_storage *out, size_t max)
{
    FILE *f = fopen("/etc/resolv.conf", "re");
    if (!f)
        return 0;
    char line[256];
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        char addr[128];
        if (sscanf(line, " nameserver %127s", addr) != 1)
            continue;
        char *pct = strchr(addr, '%');     /* fe80::1%eth0: no scope here */
        if (pct)
            continue;
        if (net_parse_resolver(addr, &out[n], NULL) == 0)
            n++;
    }
    fclose(f);
    return n;
}
