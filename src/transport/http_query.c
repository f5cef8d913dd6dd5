/* Query strings: one parser for every handler (name=value pairs, percent-decoding, bounds). */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http.h"

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Decodes n bytes of s (percent-escapes, '+' as space) into out, which has
 * room for cap bytes and the NUL. Returns the length, or -1 if malformed,
 * too long, or holding a NUL when nul is false. */
static long decode_into(const char *s, size_t n, char *out, size_t cap, bool nul)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if ((c == 0 && !nul) || o >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

/* Decoding never grows: out has room for n bytes and the NUL. */
static long decode_all(const char *s, size_t n, char *out)
{
    return decode_into(s, n, out, n, true);
}

int http_form_each(const char *s, size_t len, http_form_cb cb, void *arg)
{
    char *buf = malloc(len + 2);
    int rc = buf ? 0 : -1;
    for (size_t at = 0; rc == 0 && at < len;) {
        const char *p = s + at, *amp = memchr(p, '&', len - at);
        size_t seg = amp ? (size_t)(amp - p) : len - at;
        const char *eq = memchr(p, '=', seg);
        size_t klen = eq ? (size_t)(eq - p) : seg;
        long kn = seg ? decode_all(p, klen, buf) : 0;
        long vn = kn >= 0 && seg ? decode_all(eq ? eq + 1 : p + seg, eq ? seg - klen - 1 : 0,
                                              buf + kn + 1) : 0;
        if (kn < 0 || vn < 0)
            rc = -1;
        else if (seg)
            rc = cb(arg, buf, (size_t)kn, buf + kn + 1, (size_t)vn) < 0 ? -1 : 0;
        at += seg + 1;
    }
    free(buf);
    return rc;
}

/* Decodes n bytes of s into out (len bytes with the NUL), without NUL bytes. */
static int decode(const char *s, size_t n, char *out, size_t len)
{
    return len ? (int)decode_into(s, n, out, len - 1, false) : -1;
}

int http_query_get(const struct http_request *req, const char *name, char *out, size_t len)
{
    const char *q = req->query ? req->query : "";
    char key[128];
    while (*q) {
        size_t seg = strcspn(q, "&");
        size_t eq = strcspn(q, "=");
        size_t klen = eq < seg ? eq : seg;
        if (decode(q, klen, key, sizeof key) >= 0 && !strcmp(key, name)) {
            const char *v = eq < seg ? q + eq + 1 : q + seg;
            size_t vlen = eq < seg ? seg - eq - 1 : 0;
            return decode(v, vlen, out, len) < 0 ? -1 : 1;
        }
        q += seg;
        if (*q == '&')
            q++;
    }
    return 0;
}

int http_query_u64(const struct http_request *req, const char *name, char *buf, size_t len,
                   uint64_t max, uint64_t *out)
{
    int rc = http_query_get(req, name, buf, len);
    if (rc <= 0)
        return rc;
    if (!buf[0] || strlen(buf) > 19)
        return -1;
    uint64_t v = 0;
    for (const char *p = buf; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 1;
}
