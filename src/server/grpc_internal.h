/* Internals shared by the gRPC transport (h2.c: connections) and the call
 * layer (grpc_call.c: one call per HTTP/2 stream). */
#ifndef SB_SERVER_GRPC_INTERNAL_H
#define SB_SERVER_GRPC_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "common/buf.h"
#include "server/grpc.h"

struct grpc_server {
    struct server *s;
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listening, listener_closed;
    struct h2_conn *conns;
    unsigned nconns;           /* open connections */
    unsigned alive;            /* connection structs not yet freed */
    void (*closed)(void *);
    void *closed_arg;
    int port;
};

struct h2_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;          /* idle connections are closed */
    struct grpc_server *g;
    nghttp2_session *ng;
    struct grpc_call *calls;
    int handles, writes;
    size_t queued;             /* bytes handed to the socket, not yet written */
    bool closing, in_recv, flushing, flush_again;
    char peer[64];
    struct h2_conn *next, *prev;
};

/* h2.c */
void h2_flush(struct h2_conn *c);
void grpc_server_maybe_closed(struct grpc_server *g);

/* grpc_call.c: driven by h2.c's nghttp2 callbacks */
struct grpc_call *grpc_call_new(struct h2_conn *c, int32_t stream_id);
void grpc_call_header(struct grpc_call *call, const char *name, size_t nlen, const char *value,
                      size_t vlen);
void grpc_call_begin(struct grpc_call *call);
void grpc_call_data_in(struct grpc_call *call, const uint8_t *data, size_t len);
void grpc_call_half_close(struct grpc_call *call);
/* The stream is gone (nghttp2 closed it): frees the call. */
void grpc_call_closed(struct grpc_call *call);
/* The connection is gone: every call on it ends. */
void grpc_calls_abort(struct h2_conn *c);
/* After a flush: calls waiting for room hear about it. */
void grpc_calls_drained(struct h2_conn *c);

#endif
