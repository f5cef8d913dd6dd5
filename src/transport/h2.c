/* gRPC transport: HTTP/2 connections (nghttp2) on libuv, gRPC message framing,
 * calls with deadlines, auth, status trailers and backpressure. */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "common/uvbuf.h"
#include "server/grpc_internal.h"
#include "server/server.h"

#define MAX_STREAMS 100
#define SOCKET_HIGH (512u << 10)   /* stop taking frames from nghttp2 above this */

struct write_req {
    uv_write_t w;
    struct h2_conn *conn;
    size_t len;
    uint8_t data[];
};

/* ---- connection plumbing ---- */

static void conn_close(struct h2_conn *c);

static void maybe_free_conn(struct h2_conn *c)
{
    if (c->handles || c->writes)
        return;
    struct grpc_server *g = c->g;
    nghttp2_session_del(c->ng);
    free(c);
    g->alive--;
    grpc_server_maybe_closed(g);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct h2_conn *c = h->data;
    c->handles--;
    maybe_free_conn(c);
}

static void on_written(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct h2_conn *c = wr->conn;
    c->writes--;
    c->queued -= wr->len;
    free(wr);
    if (status < 0)
        conn_close(c);
    else if (!c->closing)
        h2_flush(c);
    maybe_free_conn(c);
}

static int write_bytes(struct h2_conn *c, const uint8_t *data, size_t len)
{
    struct write_req *wr = malloc(sizeof *wr + len);
    if (!wr)
        return -1;
    memcpy(wr->data, data, len);
    wr->conn = c;
    wr->len = len;
    uv_buf_t b = uv_buf_init((char *)wr->data, (unsigned)len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        free(wr);
        return -1;
    }
    c->writes++;
    c->queued += len;
    return 0;
}

/* Hands nghttp2's pending frames to the socket (bounded), then tells calls
 * that wanted room that there is some. Never runs inside nghttp2 callbacks. */
void h2_flush(struct h2_conn *c)
{
    if (c->closing)
        return;
    if (c->in_recv || c->flushing) {
        c->flush_again = true;
        return;
    }
    c->flushing = true;
    do {
        c->flush_again = false;
        while (c->queued < SOCKET_HIGH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->ng, &data);
            if (n < 0 || (n > 0 && write_bytes(c, data, (size_t)n) < 0)) {
                c->flushing = false;
                conn_close(c);
                return;
            }
            if (n == 0)
                break;
        }
        grpc_calls_drained(c);
    } while (c->flush_again && !c->closing);
    c->flushing = false;
    if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng) && !c->writes)
        conn_close(c);
}

static void conn_close(struct h2_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    grpc_calls_abort(c); /* every call still open ends with the connection */
    struct grpc_server *g = c->g;
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    g->nconns--;
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
    struct h2_conn *c = arg;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct grpc_call *call = grpc_call_new(c, f->hd.stream_id);
    if (!call)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, call);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *arg)
{
    (void)flags;
    (void)arg;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct grpc_call *call = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (call)
        grpc_call_header(call, (const char *)name, namelen, (const char *)value, valuelen);
    return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
    (void)arg;
    struct grpc_call *call = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (!call)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
        grpc_call_begin(call);
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        grpc_call_half_close(call);
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *arg)
{
    (void)flags;
    (void)arg;
    struct grpc_call *call = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (call)
        grpc_call_data_in(call, data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t code, void *arg)
{
    (void)code;
    (void)arg;
    struct grpc_call *call = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (call)
        grpc_call_closed(call);
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

/* ---- reading ---- */

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct h2_conn *c = st->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n == 0 || c->closing)
        return;
    uv_timer_again(&c->timer);
    c->in_recv = true;
    ssize_t rc = nghttp2_session_mem_recv(c->ng, (const uint8_t *)buf->base, (size_t)n);
    c->in_recv = false;
    if (rc < 0) {
        /* Not HTTP/2 or a connection error: say why in a GOAWAY if we can. */
        log_event(LOG_INFO, "grpc connection error",
                  json_pack("{s:s,s:s}", "client", c->peer, "error", nghttp2_strerror((int)rc)));
        nghttp2_session_terminate_session(c->ng, NGHTTP2_PROTOCOL_ERROR);
        h2_flush(c);
        if (!c->closing)
            uv_read_stop(st);
        return;
    }
    h2_flush(c);
}

static void on_conn_timer(uv_timer_t *t)
{
    struct h2_conn *c = t->data;
    if (c->calls) /* busy: an idle connection is one without calls */
        return;
    nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
    h2_flush(c);
    conn_close(c);
}

/* ---- accepting ---- */

static int session_new(struct h2_conn *c, const struct server *s)
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
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)(s->cfg->server.max_header_kb * 1024)},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
    };
    return nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof *iv);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct grpc_server *g = l->data;
    if (status < 0)
        return;
    struct h2_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->g = g;
    g->alive++;
    uv_tcp_init(g->loop, &c->tcp);
    uv_timer_init(g->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = g->conns;
    if (g->conns)
        g->conns->prev = c;
    g->conns = c;
    g->nconns++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0 || session_new(c, g->s) < 0 ||
        g->nconns > g->s->cfg->server.max_connections) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_peer_name(&c->tcp, c->peer, sizeof c->peer);
    uint64_t idle = g->s->cfg->server.idle_timeout_ms;
    uv_timer_start(&c->timer, on_conn_timer, idle, idle);
    uv_read_start((uv_stream_t *)&c->tcp, sb_uv_alloc_scratch, on_read);
    h2_flush(c); /* our SETTINGS */
}

/* The listener is not the first member: free its owner, not the handle. */
static void free_listener_owner(uv_handle_t *h)
{
    free(h->data);
}

int grpc_server_start(struct grpc_server **out, struct server *s, const char *host, int port,
                      struct sb_error *err)
{
    struct grpc_server *g = calloc(1, sizeof *g);
    if (!g)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    g->s = s;
    g->loop = s->loop;
    uv_tcp_init(g->loop, &g->listener);
    g->listener.data = g;
    struct sockaddr_storage ss;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc < 0)
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss);
    if (rc == 0)
        rc = uv_tcp_bind(&g->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&g->listener, 1024, on_connection);
    if (rc < 0) {
        uv_close((uv_handle_t *)&g->listener, free_listener_owner);
        return sb_fail(err, SB_E_CONFIG, "gRPC: cannot listen on %s:%d: %s", host, port,
                       uv_strerror(rc));
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&g->listener, (struct sockaddr *)&bound, &len);
    g->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    g->listening = true;
    *out = g;
    return 0;
}

int grpc_server_port(const struct grpc_server *g)
{
    return g->port;
}

unsigned grpc_server_connections(const struct grpc_server *g)
{
    return g->nconns;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct grpc_server *g = h->data;
    g->listener_closed = true;
    grpc_server_maybe_closed(g);
}

void grpc_server_stop_accepting(struct grpc_server *g)
{
    if (!g->listening)
        return;
    g->listening = false;
    uv_close((uv_handle_t *)&g->listener, on_listener_closed);
    /* Calls in flight carry on; new ones go elsewhere. */
    for (struct h2_conn *c = g->conns; c; c = c->next) {
        nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->ng), NGHTTP2_NO_ERROR,
                              NULL, 0);
        h2_flush(c);
    }
}

void grpc_server_maybe_closed(struct grpc_server *g)
{
    if (g->closed && g->alive == 0 && g->listener_closed) {
        void (*done)(void *) = g->closed;
        void *arg = g->closed_arg;
        g->closed = NULL;
        free(g);
        done(arg);
    }
}

void grpc_server_close(struct grpc_server *g, void (*done)(void *), void *arg)
{
    g->closed = done;
    g->closed_arg = arg;
    grpc_server_stop_accepting(g);
    while (g->conns)
        conn_close(g->conns);
    grpc_server_maybe_closed(g);
}
