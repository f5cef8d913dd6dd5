/* HTTP/1.1 connections: http-parser drives a small state machine per connection. */
#include "transport/http.h"

#include <ctype.h>
#include <http_parser.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/uvbuf.h"
#include "transport/http_internal.h"


static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default:  return "Status";
    }
}

/* ---- lifetime ---- */

void http_free_request(struct http_request *r)
{
    sb_buf_free(&r->url);
    sb_buf_free(&r->body);
    free(r->path);
    free(r->query);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    char peer[64];
    memcpy(peer, r->peer, sizeof peer);
    memset(r, 0, sizeof *r);
    memcpy(r->peer, peer, sizeof peer);
}

static void maybe_free(struct http_conn *c)
{
    if (c->handles || c->writes || (c->state == C_HANDLING || c->state == C_STREAMING))
        return;
    struct http_server *s = c->srv;
    http_free_request(&c->req);
    sb_buf_free(&c->pending);
    free(c);
    if (s->closing && s->nconns == 0 && !s->listening && s->closed) {
        void (*done)(void *) = s->closed;
        s->closed = NULL;
        done(s->closed_arg);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    c->handles--;
    maybe_free(c);
}

static void conn_close(struct http_conn *c)
{
    if (c->handles == 0 || uv_is_closing((uv_handle_t *)&c->timer))
        return;
    struct http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    bool handling = c->state == C_HANDLING || c->state == C_STREAMING;
    if (handling && !c->aborted) {
        c->aborted = true;
        if (c->on_abort)
            c->on_abort(c->abort_arg);
    }
    if (c->raw) {
        const struct http_raw_ops *raw = c->raw;
        c->raw = NULL;
        raw->closed(c->raw_arg);
    }
    if (!handling)
        c->state = C_CLOSING;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

/* ---- writing ---- */

static void on_written(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct http_conn *c = wr->c;
    c->writes--;
    c->queued_bytes -= wr->len;
    free(wr);
    if (status < 0) {
        conn_close(c);
    } else if (c->queued_bytes < DRAIN_MARK) {
        if (c->raw && c->raw->drain)
            c->raw->drain(c->raw_arg);
        else if (c->on_drain)
            c->on_drain(c->drain_arg);
    }
    maybe_free(c);
}

int http_write_raw(struct http_conn *c, const char *head, size_t hlen, const char *body,
                   size_t blen)
{
    if (c->state == C_CLOSING || c->handles == 0 || uv_is_closing((uv_handle_t *)&c->tcp))
        return -1;
    struct write_req *wr = malloc(sizeof *wr + hlen + blen);
    if (!wr)
        return -1;
    memcpy(wr->data, head, hlen);
    if (blen)
        memcpy(wr->data + hlen, body, blen);
    wr->c = c;
    wr->len = hlen + blen;
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)(hlen + blen));
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        free(wr);
        return -1;
    }
    c->writes++;
    c->queued_bytes += wr->len;
    return 0;
}

static int format_head(struct http_conn *c, char *buf, size_t len, int status,
                       const char *content_type, const char *extra, long content_length)
{
    int n = snprintf(buf, len, "HTTP/1.1 %d %s\r\nServer: soulbox\r\nX-Request-Id: %s\r\n",
                     status, reason(status), c->req.request_id[0] ? c->req.request_id : "-");
    if (content_type)
        n += snprintf(buf + n, len - (size_t)n, "Content-Type: %s\r\n", content_type);
    if (content_length >= 0)
        n += snprintf(buf + n, len - (size_t)n, "Content-Length: %ld\r\n", content_length);
    else
        n += snprintf(buf + n, len - (size_t)n, "Transfer-Encoding: chunked\r\n");
    n += snprintf(buf + n, len - (size_t)n, "Connection: %s\r\n%s\r\n",
                  c->close_after || !c->req.keep_alive ? "close" : "keep-alive",
                  extra ? extra : "");
    return n < (int)len ? n : (int)len - 1;
}

static void parse_more(struct http_conn *c);

/* The shutdown sends FIN after every queued write. The socket stays open,
 * reading and discarding, until the client closes or LINGER_MS passes: a
 * client still sending a body we refused then reads our answer instead of a
 * connection reset (lingering close). */
static void on_shutdown(uv_shutdown_t *sh, int status)
{
    struct http_conn *c = sh->handle->data;
    free(sh);
    if (status < 0)
        conn_close(c);
}

/* After a complete response: next request, or close. */
static void response_done(struct http_conn *c)
{
    bool keep = c->req.keep_alive && !c->close_after && !c->aborted;
    http_free_request(&c->req);
    c->on_abort = NULL;
    c->on_drain = NULL;
    if (c->aborted || c->handles == 0) {
        c->state = C_CLOSING;
        maybe_free(c);
        return;
    }
    if (!keep) {
        c->state = C_CLOSING;
        c->pending.len = 0;
        c->header_bytes = 0; /* counts discarded bytes from here on */
        http_start_timer(c, LINGER_MS);
        uv_shutdown_t *sh = malloc(sizeof *sh);
        if (!sh || uv_shutdown(sh, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
            free(sh);
            conn_close(c);
        }
        return;
    }
    c->state = C_IDLE;
    c->header_bytes = 0;
    c->in_value = false;
    http_parser_pause(&c->parser, 0);
    http_start_timer(c, c->srv->cfg.idle_timeout_ms);
    parse_more(c);
}

void http_respond(struct http_conn *c, int status, const char *content_type, const char *body,
                  size_t len, const char *extra_headers)
{
    if (c->state != C_HANDLING)
        return;
    char head[2048];
    int n = format_head(c, head, sizeof head, status, content_type, extra_headers, (long)len);
    if (!c->aborted)
        http_write_raw(c, head, (size_t)n, c->req.head ? NULL : body, c->req.head ? 0 : len);
    c->state = C_IDLE;
    response_done(c);
}

void http_respond_error(struct http_conn *c, enum sb_code code, const char *message,
                        const char *extra_headers)
{
    json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", sb_code_name(code), "message",
                          message);
    char *body = e ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(e);
    const char *b = body ? body : "{\"error\":{\"code\":\"internal_error\",\"message\":\"\"}}";
    http_respond(c, sb_code_http(code), "application/json", b, strlen(b), extra_headers);
    free(body);
}

void http_stream_start(struct http_conn *c, int status, const char *content_type,
                       const char *extra_headers)
{
    if (c->state != C_HANDLING)
        return;
    char head[2048];
    int n = format_head(c, head, sizeof head, status, content_type, extra_headers, -1);
    c->state = C_STREAMING;
    if (!c->aborted)
        http_write_raw(c, head, (size_t)n, NULL, 0);
}

ssize_t http_stream_write(struct http_conn *c, const char *data, size_t len)
{
    if (c->state != C_STREAMING || c->aborted)
        return -1;
    if (len == 0)
        return (ssize_t)c->queued_bytes;
    char head[32];
    int n = snprintf(head, sizeof head, "%zx\r\n", len);
    /* chunk = size line, data, CRLF; the trailing CRLF goes with the data */
    char *tmp = malloc(len + 2);
    if (!tmp)
        return -1;
    memcpy(tmp, data, len);
    memcpy(tmp + len, "\r\n", 2);
    int rc = http_write_raw(c, head, (size_t)n, tmp, len + 2);
    free(tmp);
    return rc < 0 ? -1 : (ssize_t)c->queued_bytes;
}

void http_stream_end(struct http_conn *c)
{
    if (c->state != C_STREAMING)
        return;
    if (!c->aborted)
        http_write_raw(c, "0\r\n\r\n", 5, NULL, 0);
    c->state = C_IDLE;
    response_done(c);
}

void http_conn_on_abort(struct http_conn *c, void (*cb)(void *), void *arg)
{
    c->on_abort = cb;
    c->abort_arg = arg;
}

void http_conn_on_drain(struct http_conn *c, void (*cb)(void *), void *arg)
{
    c->on_drain = cb;
    c->drain_arg = arg;
}

bool http_conn_aborted(const struct http_conn *c)
{
    return c->aborted;
}

/* Protocol-level failure before a handler saw the request: answer and close. */
static void fail_request(struct http_conn *c, enum sb_code code, const char *message)
{
    c->close_after = true;
    if (!c->req.request_id[0]) {
        unsigned char b[16];
        util_random(b, sizeof b);
        util_hex(b, sizeof b, c->req.request_id);
    }
    c->state = C_HANDLING;
    http_respond_error(c, code, message, NULL);
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t)
{
    struct http_conn *c = t->data;
    switch (c->state) {
    case C_HEADERS:
    case C_BODY:
        fail_request(c, SB_E_REQUEST_TIMEOUT, c->state == C_HEADERS
                         ? "request headers did not arrive in time"
                         : "request body stalled");
        break;
    case C_IDLE:
    case C_CLOSING:
        conn_close(c);
        break;
    default:
        break;
    }
}

void http_start_timer(struct http_conn *c, uint64_t ms)
{
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void dispatch(struct http_conn *c)
{
    if (!c->req.body.data)
        sb_buf_append(&c->req.body, "", 0);
    c->srv->handler(c, &c->req, c->srv->arg);
}

/* Feeds pending bytes to the parser until a request is complete or the
 * input runs out; dispatches complete requests. */
static void parse_pending(struct http_conn *c)
{
    while (c->state == C_IDLE || c->state == C_HEADERS || c->state == C_BODY) {
        if (c->pending.len == 0)
            return;
        size_t n = http_parser_execute(&c->parser, &http_parser_cbs, c->pending.data,
                                       c->pending.len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        memmove(c->pending.data, c->pending.data + n, c->pending.len - n);
        c->pending.len -= n;
        if (c->state == C_HANDLING && c->close_after && e != HPE_PAUSED) {
            c->pending.len = 0;
            return fail_request(c, SB_E_PAYLOAD_TOO_LARGE, "request body is too large");
        }
        if (c->parser.upgrade && c->state == C_HANDLING) {
            /* The handler may take the socket over (WebSocket); otherwise
             * the connection ends with this response. */
            c->close_after = true;
            return dispatch(c);
        }
        if (e == HPE_PAUSED && c->state == C_HANDLING) {
            dispatch(c);
            continue; /* answered at once (keep-alive): the next request */
        }
        if (e != HPE_OK) {
            c->pending.len = 0;
            if (c->version_bad)
                return fail_request(c, SB_E_HTTP_VERSION, "only HTTP/1.0 and HTTP/1.1 are served "
                                    "here (gRPC has its own port)");
            if (c->header_bytes > c->srv->cfg.max_header_bytes && c->state == C_HEADERS)
                return fail_request(c, SB_E_HEADERS_TOO_LARGE, "request headers are too large");
            if (c->state == C_BODY && c->req.body.len >= c->srv->cfg.max_body_bytes)
                return fail_request(c, SB_E_PAYLOAD_TOO_LARGE, "request body is too large");
            char msg[160];
            snprintf(msg, sizeof msg, "malformed HTTP request: %s", http_errno_description(e));
            return fail_request(c, SB_E_INVALID_ARGUMENT, msg);
        }
        if (n == 0)
            return;
    }
}

/* A handler that answers at once ends in response_done, which calls this
 * again: the loop already running goes on with the next pipelined request
 * instead of nesting, so a read full of them cannot overflow the stack. */
static void parse_more(struct http_conn *c)
{
    if (c->parsing)
        return;
    c->parsing = true;
    parse_pending(c);
    c->parsing = false;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct http_conn *c = st->data;
    if (n < 0) {
        conn_close(c); /* EOF or error: a handler still working gets an abort */
        return;
    }
    if (n == 0)
        return;
    if (c->state == C_RAW) {
        if (c->raw)
            c->raw->data(c->raw_arg, buf->base, (size_t)n);
        return;
    }
    if (c->state == C_CLOSING) {
        c->header_bytes += (size_t)n;
        if (c->header_bytes > LINGER_BYTES)
            conn_close(c);
        return;
    }
    if (c->pending.len + (size_t)n > MAX_PIPELINED) {
        conn_close(c);
        return;
    }
    sb_buf_append(&c->pending, buf->base, (size_t)n);
    if (c->pending.oom) {
        conn_close(c);
        return;
    }
    parse_more(c);
}

/* ---- accepting ---- */

void http_peer_name(uv_tcp_t *t, char *out, size_t len)
{
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    snprintf(out, len, "unknown");
    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &sl) < 0)
        return;
    if (ss.ss_family == AF_INET)
        uv_ip4_name((struct sockaddr_in *)&ss, out, len);
    else if (ss.ss_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)&ss, out, len);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct http_server *s = l->data;
    if (status < 0)
        return;
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_peer_name(&c->tcp, c->req.peer, sizeof c->req.peer);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (s->nconns > s->cfg.max_connections) {
        fail_request(c, SB_E_UNAVAILABLE, "too many connections");
        return;
    }
    c->state = C_IDLE;
    http_start_timer(c, s->cfg.header_timeout_ms);
    uv_read_start((uv_stream_t *)&c->tcp, sb_uv_alloc_scratch, on_read);
}

/* The listener is not the first member: free its owner, not the handle. */
static void free_listener_owner(uv_handle_t *h)
{
    free(h->data);
}

int http_server_start(struct http_server **out, uv_loop_t *loop, const char *host, int port,
                      const struct http_server_cfg *cfg, http_handler handler, void *arg,
                      struct sb_error *err)
{
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    s->loop = loop;
    s->cfg = *cfg;
    s->handler = handler;
    s->arg = arg;
    struct sockaddr_storage addr;
    int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                               : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc < 0) {
        free(s);
        return sb_fail(err, SB_E_CONFIG, "listen address '%s' is not an IP address", host);
    }
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, 4096, on_connection)) < 0) {
        uv_close((uv_handle_t *)&s->listener, free_listener_owner);
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

int http_server_port(const struct http_server *s)
{
    return s->port;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct http_server *s = h->data;
    if (s->closing && s->nconns == 0 && s->closed) {
        void (*done)(void *) = s->closed;
        s->closed = NULL;
        done(s->closed_arg);
    }
}

void http_server_stop_accepting(struct http_server *s)
{
    if (!s->listening)
        return;
    s->listening = false;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

unsigned http_server_connections(const struct http_server *s)
{
    return s->nconns;
}

void http_server_close(struct http_server *s, void (*done)(void *), void *arg)
{
    s->closing = true;
    s->closed = done;
    s->closed_arg = arg;
    bool was_listening = s->listening;
    http_server_stop_accepting(s);
    while (s->conns)
        conn_close(s->conns);
    if (!was_listening && s->nconns == 0 && s->closed) {
        s->closed = NULL;
        done(arg);
    }
}

/* ---- upgraded connections ---- */

void http_upgrade(struct http_conn *c, const char *extra_headers, const struct http_raw_ops *ops,
                  void *arg)
{
    if (c->state != C_HANDLING)
        return;
    char head[2048];
    int n = snprintf(head, sizeof head, "HTTP/1.1 101 Switching Protocols\r\nServer: soulbox\r\n"
                     "X-Request-Id: %s\r\n%s\r\n", c->req.request_id, extra_headers);
    if (n >= (int)sizeof head)
        n = (int)sizeof head - 1;
    http_free_request(&c->req);
    c->on_abort = NULL;
    c->on_drain = NULL;
    if (c->aborted) { /* gone already: report it the way the owner expects */
        c->state = C_CLOSING;
        ops->closed(arg);
        maybe_free(c);
        return;
    }
    c->state = C_RAW;
    c->raw = ops;
    c->raw_arg = arg;
    uv_timer_stop(&c->timer); /* the protocol keeps its own time */
    http_write_raw(c, head, (size_t)n, NULL, 0);
    if (c->pending.len && c->raw) {
        /* bytes the client sent right after its request */
        struct sb_buf early = c->pending;
        memset(&c->pending, 0, sizeof c->pending);
        ops->data(arg, early.data, early.len);
        sb_buf_free(&early);
    }
}

ssize_t http_raw_write(struct http_conn *c, const void *data, size_t len)
{
    if (c->state != C_RAW || http_write_raw(c, data, len, NULL, 0) < 0)
        return -1;
    return (ssize_t)c->queued_bytes;
}

size_t http_raw_queued(const struct http_conn *c)
{
    return c->queued_bytes;
}

void http_raw_reading(struct http_conn *c, bool on)
{
    if (c->state != C_RAW)
        return;
    if (on)
        uv_read_start((uv_stream_t *)&c->tcp, sb_uv_alloc_scratch, on_read);
    else
        uv_read_stop((uv_stream_t *)&c->tcp);
}

void http_raw_close(struct http_conn *c)
{
    if (c->state != C_RAW)
        return;
    /* FIN after the queued writes; discard what still arrives (lingering). */
    c->state = C_CLOSING;
    c->header_bytes = 0;
    http_start_timer(c, LINGER_MS);
    uv_read_start((uv_stream_t *)&c->tcp, sb_uv_alloc_scratch, on_read);
    uv_shutdown_t *sh = malloc(sizeof *sh);
    if (!sh || uv_shutdown(sh, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        free(sh);
        conn_close(c);
    }
}

const char *http_header(const struct http_request *req, const char *lname)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (!strcmp(req->headers[i].name, lname))
            return req->headers[i].value;
    return NULL;
}
