/* A wslay server connection over an upgraded http_conn: see wsconn.h. */
#include "frontend/ws/wsconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/rest/rest_internal.h"
#include "transport/http.h"

/* ---- wslay callbacks ---- */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *arg)
{
    (void)flags;
    struct wsconn *wc = arg;
    size_t avail = wc->in.len - wc->in_off;
    if (avail == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = avail < len ? avail : len;
    memcpy(buf, wc->in.data + wc->in_off, n);
    wc->in_off += n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *arg)
{
    (void)flags;
    struct wsconn *wc = arg;
    if (!wc->c) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (wc->socket_mark && http_raw_queued(wc->c) > wc->socket_mark) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (http_raw_write(wc->c, data, len) < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void on_msg_recv(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                        void *arg)
{
    (void)ctx;
    struct wsconn *wc = arg;
    if (a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME)
        wc->ops->message(wc->arg, a->opcode == WSLAY_BINARY_FRAME, (const char *)a->msg,
                         a->msg_length);
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb, .send_callback = send_cb, .on_msg_recv_callback = on_msg_recv,
};

/* ---- sending ---- */

size_t wsconn_backlog(const struct wsconn *wc)
{
    return wslay_event_get_queued_msg_length(wc->ctx) + (wc->c ? http_raw_queued(wc->c) : 0);
}

void wsconn_send_json(struct wsconn *wc, json_t *ev)
{
    if (!ev)
        return;
    char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);
    if (!text || wc->closing || !wc->c) {
        free(text);
        return;
    }
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
    wslay_event_queue_msg(wc->ctx, &m); /* copies */
    free(text);
}

/* wslay sends control frames ahead of queued messages, so the close frame
 * is queued only once every message before it has gone out (wsconn_flush). */
void wsconn_close(struct wsconn *wc, uint16_t code, const char *reason)
{
    if (wc->closing || !wc->c)
        return;
    wc->closing = true;
    wc->close_code = code;
    snprintf(wc->close_reason, sizeof wc->close_reason, "%s", reason);
}

void wsconn_ping(struct wsconn *wc)
{
    struct wslay_event_msg ping = {WSLAY_PING, (const uint8_t *)"", 0};
    wslay_event_queue_msg(wc->ctx, &ping);
}

void wsconn_flush(struct wsconn *wc)
{
    if (!wc->c)
        return;
    if (wslay_event_send(wc->ctx) < 0) {
        http_raw_close(wc->c);
        return;
    }
    if (wc->closing && !wc->close_queued && wslay_event_get_queued_msg_count(wc->ctx) == 0) {
        wc->close_queued = true;
        wslay_event_queue_close(wc->ctx, wc->close_code, (const uint8_t *)wc->close_reason,
                                strlen(wc->close_reason));
        if (wslay_event_send(wc->ctx) < 0) {
            http_raw_close(wc->c);
            return;
        }
        if (wc->ops->close_sent)
            wc->ops->close_sent(wc->arg);
    }
    bool done = (wslay_event_get_close_sent(wc->ctx) && wslay_event_get_close_received(wc->ctx)) ||
                (!wslay_event_want_read(wc->ctx) && !wslay_event_want_write(wc->ctx));
    if (done && wslay_event_get_queued_msg_count(wc->ctx) == 0)
        http_raw_close(wc->c);
}

/* ---- the connection ---- */

static void on_data(void *arg, const char *buf, size_t len)
{
    struct wsconn *wc = arg;
    if (wc->in_off == wc->in.len)
        wc->in.len = wc->in_off = 0;
    sb_buf_append(&wc->in, buf, len);
    if (wc->in.oom || wslay_event_recv(wc->ctx) < 0) {
        http_raw_close(wc->c);
        return;
    }
    wsconn_flush(wc);
}

static void on_drain(void *arg)
{
    struct wsconn *wc = arg;
    wsconn_flush(wc);
    if (wc->ops->drain)
        wc->ops->drain(wc->arg);
}

static void timer_closed(uv_handle_t *h)
{
    struct wsconn *wc = h->data;
    wslay_event_context_free(wc->ctx);
    sb_buf_free(&wc->in);
    wc->ops->freed(wc->arg);
}

static void on_closed(void *arg)
{
    struct wsconn *wc = arg;
    wc->c = NULL;
    wc->ops->closed(wc->arg);
    uv_close((uv_handle_t *)&wc->timer, timer_closed);
}

static const struct http_raw_ops raw_ops = {on_data, on_drain, on_closed};

static void on_timer(uv_timer_t *t)
{
    struct wsconn *wc = t->data;
    if (wc->c)
        wc->ops->timeout(wc->arg);
}

void wsconn_timer(struct wsconn *wc, uint64_t ms)
{
    uv_timer_start(&wc->timer, on_timer, ms, 0);
}

void *wsconn_accept(struct rest_call *rc, size_t size, size_t socket_mark,
                    const struct wsconn_ops *ops)
{
    struct service *s = rc->rest->svc;
    char *accept = ws_handshake_accept(rc);
    if (!accept)
        return NULL;
    struct wsconn *wc = calloc(1, size);
    if (!wc || wslay_event_context_server_init(&wc->ctx, &callbacks, wc) != 0) {
        free(wc);
        free(accept);
        rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        return NULL;
    }
    wc->c = rc->c;
    wc->socket_mark = socket_mark;
    wc->ops = ops;
    wc->arg = wc;
    wc->accept = accept;
    wslay_event_config_set_max_recv_msg_length(wc->ctx, s->cfg->server.max_body_kb * 1024);
    uv_timer_init(s->loop, &wc->timer);
    wc->timer.data = wc;
    return wc;
}

void wsconn_upgrade(struct wsconn *wc, struct rest_call *rc)
{
    rest_log(rc, 101);
    char extra[200];
    snprintf(extra, sizeof extra, "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n", wc->accept);
    free(wc->accept);
    wc->accept = NULL;
    http_upgrade(rc->c, extra, &raw_ops, wc); /* may deliver the first messages */
}
