/* Unit tests for src/service/cron.c: function schedules' cron expressions and their next times. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "service/cron.h"

#define B(v) (1ull << (v))
/* Every value of a field, as its bit set. */
#define ALL_60 (B(60) - 1)
#define ALL_H (B(24) - 1)
#define ALL_DOM (B(32) - 2)
#define ALL_MON (B(13) - 2)
#define ALL_DOW 0x7f

/* Unix ms of "YYYY-MM-DDTHH:MM:SSZ" by the C library's timegm, a calendar apart from cron.c's. */
static uint64_t at(const char *iso)
{
    struct tm tm = {0};
    cr_assert_eq(sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                 6, "bad instant %s", iso);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (uint64_t)timegm(&tm) * 1000;
}

/* ms as ISO 8601 (with the ms), for failure messages; "0" for 0. */
static const char *iso(uint64_t ms, char buf[40])
{
    if (ms == 0)
        return "0";
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return buf;
}

static struct cron parse(const char *expr)
{
    struct cron c;
    char why[256] = "";
    cr_assert_eq(cron_parse(expr, &c, why, sizeof why), 0, "\"%s\": %s", expr, why);
    return c;
}

/* cron_next(expr, after) must be exactly want (ms; 0 for none). */
static void expect_next_ms(const char *expr, uint64_t after, uint64_t want)
{
    struct cron c = parse(expr);
    uint64_t got = cron_next(&c, after);
    char a[40], g[40], w[40];
    cr_assert_eq(got, want, "\"%s\" after %s: got %s, want %s", expr, iso(after, a), iso(got, g),
                 iso(want, w));
}

static void expect_next(const char *expr, const char *after, const char *want)
{
    expect_next_ms(expr, at(after), want ? at(want) : 0);
}

/* ---- parsing ---- */

Test(cron, parses_every_field_form)
{
    static const struct {
        const char *expr;
        struct cron want;
    } t[] = {
        {"* * * * *", {B(0), ALL_60, ALL_H, ALL_DOM, ALL_MON, ALL_DOW, true, true, 0}},
        {"*/15 * * * *",
         {B(0), B(0) | B(15) | B(30) | B(45), ALL_H, ALL_DOM, ALL_MON, ALL_DOW, true, true, 0}},
        {"5,10-12 */6 1-31/10 JAN-MAR,dec mon-fri",
         {B(0), B(5) | B(10) | B(11) | B(12), B(0) | B(6) | B(12) | B(18),
          B(1) | B(11) | B(21) | B(31), B(1) | B(2) | B(3) | B(12), 0x3e, false, false, 0}},
        {"10/20 0009 * * *",
         {B(0), B(10) | B(30) | B(50), B(9), ALL_DOM, ALL_MON, ALL_DOW, true, true, 0}},
        {"0 0 15/10 11/1 *",
         {B(0), B(0), B(0), B(15) | B(25), B(11) | B(12), ALL_DOW, false, true, 0}},
        {"0 0 ? * 7", {B(0), B(0), B(0), ALL_DOM, ALL_MON, B(0), true, false, 0}},
        {"0 0 * * 5-7", {B(0), B(0), B(0), ALL_DOM, ALL_MON, B(0) | B(5) | B(6), true, false, 0}},
        {"0 0 * * fri-sun",
         {B(0), B(0), B(0), ALL_DOM, ALL_MON, B(0) | B(5) | B(6), true, false, 0}},
        {"0 0 * * 0,7", {B(0), B(0), B(0), ALL_DOM, ALL_MON, B(0), true, false, 0}},
        {"0 0 * * */2", {B(0), B(0), B(0), ALL_DOM, ALL_MON, 0x55, true, false, 0}},
        {"0 0 * * 1/3", {B(0), B(0), B(0), ALL_DOM, ALL_MON, B(1) | B(4), true, false, 0}},
        {"0 0 * * 0-7/2", {B(0), B(0), B(0), ALL_DOM, ALL_MON, 0x55, true, false, 0}},
        {"0 0 1 Jan,FeB,2-3 ?",
         {B(0), B(0), B(0), B(1), B(1) | B(2) | B(3), ALL_DOW, false, true, 0}},
        {"0 0 1-3,2 Sep-nov *",
         {B(0), B(0), B(0), 0xe, B(9) | B(10) | B(11), ALL_DOW, false, true, 0}},
        {"*/10 * * * * *",
         {B(0) | B(10) | B(20) | B(30) | B(40) | B(50), ALL_60, ALL_H, ALL_DOM, ALL_MON,
          0x7f, true, true, 0}},
        {"30 0 9 * * *", {B(30), B(0), B(9), ALL_DOM, ALL_MON, ALL_DOW, true, true, 0}},
        {"59 59 23 31 12 6", {B(59), B(59), B(23), B(31), B(12), B(6), false, false, 0}},
        {"*/60 */24 */31 */12 */7", {B(0), B(0), B(0), B(1), B(1), B(0), false, false, 0}},
        {"  0\t9   * * *  ", {B(0), B(0), B(9), ALL_DOM, ALL_MON, ALL_DOW, true, true, 0}},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct cron c = parse(t[i].expr), w = t[i].want;
        cr_assert_eq(c.sec, w.sec, "%s: sec %#llx", t[i].expr, (unsigned long long)c.sec);
        cr_assert_eq(c.min, w.min, "%s: min %#llx", t[i].expr, (unsigned long long)c.min);
        cr_assert_eq(c.hour, w.hour, "%s: hour %#x", t[i].expr, c.hour);
        cr_assert_eq(c.dom, w.dom, "%s: dom %#x", t[i].expr, c.dom);
        cr_assert_eq(c.mon, w.mon, "%s: mon %#x", t[i].expr, c.mon);
        cr_assert_eq(c.dow, w.dow, "%s: dow %#x", t[i].expr, c.dow);
        cr_assert_eq(c.dom_any, w.dom_any, "%s: dom_any", t[i].expr);
        cr_assert_eq(c.dow_any, w.dow_any, "%s: dow_any", t[i].expr);
        cr_assert_eq(c.every_s, 0, "%s: every_s", t[i].expr);
    }
}

/* A macro is exactly the expression it stands for. */
Test(cron, macros_equal_their_expressions)
{
    static const struct {
        const char *macro, *expr;
    } t[] = {
        {"@yearly", "0 0 1 1 *"},   {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},   {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},   {" @HOURLY ", "0 * * * *"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct cron m = parse(t[i].macro), e = parse(t[i].expr);
        cr_assert_eq(memcmp(&m, &e, sizeof m), 0, "%s is not %s", t[i].macro, t[i].expr);
    }
    struct cron d = parse("@daily");
    cr_assert_eq(d.sec, B(0));
    cr_assert_eq(d.hour, B(0));
    cr_assert_eq(d.every_s, 0);
}

Test(cron, every)
{
    static const struct {
        const char *expr;
        uint32_t s;
    } t[] = {
        {"@every 1s", 1},         {"@every 2s", 2},          {"@every 90m", 5400},
        {"@every 24h", 86400},    {"@every 86400s", 86400},  {"@every 1440m", 86400},
        {"@EVERY  5M", 300},      {"@every 00010s", 10},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        cr_assert_eq(parse(t[i].expr).every_s, t[i].s, "%s", t[i].expr);
}

#define FIELDS                                                                                    \
    "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), "

/* Every refusal, with its exact message; *out is untouched. */
Test(cron, rejects_with_a_clear_reason)
{
    static const struct {
        const char *expr, *why;
    } t[] = {
        {"", "the expression is empty"},
        {" \t ", "the expression is empty"},
        {"* * * *", FIELDS "got 4"},
        {"* * * * * * *", FIELDS "got 7"},
        {"61 * * * *", "minute: 61 is out of range 0-59"},
        {"60 * * * * *", "second: 60 is out of range 0-59"},
        {"0 24 * * *", "hour: 24 is out of range 0-23"},
        {"0 0 0 * *", "day-of-month: 0 is out of range 1-31"},
        {"0 0 32 * *", "day-of-month: 32 is out of range 1-31"},
        {"0 0 * 0 *", "month: 0 is out of range 1-12"},
        {"0 0 * 13 *", "month: 13 is out of range 1-12"},
        {"0 0 * * 8", "day-of-week: 8 is out of range 0-7"},
        {"0 0 * * 1-08", "day-of-week: 08 is out of range 0-7"},
        {"*/0 * * * *", "minute: step 0 is out of range 1-60"},
        {"0 */25 * * *", "hour: step 25 is out of range 1-24"},
        {"0 0 * * */8", "day-of-week: step 8 is out of range 1-7"},
        {"5-1 * * * *", "minute: range 5-1 is reversed"},
        {"0 0 * DEC-JAN *", "month: range DEC-JAN is reversed"},
        {"0 0 * * FRI-MON", "day-of-week: range FRI-MON is reversed"},
        {"0 0 * * 5-0", "day-of-week: range 5-0 is reversed"},
        {"1#2 * * * *", "minute: unexpected character '#' in \"1#2\""},
        {"*5 * * * *", "minute: unexpected character '5' in \"*5\""},
        {"0 0 * * 1-5/2x", "day-of-week: unexpected character 'x' in \"1-5/2x\""},
        {"0 0 * * \x01", "day-of-week: unexpected byte 0x01"},
        {"00001 * * * *", "minute: 00001 has more than 4 digits"},
        {"*/12345 * * * *", "minute: step 12345 has more than 4 digits"},
        {"1,,2 * * * *", "minute: missing value in \"1,,2\""},
        {"1, * * * *", "minute: missing value in \"1,\""},
        {"5- * * * *", "minute: missing value in \"5-\""},
        {"-1 * * * *", "minute: missing value in \"-1\""},
        {"*/ * * * *", "minute: missing step in \"*/\""},
        {"*/x * * * *", "minute: step in \"*/x\" is not a number"},
        {"MON * * * *", "minute: \"MON\" is not a number"},
        {"0 1a * * *", "hour: \"1a\" is not a number"},
        {"0 0 * FOO *", "month: \"FOO\" is neither a number nor a month name (JAN-DEC)"},
        {"0 0 * * MONDAY", "day-of-week: \"MONDAY\" is neither a number nor a day name (SUN-SAT)"},
        {"0 0 * * JAN", "day-of-week: \"JAN\" is neither a number nor a day name (SUN-SAT)"},
        {"? * * * *", "minute: '?' is only allowed in day-of-month and day-of-week"},
        {"0 0 ?/2 * *", "day-of-month: '?' must be the whole field, not \"?/2\""},
        {"0 0 1,? * *", "day-of-month: '?' must be the whole field, not \"1,?\""},
        {"@every 0s", "@every: 0s is out of range 1s-24h"},
        {"@every 25h", "@every: 25h is out of range 1s-24h"},
        {"@every 86401s", "@every: 86401s is out of range 1s-24h"},
        {"@every 1441m", "@every: 1441m is out of range 1s-24h"},
        {"@every 999999s", "@every: 999999s is out of range 1s-24h"},
        {"@every", "@every: expected one period such as 30s, 5m or 2h, got \"\""},
        {"@every 5", "@every: expected one period such as 30s, 5m or 2h, got \"5\""},
        {"@every 5d", "@every: expected one period such as 30s, 5m or 2h, got \"5d\""},
        {"@every 1h30m", "@every: expected one period such as 30s, 5m or 2h, got \"1h30m\""},
        {"@every 1h 30m", "@every: expected one period such as 30s, 5m or 2h, got \"30m\""},
        {"@every -1s", "@every: expected one period such as 30s, 5m or 2h, got \"-1s\""},
        {"@daily 5", "@daily takes no argument, got \"5\""},
        {"@fortnightly", "unknown macro \"@fortnightly\" (known: @yearly, @annually, @monthly, "
                         "@weekly, @daily, @midnight, @hourly, @every)"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct cron c, before;
        memset(&c, 0xa5, sizeof c);
        before = c;
        char why[256] = "";
        cr_assert_eq(cron_parse(t[i].expr, &c, why, sizeof why), -1, "\"%s\" was taken", t[i].expr);
        cr_assert_str_eq(why, t[i].why, "\"%s\"", t[i].expr);
        cr_assert_eq(memcmp(&c, &before, sizeof c), 0, "\"%s\" changed *out", t[i].expr);
    }
}

Test(cron, length_limit_and_odd_arguments)
{
    char buf[CRON_MAX_LEN + 2];
    memset(buf, ' ', sizeof buf);
    memcpy(buf, "0 0 * * *", 9);
    buf[CRON_MAX_LEN] = '\0'; /* 200 characters: taken */
    struct cron c;
    char why[128] = "";
    cr_assert_eq(cron_parse(buf, &c, why, sizeof why), 0, "%s", why);
    buf[CRON_MAX_LEN] = ' ';
    buf[CRON_MAX_LEN + 1] = '\0'; /* 201 */
    cr_assert_eq(cron_parse(buf, &c, why, sizeof why), -1);
    cr_assert_str_eq(why, "the expression is longer than 200 characters");

    cr_assert_eq(cron_parse(NULL, &c, why, sizeof why), -1);
    cr_assert_str_eq(why, "the expression is empty");
    cr_assert_eq(cron_parse("61 * * * *", &c, NULL, 0), -1); /* no room for why: still refused */
    char small[8];
    cr_assert_eq(cron_parse("61 * * * *", &c, small, sizeof small), -1);
    cr_assert_str_eq(small, "minute:"); /* truncated, terminated */
}

/* ---- next times ---- */

Test(cron, next_steps_and_strictly_after)
{
    expect_next("*/15 * * * *", "2026-12-06T10:07:30Z", "2026-12-06T10:15:00Z");
    expect_next("*/15 * * * *", "2026-12-06T10:15:00Z", "2026-12-06T10:30:00Z");
    expect_next("*/15 * * * *", "2026-12-06T10:45:00Z", "2026-12-06T11:00:00Z");
    expect_next_ms("*/15 * * * *", at("2026-12-06T10:14:59Z") + 999, at("2026-12-06T10:15:00Z"));
    expect_next_ms("*/15 * * * *", at("2026-12-06T10:15:00Z") + 1, at("2026-12-06T10:30:00Z"));
    expect_next("15 10 * * *", "2026-12-06T10:15:00Z", "2026-12-07T10:15:00Z");
    expect_next("0-5/2 8-10 * * *", "2026-12-06T08:04:00Z", "2026-12-06T09:00:00Z");
    expect_next("0 * * * *", "2026-12-06T23:30:00Z", "2026-12-07T00:00:00Z");
    expect_next("* * * * *", "1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z");
    expect_next("0 0 1 1 *", "1970-01-01T00:00:00Z", "1971-01-01T00:00:00Z");
}

Test(cron, next_weekdays)
{
    /* 2026-12-04 is a Friday */
    expect_next("0 9 * * MON-FRI", "2026-12-04T10:00:00Z", "2026-12-07T09:00:00Z");
    expect_next("0 9 * * MON-FRI", "2026-12-04T08:59:59Z", "2026-12-04T09:00:00Z");
    expect_next("0 0 * * 7", "2026-12-01T12:00:00Z", "2026-12-06T00:00:00Z");
    expect_next("0 0 * * 0", "2026-12-01T12:00:00Z", "2026-12-06T00:00:00Z");
    expect_next("0 0 * * SAT-SUN", "2026-12-01T12:00:00Z", "2026-12-05T00:00:00Z");
    expect_next("0 0 * * SAT-SUN", "2026-12-05T00:00:00Z", "2026-12-06T00:00:00Z");
    expect_next("0 0 * * SAT-SUN", "2026-12-06T00:00:00Z", "2026-12-12T00:00:00Z");
}

/* Vixie cron: two restricted day fields are OR'ed; a `*` or `?` one leaves the other alone. */
Test(cron, next_day_of_month_or_day_of_week)
{
    /* 2026-01-02 and 01-09 are Fridays, 01-13 a Tuesday */
    expect_next("0 0 13 * FRI", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
    expect_next("0 0 13 * FRI", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z");
    expect_next("0 0 13 * FRI", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z");
    expect_next("0 0 13 * *", "2026-01-01T00:00:00Z", "2026-01-13T00:00:00Z");
    expect_next("0 0 * * FRI", "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z");
    expect_next("0 0 ? * FRI", "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z");
    expect_next("0 0 13 * ?", "2026-01-02T00:00:00Z", "2026-01-13T00:00:00Z");
    /* "*" / "2" is restricted: every odd day OR Tuesday (2026-01-06 is a Tuesday) */
    expect_next("0 0 */2 * TUE", "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z");
    /* the OR is within the month field: February's 13th or Fridays, not March's (2027-02-05 is
     * the first Friday of February 2027) */
    expect_next("0 0 13 2 FRI", "2026-02-27T00:00:00Z", "2027-02-05T00:00:00Z");
    expect_next("0 0 29 2 MON", "2026-02-24T00:00:00Z", "2027-02-01T00:00:00Z");
}

Test(cron, next_with_seconds)
{
    expect_next("*/10 * * * * *", "2026-12-06T10:07:35Z", "2026-12-06T10:07:40Z");
    expect_next("*/10 * * * * *", "2026-12-06T10:59:55Z", "2026-12-06T11:00:00Z");
    expect_next_ms("*/10 * * * * *", at("2026-12-06T10:07:39Z") + 999, at("2026-12-06T10:07:40Z"));
    expect_next("*/10 * * * * *", "2026-12-06T10:07:40Z", "2026-12-06T10:07:50Z");
    expect_next("30 0 9 * * *", "2026-12-06T09:00:29Z", "2026-12-06T09:00:30Z");
    expect_next("30 0 9 * * *", "2026-12-06T09:00:30Z", "2026-12-07T09:00:30Z");
    expect_next("5,45 30 * * * *", "2026-12-06T09:30:45Z", "2026-12-06T10:30:05Z");
    expect_next("59 59 23 31 12 *", "2026-06-01T00:00:00Z", "2026-12-31T23:59:59Z");
}

Test(cron, next_every_counts_from_the_epoch)
{
    expect_next("@every 2s", "2026-12-06T10:07:30Z", "2026-12-06T10:07:32Z");
    expect_next_ms("@every 2s", at("2026-12-06T10:07:30Z") + 500, at("2026-12-06T10:07:32Z"));
    expect_next("@every 2s", "2026-12-06T10:07:31Z", "2026-12-06T10:07:32Z");
    expect_next_ms("@every 2s", at("2026-12-06T10:07:31Z") + 999, at("2026-12-06T10:07:32Z"));
    /* 1796551652 = 7 * 256650236 */
    expect_next("@every 7s", "2026-12-06T10:07:30Z", "2026-12-06T10:07:32Z");
    expect_next("@every 7s", "2026-12-06T10:07:32Z", "2026-12-06T10:07:39Z");
    expect_next("@every 1h", "2026-12-06T10:07:30Z", "2026-12-06T11:00:00Z");
    expect_next("@every 24h", "2026-12-06T10:07:30Z", "2026-12-07T00:00:00Z");
    expect_next_ms("@every 1s", 0, 1000);
}

Test(cron, next_macros)
{
    /* 2026-12-06 is a Sunday */
    expect_next("@hourly", "2026-12-06T10:07:30Z", "2026-12-06T11:00:00Z");
    expect_next("@hourly", "2026-12-06T23:00:00Z", "2026-12-07T00:00:00Z");
    expect_next("@daily", "2026-12-06T10:07:30Z", "2026-12-07T00:00:00Z");
    expect_next("@midnight", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z");
    expect_next("@weekly", "2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z");
    expect_next("@weekly", "2026-12-05T23:59:59Z", "2026-12-06T00:00:00Z");
    expect_next("@monthly", "2026-12-06T10:07:30Z", "2027-01-01T00:00:00Z");
    expect_next("@yearly", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    expect_next("@annually", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z");
}

Test(cron, next_rolls_over_months_and_years)
{
    expect_next("0 0 1 * *", "2026-01-31T12:00:00Z", "2026-02-01T00:00:00Z");
    expect_next("0 0 31 * *", "2026-04-15T00:00:00Z", "2026-05-31T00:00:00Z");
    expect_next("0 0 31 * *", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z");
    expect_next("0 0 * * *", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z");
    expect_next("59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z");
    expect_next("0 12 1 JUN *", "2026-07-01T00:00:00Z", "2027-06-01T12:00:00Z");
    expect_next("0 0 1 JAN,JUL *", "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z");
    expect_next("0 0 30 1-3 *", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z");
}

Test(cron, next_leap_years)
{
    expect_next("0 0 29 2 *", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z");
    expect_next("0 0 29 2 *", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z");
    expect_next("0 0 29 2 *", "1999-01-01T00:00:00Z", "2000-02-29T00:00:00Z"); /* 2000: % 400 */
    expect_next("0 0 29 2 *", "2099-03-01T00:00:00Z", "2104-02-29T00:00:00Z"); /* 2100: not leap */
    expect_next("59 23 29 2 *", "2028-02-29T23:58:59Z", "2028-02-29T23:59:00Z");
    expect_next("0 0 1 3 *", "2028-02-28T00:00:00Z", "2028-03-01T00:00:00Z");
    expect_next("0 0 * 2 *", "2027-02-28T00:00:00Z", "2028-02-01T00:00:00Z");
    expect_next("0 0 * 2 *", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z");
}

Test(cron, next_none_within_five_years)
{
    expect_next("0 0 30 2 *", "2026-12-06T10:07:30Z", NULL);
    expect_next("0 0 31 4,6,9,11 *", "2026-12-06T10:07:30Z", NULL);
    expect_next("0 0 29 2 *", "2096-03-01T00:00:00Z", NULL); /* next is 2104, 8 years on */
    expect_next_ms("* * * * *", at("9999-12-31T23:59:59Z") + 1000, 0);
    expect_next_ms("@every 1s", UINT64_MAX, 0);
}

/* Whether c names second t, straight from gmtime_r's fields: the oracle for cron_next. */
static bool names(const struct cron *c, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    if (!(c->sec >> tm.tm_sec & 1) || !(c->min >> tm.tm_min & 1) || !(c->hour >> tm.tm_hour & 1) ||
        !(c->mon >> (tm.tm_mon + 1) & 1))
        return false;
    bool dom = c->dom >> tm.tm_mday & 1, dow = c->dow >> tm.tm_wday & 1;
    return c->dom_any || c->dow_any ? dom && dow : dom || dow;
}

/* cron_next against a scan of every candidate second, from pseudo-random instants in 2020-2040. */
Test(cron, next_agrees_with_a_scan)
{
    static const char *const exprs[] = {
        "*/15 * * * *",     "0 9 * * MON-FRI", "30 */2 1,15 * *", "0 0 13 * FRI", "5 4 * * SUN",
        "0 12 */10 * 1,3",  "0-5/2 8-10 * * *", "*/7 3 * * *",    "0 0 31 * *",   "0 22 * * 1-5",
        "*/20 */5 * * * *", "7 7 7 * * *",      "0 0 1 * 6",
    };
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (size_t e = 0; e < sizeof exprs / sizeof *exprs; e++) {
        struct cron c = parse(exprs[e]);
        bool minutes = c.sec == B(0); /* only whole minutes can match */
        for (int i = 0; i < 12; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t after = at("2020-01-01T00:00:00Z") + (seed >> 20) % (20ull * 365 * 86400000);
            uint64_t got = cron_next(&c, after);
            time_t t = (time_t)(after / 1000 + 1);
            if (minutes)
                t = (t + 59) / 60 * 60;
            while (!names(&c, t))
                t += minutes ? 60 : 1;
            char a[40], g[40], w[40];
            cr_assert_eq(got, (uint64_t)t * 1000, "\"%s\" after %s: got %s, scan %s", exprs[e],
                         iso(after, a), iso(got, g), iso((uint64_t)t * 1000, w));
        }
    }
}
