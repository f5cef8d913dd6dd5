/* Unit tests for src/common/error.c: the engine error table and message helpers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "common/error.h"

/* The wire contract, written out independently of SB_ERROR_MAP so that an
 * edit of the table shows up here as a test failure. */
static const struct {
    enum sb_code code;
    const char *wire;
    int http, grpc;
} expected[] = {
    {SB_E_OK, "ok", 200, 0},
    {SB_E_INVALID_ARGUMENT, "invalid_argument", 400, 3},
    {SB_E_LIMIT_EXCEEDS_MAX, "limit_exceeds_max", 400, 3},
    {SB_E_UNAUTHENTICATED, "unauthenticated", 401, 16},
    {SB_E_PERMISSION_DENIED, "permission_denied", 403, 7},
    {SB_E_NOT_FOUND, "not_found", 404, 5},
    {SB_E_METHOD_NOT_ALLOWED, "method_not_allowed", 405, 12},
    {SB_E_REQUEST_TIMEOUT, "request_timeout", 408, 4},
    {SB_E_PAYLOAD_TOO_LARGE, "payload_too_large", 413, 8},
    {SB_E_UNSUPPORTED_MEDIA, "unsupported_media_type", 415, 3},
    {SB_E_CONFLICT, "conflict", 409, 9},
    {SB_E_UNKNOWN_LANGUAGE, "unknown_language", 422, 3},
    {SB_E_UPGRADE_REQUIRED, "upgrade_required", 426, 3},
    {SB_E_RATE_LIMITED, "rate_limited", 429, 8},
    {SB_E_HEADERS_TOO_LARGE, "headers_too_large", 431, 8},
    {SB_E_INTERNAL, "internal_error", 500, 13},
    {SB_E_SANDBOX_SETUP, "sandbox_setup_failed", 500, 13},
    {SB_E_FUNCTION_ERROR, "function_error", 502, 13},
    {SB_E_UNAVAILABLE, "unavailable", 503, 14},
    {SB_E_FUNCTION_TIMEOUT, "function_timeout", 504, 4},
    {SB_E_HTTP_VERSION, "http_version_not_supported", 505, 12},
    {SB_E_CONFIG, "invalid_config", 500, 9},
};
#define N_EXPECTED (sizeof expected / sizeof *expected)

Test(error, table_lists_every_code)
{
    cr_assert_eq(N_EXPECTED, (size_t)SB_E__COUNT, "a code was added without a test row");
}

Test(error, every_code_maps_to_wire_http_and_grpc)
{
    for (size_t i = 0; i < N_EXPECTED; i++) {
        enum sb_code c = expected[i].code;
        cr_assert_str_eq(sb_code_name(c), expected[i].wire, "code %d", (int)c);
        cr_assert_eq(sb_code_http(c), expected[i].http, "%s", expected[i].wire);
        cr_assert_eq(sb_code_grpc(c), expected[i].grpc, "%s", expected[i].wire);
    }
}

Test(error, wire_names_are_unique)
{
    for (size_t i = 0; i < SB_E__COUNT; i++)
        for (size_t j = i + 1; j < SB_E__COUNT; j++)
            cr_assert_str_neq(sb_code_name((enum sb_code)i), sb_code_name((enum sb_code)j));
}

Test(error, only_ok_is_not_an_error_status)
{
    for (size_t i = 0; i < SB_E__COUNT; i++) {
        int http = sb_code_http((enum sb_code)i), grpc = sb_code_grpc((enum sb_code)i);
        if (i == SB_E_OK) {
            cr_assert_eq(http, 200);
            cr_assert_eq(grpc, 0);
        } else {
            cr_assert(http >= 400 && http <= 599, "%s -> %d", sb_code_name((enum sb_code)i), http);
            cr_assert(grpc >= 1 && grpc <= 16, "%s -> %d", sb_code_name((enum sb_code)i), grpc);
        }
    }
}

Test(error, out_of_range_code_reads_as_internal)
{
    cr_assert_str_eq(sb_code_name(SB_E__COUNT), "internal_error");
    cr_assert_eq(sb_code_http(SB_E__COUNT), 500);
    cr_assert_eq(sb_code_grpc(SB_E__COUNT), 13);
    cr_assert_str_eq(sb_code_name((enum sb_code)-1), "internal_error");
    cr_assert_eq(sb_code_http((enum sb_code)1000), 500);
}

Test(error, fail_sets_code_and_message_and_returns_minus_one)
{
    struct sb_error e = {SB_E_OK, "stale"};
    cr_assert_eq(sb_fail(&e, SB_E_NOT_FOUND, "job %s not found (%d)", "abc", 7), -1);
    cr_assert_eq(e.code, SB_E_NOT_FOUND);
    cr_assert_str_eq(e.msg, "job abc not found (7)");
}

Test(error, fail_with_null_error_only_returns_minus_one)
{
    cr_assert_eq(sb_fail(NULL, SB_E_INTERNAL, "x"), -1);
    cr_assert_eq(sb_fail_errno(NULL, SB_E_INTERNAL, EPERM, "x"), -1);
}

Test(error, fail_errno_appends_the_symbolic_name)
{
    struct sb_error e = {0};
    cr_assert_eq(sb_fail_errno(&e, SB_E_SANDBOX_SETUP, EPERM, "mount %s -> %s", "/usr",
                               "/newroot/usr"), -1);
    cr_assert_eq(e.code, SB_E_SANDBOX_SETUP);
    cr_assert_str_eq(e.msg, "mount /usr -> /newroot/usr: EPERM");
    sb_fail_errno(&e, SB_E_INTERNAL, ENOENT, "open %s", "/x");
    cr_assert_str_eq(e.msg, "open /x: ENOENT");
    sb_fail_errno(&e, SB_E_INTERNAL, 99999, "open");
    cr_assert_str_eq(e.msg, "open: E99999");
}

Test(error, long_messages_are_truncated_and_terminated)
{
    struct sb_error e;
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sb_fail(&e, SB_E_INTERNAL, "%s", big);
    cr_assert_eq(strlen(e.msg), sizeof e.msg - 1);
    /* No room left for the errno suffix: still terminated, nothing overrun. */
    sb_fail_errno(&e, SB_E_INTERNAL, EPERM, "%s", big);
    cr_assert_eq(strlen(e.msg), sizeof e.msg - 1);
    cr_assert_eq(e.msg[0], 'a');
    /* Just enough room for part of the suffix. */
    big[sizeof e.msg - 5] = '\0';
    sb_fail_errno(&e, SB_E_INTERNAL, EPERM, "%s", big);
    cr_assert_eq(strlen(e.msg), sizeof e.msg - 1);
    cr_assert_str_eq(e.msg + sizeof e.msg - 5, ": EP");
}

Test(error, errno_names)
{
    cr_assert_str_eq(sb_errno_name(EPERM), "EPERM");
    cr_assert_str_eq(sb_errno_name(ENOENT), "ENOENT");
    cr_assert_str_eq(sb_errno_name(EAGAIN), "EAGAIN");
    cr_assert_str_eq(sb_errno_name(ENOSYS), "ENOSYS");
    cr_assert_str_eq(sb_errno_name(99999), "E99999");
    cr_assert_str_eq(sb_errno_name(-3), "E-3");
}
