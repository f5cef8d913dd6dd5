/* Clocks, time formatting, randomness, numbers with units. */
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

uint64_t util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t util_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void util_iso_time(uint64_t ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

int util_parse_iso_time(const char *s, uint64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    unsigned frac = 0;
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3)
        return -1;
    const char *p = s + n;
    if (*p == 'T' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &m) != 3)
            return -1;
        p += 1 + m;
        if (*p == '.') {
            int digits = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3)
                    frac = frac * 10 + (unsigned)(*p - '0');
            while (digits > 0 && digits < 3)
                frac *= 10, digits++;
        }
        if (*p == 'Z')
            p++;
    }
    if (*p || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || t < 0)
        return -1;
    *ms = (uint64_t)t * 1000u + frac;
    return 0;
}

int util_random(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Reads the plain decimal at the start of *s and moves *s past it. Returns 0,
 * UTIL_QTY_FORM (no digit, or a leading zero) or UTIL_QTY_OVERFLOW. */
static int parse_digits(const char **s, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    bool big = false;
    if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
        return UTIL_QTY_FORM;
    for (; *p >= '0' && *p <= '9'; p++) {
        big |= v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == *s)
        return UTIL_QTY_FORM;
    *s = p;
    *out = v;
    return big ? UTIL_QTY_OVERFLOW : 0;
}

int util_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v;
    if (parse_digits(&s, &v) < 0 || *s)
        return -1;
    *out = v;
    return 0;
}

/* A unit and its size in the quantity's base (ms, bytes). Within one table
 * every size divides every larger one, so a conversion is one multiplication
 * or one exact division. */
struct unit {
    const char *suffix;
    uint64_t size;
};

static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}, {NULL, 0},
};

static const struct unit size_units[] = {
    {"B", 1},
    {"K", 1ull << 10}, {"KB", 1ull << 10}, {"KiB", 1ull << 10},
    {"M", 1ull << 20}, {"MB", 1ull << 20}, {"MiB", 1ull << 20},
    {"G", 1ull << 30}, {"GB", 1ull << 30}, {"GiB", 1ull << 30},
    {NULL, 0},
};

static const struct unit *unit_find(const struct unit *u, const char *suffix, bool fold)
{
    for (; u->suffix; u++)
        if (!(fold ? strcasecmp(u->suffix, suffix) : strcmp(u->suffix, suffix)))
            return u;
    return NULL;
}

/* "<decimal>", "<decimal><unit>" or "<decimal> <unit>", converted to `unit`. */
static int parse_quantity(const char *s, const struct unit *units, bool fold, const char *unit,
                          uint64_t *out)
{
    const struct unit *want = unit_find(units, unit, fold), *got = want;
    uint64_t n;
    int rc = parse_digits(&s, &n);
    if (!want || rc == UTIL_QTY_FORM)
        return UTIL_QTY_FORM;
    if (*s && !(got = unit_find(units, s + (*s == ' '), fold)))
        return UTIL_QTY_FORM;
    if (rc < 0)
        return rc;
    if (got->size >= want->size) {
        uint64_t factor = got->size / want->size;
        if (n > UINT64_MAX / factor)
            return UTIL_QTY_OVERFLOW;
        *out = n * factor;
    } else {
        uint64_t divisor = want->size / got->size;
        if (n % divisor)
            return UTIL_QTY_INEXACT;
        *out = n / divisor;
    }
    return 0;
}

int util_parse_duration(const char *s, const char *unit, uint64_t *out)
{
    return parse_quantity(s, duration_units, false, unit, out);
}

int util_parse_size(const char *s, const char *unit, uint64_t *out)
{
    return parse_quantity(s, size_units, true, unit, out);
}

void util_hex(const void *data, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

bool util_uuid_canonical(const char *s, char out[37])
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[36] = '\0';
    return true;
}

void util_uuid(char out[37])
{
    unsigned char b[16];
    if (util_random(b, sizeof b) < 0)
        memset(b, 0, sizeof b); /* getrandom cannot fail after boot; keep going */
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char hex[33];
    util_hex(b, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}
