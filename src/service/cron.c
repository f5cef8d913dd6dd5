/* Cron expressions of function schedules: parsed to bit sets, next times by UTC calendar math. */
#include "service/cron.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_COUNT };

static const char *const month_names[] = {NULL,  "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* One field: its name in messages, the values it takes, where `*` and "a/n" stop, and the names
 * of its values (names[v] for value v). star_max is 6 for day-of-week: 7 is only Sunday again, and
 * "1/3" walking onto it would add a Sunday nobody asked for. */
static const struct field {
    const char *name;
    int min, max, star_max;
    const char *const *names;
    int n_names;
    bool question;
} fields[F_COUNT] = {
    [F_SEC] = {"second", 0, 59, 59, NULL, 0, false},
    [F_MIN] = {"minute", 0, 59, 59, NULL, 0, false},
    [F_HOUR] = {"hour", 0, 23, 23, NULL, 0, false},
    [F_DOM] = {"day-of-month", 1, 31, 31, NULL, 0, true},
    [F_MON] = {"month", 1, 12, 12, month_names, 13, false},
    [F_DOW] = {"day-of-week", 0, 7, 6, day_names, 7, true},
};

/* Macros are six-field expressions, so they go through the same parser as what users write. */
static const struct {
    const char *name, *expr;
} macros[] = {
    {"@yearly", "0 0 0 1 1 *"}, {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
    {"@weekly", "0 0 0 * * 0"}, {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
    {"@hourly", "0 0 * * * *"},
};

#define MAX_DIGITS 4
#define EVERY_MAX_S 86400u
/* Five calendar years hold at most two leap days. */
#define HORIZON_DAYS (5 * 365 + 2)
/* 9999-12-31T23:59:59Z: later instants get 0, which keeps every result far from overflowing ms. */
#define LAST_S 253402300799ull

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t len, const char *fmt, ...)
{
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Splits s in place at whitespace: the count of words (all of them), the first max in w. */
static size_t split(char *s, char **w, size_t max)
{
    size_t n = 0;
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            return n;
        if (n < max)
            w[n] = s;
        n++;
        while (*s && !isspace((unsigned char)*s))
            s++;
        if (*s)
            *s++ = '\0';
    }
}

static int bad_char(const struct field *f, const char *text, char c, char *why, size_t len)
{
    if (isprint((unsigned char)c))
        return fail(why, len, "%s: unexpected character '%c' in \"%s\"", f->name, c, text);
    return fail(why, len, "%s: unexpected byte 0x%02x", f->name, (unsigned char)c);
}

/* A number or name at *p (a run of letters and digits), advancing *p past it. */
static int parse_value(const struct field *f, const char *text, const char **p, int *out, char *why,
                       size_t len)
{
    const char *s = *p;
    size_t n = 0, digits = 0;
    for (; isalnum((unsigned char)s[n]); n++)
        digits += isdigit((unsigned char)s[n]) != 0;
    if (n == 0) {
        if (*s && !strchr(",-/", *s))
            return bad_char(f, text, *s, why, len);
        return fail(why, len, "%s: missing value in \"%s\"", f->name, text);
    }
    *p = s + n;
    if (digits == n) {
        if (n > MAX_DIGITS)
            return fail(why, len, "%s: %.*s has more than %d digits", f->name, (int)n, s,
                        MAX_DIGITS);
        int v = 0;
        for (size_t i = 0; i < n; i++)
            v = v * 10 + (s[i] - '0');
        if (v < f->min || v > f->max)
            return fail(why, len, "%s: %.*s is out of range %d-%d", f->name, (int)n, s, f->min,
                        f->max);
        *out = v;
        return 0;
    }
    for (int v = 0; v < f->n_names && n == 3; v++) {
        if (f->names[v] && strncasecmp(s, f->names[v], 3) == 0) {
            *out = v;
            return 0;
        }
    }
    if (f->names)
        return fail(why, len, "%s: \"%.*s\" is neither a number nor a %s name (%s-%s)", f->name,
                    (int)n, s, f == &fields[F_MON] ? "month" : "day", f->names[f->min],
                    f->names[f->n_names - 1]);
    return fail(why, len, "%s: \"%.*s\" is not a number", f->name, (int)n, s);
}

/* The step after a '/' at *p: 1 to the number of values of the field. A bigger one is a typo
 * (every 90 minutes written in the minute field) that could only ever name its first value. */
static int parse_step(const struct field *f, const char *text, const char **p, int *out, char *why,
                      size_t len)
{
    const char *s = *p;
    size_t n = strspn(s, "0123456789");
    int span = f->star_max - f->min + 1;
    if (n == 0) {
        if (*s && *s != ',')
            return isalpha((unsigned char)*s)
                       ? fail(why, len, "%s: step in \"%s\" is not a number", f->name, text)
                       : bad_char(f, text, *s, why, len);
        return fail(why, len, "%s: missing step in \"%s\"", f->name, text);
    }
    if (n > MAX_DIGITS)
        return fail(why, len, "%s: step %.*s has more than %d digits", f->name, (int)n, s,
                    MAX_DIGITS);
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    if (v < 1 || v > span)
        return fail(why, len, "%s: step %.*s is out of range 1-%d", f->name, (int)n, s, span);
    *p = s + n;
    *out = v;
    return 0;
}

/* One list item at *p: `*`, `?`, a, a-b, each optionally /step; sets its values in *bits. */
static int parse_item(const struct field *f, const char *text, const char **p, uint64_t *bits,
                      char *why, size_t len)
{
    const char *start = *p;
    int lo, hi, step = 1;
    bool star = **p == '*' || **p == '?', range = false;
    if (**p == '?' && !f->question)
        return fail(why, len, "%s: '?' is only allowed in day-of-month and day-of-week", f->name);
    if (**p == '?' && strcmp(text, "?") != 0)
        return fail(why, len, "%s: '?' must be the whole field, not \"%s\"", f->name, text);
    if (star) {
        lo = f->min;
        hi = f->star_max;
        (*p)++;
    } else {
        if (parse_value(f, text, p, &lo, why, len) < 0)
            return -1;
        hi = lo;
        if (**p == '-') {
            const char *end = ++*p;
            if (parse_value(f, text, p, &hi, why, len) < 0)
                return -1;
            /* "FRI-SUN" reads as Friday to Sunday: a Sunday named at a range's end is 7 */
            if (f == &fields[F_DOW] && hi == 0 && lo > 0 && isalpha((unsigned char)*end))
                hi = 7;
            if (hi < lo)
                return fail(why, len, "%s: range %.*s is reversed", f->name, (int)(*p - start),
                            start);
            range = true;
        }
    }
    if (**p == '/') {
        (*p)++;
        if (parse_step(f, text, p, &step, why, len) < 0)
            return -1;
        if (!star && !range) /* "a/n": from a to the end of the field */
            hi = lo > f->star_max ? lo : f->star_max;
    }
    if (**p && **p != ',')
        return bad_char(f, text, **p, why, len);
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ull << v;
    return 0;
}

/* A comma-separated list of items into *bits. */
static int parse_field(const struct field *f, const char *text, uint64_t *bits, char *why,
                       size_t len)
{
    const char *p = text;
    *bits = 0;
    for (;;) {
        if (parse_item(f, text, &p, bits, why, len) < 0)
            return -1;
        if (!*p)
            return 0;
        p++; /* the ',' */
    }
}

static bool is_any(const char *text)
{
    return strcmp(text, "*") == 0 || strcmp(text, "?") == 0;
}

static int parse_fields(char **w, size_t n, struct cron *c, char *why, size_t len)
{
    if (n != 5 && n != 6)
        return fail(why, len,
                    "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds "
                    "first), got %zu",
                    n);
    uint64_t bits[F_COUNT] = {[F_SEC] = 1}; /* five fields: at second 0 */
    size_t first = n == 5 ? F_MIN : F_SEC;
    for (size_t i = first; i < F_COUNT; i++)
        if (parse_field(&fields[i], w[i - first], &bits[i], why, len) < 0)
            return -1;
    *c = (struct cron){
        .sec = bits[F_SEC],
        .min = bits[F_MIN],
        .hour = (uint32_t)bits[F_HOUR],
        .dom = (uint32_t)bits[F_DOM],
        .mon = (uint16_t)bits[F_MON],
        .dow = (uint8_t)((bits[F_DOW] | bits[F_DOW] >> 7) & 0x7f), /* 7 is Sunday, 0 */
        .dom_any = is_any(w[F_DOM - first]),
        .dow_any = is_any(w[F_DOW - first]),
    };
    return 0;
}

/* "@every <n>s|m|h": n seconds, minutes or hours, 1 s to 24 h in all. */
static int parse_every(char **w, size_t n, struct cron *c, char *why, size_t len)
{
    const char *arg = n == 2 ? w[1] : "";
    size_t digits = strspn(arg, "0123456789");
    if (n != 2 || digits == 0 || !arg[digits] || arg[digits + 1] || !strchr("smhSMH", arg[digits]))
        return fail(why, len, "@every: expected one period such as 30s, 5m or 2h, got \"%s\"",
                    n > 2 ? w[2] : arg);
    if (digits > 5) /* more than 24 h in any unit; and v below cannot overflow */
        return fail(why, len, "@every: %s is out of range 1s-24h", arg);
    uint32_t v = 0;
    for (size_t i = 0; i < digits; i++)
        v = v * 10 + (uint32_t)(arg[i] - '0');
    char unit = (char)tolower((unsigned char)arg[digits]);
    uint32_t s = v * (unit == 'h' ? 3600 : unit == 'm' ? 60 : 1);
    if (s < 1 || s > EVERY_MAX_S)
        return fail(why, len, "@every: %s is out of range 1s-24h", arg);
    *c = (struct cron){.every_s = s};
    return 0;
}

static int parse_macro(char **w, size_t n, struct cron *c, char *why, size_t len)
{
    if (strcasecmp(w[0], "@every") == 0)
        return parse_every(w, n, c, why, len);
    for (size_t i = 0; i < sizeof macros / sizeof *macros; i++) {
        if (strcasecmp(w[0], macros[i].name) != 0)
            continue;
        if (n != 1)
            return fail(why, len, "%s takes no argument, got \"%s\"", w[0], w[1]);
        char buf[32];
        char *mw[6];
        snprintf(buf, sizeof buf, "%s", macros[i].expr);
        return parse_fields(mw, split(buf, mw, 6), c, why, len);
    }
    return fail(why, len, "unknown macro \"%s\" (known: @yearly, @annually, @monthly, @weekly, "
                          "@daily, @midnight, @hourly, @every)",
                w[0]);
}

int cron_parse(const char *expr, struct cron *out, char *why, size_t len)
{
    size_t n = expr ? strnlen(expr, CRON_MAX_LEN + 1) : 0;
    if (n > CRON_MAX_LEN)
        return fail(why, len, "the expression is longer than %d characters", CRON_MAX_LEN);
    char buf[CRON_MAX_LEN + 1];
    char *w[7];
    memcpy(buf, n ? expr : "", n + 1);
    size_t words = split(buf, w, 7);
    if (words == 0)
        return fail(why, len, "the expression is empty");
    struct cron c;
    int rc = w[0][0] == '@' ? parse_macro(w, words, &c, why, len)
                            : parse_fields(w, words, &c, why, len);
    if (rc == 0)
        *out = c;
    return rc;
}

/* Days since 1970-01-01 of a date in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of days_from_civil, for days >= 0. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* The lowest value in from..max whose bit is set in mask, or -1. */
static int next_bit(uint64_t mask, int from, int max)
{
    if (from > max)
        return -1;
    mask &= ~0ull << from;
    mask &= max >= 63 ? ~0ull : (1ull << (max + 1)) - 1;
    return mask ? __builtin_ctzll(mask) : -1;
}

/* Vixie cron's rule: two restricted day fields widen each other, a `*` one does not. */
static bool day_matches(const struct cron *c, int64_t day, unsigned mday)
{
    bool dom = c->dom >> mday & 1;
    bool dow = c->dow >> ((day + 4) % 7) & 1; /* 1970-01-01 was a Thursday */
    return c->dom_any || c->dow_any ? dom && dow : dom || dow;
}

/* Moves *sod (second of the day) to the first time at or after it that the hour, minute and
 * second fields name; false if none is left in the day. Jumps field by field, never second by
 * second. */
static bool time_of_day(const struct cron *c, uint32_t *sod)
{
    int h = (int)(*sod / 3600), m = (int)(*sod / 60 % 60), s = (int)(*sod % 60);
    for (;;) {
        int nh = next_bit(c->hour, h, 23);
        if (nh < 0)
            return false;
        if (nh != h) {
            h = nh;
            m = s = 0;
        }
        int nm = next_bit(c->min, m, 59);
        if (nm < 0) {
            h++;
            m = s = 0;
            continue;
        }
        if (nm != m) {
            m = nm;
            s = 0;
        }
        int ns = next_bit(c->sec, s, 59);
        if (ns < 0) {
            m++;
            s = 0;
            continue;
        }
        *sod = (uint32_t)(h * 3600 + m * 60 + ns);
        return true;
    }
}

uint64_t cron_next(const struct cron *c, uint64_t after_ms)
{
    uint64_t t = after_ms / 1000 + 1; /* the first whole second strictly after after_ms */
    if (t > LAST_S)
        return 0;
    if (c->every_s)
        return (t + c->every_s - 1) / c->every_s * c->every_s * 1000;
    int64_t day = (int64_t)(t / 86400), last = day + HORIZON_DAYS;
    uint32_t sod = (uint32_t)(t % 86400);
    for (; day <= last; sod = 0) {
        int64_t y;
        unsigned m, d;
        civil_from_days(day, &y, &m, &d);
        if (!(c->mon >> m & 1)) { /* skip the whole month */
            day = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
            continue;
        }
        if (day_matches(c, day, d) && time_of_day(c, &sod))
            return ((uint64_t)day * 86400 + sod) * 1000;
        day++;
    }
    return 0;
}
