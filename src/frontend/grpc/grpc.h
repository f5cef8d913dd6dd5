/* gRPC over HTTP/2 cleartext (prior knowledge): the call API the services
 * (grpc_*.c) are written in, on the HTTP/2 transport (transport/h2.c). */
#ifndef SB_FRONTEND_GRPC_H
#define SB_FRONTEND_GRPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct service;
struct caller;
struct grpc_call;
struct h2_stream_ops;

/* gRPC status codes (grpc/doc/statuscodes.md). */
enum {
    GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_UNKNOWN = 2, GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4, GRPC_NOT_FOUND = 5, GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13, GRPC_UNAVAILABLE = 14,
    GRPC_UNAUTHENTICATED = 16,
};

enum grpc_kind { GRPC_UNARY, GRPC_SERVER_STREAM, GRPC_CLIENT_STREAM, GRPC_BIDI };

struct grpc_method {
    const char *path;          /* "/package.Service/Method" */
    enum grpc_kind kind;
    bool public_;              /* callable without an API key (health checks) */
    /* A request message. Unary and server-streaming methods get exactly one,
     * once the client has finished sending; streaming requests get each as
     * it arrives. */
    void (*message)(struct grpc_call *c, const uint8_t *data, size_t len);
    /* Streaming requests: the client finished sending (optional). */
    void (*half_close)(struct grpc_call *c);
    /* The call ended without the method: client cancel, deadline, lost
     * connection, server stop. Release the call's work; do not send. */
    void (*cancelled)(struct grpc_call *c);
};

/* The services (grpc_soulbox.c, grpc_std.c): NULL-terminated tables. */
extern const struct grpc_method *const grpc_soulbox_methods[];
extern const struct grpc_method *const grpc_sessions_methods[];
extern const struct grpc_method *const grpc_std_methods[];
/* Fully-qualified names of the services served (for health and reflection). */
extern const char *const grpc_service_names[];

/* ---- the call API ---- */

void grpc_call_set_data(struct grpc_call *c, void *data);
void *grpc_call_data(const struct grpc_call *c);
struct service *grpc_call_service(const struct grpc_call *c);
/* Who called (authenticated for every method but the public ones). */
const struct caller *grpc_call_caller(const struct grpc_call *c);
const char *grpc_call_peer(const struct grpc_call *c);

/* Queues a response message. Returns 0, or -1 when the call is over. */
int grpc_send(struct grpc_call *c, const ProtobufCMessage *msg);
/* A response message already encoded (it is framed here). 0 or -1. */
int grpc_send_raw(struct grpc_call *c, const uint8_t *data, size_t len);
/* A unary or server-streaming call's request message (while the call lives). */
const uint8_t *grpc_call_request(const struct grpc_call *c, size_t *len);
/* The API key it presented ("" if none), its path, whether another node
 * forwarded it (x-soulbox-forwarded). */
const char *grpc_call_key(const struct grpc_call *c);
const char *grpc_call_path(const struct grpc_call *c);
bool grpc_call_forwarded(const struct grpc_call *c);
/* Someone else answers the call from now on (cluster forwarding): if it ends
 * first (client cancel, deadline), cancelled(arg) is told, not the method. */
void grpc_call_take_over(struct grpc_call *c, void (*cancelled)(void *arg), void *arg);
/* Bytes of response messages not yet taken by the connection. */
size_t grpc_call_queued(const struct grpc_call *c);
/* Called when queued output falls below 64 KiB (backpressure). */
void grpc_call_on_drain(struct grpc_call *c, void (*cb)(struct grpc_call *c));
/* Ends the call with a status (trailers; trailers-only if nothing was sent).
 * The call belongs to the transport afterwards: no more use by the method. */
void grpc_finish(struct grpc_call *c, int status, const char *message);
/* The same with a SoulBox error: its code picks the gRPC status. */
void grpc_finish_error(struct grpc_call *c, const struct sb_error *err);

/* ---- the transport ---- */

/* The call layer (grpc_call.c) as the HTTP/2 transport's stream handler:
 * pass it to h2_server_start with the struct service as its arg. */
extern const struct h2_stream_ops grpc_stream_ops;

#endif
