/* `soulbox serve`: the service core behind its front ends (REST/WebSocket on HTTP/1.1, gRPC on HTTP/2), signals and shutdown. */
#ifndef SB_SERVER_SERVER_H
#define SB_SERVER_SERVER_H

#include "config/config.h"

/* Runs the service until SIGTERM/SIGINT and a graceful shutdown. Returns the
 * process exit code: 0 after a clean shutdown, 1 when it could not start
 * (after printing one line naming the cause). */
int server_run(const struct sb_config *cfg);

/* The REST routes, "METHOD PATH" per line (`soulbox routes`, the OpenAPI check). */
void server_print_routes(void);

#endif
