/* Query strings: one parser for every handler (name=value pairs, percent-decoding, bounds). */
#include <ctype.h>
#include <string.h>

#include "transport/http.h"

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Decodes n bytes of s (percent-escapes, '+' as space) into out. Returns the
 * length, or -1 if malformed or too long (out holds len - 1 bytes and a NUL). */
static int decode(const char *s, size_t n, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == 0 || o + 1 >= len)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (int)o;
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
