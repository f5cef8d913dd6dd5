/* The REST front end (JSON over HTTP/1.1, Server-Sent Events, the WebSocket upgrade): wire format only, over the service core. */
#ifndef SB_FRONTEND_REST_REST_H
#define SB_FRONTEND_REST_REST_H

#include "service/service.h"
#include "transport/http.h"

/* The front end's context: the service it speaks for and the HTTP server it
 * is the handler of (http_server_start(..., rest_handle, &rest, ...)). */
struct rest {
    struct service *svc;
    struct http_server *http;
};

/* The HTTP handler: routes, authenticates, rate-limits, dispatches. */
void rest_handle(struct http_conn *c, struct http_request *req, void *arg);

/* http_server_cfg.streams_body: the routes declared to take their body as a
 * stream (uploads, spooled to disk by the handler with http_body_spool). */
bool rest_streams_body(const struct http_request *req, void *arg);

/* The routes, "METHOD PATH" per line. */
void rest_print_routes(void);

#endif
