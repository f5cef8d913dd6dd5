/* Cluster mode: a Sessions call for a sandbox another node holds is forwarded to that node's gRPC port, its messages relayed back. */
#include "frontend/grpc/grpc_forward.h"

#include <errno.h>
#include <netdb.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "common/buf.h"
#include "common/log.h"
#include "service/service.h"

#define PENDING_MAX (1u << 20)
#define CONNECT_MS 5000

struct msg {
    struct msg *next;
    size_t len;
    uint8_t data[];
};

struct gfwd {
    struct grpc_call *c;
    struct service *svc;
    char id[80];
    char host[256], port[8], authority[300];
    char path[256], key[256], node_name[64];
    struct sb_buf req;           /* the request, framed */
    size_t req_off;
    uv_async_t async;
    uv_thread_t thread;
    pthread_mutex_t mu;          /* what follows is shared with the thread */
    pthread_cond_t cv;
    int fd;
    struct msg *head, *tail;
    size_t pending;
    struct sb_buf in;            /* response bytes not yet framed into messages */
    bool cancelled, ended, failed, have_status;
    int status;
    char message[512];
    char why[256];
    int32_t stream_id;
};

/* ---- the thread: an HTTP/2 client for one call ---- */

static ssize_t send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *arg)
{
    (void)ng;
    (void)flags;
    struct gfwd *f = arg;
    ssize_t n = send(f->fd, data, len, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? NGHTTP2_ERR_WOULDBLOCK
                                                 : NGHTTP2_ERR_CALLBACK_FAILURE;
    return n;
}

static ssize_t read_req(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len,
                        uint32_t *flags, nghttp2_data_source *src, void *arg)
{
    (void)ng;
    (void)sid;
    (void)src;
    struct gfwd *f = arg;
    size_t n = f->req.len - f->req_off;
    if (n > len)
        n = len;
    memcpy(buf, f->req.data + f->req_off, n);
    f->req_off += n;
    if (f->req_off == f->req.len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* grpc-message is percent-encoded. */
static void decode(const uint8_t *v, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        unsigned x;
        if (v[i] == '%' && i + 2 < n && sscanf((const char *)v + i + 1, "%2x", &x) == 1) {
            out[o++] = (char)x;
            i += 2;
        } else {
            out[o++] = (char)v[i];
        }
    }
    out[o] = '\0';
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *fr, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *arg)
{
    (void)ng;
    (void)flags;
    struct gfwd *f = arg;
    if (fr->hd.stream_id != f->stream_id)
        return 0;
    if (nlen == 11 && !memcmp(name, "grpc-status", 11)) {
        f->status = atoi((const char *)value);
        f->have_status = true;
    } else if (nlen == 12 && !memcmp(name, "grpc-message", 12))
        decode(value, vlen, f->message, sizeof f->message);
    return 0;
}

static void post(struct gfwd *f, const uint8_t *data, size_t len)
{
    struct msg *m = malloc(sizeof *m + len);
    if (!m)
        return;
    m->next = NULL;
    m->len = len;
    memcpy(m->data, data, len);
    pthread_mutex_lock(&f->mu);
    if (f->tail)
        f->tail->next = m;
    else
        f->head = m;
    f->tail = m;
    f->pending += len;
    pthread_mutex_unlock(&f->mu);
    uv_async_send(&f->async);
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data,
                   size_t len, void *arg)
{
    (void)ng;
    (void)flags;
    struct gfwd *f = arg;
    if (sid != f->stream_id)
        return 0;
    sb_buf_append(&f->in, (const char *)data, len);
    size_t off = 0;
    while (f->in.len - off >= 5) {
        const uint8_t *h = (const uint8_t *)f->in.data + off;
        size_t n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
        if (f->in.len - off - 5 < n)
            break;
        post(f, h + 5, n);
        off += 5 + n;
    }
    if (off) {
        memmove(f->in.data, f->in.data + off, f->in.len - off);
        f->in.len -= off;
    }
    return f->in.oom ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *arg)
{
    struct gfwd *f = arg;
    if (sid == f->stream_id) {
        if (code && !f->have_status)
            snprintf(f->why, sizeof f->why, "the stream was reset (%s)",
                     nghttp2_http2_strerror(code));
        nghttp2_session_terminate_session(ng, NGHTTP2_NO_ERROR);
    }
    return 0;
}

static int connect_node(struct gfwd *f)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(f->host, f->port, &hints, &ai);
    if (rc) {
        snprintf(f->why, sizeof f->why, "%s: %s", f->host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {CONNECT_MS / 1000, 0};
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        snprintf(f->why, sizeof f->why, "connect %s:%s: %s", f->host, f->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    pthread_mutex_lock(&f->mu);
    f->fd = fd;
    bool cancelled = f->cancelled;
    pthread_mutex_unlock(&f->mu);
    return cancelled ? -1 : 0;
}

static void exchange(struct gfwd *f, nghttp2_session *ng)
{
    uint8_t buf[16384];
    while (nghttp2_session_want_read(ng) || nghttp2_session_want_write(ng)) {
        if (nghttp2_session_send(ng) != 0)
            break;
        pthread_mutex_lock(&f->mu);
        while (f->pending > PENDING_MAX && !f->cancelled)
            pthread_cond_wait(&f->cv, &f->mu);   /* the client reads slowly */
        bool stop = f->cancelled;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        int r = poll(&p, 1, 1000);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        ssize_t n = recv(f->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            if (!f->have_status)
                snprintf(f->why, sizeof f->why, "the connection closed");
            break;
        }
        if (nghttp2_session_mem_recv(ng, buf, (size_t)n) < 0)
            break;
    }
}

static void forward_thread(void *arg)
{
    struct gfwd *f = arg;
    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_session *ng = NULL;
    if (connect_node(f) == 0 && nghttp2_session_callbacks_new(&cbs) == 0) {
        nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
        nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
        if (nghttp2_session_client_new(&ng, cbs, f) == 0) {
            nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, NULL, 0);
            char auth[300];
            snprintf(auth, sizeof auth, "Bearer %s", f->key);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}
            nghttp2_nv nv[] = {NV(":method", "POST"), NV(":scheme", "http"),
                               NV(":path", f->path), NV(":authority", f->authority),
                               NV("content-type", "application/grpc"), NV("te", "trailers"),
                               NV("x-soulbox-forwarded", "1"), NV("authorization", auth)};
#undef NV
            nghttp2_data_provider prd = {.read_callback = read_req};
            f->stream_id = nghttp2_submit_request(ng, NULL, nv, f->key[0] ? 8 : 7, &prd, f);
            if (f->stream_id > 0)
                exchange(f, ng);
            nghttp2_session_del(ng);
        }
        nghttp2_session_callbacks_del(cbs);
    }
    pthread_mutex_lock(&f->mu);
    f->failed = !f->have_status;
    f->ended = true;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    pthread_mutex_unlock(&f->mu);
    uv_async_send(&f->async);
}

/* ---- the loop ---- */

static void gfwd_free(uv_handle_t *h)
{
    struct gfwd *f = h->data;
    while (f->head) {
        struct msg *n = f->head->next;
        free(f->head);
        f->head = n;
    }
    sb_buf_free(&f->req);
    sb_buf_free(&f->in);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}

static void on_async(uv_async_t *a)
{
    struct gfwd *f = a->data;
    pthread_mutex_lock(&f->mu);
    struct msg *list = f->head;
    f->head = f->tail = NULL;
    bool ended = f->ended, cancelled = f->cancelled;
    pthread_mutex_unlock(&f->mu);
    size_t done = 0;
    while (list) {
        struct msg *n = list->next;
        if (!cancelled)
            grpc_send_raw(f->c, list->data, list->len);
        done += list->len;
        free(list);
        list = n;
    }
    pthread_mutex_lock(&f->mu);
    f->pending -= done;
    if (cancelled || grpc_call_queued(f->c) < PENDING_MAX)
        pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (!ended)
        return;
    if (!cancelled) {
        if (f->failed) {
            char msg[600];
            snprintf(msg, sizeof msg, "sandbox %s lives on node %s, which did not answer: %s",
                     f->id, f->node_name, f->why[0] ? f->why : "no status");
            grpc_finish(f->c, GRPC_UNAVAILABLE, msg);
        } else {
            grpc_finish(f->c, f->status, f->message[0] ? f->message : NULL);
        }
    }
    uv_thread_join(&f->thread);
    uv_close((uv_handle_t *)&f->async, gfwd_free);
}

static void on_drain(struct grpc_call *c)
{
    struct gfwd *f = grpc_call_data(c);
    pthread_mutex_lock(&f->mu);
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* The call ended first (client cancel, deadline): the call is not ours to
 * touch any more; the thread stops. */
static void on_cancelled(void *arg)
{
    struct gfwd *f = arg;
    pthread_mutex_lock(&f->mu);
    f->cancelled = true;
    if (f->fd >= 0)
        shutdown(f->fd, SHUT_RDWR);
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* http://host:port -> host (without brackets). */
static void host_of(const char *url, char *out, size_t len)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    if (*h == '[') {
        const char *e = strchr(h, ']');
        snprintf(out, len, "%.*s", e ? (int)(e - h - 1) : 0, h + 1);
        return;
    }
    size_t n = strcspn(h, ":/");
    snprintf(out, len, "%.*s", (int)n, h);
}

static void start(struct gfwd *f, const struct session_place *p)
{
    snprintf(f->node_name, sizeof f->node_name, "%s", p->node_name);
    host_of(p->url, f->host, sizeof f->host);
    snprintf(f->port, sizeof f->port, "%d", p->grpc_port);
    snprintf(f->authority, sizeof f->authority, strchr(f->host, ':') ? "[%s]:%s" : "%s:%s",
             f->host, f->port);
    uv_async_init(f->svc->loop, &f->async, on_async);
    f->async.data = f;
    grpc_call_set_data(f->c, f);
    grpc_call_on_drain(f->c, on_drain);
    if (uv_thread_create(&f->thread, forward_thread, f) != 0) {
        grpc_finish(f->c, GRPC_UNAVAILABLE, "cannot forward the call: no thread");
        uv_close((uv_handle_t *)&f->async, gfwd_free);
    }
}

static void on_place(void *arg, int rc, const struct sb_error *err, const struct session_place *p)
{
    struct gfwd *f = arg;
    char msg[600];
    pthread_mutex_lock(&f->mu);
    bool cancelled = f->cancelled;
    pthread_mutex_unlock(&f->mu);
    if (cancelled) {
        /* nothing to answer */
    } else if (rc < 0) {
        grpc_finish_error(f->c, err);
    } else if (!p->found || !strcmp(p->state, "ended") ||
               !strcmp(p->node, cluster_node_id(f->svc->cluster))) {
        grpc_finish(f->c, GRPC_NOT_FOUND, "no such sandbox");
    } else if (!strcmp(p->state, "lost")) {
        snprintf(msg, sizeof msg, "sandbox %s was lost: %s", f->id, p->reason);
        grpc_finish(f->c, GRPC_NOT_FOUND, msg);
    } else if (strcmp(p->node_state, "up") || !p->url[0] || p->grpc_port <= 0) {
        snprintf(msg, sizeof msg, "sandbox %s lives on node %s, which is %s", f->id,
                 p->node_name[0] ? p->node_name : p->node,
                 p->node_state[0] ? p->node_state : "unknown");
        grpc_finish(f->c, GRPC_UNAVAILABLE, msg);
    } else {
        start(f, p);
        return;
    }
    sb_buf_free(&f->req);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}

bool grpc_forward_session(struct grpc_call *c, const char *id)
{
    struct service *svc = grpc_call_service(c);
    if (!svc->cluster || grpc_call_forwarded(c))
        return false;
    size_t len;
    const uint8_t *m = grpc_call_request(c, &len);
    struct gfwd *f = calloc(1, sizeof *f);
    if (!f)
        return false;
    f->c = c;
    f->svc = svc;
    f->fd = -1;
    snprintf(f->id, sizeof f->id, "%s", id);
    snprintf(f->path, sizeof f->path, "%s", grpc_call_path(c));
    snprintf(f->key, sizeof f->key, "%s", grpc_call_key(c));
    uint8_t head[5] = {0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                       (uint8_t)len};
    sb_buf_append(&f->req, (const char *)head, 5);
    sb_buf_append(&f->req, (const char *)m, len);
    if (f->req.oom) {
        sb_buf_free(&f->req);
        free(f);
        return false;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    grpc_call_take_over(c, on_cancelled, f);
    store_session_where(svc->store, id, on_place, f);
    return true;
}
