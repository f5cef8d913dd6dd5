/* Cluster mode: Sessions calls for a sandbox another node holds, forwarded to that node over gRPC. */
#ifndef SB_FRONTEND_GRPC_FORWARD_H
#define SB_FRONTEND_GRPC_FORWARD_H

#include <stdbool.h>

#include "frontend/grpc/grpc.h"

/* The sandbox `id` is not held here: in cluster mode the call is taken over
 * (looked up in the shared store, then forwarded to the holding node's gRPC
 * port with the caller's key and its messages relayed back, or answered:
 * lost, its node away, unknown). true: taken (the method does nothing more);
 * false: not cluster mode, or already forwarded once. */
bool grpc_forward_session(struct grpc_call *c, const char *id);

#endif
