/* The TCP transport base: listener, admission, writes, close and free. */
#include "transport/tcp.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/uvbuf.h"

#define BACKLOG 4096
#define DISCARD_MAX (64u << 10)  /* unread input dropped before a refusal closes */

struct tcp_server {
    uv_loop_t *loop;
    uv_tcp_t listener;         /* .data is this struct */
    struct tcp_server_cfg cfg;
    const struct tcp_ops *ops;
    void *arg;
    bool listening;            /* the listener is open */
    bool listener_closed;      /* and its close callback has run */
    struct list_node conns;    /* open */
    unsigned nconns;
    unsigned alive;            /* allocated, not yet freed */
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

/* ---- freeing ---- */

static void maybe_done(struct tcp_server *s)
{
    if (!s->closing || !s->listener_closed || s->alive || !s->done)
        return;
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    s->done = NULL;
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

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct tcp_conn *c = st->data;
    if (n < 0) {
        tcp_close(c); /* EOF or error */
        return;
    }
    if (n == 0 || c->closing)
        return;
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

/* Within max_connections: opens c. Otherwise refuses it. */
static void admit(struct tcp_server *s, struct tcp_conn *c)
{
    if (s->nconns >= s->cfg.max_connections) {
        discard_input(c);
        if (s->ops->refuse)
            s->ops->refuse(c);
        tcp_close(c);
        return;
    }
    c->admitted = true;
    s->nconns++;
    list_insert_tail(&s->conns, &c->node);
    s->ops->open(c);
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
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof c->peer);
        else if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof c->peer);
    }
    admit(s, c);
}

/* ---- the listener ---- */

/* The listener is not the first member: free its owner, not the handle. */
static void free_failed_server(uv_handle_t *h)
{
    free(h->data);
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
    list_init(&s->conns);
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

/* fn may close connections (not free them: that waits for the loop), so
 * the next one is taken before each call. */
void tcp_server_each(struct tcp_server *s, void (*fn)(struct tcp_conn *c, void *arg), void *arg)
{
    struct list_node *pos, *tmp;
    list_foreach_safe(pos, tmp, &s->conns)
        fn(list_entry(pos, struct tcp_conn, node), arg);
}

void tcp_server_close(struct tcp_server *s, void (*done)(void *), void *arg)
{
    s->closing = true;
    s->done = done;
    s->done_arg = arg;
    tcp_server_stop_accepting(s);
    while (!list_empty(&s->conns))
        tcp_close(list_entry(s->conns.next, struct tcp_conn, node));
    maybe_done(s);
}
