/* One gRPC call per HTTP/2 stream: request headers (method, auth, deadline),
 * length-prefixed messages in and out, status trailers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "frontend/grpc/grpc.h"
#include "frontend/grpc/grpc_frame.h"
#include "service/gate.h"
#include "service/service.h"
#include "transport/h2.h"

#define DRAIN_MARK (64u << 10)

struct grpc_call {
    struct h2_stream st;       /* its HTTP/2 stream: connection and id */
    const struct grpc_method *m;
    /* request headers */
    char method[16], path[256], content_type[64], timeout[16], encoding[32];
    char key[256], request_id[64];
    size_t header_bytes;
    bool bad_header;
    bool forwarded;            /* x-soulbox-forwarded: another node sent it here */
    struct caller who;
    uint64_t t_start_ns;
    /* requests */
    struct sb_buf in;          /* bytes not yet framed into messages */
    struct sb_buf unary;       /* unary and server-streaming: the one message */
    unsigned nmsgs;
    /* responses */
    struct sb_buf out;         /* framed messages not yet taken by nghttp2 */
    size_t out_off;
    bool submitted;            /* response headers (with a data source) are out */
    int status;
    char *message;
    /* state */
    bool started;              /* the method owns the call */
    bool done;                 /* finished or cancelled: no more method callbacks */
    bool trailers_due;         /* finished: trailers follow the queued messages */
    bool want_drain;
    void (*drain)(struct grpc_call *c);
    uv_timer_t deadline;
    bool deadline_on;
    void *data;
    /* taken over (grpc_call_take_over): told instead of the method */
    void (*taken_cancel)(void *arg);
    void *taken_arg;
};

static struct grpc_call *call_of(struct h2_stream *st)
{
    return list_entry(st, struct grpc_call, st);
}

static nghttp2_session *session(const struct grpc_call *c)
{
    return h2_session(c->st.conn);
}

/* ---- lookups ---- */

static const struct grpc_method *find_method(const char *path)
{
    const struct grpc_method *const *tables[] = {grpc_soulbox_methods, grpc_sessions_methods,
                                                 grpc_std_methods};
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (const struct grpc_method *const *m = tables[t]; *m; m++)
            if (!strcmp((*m)->path, path))
                return *m;
    return NULL;
}

/* ---- the call API ---- */

void grpc_call_set_data(struct grpc_call *c, void *data) { c->data = data; }
void *grpc_call_data(const struct grpc_call *c) { return c->data; }
struct service *grpc_call_service(const struct grpc_call *c) { return h2_arg(c->st.conn); }
const struct caller *grpc_call_caller(const struct grpc_call *c) { return &c->who; }
const char *grpc_call_peer(const struct grpc_call *c) { return h2_peer(c->st.conn); }
size_t grpc_call_queued(const struct grpc_call *c) { return c->out.len - c->out_off; }

void grpc_call_on_drain(struct grpc_call *c, void (*cb)(struct grpc_call *c))
{
    c->drain = cb;
}

static ssize_t read_out(nghttp2_session *ng, int32_t stream_id, uint8_t *buf, size_t length,
                        uint32_t *flags, nghttp2_data_source *src, void *arg);

static void submit_headers(struct grpc_call *c)
{
    if (c->submitted)
        return;
    c->submitted = true;
    nghttp2_nv hdrs[] = {
        {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE},
    };
    nghttp2_data_provider prd = {.source.ptr = c, .read_callback = read_out};
    nghttp2_submit_response(session(c), c->st.id, hdrs, 2, &prd);
}

int grpc_send_raw(struct grpc_call *c, const uint8_t *data, size_t n)
{
    if (c->done)
        return -1;
    if (c->out_off == c->out.len)
        c->out.len = c->out_off = 0;
    uint8_t head[5] = {0, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    sb_buf_append(&c->out, (const char *)head, 5);
    sb_buf_append(&c->out, (const char *)data, n);
    if (c->out.oom)
        return -1;
    submit_headers(c);
    nghttp2_session_resume_data(session(c), c->st.id);
    h2_flush(c->st.conn);
    return 0;
}

const uint8_t *grpc_call_request(const struct grpc_call *c, size_t *len)
{
    *len = c->unary.len;
    return (const uint8_t *)c->unary.data;
}

const char *grpc_call_key(const struct grpc_call *c) { return c->key; }
const char *grpc_call_path(const struct grpc_call *c) { return c->path; }
bool grpc_call_forwarded(const struct grpc_call *c) { return c->forwarded; }

void grpc_call_take_over(struct grpc_call *c, void (*cancelled)(void *arg), void *arg)
{
    c->taken_cancel = cancelled;
    c->taken_arg = arg;
}

int grpc_send(struct grpc_call *c, const ProtobufCMessage *msg)
{
    if (c->done)
        return -1;
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (c->out_off == c->out.len)
        c->out.len = c->out_off = 0;
    uint8_t head[5] = {0, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    sb_buf_append(&c->out, (const char *)head, 5);
    if (sb_buf_reserve(&c->out, n) < 0 || c->out.oom)
        return -1;
    protobuf_c_message_pack(msg, (uint8_t *)c->out.data + c->out.len);
    c->out.len += n;
    submit_headers(c);
    nghttp2_session_resume_data(session(c), c->st.id);
    h2_flush(c->st.conn);
    return 0;
}

/* grpc-message is percent-encoded (PROTOCOL-HTTP2.md). */
static void percent_encode(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (; *in && o + 4 < len; in++) {
        unsigned char ch = (unsigned char)*in;
        if (ch >= 0x20 && ch <= 0x7e && ch != '%')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, len - o, "%%%02X", ch);
    }
    out[o] = '\0';
}

static void log_call(struct grpc_call *c)
{
    struct service *s = grpc_call_service(c);
    const char *method = c->m ? c->m->path : "unknown";
    metrics_grpc(&s->metrics, method, c->status);
    double ms = (double)(util_mono_ns() - c->t_start_ns) / 1e6;
    log_event(c->status == GRPC_INTERNAL ? LOG_WARN : LOG_INFO, "grpc",
              json_pack("{s:s,s:s,s:i,s:f,s:s}", "request_id", c->request_id, "method",
                        c->path, "status", c->status, "duration_ms", ms, "client",
                        grpc_call_peer(c)));
}

static void submit_trailers(struct grpc_call *c, bool headers_too)
{
    char code[16], msg[1024];
    snprintf(code, sizeof code, "%d", c->status);
    percent_encode(c->message ? c->message : "", msg, sizeof msg);
    nghttp2_nv nv[4];
    size_t n = 0;
    if (headers_too) {
        nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0};
        nv[n++] = (nghttp2_nv){(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12,
                               16, 0};
    }
    nv[n++] = (nghttp2_nv){(uint8_t *)"grpc-status", (uint8_t *)code, 11, strlen(code), 0};
    if (msg[0])
        nv[n++] = (nghttp2_nv){(uint8_t *)"grpc-message", (uint8_t *)msg, 12, strlen(msg), 0};
    if (headers_too) /* trailers-only: one HEADERS frame ends the stream */
        nghttp2_submit_response(session(c), c->st.id, nv, n, NULL);
    else
        nghttp2_submit_trailer(session(c), c->st.id, nv, n);
}

static ssize_t read_out(nghttp2_session *ng, int32_t stream_id, uint8_t *buf, size_t length,
                        uint32_t *flags, nghttp2_data_source *src, void *arg)
{
    (void)ng;
    (void)stream_id;
    (void)arg;
    struct grpc_call *c = src->ptr;
    size_t avail = c->out.len - c->out_off;
    size_t n = avail < length ? avail : length;
    memcpy(buf, c->out.data + c->out_off, n);
    c->out_off += n;
    if (c->drain && !c->done && grpc_call_queued(c) < DRAIN_MARK)
        c->want_drain = true;
    if (c->out_off == c->out.len && c->trailers_due) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        c->trailers_due = false;
        submit_trailers(c, false);
        return (ssize_t)n;
    }
    return n ? (ssize_t)n : NGHTTP2_ERR_DEFERRED;
}

static void stop_deadline(struct grpc_call *c)
{
    if (c->deadline_on)
        uv_timer_stop(&c->deadline);
}

void grpc_finish(struct grpc_call *c, int status, const char *message)
{
    if (c->done)
        return;
    c->done = true;
    stop_deadline(c);
    c->status = status;
    free(c->message);
    c->message = message ? strdup(message) : NULL;
    if (c->submitted) {
        c->trailers_due = true;
        nghttp2_session_resume_data(session(c), c->st.id);
    } else {
        submit_trailers(c, true);
    }
    log_call(c);
    h2_flush(c->st.conn);
}

void grpc_finish_error(struct grpc_call *c, const struct sb_error *err)
{
    grpc_finish(c, sb_code_grpc(err->code), err->msg);
}

/* The call ends without its method: tell the method, then end the stream. */
/* The method, or whoever took the call over, hears that it ended. */
static void tell_cancelled(struct grpc_call *c)
{
    if (c->taken_cancel)
        c->taken_cancel(c->taken_arg);
    else if (c->m->cancelled)
        c->m->cancelled(c);
}

static void cancel(struct grpc_call *c, int status, const char *message)
{
    if (c->done)
        return;
    if (c->started)
        tell_cancelled(c);
    grpc_finish(c, status, message);
}

/* ---- driven by the transport ---- */

static struct h2_stream *stream_open(struct h2_conn *conn, int32_t id)
{
    (void)conn;
    (void)id;
    struct grpc_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->t_start_ns = util_mono_ns();
    return &c->st;
}

static void stream_header(struct h2_stream *st, const char *name, size_t nlen,
                          const char *value, size_t vlen)
{
    struct grpc_call *c = call_of(st);
    struct service *s = grpc_call_service(c);
    c->header_bytes += nlen + vlen + 32;
    if (c->header_bytes > s->cfg->server.max_header_kb * 1024) {
        c->bad_header = true;
        return;
    }
    struct { const char *name; char *dst; size_t size; } want[] = {
        {":method", c->method, sizeof c->method}, {":path", c->path, sizeof c->path},
        {"content-type", c->content_type, sizeof c->content_type},
        {"grpc-timeout", c->timeout, sizeof c->timeout},
        {"grpc-encoding", c->encoding, sizeof c->encoding},
        {"x-api-key", c->key, sizeof c->key}, {"x-request-id", c->request_id,
                                               sizeof c->request_id},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (strlen(want[i].name) == nlen && !memcmp(want[i].name, name, nlen)) {
            snprintf(want[i].dst, want[i].size, "%.*s", (int)vlen, value);
            return;
        }
    if (nlen == 19 && !memcmp(name, "x-soulbox-forwarded", 19))
        c->forwarded = true;
    if (nlen == 13 && !memcmp(name, "authorization", 13) && vlen > 7 &&
        !strncasecmp(value, "Bearer ", 7) && !c->key[0])
        snprintf(c->key, sizeof c->key, "%.*s", (int)(vlen - 7), value + 7);
}

static void on_deadline(uv_timer_t *t)
{
    cancel(t->data, GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
}

/* Returns 0 when the call may go to its method, or -1 after finishing it. */
static int admit(struct grpc_call *c)
{
    struct service *s = grpc_call_service(c);
    if (c->bad_header)
        return grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "request headers are too large"), -1;
    if (c->encoding[0] && strcmp(c->encoding, "identity"))
        return grpc_finish(c, GRPC_UNIMPLEMENTED, "compressed requests are not supported "
                           "(grpc-encoding: identity only)"), -1;
    if (!(c->m = find_method(c->path))) {
        char msg[320];
        snprintf(msg, sizeof msg, "unknown method %s", c->path);
        return grpc_finish(c, GRPC_UNIMPLEMENTED, msg), -1;
    }
    if (!service_accepting(s))
        return grpc_finish(c, GRPC_UNAVAILABLE, "the server is shutting down"), -1;
    if (c->m->public_)
        return 0;
    snprintf(c->who.request_id, sizeof c->who.request_id, "%s", c->request_id);
    snprintf(c->who.client, sizeof c->who.client, "%s", grpc_call_peer(c));
    c->who.frontend = "grpc";
    struct refusal r;
    if (gate_enter(s, &c->who, c->key, &r) < 0 ||
        (c->who.has_key && h2_conn_set_owner(c->st.conn, c->who.key_id) < 0 &&
         gate_refuse_connections(s, &c->who, &r) < 0))
        return grpc_finish_error(c, &r.err), -1;
    return 0;
}

/* The request headers are complete: admit the call, or answer at once. */
static void stream_headers_end(struct h2_stream *st)
{
    struct grpc_call *c = call_of(st);
    if (c->started || c->done)
        return;
    if (!c->request_id[0]) {
        unsigned char b[16];
        util_random(b, sizeof b);
        util_hex(b, sizeof b, c->request_id);
    }
    if (strcmp(c->method, "POST") || strncmp(c->content_type, "application/grpc", 16)) {
        /* Not gRPC at all: a plain HTTP answer (PROTOCOL-HTTP2.md). */
        c->done = true;
        nghttp2_nv nv = {(uint8_t *)":status", (uint8_t *)(strcmp(c->method, "POST") ? "405"
                         : "415"), 7, 3, 0};
        nghttp2_submit_response(session(c), c->st.id, &nv, 1, NULL);
        return;
    }
    if (admit(c) < 0)
        return;
    uint64_t ms;
    if (c->timeout[0] && grpc_parse_timeout(c->timeout, &ms)) {
        uv_timer_init(grpc_call_service(c)->loop, &c->deadline);
        c->deadline.data = c;
        c->deadline_on = true;
        uv_timer_start(&c->deadline, on_deadline, ms, 0);
    }
    c->started = true;
}

static void deliver(struct grpc_call *c, const uint8_t *data, size_t len)
{
    if (c->m->kind == GRPC_UNARY || c->m->kind == GRPC_SERVER_STREAM) {
        if (c->nmsgs++ == 0)
            sb_buf_append(&c->unary, (const char *)data, len);
        return;
    }
    c->m->message(c, data, len);
}

static void stream_data(struct h2_stream *st, const uint8_t *data, size_t len)
{
    struct grpc_call *c = call_of(st);
    if (!c->started || c->done)
        return;
    size_t max = grpc_call_service(c)->cfg->server.max_body_kb * 1024;
    sb_buf_append(&c->in, (const char *)data, len);
    size_t off = 0;
    while (!c->done) {
        const uint8_t *m;
        size_t n;
        enum grpc_frame_rc rc = grpc_frame_next((const uint8_t *)c->in.data + off,
                                                c->in.len - off, max, &m, &n);
        if (rc == GRPC_FRAME_MORE)
            break;
        if (rc == GRPC_FRAME_COMPRESSED)
            return cancel(c, GRPC_INTERNAL, "a compressed message without grpc-encoding");
        if (rc == GRPC_FRAME_TOO_LARGE) {
            char msg[128];
            snprintf(msg, sizeof msg, "request message of %zu bytes is larger than %zu "
                     "(server.max_body_kb)", n, max);
            return cancel(c, GRPC_RESOURCE_EXHAUSTED, msg);
        }
        deliver(c, m, n);
        off += 5 + n;
    }
    sb_buf_drop(&c->in, off);
    if (c->in.oom)
        cancel(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
}

static void stream_end(struct h2_stream *st)
{
    struct grpc_call *c = call_of(st);
    if (!c->started || c->done)
        return;
    if (c->in.len)
        return cancel(c, GRPC_INTERNAL, "the request ended inside a message");
    if (c->m->kind == GRPC_UNARY || c->m->kind == GRPC_SERVER_STREAM) {
        if (c->nmsgs != 1)
            return cancel(c, GRPC_UNIMPLEMENTED, c->nmsgs ? "one request message expected, "
                          "got more" : "one request message expected, got none");
        c->m->message(c, (const uint8_t *)c->unary.data, c->unary.len);
    } else if (c->m->half_close) {
        c->m->half_close(c);
    }
}

static void free_call(struct grpc_call *c)
{
    sb_buf_free(&c->in);
    sb_buf_free(&c->unary);
    sb_buf_free(&c->out);
    free(c->message);
    free(c);
}

static void on_deadline_closed(uv_handle_t *h)
{
    free_call(h->data);
}

/* The stream is gone (the transport unlinked it): frees the call. */
static void stream_closed(struct h2_stream *st)
{
    struct grpc_call *c = call_of(st);
    if (!c->done && c->started && (c->m->cancelled || c->taken_cancel)) {
        c->done = true; /* the client went away: nobody to tell */
        c->status = GRPC_CANCELLED;
        tell_cancelled(c);
        log_call(c);
    }
    c->done = true;
    if (c->deadline_on)
        uv_close((uv_handle_t *)&c->deadline, on_deadline_closed);
    else
        free_call(c);
}

/* After a flush: a call waiting for room hears about it. */
static void stream_drained(struct h2_stream *st)
{
    struct grpc_call *c = call_of(st);
    if (c->want_drain && !c->done && c->drain) {
        c->want_drain = false;
        c->drain(c);
    }
}

const struct h2_stream_ops grpc_stream_ops = {
    .open = stream_open,
    .header = stream_header,
    .headers_end = stream_headers_end,
    .data = stream_data,
    .end = stream_end,
    .closed = stream_closed,
    .drained = stream_drained,
};
