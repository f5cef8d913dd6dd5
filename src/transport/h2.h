/* HTTP/2 server (cleartext, prior knowledge; nghttp2) on the TCP transport
 * base: sessions, socket backpressure, idle timeout and GOAWAY. Request
 * streams go to the layer above (gRPC) through struct h2_stream_ops. */
#ifndef SB_TRANSPORT_H2_H
#define SB_TRANSPORT_H2_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "common/list.h"

struct h2_conn;
struct h2_server;

struct h2_server_cfg {
    size_t max_header_bytes;      /* SETTINGS_MAX_HEADER_LIST_SIZE */
    uint64_t idle_timeout_ms;     /* a connection without open streams is closed */
    /* Beyond either limit a new connection first sheds the least recently
     * active connection without open streams (the client's own, at its
     * cap); if there is none it is closed at once. */
    unsigned max_connections;
    unsigned max_connections_per_client;   /* 0: no cap */
};

/* One request stream, embedded in the upper layer's object for it. */
struct h2_stream {
    struct list_node node;        /* in its connection's open streams */
    struct h2_conn *conn;
    int32_t id;
};

/* The layer above. Every callback runs on the loop, from inside nghttp2 or
 * the transport, never re-entered for one connection. */
struct h2_stream_ops {
    /* A request's HEADERS begin on stream id: a new stream object (the
     * transport fills in its h2_stream), or NULL to refuse the stream. */
    struct h2_stream *(*open)(struct h2_conn *c, int32_t id);
    void (*header)(struct h2_stream *st, const char *name, size_t nlen, const char *value,
                   size_t vlen);
    /* The request headers are complete. */
    void (*headers_end)(struct h2_stream *st);
    void (*data)(struct h2_stream *st, const uint8_t *data, size_t len);
    /* The client finished sending (END_STREAM). */
    void (*end)(struct h2_stream *st);
    /* The stream is gone (closed, reset, or its connection ended): exactly
     * once per stream open returned, already unlinked; free it. */
    void (*closed)(struct h2_stream *st);
    /* Queued output went out: a stream that waits for room may queue more. */
    void (*drained)(struct h2_stream *st);
};

/* Binds host:port and starts accepting; arg is what h2_arg returns.
 * Returns 0 or -1 with err ("listen on HOST:PORT: <reason>"). */
int h2_server_start(struct h2_server **out, uv_loop_t *loop, const char *host, int port,
                    const struct h2_server_cfg *cfg, const struct h2_stream_ops *ops,
                    void *arg, struct sb_error *err);
int h2_server_port(const struct h2_server *s);
unsigned h2_server_connections(const struct h2_server *s);
/* Stops accepting; open connections get GOAWAY (streams in flight finish). */
void h2_server_stop_accepting(struct h2_server *s);
/* Ends every connection (open streams get ops->closed), frees the server,
 * then calls done (exactly once; before returning if nothing was left). */
void h2_server_close(struct h2_server *s, void (*done)(void *arg), void *arg);

/* For the layer above, on a connection of a stream it holds. */
nghttp2_session *h2_session(struct h2_conn *c);
const char *h2_peer(const struct h2_conn *c);
void *h2_arg(const struct h2_conn *c);
/* Hands nghttp2's pending frames to the socket, up to the backpressure
 * mark. Safe anywhere: inside nghttp2 callbacks it runs afterwards. */
void h2_flush(struct h2_conn *c);
/* Counts the connection under owner (the API key a call proved) instead of
 * its address, for the per-client cap (tcp_conn_set_owner). Returns -1 when
 * the owner has too many connections open: refuse the call; the connection
 * is told to go away (calls in flight finish, no new ones). */
int h2_conn_set_owner(struct h2_conn *c, const char *owner);

#endif
