/* Unit tests for src/common/util.c: plain decimals, durations and sizes with units. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "common/util.h"

struct ok_case {
    const char *text, *unit;
    uint64_t want;
};

struct bad_case {
    const char *text, *unit;
    int want;
};

/* The value a failed parse must leave in *out. */
#define UNTOUCHED 0xdeadbeefull

static void expect_ok(int (*parse)(const char *, const char *, uint64_t *),
                      const struct ok_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = UNTOUCHED;
        int rc = parse(c[i].text, c[i].unit, &v);
        cr_assert_eq(rc, 0, "'%s' in %s: rc %d", c[i].text, c[i].unit, rc);
        cr_assert_eq(v, c[i].want, "'%s' in %s: %llu, want %llu", c[i].text, c[i].unit,
                     (unsigned long long)v, (unsigned long long)c[i].want);
    }
}

static void expect_bad(int (*parse)(const char *, const char *, uint64_t *),
                       const struct bad_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = UNTOUCHED;
        int rc = parse(c[i].text, c[i].unit, &v);
        cr_assert_eq(rc, c[i].want, "'%s' in %s: rc %d, want %d", c[i].text, c[i].unit, rc,
                     c[i].want);
        cr_assert_eq(v, UNTOUCHED, "'%s' in %s wrote %llu", c[i].text, c[i].unit,
                     (unsigned long long)v);
    }
}

#define N(a) (sizeof a / sizeof *a)

Test(util, parse_u64_takes_only_plain_decimals)
{
    uint64_t v = 0;
    cr_assert_eq(util_parse_u64("0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(util_parse_u64("18446744073709551615", &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    static const char *const bad[] = {"", "-5", "+7", "010", "00", "0x10", "1e4", "1.5", "512M",
                                      " 1", "1 ", "18446744073709551616",
                                      "99999999999999999999999"};
    for (size_t i = 0; i < N(bad); i++)
        cr_assert_eq(util_parse_u64(bad[i], &v), -1, "accepted '%s'", bad[i]);
}

Test(util, duration_every_unit_into_milliseconds)
{
    static const struct ok_case c[] = {
        {"500ms", "ms", 500}, {"30s", "ms", 30000}, {"2m", "ms", 120000}, {"1h", "ms", 3600000},
        {"0s", "ms", 0}, {"0ms", "ms", 0}, {"10s", "ms", 10000}, {"30 s", "ms", 30000},
        {"1 h", "ms", 3600000}, {"250 ms", "ms", 250},
        /* a bare number keeps the key's unit */
        {"10000", "ms", 10000}, {"0", "ms", 0},
        {"18446744073709551615", "ms", UINT64_MAX}, {"18446744073709551615ms", "ms", UINT64_MAX},
    };
    expect_ok(util_parse_duration, c, N(c));
}

Test(util, duration_every_unit_into_seconds)
{
    static const struct ok_case c[] = {
        {"30s", "s", 30}, {"2m", "s", 120}, {"1h", "s", 3600}, {"30000ms", "s", 30},
        {"1000ms", "s", 1}, {"0ms", "s", 0}, {"30", "s", 30}, {"86400", "s", 86400},
        {"24h", "s", 86400}, {"18446744073709551615", "s", UINT64_MAX},
        /* exact, though the number alone is far above the result */
        {"18446744073709551000ms", "s", 18446744073709551ull},
    };
    expect_ok(util_parse_duration, c, N(c));
}

Test(util, duration_not_exact_is_refused_not_rounded)
{
    static const struct bad_case c[] = {
        {"1500ms", "s", UTIL_QTY_INEXACT}, {"1ms", "s", UTIL_QTY_INEXACT},
        {"999ms", "s", UTIL_QTY_INEXACT}, {"30001ms", "s", UTIL_QTY_INEXACT},
    };
    expect_bad(util_parse_duration, c, N(c));
}

Test(util, duration_overflow_is_refused)
{
    static const struct bad_case c[] = {
        {"18446744073709551616", "ms", UTIL_QTY_OVERFLOW},
        {"18446744073709551616ms", "ms", UTIL_QTY_OVERFLOW},
        {"99999999999999999999999s", "s", UTIL_QTY_OVERFLOW},
        /* fits as a number, not once converted to the key's unit */
        {"18446744073709552s", "ms", UTIL_QTY_OVERFLOW},
        {"5124095576031h", "ms", UTIL_QTY_OVERFLOW},
        {"5124095576030432h", "s", UTIL_QTY_OVERFLOW},
    };
    expect_bad(util_parse_duration, c, N(c));
    /* the largest that fit */
    static const struct ok_case ok[] = {
        {"18446744073709551s", "ms", 18446744073709551000ull},
        {"5124095576030h", "ms", 5124095576030ull * 3600000},
        {"5124095576030431h", "s", 5124095576030431ull * 3600},
    };
    expect_ok(util_parse_duration, ok, N(ok));
}

Test(util, duration_bad_forms)
{
    static const char *const bad[] = {
        "", "s", "ms", " 30s", "30 ", "30  s", "30\ts", "30sec", "30 sec", "30secs", "1.5s",
        "-1s", "+1s", "1e3ms", "1e3", "0x10s", "030s", "00", "30S", "30MS", "1H", "30us",
        "30ns", "1d", "1h30m", "30s ", "s30", "30_000ms", "1,5s", "30ss", "30 s s",
        /* form is checked before size */
        "99999999999999999999999sec",
    };
    for (size_t i = 0; i < N(bad); i++) {
        struct bad_case c[] = {{bad[i], "ms", UTIL_QTY_FORM}, {bad[i], "s", UTIL_QTY_FORM}};
        expect_bad(util_parse_duration, c, N(c));
    }
}

Test(util, duration_unit_must_be_a_duration_unit)
{
    struct bad_case c[] = {{"30s", "KB", UTIL_QTY_FORM}, {"30", "", UTIL_QTY_FORM},
                           {"30", "S", UTIL_QTY_FORM}};
    expect_bad(util_parse_duration, c, N(c));
}

Test(util, size_every_unit_and_spelling)
{
    static const struct ok_case c[] = {
        {"512KB", "KB", 512}, {"256MB", "KB", 262144}, {"2GB", "KB", 2097152},
        {"16MB", "KB", 16384}, {"1GB", "MB", 1024}, {"2GB", "MB", 2048}, {"64MB", "MB", 64},
        {"1024KB", "MB", 1}, {"2048B", "KB", 2}, {"1048576B", "MB", 1}, {"0B", "MB", 0},
        {"1K", "KB", 1}, {"1M", "KB", 1024}, {"1G", "KB", 1048576},
        {"1KiB", "KB", 1}, {"1MiB", "KB", 1024}, {"1GiB", "MB", 1024},
        /* case-insensitive */
        {"1kb", "KB", 1}, {"1kB", "KB", 1}, {"1mb", "MB", 1}, {"1gb", "MB", 1024},
        {"1k", "KB", 1}, {"1m", "MB", 1}, {"1g", "MB", 1024}, {"1kib", "KB", 1},
        {"1MIB", "MB", 1}, {"1024b", "KB", 1}, {"1 GB", "MB", 1024}, {"512 KB", "KB", 512},
        /* a bare number keeps the key's unit; the unit argument is case-insensitive too */
        {"16384", "KB", 16384}, {"256", "MB", 256}, {"256", "mb", 256}, {"0", "KB", 0},
    };
    expect_ok(util_parse_size, c, N(c));
}

Test(util, size_not_exact_is_refused_not_rounded)
{
    static const struct bad_case c[] = {
        {"1536KB", "MB", UTIL_QTY_INEXACT}, {"1KB", "MB", UTIL_QTY_INEXACT},
        {"1023KB", "MB", UTIL_QTY_INEXACT}, {"1000B", "KB", UTIL_QTY_INEXACT},
        {"1B", "KB", UTIL_QTY_INEXACT}, {"1048577B", "MB", UTIL_QTY_INEXACT},
    };
    expect_bad(util_parse_size, c, N(c));
}

Test(util, size_overflow_is_refused)
{
    static const struct bad_case c[] = {
        {"18446744073709551616", "KB", UTIL_QTY_OVERFLOW},
        {"18446744073709551616KB", "KB", UTIL_QTY_OVERFLOW},
        {"18014398509481984MB", "KB", UTIL_QTY_OVERFLOW},
        {"17592186044416GB", "KB", UTIL_QTY_OVERFLOW},
        {"18014398509481984GB", "MB", UTIL_QTY_OVERFLOW},
    };
    expect_bad(util_parse_size, c, N(c));
    static const struct ok_case ok[] = {
        {"18014398509481983MB", "KB", 18014398509481983ull * 1024},
        {"17592186044415GB", "KB", 17592186044415ull * 1048576},
        {"18014398509481983GB", "MB", 18014398509481983ull * 1024},
    };
    expect_ok(util_parse_size, ok, N(ok));
}

Test(util, size_bad_forms)
{
    static const char *const bad[] = {
        "", "KB", " 1KB", "1 ", "1  KB", "1\tKB", "1.5GB", "1,5GB", "-1KB", "+1KB", "1e3KB",
        "0x10KB", "010KB", "1TB", "1T", "1KBs", "1KBB", "1Kb/s", "1kbit", "1 K B", "1iB",
        "1Ki", "1 GiBs", "1 k b",
    };
    for (size_t i = 0; i < N(bad); i++) {
        struct bad_case c[] = {{bad[i], "KB", UTIL_QTY_FORM}, {bad[i], "MB", UTIL_QTY_FORM}};
        expect_bad(util_parse_size, c, N(c));
    }
    struct bad_case units[] = {{"1KB", "ms", UTIL_QTY_FORM}, {"1", "", UTIL_QTY_FORM}};
    expect_bad(util_parse_size, units, N(units));
}
