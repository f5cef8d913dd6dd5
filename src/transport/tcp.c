/* The TCP transport base: listener, admission (limits, shedding), writes, close and free. */
#include "transport/tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"
#include "common/uvbuf.h"

#define BACKLOG 4096
#define DISCARD_MAX (64u << 10)  /* unread input dropped before a refusal closes */
#define LOG_EVERY_MS 10000       /* at most one "connection limit" line this often */

/* The connections of one client key. */
struct tcp_client {
    struct list_node bucket;   /* in the server's hash table */
    struct list_node idle;     /* its sheddable connections, least recently active first */
    unsigned nconns;
    struct tcp_client_key key;
};

struct tcp_server {
    uv_loop_t *loop;
    uv_tcp_t listener;         /* .data is this struct */
    struct tcp_server_cfg cfg;
    const struct tcp_ops *ops;
    void *arg;
    bool listening;            /* the listener is open */
    bool listener_closed;      /* and its close callback has run */
    struct list_node idle;     /* sheddable connections, least recently active first */
    struct list_node busy;     /* the other open ones */
    unsigned nconns;           /* open */
    unsigned alive;            /* allocated, not yet freed */
    struct list_node *buckets; /* clients by key; NULL without a per-client cap */
    size_t nbuckets;           /* a power of two */
    uint64_t seed;
    unsigned shed, refused;    /* since the last log line */
    uint64_t logged_ms;
    char last_client[64];
    int port;
    bool closing;
    void (*done)(void *);
    void *done_arg;
};

struct write_req {
    uv_write_t w;
    struct tcp_conn *c;
    size_t len;
    char data[];
};

/* ---- client keys ---- */

int tcp_client_key(const struct sockaddr *sa, struct tcp_client_key *k)
{
    memset(k, 0, sizeof *k);
    if (sa->sa_family == AF_INET) {
        k->b[10] = k->b[11] = 0xff;
        memcpy(k->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family != AF_INET6)
        return -1;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a))
        memcpy(k->b, a->s6_addr, 16);
    else
        memcpy(k->b, a->s6_addr, 8);
    return 0;
}

void tcp_client_key_name(const struct tcp_client_key *k, char *out, size_t len)
{
    struct in6_addr a;
    memcpy(a.s6_addr, k->b, 16);
    char text[INET6_ADDRSTRLEN];
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
        inet_ntop(AF_INET, k->b + 12, text, sizeof text);
        snprintf(out, len, "%s", text);
    } else {
        inet_ntop(AF_INET6, &a, text, sizeof text);
        snprintf(out, len, "%s/64", text);
    }
}

static size_t bucket_of(const struct tcp_server *s, const struct tcp_client_key *k)
{
    uint64_t h = 14695981039346656037ull ^ s->seed; /* FNV-1a, seeded against flooding */
    for (size_t i = 0; i < sizeof k->b; i++) {
        h ^= k->b[i];
        h *= 1099511628211ull;
    }
    return (size_t)(h ^ (h >> 29)) & (s->nbuckets - 1);
}

static struct tcp_client *client_find(struct tcp_server *s, const struct tcp_client_key *k)
{
    struct list_node *head = &s->buckets[bucket_of(s, k)], *pos;
    list_foreach(pos, head) {
        struct tcp_client *cl = list_entry(pos, struct tcp_client, bucket);
        if (!memcmp(cl->key.b, k->b, sizeof k->b))
            return cl;
    }
    return NULL;
}

/* The client's entry, created on its first connection; NULL if out of memory. */
static struct tcp_client *client_get(struct tcp_server *s, const struct tcp_client_key *k)
{
    struct tcp_client *cl = client_find(s, k);
    if (cl || !(cl = calloc(1, sizeof *cl)))
        return cl;
    cl->key = *k;
    list_init(&cl->idle);
    list_insert_tail(&s->buckets[bucket_of(s, k)], &cl->bucket);
    return cl;
}

/* c stops being counted under its client entry (freed when it was the last). */
static void client_leave(struct tcp_conn *c)
{
    list_remove(&c->client_node);
    if (c->client && --c->client->nconns == 0) {
        list_remove(&c->client->bucket);
        free(c->client);
    }
    c->client = NULL;
}

/* ---- freeing ---- */

static void maybe_done(struct tcp_server *s)
{
    if (!s->closing || !s->listener_closed || s->alive || !s->done)
        return;
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    s->done = NULL;
    free(s->buckets);
    free(s);
    done(arg);
}

static void maybe_free(struct tcp_conn *c)
{
    if (!c->closing || c->handles || c->writes || c->holds)
        return;
    struct tcp_server *s = c->srv;
    s->ops->free(c);
    s->alive--;
    maybe_done(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct tcp_conn *c = h->data;
    c->handles--;
    maybe_free(c);
}

void tcp_close(struct tcp_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct tcp_server *s = c->srv;
    if (c->admitted) {
        list_remove(&c->node);
        s->nconns--;
        client_leave(c);
        if (s->ops->closing)
            s->ops->closing(c);
    }
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

void tcp_conn_hold(struct tcp_conn *c)
{
    c->holds++;
}

void tcp_conn_release(struct tcp_conn *c)
{
    c->holds--;
    maybe_free(c);
}

/* ---- writing and reading ---- */

static void on_written(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct tcp_conn *c = wr->c;
    const struct tcp_server *s = c->srv;
    c->writes--;
    c->queued -= wr->len;
    if (status >= 0)
        c->sent += wr->len;
    free(wr);
    if (status < 0)
        tcp_close(c);
    else if (!c->closing && c->queued < s->cfg.drain_mark && s->ops->drain)
        s->ops->drain(c);
    maybe_free(c); /* the close callbacks have not run yet: c is still here */
}

int tcp_write(struct tcp_conn *c, const void *head, size_t hlen, const void *body, size_t blen)
{
    if (c->closing)
        return -1;
    struct write_req *wr = malloc(sizeof *wr + hlen + blen);
    if (!wr)
        return -1;
    if (hlen)
        memcpy(wr->data, head, hlen);
    if (blen)
        memcpy(wr->data + hlen, body, blen);
    wr->c = c;
    wr->len = hlen + blen;
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        free(wr);
        return -1;
    }
    c->writes++;
    c->queued += wr->len;
    return 0;
}

static void on_shutdown(uv_shutdown_t *sh, int status)
{
    struct tcp_conn *c = sh->handle->data;
    free(sh);
    if (status < 0)
        tcp_close(c);
}

void tcp_shutdown(struct tcp_conn *c)
{
    if (c->closing)
        return;
    uv_shutdown_t *sh = malloc(sizeof *sh);
    if (!sh || uv_shutdown(sh, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        free(sh);
        tcp_close(c);
    }
}

/* Keeps the lists in order of activity: c becomes the most recent. */
static void touch(struct tcp_conn *c)
{
    if (!c->admitted || c->closing)
        return;
    list_move_tail(c->sheddable ? &c->srv->idle : &c->srv->busy, &c->node);
    if (c->sheddable && c->client)
        list_move_tail(&c->client->idle, &c->client_node);
}

void tcp_conn_sheddable(struct tcp_conn *c, bool sheddable)
{
    c->sheddable = sheddable;
    if (!c->admitted || c->closing)
        return;
    if (!sheddable)
        list_remove(&c->client_node);
    touch(c);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct tcp_conn *c = st->data;
    if (n < 0) {
        tcp_close(c); /* EOF or error */
        return;
    }
    if (n == 0 || c->closing)
        return;
    touch(c);
    c->srv->ops->data(c, buf->base, (size_t)n);
}

void tcp_read_start(struct tcp_conn *c)
{
    if (!c->closing)
        uv_read_start((uv_stream_t *)&c->tcp, sb_uv_alloc_scratch, on_read);
}

void tcp_read_stop(struct tcp_conn *c)
{
    if (!c->closing)
        uv_read_stop((uv_stream_t *)&c->tcp);
}

static void on_timer(uv_timer_t *t)
{
    struct tcp_conn *c = t->data;
    if (!c->closing && c->srv->ops->timeout)
        c->srv->ops->timeout(c);
}

void tcp_timer_start(struct tcp_conn *c, uint64_t ms)
{
    if (!c->closing)
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

void tcp_timer_stop(struct tcp_conn *c)
{
    if (!c->closing)
        uv_timer_stop(&c->timer);
}

/* ---- admission ---- */

/* At most one line per LOG_EVERY_MS, counting what happened since the last. */
static void note_limit(struct tcp_server *s, const struct tcp_conn *c, bool shed)
{
    if (shed)
        s->shed++;
    else
        s->refused++;
    if (c->owner[0])
        snprintf(s->last_client, sizeof s->last_client, "%s", c->owner);
    else
        tcp_client_key_name(&c->key, s->last_client, sizeof s->last_client);
    uint64_t now = uv_now(s->loop);
    if (s->logged_ms && now - s->logged_ms < LOG_EVERY_MS)
        return;
    log_event(LOG_WARN, "connection limit reached",
              json_pack("{s:i,s:i,s:i,s:i,s:s}", "port", s->port, "open", (int)s->nconns,
                        "shed", (int)s->shed, "refused", (int)s->refused, "client",
                        s->last_client));
    s->shed = s->refused = 0;
    s->logged_ms = now ? now : 1;
}

/* Reads what already arrived, so that closing sends FIN rather than RST
 * (a reset may destroy the answer before the client reads it). */
static void discard_input(struct tcp_conn *c)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) < 0)
        return;
    char buf[4096];
    size_t total = 0;
    ssize_t n;
    while (total < DISCARD_MAX && (n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        total += (size_t)n;
}

static void shed(struct tcp_conn *victim, const struct tcp_conn *newcomer)
{
    struct tcp_server *s = victim->srv;
    note_limit(s, newcomer, true);
    discard_input(victim);
    if (s->ops->shed)
        s->ops->shed(victim);
    tcp_close(victim);
}

static void refuse(struct tcp_conn *c, enum tcp_refusal why)
{
    struct tcp_server *s = c->srv;
    note_limit(s, c, false);
    discard_input(c);
    if (s->ops->refuse)
        s->ops->refuse(c, why);
    tcp_close(c);
}

/* Within the limits, or after shedding the least recently active sheddable
 * connection (the client's own when the client is at its cap): opens c.
 * Otherwise refuses it. */
static void admit(struct tcp_server *s, struct tcp_conn *c)
{
    unsigned cap = s->cfg.max_connections_per_client;
    struct tcp_client *cl = s->buckets ? client_find(s, &c->key) : NULL;
    if (cl && cl->nconns >= cap) {
        if (list_empty(&cl->idle))
            return refuse(c, TCP_REFUSED_CLIENT_FULL);
        shed(list_entry(cl->idle.next, struct tcp_conn, client_node), c);
    }
    if (s->nconns >= s->cfg.max_connections) {
        if (list_empty(&s->idle))
            return refuse(c, TCP_REFUSED_FULL);
        shed(list_entry(s->idle.next, struct tcp_conn, node), c);
    }
    c->admitted = true;
    s->nconns++;
    list_insert_tail(&s->busy, &c->node);
    if (s->buckets && (c->client = client_get(s, &c->key)))
        c->client->nconns++;
    s->ops->open(c);
}

/* An owner's key: a hash that no address key can equal (those start with
 * zeros, ::ffff:, or end with eight zero bytes, the /64). */
static void owner_key(const char *owner, struct tcp_client_key *k)
{
    uint8_t d[32];
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, "soulbox-owner:", 14);
    sha256_update(&h, owner, strlen(owner));
    sha256_final(&h, d);
    memcpy(k->b, d, sizeof k->b);
    k->b[0] = 0xff;
    k->b[15] |= 0x80;
}

int tcp_conn_set_owner(struct tcp_conn *c, const char *owner)
{
    struct tcp_server *s = c->srv;
    if (!c->admitted || c->closing || !s->buckets || (c->owner[0] && !strcmp(c->owner, owner)))
        return 0;   /* (a keep-alive connection's next request: nothing to hash) */
    struct tcp_client_key k;
    owner_key(owner, &k);
    if (c->owner[0] && !memcmp(k.b, c->key.b, sizeof k.b))
        return 0;
    client_leave(c);
    c->key = k;
    snprintf(c->owner, sizeof c->owner, "%s", owner);
    struct tcp_client *cl = client_find(s, &k);
    if (cl && cl->nconns >= s->cfg.max_connections_per_client) {
        if (list_empty(&cl->idle)) {
            note_limit(s, c, false);
            return -1;
        }
        shed(list_entry(cl->idle.next, struct tcp_conn, client_node), c);
    }
    if (!(c->client = client_get(s, &k)))
        return 0;   /* out of memory: counted under nobody, as before a cap */
    c->client->nconns++;
    if (c->sheddable)
        list_insert_tail(&c->client->idle, &c->client_node);
    return 0;
}

static void on_connection(uv_stream_t *l, int status)
{
    struct tcp_server *s = l->data;
    if (status < 0)
        return;
    struct tcp_conn *c = s->ops->alloc(s->arg);
    if (!c)
        return;
    c->srv = s;
    s->alive++;
    list_init(&c->node);
    list_init(&c->client_node);
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        tcp_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    snprintf(c->peer, sizeof c->peer, "unknown");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0 &&
        tcp_client_key((struct sockaddr *)&ss, &c->key) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof c->peer);
        else
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof c->peer);
    }
    admit(s, c);
}

/* ---- the listener ---- */

/* The listener is not the first member: free its owner, not the handle. */
static void free_failed_server(uv_handle_t *h)
{
    struct tcp_server *s = h->data;
    free(s->buckets);
    free(s);
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n && p < (1u << 16))
        p <<= 1;
    return p;
}

int tcp_server_start(struct tcp_server **out, uv_loop_t *loop, const char *host, int port,
                     const struct tcp_server_cfg *cfg, const struct tcp_ops *ops, void *arg,
                     struct sb_error *err)
{
    struct sockaddr_storage addr;
    int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                               : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc < 0)
        return sb_fail(err, SB_E_CONFIG, "listen address '%s' is not an IP address", host);
    struct tcp_server *s = calloc(1, sizeof *s);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    s->loop = loop;
    s->cfg = *cfg;
    s->ops = ops;
    s->arg = arg;
    list_init(&s->idle);
    list_init(&s->busy);
    if (cfg->max_connections_per_client) {
        s->nbuckets = pow2_at_least(cfg->max_connections / 4);
        if (!(s->buckets = malloc(s->nbuckets * sizeof *s->buckets))) {
            free(s);
            return sb_fail(err, SB_E_INTERNAL, "out of memory");
        }
        for (size_t i = 0; i < s->nbuckets; i++)
            list_init(&s->buckets[i]);
        util_random(&s->seed, sizeof s->seed);
    }
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, BACKLOG, on_connection)) < 0) {
        uv_close((uv_handle_t *)&s->listener, free_failed_server);
        return sb_fail(err, SB_E_INTERNAL, "listen on %s:%d: %s", host, port, uv_strerror(rc));
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                               : ((struct sockaddr_in *)&bound)->sin_port);
    s->listening = true;
    *out = s;
    return 0;
}

int tcp_server_port(const struct tcp_server *s)
{
    return s->port;
}

unsigned tcp_server_connections(const struct tcp_server *s)
{
    return s->nconns;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct tcp_server *s = h->data;
    s->listener_closed = true;
    maybe_done(s);
}

void tcp_server_stop_accepting(struct tcp_server *s)
{
    if (!s->listening)
        return;
    s->listening = false;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

/* fn may reorder the lists (a connection that becomes idle moves), so the
 * connections are collected first; closed ones are not freed before the
 * loop runs again, so every pointer stays valid. */
void tcp_server_each(struct tcp_server *s, void (*fn)(struct tcp_conn *c, void *arg), void *arg)
{
    struct tcp_conn **v = malloc((s->nconns + 1) * sizeof *v);
    if (!v)
        return;
    size_t n = 0;
    struct list_node *lists[] = {&s->idle, &s->busy}, *pos;
    for (size_t i = 0; i < 2; i++)
        list_foreach(pos, lists[i])
            v[n++] = list_entry(pos, struct tcp_conn, node);
    for (size_t i = 0; i < n; i++)
        if (!v[i]->closing)
            fn(v[i], arg);
    free(v);
}

void tcp_server_close(struct tcp_server *s, void (*done)(void *), void *arg)
{
    s->closing = true;
    s->done = done;
    s->done_arg = arg;
    tcp_server_stop_accepting(s);
    while (!list_empty(&s->idle))
        tcp_close(list_entry(s->idle.next, struct tcp_conn, node));
    while (!list_empty(&s->busy))
        tcp_close(list_entry(s->busy.next, struct tcp_conn, node));
    maybe_done(s);
}
