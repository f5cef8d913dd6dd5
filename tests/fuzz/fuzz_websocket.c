/* Fuzz target `websocket`: GET /api/ws after the upgrade, the way
 * src/frontend/ws/ws.c runs it. The input is the byte stream from the client:
 * a wslay server context (the server's callbacks: reads from a buffer until
 * it is empty, then WOULDBLOCK; writes are discarded) takes frames off it, at
 * most 1 MiB a message, and every text message goes through the server's
 * checks: ws_msg_parse (JSON object, known "type"), and for an execute message
 * exec_req_from_json(REQ_INTERACTIVE) without the "type". Replies (error
 * events, close frames) are queued and sent as ws.c's ws_flush does. */
#include <stdint.h>
#include <string.h>
#include <wslay/wslay.h>

#include "fuzz_common.h"
#include "frontend/events.h"
#include "frontend/request.h"
#include "frontend/ws/ws_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct conn {
    const uint8_t *in;
    size_t len, off;
    size_t chunk;          /* bytes per socket read: 0 = all at once */
    size_t budget;         /* left of this read */
    bool closing;
    uint16_t close_code;
    unsigned messages;
};

FUZZ_INIT_CONFIG_AND_LANGUAGES

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *arg)
{
    (void)flags;
    struct conn *c = arg;
    size_t avail = c->len - c->off;
    if (avail > c->budget)
        avail = c->budget;
    if (avail == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = avail < len ? avail : len;
    memcpy(buf, c->in + c->off, n);
    c->off += n;
    c->budget -= n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *arg)
{
    (void)ctx;
    (void)flags;
    (void)arg;
    fuzz_touch_bytes(data, len);
    return (ssize_t)len;
}

static void send_json(wslay_event_context_ptr ctx, struct conn *c, json_t *ev)
{
    if (!ev)
        return;
    char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);
    if (!text || c->closing) {
        free(text);
        return;
    }
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
    wslay_event_queue_msg(ctx, &m);
    free(text);
}

static void fail(wslay_event_context_ptr ctx, struct conn *c, enum sb_code code,
                 const char *msg, uint16_t close_code)
{
    send_json(ctx, c, event_error(code, msg));
    if (close_code && !c->closing) {
        c->closing = true;
        c->close_code = close_code;
    }
}

/* ws.c's on_message, minus the execution: ws_msg_parse (the same code), then
 * what ws.c reads of each type. */
static void on_message(wslay_event_context_ptr ctx, struct conn *c, const char *text, size_t len)
{
    enum ws_msg_type type;
    char why[300];
    json_t *msg = ws_msg_parse(text, len, &type, why, sizeof why);
    if (!msg) {
        if (!why[0])
            abort();
        fail(ctx, c, SB_E_INVALID_ARGUMENT, why, 0);
        return;
    }
    if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "type")))
        abort();
    if (type == WS_MSG_AUTH) {
        fuzz_touch(json_string_value(json_object_get(msg, "key")));
    } else if (type == WS_MSG_STDIN) {
        json_t *d = json_object_get(msg, "data");
        if (json_is_string(d))
            fuzz_touch_bytes(json_string_value(d), json_string_length(d));
    }
    /* Every object is also tried as an execute message: the interesting
     * parsing is exec_req_from_json's, whatever the type said. */
    json_object_del(msg, "type");
    struct exec_req er;
    struct sb_error err;
    memset(&err, 0, sizeof err);
    if (exec_req_from_json(msg, &fuzz_cfg, &fuzz_langs, REQ_INTERACTIVE, &er, &err) == 0) {
        if (!er.interactive || er.ncases || er.callback_url)
            abort();
        exec_req_free(&er);
    } else {
        if (!err.msg[0])
            abort();
        fail(ctx, c, err.code, err.msg, 0);
    }
    json_decref(msg);
}

static void on_msg_recv(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                        void *arg)
{
    struct conn *c = arg;
    c->messages++;
    if (a->opcode == WSLAY_TEXT_FRAME) {
        on_message(ctx, c, (const char *)a->msg, a->msg_length);
    } else if (a->opcode == WSLAY_BINARY_FRAME) {
        fuzz_touch_bytes(a->msg, a->msg_length);
        if (!c->closing) {
            c->closing = true;
            c->close_code = WSLAY_CODE_UNSUPPORTED_DATA;
        }
    } else if (a->opcode == WSLAY_CONNECTION_CLOSE) {
        fuzz_touch_bytes(a->msg, a->msg_length);
    }
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb, .send_callback = send_cb, .on_msg_recv_callback = on_msg_recv,
};

/* ws.c's ws_flush: queued messages, then the close frame once they are out. */
static int flush(wslay_event_context_ptr ctx, struct conn *c)
{
    if (wslay_event_send(ctx) < 0)
        return -1;
    if (c->closing && wslay_event_get_queued_msg_count(ctx) == 0 &&
        !wslay_event_get_close_sent(ctx)) {
        static const char reason[] = "invalid_argument";
        wslay_event_queue_close(ctx, c->close_code, (const uint8_t *)reason, sizeof reason - 1);
        if (wslay_event_send(ctx) < 0)
            return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks how the stream arrives: in one read (0) or in
     * reads of that many bytes, each followed by a flush. */
    if (size < 1)
        return 0;
    struct conn c = {.in = data + 1, .len = size - 1, .chunk = data[0]};
    wslay_event_context_ptr ctx;
    if (wslay_event_context_server_init(&ctx, &callbacks, &c) != 0)
        return 0;
    wslay_event_config_set_max_recv_msg_length(ctx, 1u << 20);
    /* ws.c's on_data: recv until WOULDBLOCK, then flush; again while input
     * remains and wslay still wants to read (each round is one "read"). */
    for (;;) {
        size_t before = c.off;
        c.budget = c.chunk ? c.chunk : c.len;
        if (wslay_event_recv(ctx) < 0 || flush(ctx, &c) < 0)
            break;
        if (!wslay_event_want_read(ctx) || c.off == c.len || c.off == before)
            break;
    }
    wslay_event_context_free(ctx);
    return 0;
}
