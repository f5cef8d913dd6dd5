/* Outbound HTTP/1.1 POST (PUT for Judge0's) on libuv for result callbacks. */
#include "service/callback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "service/callback_policy.h"

struct delivery {
    struct callbacks *cbs;
    uv_loop_t *loop;
    struct callback_cfg cfg;
    char *id;
    struct http_url url;
    char *request;            /* the whole HTTP request */
    size_t request_len;
    callback_state_cb cb;
    void *arg;
    int attempt;
    uv_timer_t timer;         /* backoff between attempts, deadline within one */
    uv_getaddrinfo_t gai;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    bool tcp_open, resolving, done, abandoned;
    char response[64];
    size_t response_len;
    int handles;              /* open uv handles (timer + tcp) */
    struct list_node node;    /* in cbs->pending until finished */
};

static void attempt_start(struct delivery *d);

static void free_delivery(struct delivery *d)
{
    free(d->id);
    free(d->request);
    free(d);
}

static void on_closed(uv_handle_t *h)
{
    struct delivery *d = h->data;
    if (--d->handles == 0 && d->done)
        free_delivery(d);
}

static void unlink_delivery(struct delivery *d)
{
    if (list_empty(&d->node))
        return;
    list_remove(&d->node);
    d->cbs->npending--;
}

static void close_tcp(struct delivery *d)
{
    if (d->tcp_open) {
        d->tcp_open = false;
        uv_close((uv_handle_t *)&d->tcp, on_closed);
    }
}

/* The end of the delivery: success, permanent failure or out of attempts. */
static void finish(struct delivery *d, const char *state)
{
    if (d->done)
        return;
    d->done = true;
    unlink_delivery(d);
    if (d->cb && !d->abandoned)
        d->cb(d->arg, d->id, state, d->attempt);
    close_tcp(d);
    uv_close((uv_handle_t *)&d->timer, on_closed);
}

static void on_backoff(uv_timer_t *t)
{
    attempt_start(t->data);
}

/* This attempt failed: retry later, or give up. */
static void attempt_failed(struct delivery *d, const char *why, bool permanent)
{
    if (d->done)
        return;
    close_tcp(d);
    uv_timer_stop(&d->timer);
    log_event(LOG_WARN, "callback attempt failed",
              json_pack("{s:s,s:i,s:s}", "execution", d->id, "attempt", d->attempt, "why", why));
    if (permanent || d->attempt >= (int)d->cfg.attempts) {
        char state[200];
        snprintf(state, sizeof state, "failed: %s", why);
        finish(d, state);
        return;
    }
    uint64_t wait = 1000ull << (d->attempt - 1 < 6 ? d->attempt - 1 : 6);
    uv_timer_start(&d->timer, on_backoff, wait > 60000 ? 60000 : wait, 0);
}

static void on_deadline(uv_timer_t *t)
{
    struct delivery *d = t->data;
    if (d->resolving)
        uv_cancel((uv_req_t *)&d->gai);
    attempt_failed(d, "timed out", false);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    struct delivery *d = h->data;
    b->base = d->response + d->response_len;
    b->len = sizeof d->response - 1 - d->response_len;
}

static void on_response(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    struct delivery *d = s->data;
    if (n > 0)
        d->response_len += (size_t)n;
    d->response[d->response_len] = '\0';
    bool line = strchr(d->response, '\n') != NULL;
    if (!line && n >= 0 && d->response_len < sizeof d->response - 1)
        return;
    int code = 0;
    if (sscanf(d->response, "HTTP/1.%*d %d", &code) == 1 && code >= 200 && code < 300) {
        finish(d, "delivered");
        return;
    }
    char why[64];
    if (code)
        snprintf(why, sizeof why, "the receiver answered %d", code);
    else
        snprintf(why, sizeof why, "no HTTP response");
    attempt_failed(d, why, false);
}

static void on_written(uv_write_t *w, int status)
{
    struct delivery *d = w->data;
    if (d->done || !d->tcp_open)
        return;
    if (status < 0)
        return attempt_failed(d, uv_strerror(status), false);
    uv_read_start((uv_stream_t *)&d->tcp, on_alloc, on_response);
}

static void on_connected(uv_connect_t *c, int status)
{
    struct delivery *d = c->data;
    if (d->done || !d->tcp_open)
        return;
    if (status < 0)
        return attempt_failed(d, uv_strerror(status), false);
    uv_buf_t b = uv_buf_init(d->request, (unsigned)d->request_len);
    d->write.data = d;
    if (uv_write(&d->write, (uv_stream_t *)&d->tcp, &b, 1, on_written) < 0)
        attempt_failed(d, "write failed", false);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    struct delivery *d = g->data;
    d->resolving = false;
    if (d->done || status == UV_ECANCELED) {
        uv_freeaddrinfo(res);
        return;
    }
    if (status < 0) {
        uv_freeaddrinfo(res);
        return attempt_failed(d, uv_strerror(status), false);
    }
    const char *why = "no address";
    struct addrinfo *ok = NULL;
    for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next)
        if (callback_addr_allowed(ai->ai_addr, d->cfg.allow_private, &why))
            ok = ai;
    if (!ok) {
        char msg[160];
        snprintf(msg, sizeof msg, "destination refused: %s resolves to a %s", d->url.host, why);
        uv_freeaddrinfo(res);
        return attempt_failed(d, msg, true);
    }
    uv_tcp_init(d->loop, &d->tcp);
    d->tcp.data = d;
    d->tcp_open = true;
    d->handles++;
    d->connect.data = d;
    d->response_len = 0;
    if (uv_tcp_connect(&d->connect, &d->tcp, ok->ai_addr, on_connected) < 0)
        attempt_failed(d, "connect failed", false);
    uv_freeaddrinfo(res);
}

static void attempt_start(struct delivery *d)
{
    if (d->done)
        return;
    d->attempt++;
    if (d->cb)
        d->cb(d->arg, d->id, "delivering", d->attempt);
    uv_timer_start(&d->timer, on_deadline, d->cfg.timeout_ms, 0);
    char port[8];
    snprintf(port, sizeof port, "%d", d->url.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    d->gai.data = d;
    d->resolving = true;
    if (uv_getaddrinfo(d->loop, &d->gai, on_resolved, d->url.host, port, &hints) < 0) {
        d->resolving = false;
        attempt_failed(d, "cannot resolve", false);
    }
}

void callbacks_init(struct callbacks *cbs, uv_loop_t *loop, const struct callback_cfg *cfg)
{
    cbs->loop = loop;
    cbs->cfg = *cfg;
    list_init(&cbs->pending);
    cbs->npending = 0;
}

void callback_deliver(struct callbacks *cbs, const char *exec_id, const char *url,
                      json_t *payload, callback_state_cb cb, void *arg)
{
    callback_deliver_method(cbs, exec_id, url, "POST", payload, cb, arg);
}

void callback_deliver_method(struct callbacks *cbs, const char *exec_id, const char *url,
                             const char *method, json_t *payload, callback_state_cb cb,
                             void *arg)
{
    uv_loop_t *loop = cbs->loop;
    const struct callback_cfg *cfg = &cbs->cfg;
    struct delivery *d = calloc(1, sizeof *d);
    char *body = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER);
    const char *why = NULL;
    if (!d || !body || callback_url_parse(url, &d->url, &why) < 0) {
        if (cb)
            cb(arg, exec_id, why ? "failed: bad URL" : "failed: out of memory", 0);
        free(d);
        free(body);
        return;
    }
    d->cbs = cbs;
    d->loop = loop;
    d->cfg = *cfg;
    list_init(&d->node);
    d->id = strdup(exec_id);
    d->cb = cb;
    d->arg = arg;
    size_t blen = strlen(body);
    size_t cap = blen + strlen(d->url.path) + strlen(d->url.host) + 512;
    d->request = malloc(cap);
    if (!d->id || !d->request) {
        free(body);
        free_delivery(d);
        return;
    }
    int n = snprintf(d->request, cap,
                     "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: soulbox\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "X-SoulBox-Execution: %s\r\nConnection: close\r\n\r\n",
                     method, d->url.path, strchr(d->url.host, ':') ? "[" : "", d->url.host,
                     strchr(d->url.host, ':') ? "]" : "", d->url.port, blen, exec_id);
    memcpy(d->request + n, body, blen);
    d->request_len = (size_t)n + blen;
    free(body);
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->handles = 1;
    list_insert_head(&cbs->pending, &d->node);
    cbs->npending++;
    attempt_start(d);
}

void callbacks_shutdown(struct callbacks *cbs)
{
    while (!list_empty(&cbs->pending)) {
        struct delivery *d = list_entry(cbs->pending.next, struct delivery, node);
        if (d->resolving)
            uv_cancel((uv_req_t *)&d->gai);
        d->abandoned = true;
        finish(d, "failed: server shut down");
    }
}
