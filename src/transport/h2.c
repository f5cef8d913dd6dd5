/* HTTP/2 connections (nghttp2) on the TCP transport base: sessions, socket
 * backpressure, idle timeout, GOAWAY; streams go to the layer above. */
#include "transport/h2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "transport/tcp.h"

#define MAX_STREAMS 100
#define SOCKET_HIGH (512u << 10)   /* stop taking frames from nghttp2 above this */

struct h2_server {
    struct tcp_server *tcp;
    struct h2_server_cfg cfg;
    const struct h2_stream_ops *ops;
    void *arg;
    bool stopped;              /* GOAWAY sent to every connection */
    void (*closed)(void *);
    void *closed_arg;
};

struct h2_conn {
    struct tcp_conn base;
    struct h2_server *srv;
    nghttp2_session *ng;
    struct list_node streams;  /* open request streams (struct h2_stream) */
    bool in_recv, flushing, flush_again;
};

static struct h2_conn *conn_of(struct tcp_conn *t)
{
    return tcp_conn_owner(t, struct h2_conn, base);
}

nghttp2_session *h2_session(struct h2_conn *c)
{
    return c->ng;
}

const char *h2_peer(const struct h2_conn *c)
{
    return c->base.peer;
}

void *h2_arg(const struct h2_conn *c)
{
    return c->srv->arg;
}

/* ---- connection plumbing ---- */

/* Hands nghttp2's pending frames to the socket (bounded), then tells streams
 * that wanted room that there is some. Never runs inside nghttp2 callbacks. */
void h2_flush(struct h2_conn *c)
{
    if (c->base.closing)
        return;
    if (c->in_recv || c->flushing) {
        c->flush_again = true;
        return;
    }
    c->flushing = true;
    do {
        c->flush_again = false;
        while (c->base.queued < SOCKET_HIGH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->ng, &data);
            if (n < 0 || (n > 0 && tcp_write(&c->base, data, (size_t)n, NULL, 0) < 0)) {
                c->flushing = false;
                tcp_close(&c->base);
                return;
            }
            if (n == 0)
                break;
        }
        struct list_node *pos, *tmp;
        list_foreach_safe(pos, tmp, &c->streams)
            if (c->srv->ops->drained)
                c->srv->ops->drained(list_entry(pos, struct h2_stream, node));
    } while (c->flush_again && !c->base.closing);
    c->flushing = false;
    if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng) &&
        !c->base.writes)
        tcp_close(&c->base);
}

/* The stream leaves its connection; one without streams may be shed. */
static void stream_gone(struct h2_conn *c, struct h2_stream *st)
{
    list_remove(&st->node);
    c->srv->ops->closed(st);
    if (list_empty(&c->streams))
        tcp_conn_sheddable(&c->base, true);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
    struct h2_conn *c = arg;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2_stream *st = c->srv->ops->open(c, f->hd.stream_id);
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    st->conn = c;
    st->id = f->hd.stream_id;
    list_insert_tail(&c->streams, &st->node);
    tcp_conn_sheddable(&c->base, false);
    nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *arg)
{
    (void)flags;
    struct h2_conn *c = arg;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (st)
        c->srv->ops->header(st, (const char *)name, namelen, (const char *)value, valuelen);
    return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
    struct h2_conn *c = arg;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (!st)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
        c->srv->ops->headers_end(st);
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        c->srv->ops->end(st);
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *arg)
{
    (void)flags;
    struct h2_conn *c = arg;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (st)
        c->srv->ops->data(st, data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t code, void *arg)
{
    (void)code;
    struct h2_conn *c = arg;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (st)
        stream_gone(c, st);
    return 0;
}

static nghttp2_session_callbacks *callbacks(void)
{
    static nghttp2_session_callbacks *cbs;
    if (!cbs && nghttp2_session_callbacks_new(&cbs) == 0) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
        nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    }
    return cbs;
}

/* ---- the transport's callbacks ---- */

static void on_data(struct tcp_conn *t, const char *buf, size_t n)
{
    struct h2_conn *c = conn_of(t);
    tcp_timer_start(t, c->srv->cfg.idle_timeout_ms);
    c->in_recv = true;
    ssize_t rc = nghttp2_session_mem_recv(c->ng, (const uint8_t *)buf, n);
    c->in_recv = false;
    if (rc < 0) {
        /* Not HTTP/2 or a connection error: say why in a GOAWAY if we can. */
        log_event(LOG_INFO, "grpc connection error",
                  json_pack("{s:s,s:s}", "client", t->peer, "error", nghttp2_strerror((int)rc)));
        nghttp2_session_terminate_session(c->ng, NGHTTP2_PROTOCOL_ERROR);
        h2_flush(c);
        tcp_read_stop(t);
        return;
    }
    h2_flush(c);
}

/* Idle (no streams) for idle_timeout_ms, or shed to make room: GOAWAY, close. */
static void goodbye(struct tcp_conn *t)
{
    struct h2_conn *c = conn_of(t);
    nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
    h2_flush(c);
    tcp_close(t);
}

static void on_timer(struct tcp_conn *t)
{
    struct h2_conn *c = conn_of(t);
    if (!list_empty(&c->streams)) { /* busy: an idle connection is one without streams */
        tcp_timer_start(t, c->srv->cfg.idle_timeout_ms);
        return;
    }
    goodbye(t);
}

/* Flushing (on_drain) also ends a connection nghttp2 is done with. */
static void on_drain(struct tcp_conn *t)
{
    h2_flush(conn_of(t));
}

/* Every stream still open ends with the connection. */
static void on_closing(struct tcp_conn *t)
{
    struct h2_conn *c = conn_of(t);
    while (!list_empty(&c->streams))
        stream_gone(c, list_entry(c->streams.next, struct h2_stream, node));
}

static void on_free(struct tcp_conn *t)
{
    struct h2_conn *c = conn_of(t);
    nghttp2_session_del(c->ng);
    free(c);
}

static struct tcp_conn *on_alloc(void *arg)
{
    struct h2_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = arg;
    list_init(&c->streams);
    return &c->base;
}

static int session_new(struct h2_conn *c)
{
    nghttp2_option *opt;
    if (nghttp2_option_new(&opt) != 0)
        return -1;
    /* CVE-2023-44487: a client resetting streams faster than this loses the connection. */
    nghttp2_option_set_stream_reset_rate_limit(opt, 200, 50);
    int rc = nghttp2_session_server_new2(&c->ng, callbacks(), c, opt);
    nghttp2_option_del(opt);
    if (rc != 0)
        return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)c->srv->cfg.max_header_bytes},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
    };
    return nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof *iv);
}

static void on_open(struct tcp_conn *t)
{
    struct h2_conn *c = conn_of(t);
    if (session_new(c) < 0) {
        tcp_close(t);
        return;
    }
    tcp_conn_sheddable(t, true);
    tcp_timer_start(t, c->srv->cfg.idle_timeout_ms);
    tcp_read_start(t);
    h2_flush(c); /* our SETTINGS */
}

/* A refused connection is closed without a word: no session exists yet. */
static const struct tcp_ops h2_tcp_ops = {
    .alloc = on_alloc,
    .open = on_open,
    .shed = goodbye,
    .data = on_data,
    .timeout = on_timer,
    .drain = on_drain,
    .closing = on_closing,
    .free = on_free,
};

/* ---- the server ---- */

int h2_server_start(struct h2_server **out, uv_loop_t *loop, const char *host, int port,
                    const struct h2_server_cfg *cfg, const struct h2_stream_ops *ops,
                    void *arg, struct sb_error *err)
{
    struct h2_server *s = calloc(1, sizeof *s);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    s->cfg = *cfg;
    s->ops = ops;
    s->arg = arg;
    struct tcp_server_cfg tc = {
        .max_connections = cfg->max_connections,
        .max_connections_per_client = cfg->max_connections_per_client,
        .drain_mark = SOCKET_HIGH,
    };
    if (tcp_server_start(&s->tcp, loop, host, port, &tc, &h2_tcp_ops, s, err) < 0) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int h2_server_port(const struct h2_server *s)
{
    return tcp_server_port(s->tcp);
}

unsigned h2_server_connections(const struct h2_server *s)
{
    return tcp_server_connections(s->tcp);
}

static void send_goaway(struct tcp_conn *t, void *arg)
{
    (void)arg;
    struct h2_conn *c = conn_of(t);
    nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->ng),
                          NGHTTP2_NO_ERROR, NULL, 0);
    h2_flush(c);
}

int h2_conn_set_owner(struct h2_conn *c, const char *owner)
{
    if (tcp_conn_set_owner(&c->base, owner) == 0)
        return 0;
    send_goaway(&c->base, NULL);
    return -1;
}

void h2_server_stop_accepting(struct h2_server *s)
{
    if (s->stopped)
        return;
    s->stopped = true;
    tcp_server_stop_accepting(s->tcp);
    /* Streams in flight carry on; new ones go elsewhere. */
    tcp_server_each(s->tcp, send_goaway, NULL);
}

static void on_closed(void *arg)
{
    struct h2_server *s = arg;
    void (*done)(void *) = s->closed;
    void *done_arg = s->closed_arg;
    free(s);
    done(done_arg);
}

void h2_server_close(struct h2_server *s, void (*done)(void *), void *arg)
{
    s->closed = done;
    s->closed_arg = arg;
    tcp_server_close(s->tcp, on_closed, s);
}
