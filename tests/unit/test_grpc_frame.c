/* gRPC message framing and grpc-timeout parsing (src/server/grpc_frame.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "frontend/grpc/grpc_frame.h"

static size_t frame(uint8_t *out, uint8_t flag, const char *body, size_t declared)
{
    out[0] = flag;
    out[1] = (uint8_t)(declared >> 24), out[2] = (uint8_t)(declared >> 16);
    out[3] = (uint8_t)(declared >> 8), out[4] = (uint8_t)declared;
    memcpy(out + 5, body, strlen(body));
    return 5 + strlen(body);
}

Test(grpc_frame, whole_messages_one_after_the_other)
{
    uint8_t buf[64];
    size_t len = frame(buf, 0, "abc", 3);
    len += frame(buf + len, 0, "", 0);
    const uint8_t *m;
    size_t n;
    cr_assert_eq(grpc_frame_next(buf, len, 100, &m, &n), GRPC_FRAME_MESSAGE);
    cr_assert_eq(n, 3);
    cr_assert_eq(m, buf + 5);
    cr_assert_eq(memcmp(m, "abc", 3), 0);
    cr_assert_eq(grpc_frame_next(buf + 8, len - 8, 100, &m, &n), GRPC_FRAME_MESSAGE);
    cr_assert_eq(n, 0);
    cr_assert_eq(grpc_frame_next(buf + len, 0, 100, &m, &n), GRPC_FRAME_MORE);
}

Test(grpc_frame, partial_header_or_body_waits)
{
    uint8_t buf[64];
    size_t len = frame(buf, 0, "hello", 5);
    const uint8_t *m;
    size_t n;
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_eq(grpc_frame_next(buf, cut, 100, &m, &n), GRPC_FRAME_MORE, "cut %zu", cut);
    cr_assert_eq(grpc_frame_next(buf, len, 100, &m, &n), GRPC_FRAME_MESSAGE);
}

Test(grpc_frame, limits_are_checked_on_the_header_alone)
{
    uint8_t buf[64];
    const uint8_t *m;
    size_t n = 0;
    frame(buf, 0, "", 101);
    cr_assert_eq(grpc_frame_next(buf, 5, 100, &m, &n), GRPC_FRAME_TOO_LARGE);
    cr_assert_eq(n, 101);
    frame(buf, 0, "", 0xffffffffu);
    cr_assert_eq(grpc_frame_next(buf, 5, 100, &m, &n), GRPC_FRAME_TOO_LARGE);
    cr_assert_eq(n, 0xffffffffu);
    frame(buf, 0, "", 100);
    cr_assert_eq(grpc_frame_next(buf, 5, 100, &m, &n), GRPC_FRAME_MORE);
    frame(buf, 1, "abc", 3);
    cr_assert_eq(grpc_frame_next(buf, 8, 100, &m, &n), GRPC_FRAME_COMPRESSED);
    frame(buf, 3, "abc", 3);
    cr_assert_eq(grpc_frame_next(buf, 5, 100, &m, &n), GRPC_FRAME_COMPRESSED);
    frame(buf, 2, "abc", 3); /* other flag bits are reserved, not compression */
    cr_assert_eq(grpc_frame_next(buf, 8, 100, &m, &n), GRPC_FRAME_MESSAGE);
}

Test(grpc_frame, timeouts)
{
    static const struct { const char *v; uint64_t ms; } ok[] = {
        {"100m", 100}, {"5S", 5000}, {"2M", 120000}, {"1H", 3600000}, {"1u", 1},
        {"1500u", 2}, {"1n", 1}, {"0m", 0}, {"99999999H", 99999999ull * 3600000},
        {"00000001S", 1000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        uint64_t ms = 12345;
        cr_assert(grpc_parse_timeout(ok[i].v, &ms), "%s", ok[i].v);
        cr_assert_eq(ms, ok[i].ms, "%s", ok[i].v);
    }
    static const char *const bad[] = {"", "m", "100", "100x", "-1m", "1 m", "123456789m",
                                      "1.5S", "m100", "+1m"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t ms = 12345;
        cr_assert_not(grpc_parse_timeout(bad[i], &ms), "%s", bad[i]);
        cr_assert_eq(ms, 12345);
    }
}
