/* A wslay server connection over an upgraded http_conn (RFC 6455 framing by
 * libwslay): the callbacks, reading, writing with backpressure, sending text
 * and close frames, pings. The protocols on top of it (GET /api/ws, Piston's
 * /api/v2/connect) embed one and keep only their own messages. */
#ifndef SB_FRONTEND_WS_WSCONN_H
#define SB_FRONTEND_WS_WSCONN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "common/buf.h"

struct http_conn;
struct rest_call;

struct wsconn_ops {
    /* A text or binary message from the client. */
    void (*message)(void *arg, bool binary, const char *data, size_t len);
    /* Queued output fell below the socket's mark (after what waited was sent); optional. */
    void (*drain)(void *arg);
    /* The connection is gone (wc->c is NULL now): exactly once. */
    void (*closed)(void *arg);
    /* The close frame was just sent; optional. */
    void (*close_sent)(void *arg);
    /* The timer (wsconn_timer) went off while the connection is there. */
    void (*timeout)(void *arg);
    /* After closed, once the timer is closed too: frees the owner (wc is gone). */
    void (*freed)(void *arg);
};

struct wsconn {
    struct http_conn *c;       /* NULL once the connection is gone */
    wslay_event_context_ptr ctx;
    struct sb_buf in;          /* bytes received, not yet taken by wslay */
    size_t in_off;
    size_t socket_mark;        /* wslay stops handing frames to the socket above this; 0: never */
    bool closing;              /* no more messages: close once the queue is sent */
    bool close_queued;
    uint16_t close_code;
    char close_reason[64];
    uv_timer_t timer;
    char *accept;              /* Sec-WebSocket-Accept, until the upgrade */
    const struct wsconn_ops *ops;
    void *arg;
};

/* After the handshake's checks (ws_handshake_accept: on failure it answered
 * the request and this returns NULL), a zeroed owner of size bytes whose
 * first member is its struct wsconn (the ops' arg), with a wslay server
 * context (messages up to server.max_body_kb) and a timer; NULL after an
 * "out of memory" reply. */
void *wsconn_accept(struct rest_call *rc, size_t size, size_t socket_mark,
                    const struct wsconn_ops *ops);
/* Answers the upgrade request (101) and hands the connection to wc; may
 * deliver the first messages. */
void wsconn_upgrade(struct wsconn *wc, struct rest_call *rc);
/* (Re)starts the timer: ops->timeout in ms. */
void wsconn_timer(struct wsconn *wc, uint64_t ms);

/* Bytes waiting to go out: queued in wslay and on the socket. */
size_t wsconn_backlog(const struct wsconn *wc);
/* Queues ev (taken) as a text message, unless closing or gone. */
void wsconn_send_json(struct wsconn *wc, json_t *ev);
/* Closes with code and reason once every message queued before has gone out. */
void wsconn_close(struct wsconn *wc, uint16_t code, const char *reason);
/* Queues a ping. */
void wsconn_ping(struct wsconn *wc);
/* Sends what wslay has queued; ends the connection once both sides closed. */
void wsconn_flush(struct wsconn *wc);

#endif
