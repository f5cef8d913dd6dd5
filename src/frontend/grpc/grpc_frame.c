/* gRPC wire parsers of client input: message framing and grpc-timeout. */
#include "frontend/grpc/grpc_frame.h"

#include <ctype.h>
#include <string.h>

enum grpc_frame_rc grpc_frame_next(const uint8_t *buf, size_t len, size_t max,
                                   const uint8_t **msg, size_t *msg_len)
{
    if (len < 5)
        return GRPC_FRAME_MORE;
    size_t n = (size_t)buf[1] << 24 | (size_t)buf[2] << 16 | (size_t)buf[3] << 8 | buf[4];
    *msg_len = n;
    if (buf[0] & 1)
        return GRPC_FRAME_COMPRESSED;
    if (n > max)
        return GRPC_FRAME_TOO_LARGE;
    if (len - 5 < n)
        return GRPC_FRAME_MORE;
    *msg = buf + 5;
    return GRPC_FRAME_MESSAGE;
}

bool grpc_parse_timeout(const char *v, uint64_t *ms)
{
    size_t n = strlen(v);
    if (n < 2 || n > 9)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (!isdigit((unsigned char)v[i]))
            return false;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    switch (v[n - 1]) {
    case 'H': *ms = x * 3600000; return true;
    case 'M': *ms = x * 60000; return true;
    case 'S': *ms = x * 1000; return true;
    case 'm': *ms = x; return true;
    case 'u': *ms = (x + 999) / 1000; return true;
    case 'n': *ms = (x + 999999) / 1000000; return true;
    default:  return false;
    }
}
