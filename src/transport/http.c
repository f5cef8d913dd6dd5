/* HTTP/1.1 connections on the TCP transport base: http-parser drives a
 * small state machine per connection. */
#include "transport/http.h"

#include <ctype.h>
#include <http_parser.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
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
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default:  return "Status";
    }
}

static struct http_conn *conn_of(struct tcp_conn *t)
{
    return tcp_conn_owner(t, struct http_conn, base);
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

static bool busy(enum conn_state s)
{
    return s == C_HANDLING || s == C_UPLOAD || s == C_STREAMING;
}

/* Shedding one of these costs its client nothing it cannot redo: no request
 * of it is being handled, and none of its body has been taken. */
static bool sheddable(enum conn_state s)
{
    return s == C_IDLE || s == C_HEADERS || s == C_CLOSING;
}

void http_set_state(struct http_conn *c, enum conn_state to)
{
    enum conn_state from = c->state;
    c->state = to;
    if (sheddable(from) != sheddable(to))
        tcp_conn_sheddable(&c->base, sheddable(to));
    if (busy(to) && !busy(from))
        tcp_conn_hold(&c->base);
    else if (busy(from) && !busy(to))
        tcp_conn_release(&c->base); /* may free c */
}

/* tcp_close began: a handler still working gets an abort, an upgraded
 * connection's owner hears that it is gone. */
static void on_closing(struct tcp_conn *t)
{
    struct http_conn *c = conn_of(t);
    bool handling = busy(c->state);
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
        http_set_state(c, C_CLOSING);
    else if (c->state == C_UPLOAD) /* last: may free c */
        http_spool_fail(c, SB_E_INVALID_ARGUMENT,
                        "the client closed the connection before the body ended");
}

static void on_free(struct tcp_conn *t)
{
    struct http_conn *c = conn_of(t);
    http_free_request(&c->req);
    sb_buf_free(&c->pending);
    free(c);
}

/* ---- writing ---- */

static void on_drain(struct tcp_conn *t)
{
    struct http_conn *c = conn_of(t);
    if (c->raw && c->raw->drain)
        c->raw->drain(c->raw_arg);
    else if (c->on_drain)
        c->on_drain(c->drain_arg);
}

int http_write_raw(struct http_conn *c, const char *head, size_t hlen, const char *body,
                   size_t blen)
{
    if (c->state == C_CLOSING)
        return -1;
    return tcp_write(&c->base, head, hlen, body, blen);
}

/* Appends to buf[len] at n; once it is full, nothing more (n keeps growing). */
#define HEAD_APPEND(...)                                                   \
    do {                                                                   \
        if ((size_t)n < len)                                               \
            n += snprintf(buf + n, len - (size_t)n, __VA_ARGS__);          \
    } while (0)

static int format_head(struct http_conn *c, char *buf, size_t len, int status,
                       const char *content_type, const char *extra, long content_length)
{
    int n = 0;
    HEAD_APPEND("HTTP/1.1 %d %s\r\nServer: soulbox\r\nX-Request-Id: %s\r\n", status,
                reason(status), c->req.request_id[0] ? c->req.request_id : "-");
    if (content_type)
        HEAD_APPEND("Content-Type: %s\r\n", content_type);
    if (content_length >= 0)
        HEAD_APPEND("Content-Length: %ld\r\n", content_length);
    else
        HEAD_APPEND("Transfer-Encoding: chunked\r\n");
    if (c->close_after || !c->req.keep_alive)
        HEAD_APPEND("Connection: close\r\n");
    else /* how long it stays open idle: a client can drop it first instead of racing us */
        HEAD_APPEND("Connection: keep-alive\r\nKeep-Alive: timeout=%llu\r\n",
                    (unsigned long long)(c->srv->cfg.idle_timeout_ms / 1000));
    HEAD_APPEND("%s\r\n", extra ? extra : "");
    return n < (int)len ? n : (int)len - 1;
}


/* After a complete response: next request, or close. The shutdown sends FIN
 * after every queued write. The socket stays open, reading and discarding,
 * until the client closes or LINGER_MS passes: a client still sending a body
 * we refused then reads our answer instead of a connection reset (lingering
 * close). */
static void response_done(struct http_conn *c)
{
    bool keep = c->req.keep_alive && !c->close_after && !c->aborted;
    http_free_request(&c->req);
    c->on_abort = NULL;
    c->on_drain = NULL;
    if (c->aborted || c->base.closing) {
        http_set_state(c, C_CLOSING); /* may free c */
        return;
    }
    if (!keep) {
        http_set_state(c, C_CLOSING);
        c->pending.len = 0;
        c->header_bytes = 0; /* counts discarded bytes from here on */
        http_start_timer(c, LINGER_MS);
        tcp_read_start(&c->base); /* a body left unread may have stopped it */
        tcp_shutdown(&c->base);
        return;
    }
    http_set_state(c, C_IDLE);
    c->header_bytes = 0;
    c->in_value = false;
    http_parser_pause(&c->parser, 0);
    http_start_timer(c, c->srv->cfg.idle_timeout_ms);
    http_parse_more(c);
}

/* {"error": {"code": ..., "message": ...}}; free() it. NULL if out of memory. */
static char *error_body(enum sb_code code, const char *message)
{
    json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", sb_code_name(code), "message",
                          message);
    char *body = e ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(e);
    return body;
}

static void send_response(struct http_conn *c, int status, const char *content_type,
                          const char *body, size_t len, const char *extra_headers)
{
    char head[2048];
    int n = format_head(c, head, sizeof head, status, content_type, extra_headers, (long)len);
    http_write_raw(c, head, (size_t)n, c->req.head ? NULL : body, c->req.head ? 0 : len);
}

/* Answers before the request's headers were parsed still carry an id. */
static void ensure_request_id(struct http_conn *c)
{
    if (!c->req.request_id[0]) {
        unsigned char b[16];
        util_random(b, sizeof b);
        util_hex(b, sizeof b, c->req.request_id);
    }
}

/* An error answer outside the request cycle (a refused or shed connection):
 * written, then the transport closes the connection. */
static void send_error(struct http_conn *c, enum sb_code code, const char *message,
                       const char *extra_headers)
{
    c->close_after = true;
    ensure_request_id(c);
    char *body = error_body(code, message);
    if (body)
        send_response(c, sb_code_http(code), "application/json", body, strlen(body),
                      extra_headers);
    free(body);
}

void http_respond(struct http_conn *c, int status, const char *content_type, const char *body,
                  size_t len, const char *extra_headers)
{
    if (c->state != C_HANDLING)
        return;
    if (c->req.body_pending)
        c->close_after = true; /* answered without taking the body */
    if (!c->aborted)
        send_response(c, status, content_type, body, len, extra_headers);
    response_done(c);
}

void http_respond_error(struct http_conn *c, enum sb_code code, const char *message,
                        const char *extra_headers)
{
    char *body = error_body(code, message);
    const char *b = body ? body : "{\"error\":{\"code\":\"internal_error\",\"message\":\"\"}}";
    http_respond(c, sb_code_http(code), "application/json", b, strlen(b), extra_headers);
    free(body);
}

void http_stream_start(struct http_conn *c, int status, const char *content_type,
                       const char *extra_headers)
{
    if (c->state != C_HANDLING)
        return;
    if (c->req.body_pending)
        c->close_after = true;
    char head[2048];
    int n = format_head(c, head, sizeof head, status, content_type, extra_headers, -1);
    http_set_state(c, C_STREAMING);
    if (!c->aborted)
        http_write_raw(c, head, (size_t)n, NULL, 0);
}

ssize_t http_stream_write(struct http_conn *c, const char *data, size_t len)
{
    if (c->state != C_STREAMING || c->aborted)
        return -1;
    if (len == 0)
        return (ssize_t)c->base.queued;
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
    return rc < 0 ? -1 : (ssize_t)c->base.queued;
}

void http_stream_end(struct http_conn *c)
{
    if (c->state != C_STREAMING)
        return;
    if (!c->aborted)
        http_write_raw(c, "0\r\n\r\n", 5, NULL, 0);
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
    ensure_request_id(c);
    http_set_state(c, C_HANDLING);
    http_respond_error(c, code, message, NULL);
}

/* ---- timers ---- */

/*
 * A closing connection first sends what is queued: a slow reader gets the
 * whole response as long as some of it goes out every idle timeout. Once all
 * is out, it lingers LINGER_MS, then closes. Returns true while it waits.
 */
static bool closing_waits(struct http_conn *c)
{
    if (c->base.queued > 0) {
        if (!c->flushing || c->base.sent != c->flush_mark)
            c->flush_stall_ms = 0;
        else
            c->flush_stall_ms += LINGER_MS;
        c->flushing = true;
        c->flush_mark = c->base.sent;
        if (c->flush_stall_ms >= c->srv->cfg.idle_timeout_ms)
            return false;
        http_start_timer(c, LINGER_MS);
        return true;
    }
    if (c->flushing) {   /* everything went out since: a whole linger now */
        c->flushing = false;
        http_start_timer(c, LINGER_MS);
        return true;
    }
    return false;
}

static void on_timer(struct tcp_conn *t)
{
    struct http_conn *c = conn_of(t);
    switch (c->state) {
    case C_HEADERS:
    case C_BODY:
        fail_request(c, SB_E_REQUEST_TIMEOUT, c->state == C_HEADERS
                         ? "request headers did not arrive in time"
                         : "request body stalled");
        break;
    case C_CLOSING:
        if (!closing_waits(c))
            tcp_close(&c->base);
        break;
    case C_IDLE:
        tcp_close(&c->base);
        break;
    case C_UPLOAD:
        http_spool_fail(c, SB_E_REQUEST_TIMEOUT, "request body stalled");
        break;
    default:
        break;
    }
}

void http_start_timer(struct http_conn *c, uint64_t ms)
{
    tcp_timer_start(&c->base, ms);
}

static void dispatch(struct http_conn *c)
{
    if (!c->req.body.data)
        sb_buf_append(&c->req.body, "", 0);
    if (c->req.body_pending)
        tcp_read_stop(&c->base); /* until the handler takes the body, or answers */
    c->srv->handler(c, &c->req, c->srv->arg);
}

/* Feeds pending bytes to the parser until a request is complete or the
 * input runs out; dispatches complete requests. */
static bool parsable(const struct http_conn *c)
{
    return c->state == C_IDLE || c->state == C_HEADERS || c->state == C_BODY ||
           (c->state == C_UPLOAD && !http_spool_waiting(c));
}

/* After parsing part of a streamed body: false once nothing more is to be
 * parsed now. */
static bool upload_parsed(struct http_conn *c, enum http_errno e, size_t n)
{
    if (e == HPE_PAUSED) {   /* the body is complete */
        http_spool_pump(c);
        return true;
    }
    if (e != HPE_OK) {
        enum sb_code code = SB_E_INVALID_ARGUMENT;
        char msg[160];
        const char *why = http_spool_error(c, &code);
        if (!why) {
            snprintf(msg, sizeof msg, "malformed HTTP request: %s", http_errno_description(e));
            why = msg;
        }
        c->pending.len = 0;
        http_spool_fail(c, code, why);
        return false;
    }
    return n > 0;
}

static void parse_pending(struct http_conn *c)
{
    while (parsable(c)) {
        if (c->pending.len == 0)
            return;
        size_t n = http_parser_execute(&c->parser, &http_parser_cbs, c->pending.data,
                                       c->pending.len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        sb_buf_drop(&c->pending, n);
        if (c->state == C_UPLOAD) {
            if (!upload_parsed(c, e, n))
                return;
            continue;
        }
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
void http_parse_more(struct http_conn *c)
{
    if (c->parsing)
        return;
    c->parsing = true;
    parse_pending(c);
    c->parsing = false;
}

static void on_data(struct tcp_conn *t, const char *buf, size_t n)
{
    struct http_conn *c = conn_of(t);
    if (c->state == C_RAW) {
        if (c->raw)
            c->raw->data(c->raw_arg, buf, n);
        return;
    }
    if (c->state == C_CLOSING) {
        c->header_bytes += n;
        if (c->header_bytes > LINGER_BYTES)
            tcp_close(&c->base);
        return;
    }
    if (c->pending.len + n > MAX_PIPELINED) {
        tcp_close(&c->base);
        return;
    }
    sb_buf_append(&c->pending, buf, n);
    if (c->pending.oom) {
        tcp_close(&c->base);
        return;
    }
    http_parse_more(c);
}

/* ---- accepting ---- */

static struct tcp_conn *on_alloc(void *arg)
{
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = arg;
    return &c->base;
}

static void on_open(struct tcp_conn *t)
{
    struct http_conn *c = conn_of(t);
    snprintf(c->req.peer, sizeof c->req.peer, "%s", t->peer);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->state = C_IDLE;
    tcp_conn_sheddable(t, true);
    http_start_timer(c, c->srv->cfg.header_timeout_ms);
    tcp_read_start(t);
}

/* Over a connection limit with nothing to shed: 503, then closed. */
static void on_refuse(struct tcp_conn *t, enum tcp_refusal why)
{
    struct http_conn *c = conn_of(t);
    char msg[128];
    if (why == TCP_REFUSED_CLIENT_FULL) {
        char who[64];
        tcp_client_key_name(&t->key, who, sizeof who);
        snprintf(msg, sizeof msg, "too many connections from %s", who);
    } else {
        snprintf(msg, sizeof msg, "too many connections");
    }
    send_error(c, SB_E_UNAVAILABLE, msg, "Retry-After: 1\r\n");
}

/* Shed to make room: a request half-way through its headers hears why; an
 * idle or lingering connection just closes, as after its idle timeout. */
static void on_shed(struct tcp_conn *t)
{
    struct http_conn *c = conn_of(t);
    if (c->state == C_HEADERS)
        send_error(c, SB_E_UNAVAILABLE, "the server is at its connection limit: this "
                   "unfinished request was closed to make room", "Retry-After: 1\r\n");
}

static const struct tcp_ops http_tcp_ops = {
    .alloc = on_alloc,
    .open = on_open,
    .refuse = on_refuse,
    .shed = on_shed,
    .data = on_data,
    .timeout = on_timer,
    .drain = on_drain,
    .closing = on_closing,
    .free = on_free,
};

int http_server_start(struct http_server **out, uv_loop_t *loop, const char *host, int port,
                      const struct http_server_cfg *cfg, http_handler handler, void *arg,
                      struct sb_error *err)
{
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    s->cfg = *cfg;
    s->handler = handler;
    s->arg = arg;
    struct tcp_server_cfg tc = {
        .max_connections = cfg->max_connections,
        .max_connections_per_client = cfg->max_connections_per_client,
        .drain_mark = DRAIN_MARK,
    };
    if (tcp_server_start(&s->tcp, loop, host, port, &tc, &http_tcp_ops, s, err) < 0) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int http_server_port(const struct http_server *s)
{
    return tcp_server_port(s->tcp);
}

void http_server_stop_accepting(struct http_server *s)
{
    tcp_server_stop_accepting(s->tcp);
}

unsigned http_server_connections(const struct http_server *s)
{
    return tcp_server_connections(s->tcp);
}

static void on_closed(void *arg)
{
    struct http_server *s = arg;
    void (*done)(void *) = s->closed;
    void *done_arg = s->closed_arg;
    free(s);
    done(done_arg);
}

void http_server_close(struct http_server *s, void (*done)(void *), void *arg)
{
    s->closed = done;
    s->closed_arg = arg;
    tcp_server_close(s->tcp, on_closed, s);
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
        ops->closed(arg);
        http_set_state(c, C_CLOSING); /* may free c */
        return;
    }
    http_set_state(c, C_RAW);
    c->raw = ops;
    c->raw_arg = arg;
    tcp_timer_stop(&c->base); /* the protocol keeps its own time */
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
    return (ssize_t)c->base.queued;
}

size_t http_raw_queued(const struct http_conn *c)
{
    return c->base.queued;
}

size_t http_conn_queued(const struct http_conn *c)
{
    return c->base.queued;
}

void http_raw_reading(struct http_conn *c, bool on)
{
    if (c->state != C_RAW)
        return;
    if (on)
        tcp_read_start(&c->base);
    else
        tcp_read_stop(&c->base);
}

int http_conn_set_owner(struct http_conn *c, const char *owner)
{
    if (tcp_conn_set_owner(&c->base, owner) == 0)
        return 0;
    c->close_after = true;
    return -1;
}

void http_raw_close(struct http_conn *c)
{
    if (c->state != C_RAW)
        return;
    /* FIN after the queued writes; discard what still arrives (lingering). */
    http_set_state(c, C_CLOSING);
    c->header_bytes = 0;
    http_start_timer(c, LINGER_MS);
    tcp_read_start(&c->base);
    tcp_shutdown(&c->base);
}

const char *http_header(const struct http_request *req, const char *lname)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (!strcmp(req->headers[i].name, lname))
            return req->headers[i].value;
    return NULL;
}
