/* Connect RPC envelopes and error codes. */
#include "frontend/e2b/connect.h"

#include <string.h>

int connect_next(const char *buf, size_t len, size_t *off, uint8_t *flags, const char **msg,
                 size_t *mlen, struct sb_error *err)
{
    if (*off >= len)
        return 0;
    if (len - *off < 5)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "connect: a truncated envelope header");
    const uint8_t *p = (const uint8_t *)buf + *off;
    uint32_t n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    if (p[0] & ~(CONNECT_FLAG_COMPRESSED | CONNECT_FLAG_END))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "connect: unknown envelope flags 0x%02x",
                       p[0]);
    if (p[0] & CONNECT_FLAG_COMPRESSED)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "connect: compressed messages are not "
                       "accepted (no Connect-Content-Encoding was offered)");
    if (n > CONNECT_MAX_MESSAGE)
        return sb_fail(err, SB_E_PAYLOAD_TOO_LARGE, "connect: a message of %u bytes is larger "
                       "than %u", n, CONNECT_MAX_MESSAGE);
    if (n > len - *off - 5)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "connect: a truncated envelope");
    *flags = p[0];
    *msg = (const char *)p + 5;
    *mlen = n;
    *off += 5 + (size_t)n;
    return 1;
}

int connect_put(struct sb_buf *out, uint8_t flags, const char *msg, size_t len)
{
    uint8_t h[5] = {flags, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                    (uint8_t)len};
    if (sb_buf_append(out, h, sizeof h) < 0)
        return -1;
    return sb_buf_append(out, msg, len);
}

const char *connect_code(enum sb_code code)
{
    switch (code) {
    case SB_E_INVALID_ARGUMENT:
    case SB_E_LIMIT_EXCEEDS_MAX:
    case SB_E_UNKNOWN_LANGUAGE:
    case SB_E_UNSUPPORTED_MEDIA: return "invalid_argument";
    case SB_E_UNAUTHENTICATED: return "unauthenticated";
    case SB_E_NOT_FOUND: return "not_found";
    case SB_E_CONFLICT: return "already_exists";
    case SB_E_RATE_LIMITED:
    case SB_E_PAYLOAD_TOO_LARGE: return "resource_exhausted";
    case SB_E_REQUEST_TIMEOUT: return "deadline_exceeded";
    case SB_E_UNAVAILABLE: return "unavailable";
    case SB_E_METHOD_NOT_ALLOWED: return "unimplemented";
    default: return "internal";
    }
}

int connect_http_status(const char *c)
{
    static const struct { const char *code; int status; } t[] = {
        {"canceled", 499}, {"unknown", 500}, {"invalid_argument", 400},
        {"deadline_exceeded", 504}, {"not_found", 404}, {"already_exists", 409},
        {"permission_denied", 403}, {"resource_exhausted", 429}, {"failed_precondition", 400},
        {"aborted", 409}, {"out_of_range", 400}, {"unimplemented", 501}, {"internal", 500},
        {"unavailable", 503}, {"data_loss", 500}, {"unauthenticated", 401},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(t[i].code, c))
            return t[i].status;
    return 500;
}
