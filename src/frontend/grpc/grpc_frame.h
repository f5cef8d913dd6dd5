/* gRPC wire parsers of client input, free of any call state: the
 * length-prefixed message framing and the grpc-timeout header. */
#ifndef SB_FRONTEND_GRPC_FRAME_H
#define SB_FRONTEND_GRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum grpc_frame_rc {
    GRPC_FRAME_MORE = 0,        /* no whole message yet: wait for more bytes */
    GRPC_FRAME_MESSAGE = 1,     /* *msg, *msg_len: the message; 5 + *msg_len bytes used */
    GRPC_FRAME_COMPRESSED = -1, /* the compressed flag is set (no encoding is accepted) */
    GRPC_FRAME_TOO_LARGE = -2,  /* the declared length (*msg_len) is above max */
};

/* Looks at the first message in buf[0, len): a 1-byte flag, a 4-byte
 * big-endian length and that many bytes. The checks on the header come
 * before the body is complete, so a client cannot make the server buffer
 * more than max bytes. */
enum grpc_frame_rc grpc_frame_next(const uint8_t *buf, size_t len, size_t max,
                                   const uint8_t **msg, size_t *msg_len);

/* grpc-timeout ("100m": 1-8 digits and a unit H M S m u n) in milliseconds,
 * sub-millisecond values rounded up. False for a malformed value. */
bool grpc_parse_timeout(const char *v, uint64_t *ms);

#endif
