/* Connect RPC (connectrpc.com) over HTTP/1.1 with JSON: streaming envelopes and error codes, as E2B's envd speaks it. */
#ifndef SB_FRONTEND_E2B_CONNECT_H
#define SB_FRONTEND_E2B_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* Envelope flags: compressed (refused: we never offer compression), end of stream. */
enum { CONNECT_FLAG_COMPRESSED = 0x01, CONNECT_FLAG_END = 0x02 };

/* Largest message accepted in a request envelope. */
#define CONNECT_MAX_MESSAGE (16u << 20)

/* The next envelope of a streaming request body from *off: 1 with flags,
 * msg and mlen set (msg points into buf) and *off advanced; 0 at the end
 * of buf; -1 with err when it is malformed (truncated, too large,
 * compressed, unknown flags). */
int connect_next(const char *buf, size_t len, size_t *off, uint8_t *flags, const char **msg,
                 size_t *mlen, struct sb_error *err);

/* Appends an envelope: flags, 4-byte big-endian length, msg. */
int connect_put(struct sb_buf *out, uint8_t flags, const char *msg, size_t len);

/* The Connect code name for an error ("not_found", "already_exists", ...)
 * and the HTTP status a unary error carries. */
const char *connect_code(enum sb_code code);
int connect_http_status(const char *connect_code);

#endif
