/* Tag-length-value records: writer and reader. */
#include "sandbox/tlv.h"

#include <stdlib.h>
#include <string.h>

void tlv_raw(struct tlv_w *w, const void *d, size_t n)
{
    if (w->bad)
        return;
    if (w->len + n > w->cap) {
        if (w->fixed) {
            w->bad = true;
            return;
        }
        size_t cap = w->cap ? w->cap : 1024;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->bad = true;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    if (n)
        memcpy(w->p + w->len, d, n);
    w->len += n;
}

void tlv_put(struct tlv_w *w, uint16_t tag, const void *d, uint32_t n)
{
    tlv_raw(w, &tag, 2);
    tlv_raw(w, &n, 4);
    tlv_raw(w, d, n);
}

void tlv_u64(struct tlv_w *w, uint16_t tag, uint64_t v)
{
    tlv_put(w, tag, &v, 8);
}

void tlv_str(struct tlv_w *w, uint16_t tag, const char *s)
{
    if (s)
        tlv_put(w, tag, s, (uint32_t)strlen(s) + 1);
}

size_t tlv_begin(struct tlv_w *w, uint16_t tag)
{
    uint32_t zero = 0;
    tlv_raw(w, &tag, 2);
    size_t at = w->len;
    tlv_raw(w, &zero, 4);
    return at;
}

void tlv_end(struct tlv_w *w, size_t at)
{
    if (w->bad)
        return;
    uint32_t n = (uint32_t)(w->len - at - 4);
    memcpy(w->p + at, &n, 4);
}

int tlv_next(struct tlv_r *r, uint16_t *tag, const uint8_t **v, uint32_t *n)
{
    if (r->off == r->len)
        return 0;
    if (r->len - r->off < 6)
        return -1;
    memcpy(tag, r->p + r->off, 2);
    memcpy(n, r->p + r->off + 2, 4);
    r->off += 6;
    if (*n > r->len - r->off)
        return -1;
    *v = r->p + r->off;
    r->off += *n;
    return 1;
}

int tlv_get_u64(const uint8_t *v, uint32_t n, uint64_t *out)
{
    if (n != 8)
        return -1;
    memcpy(out, v, 8);
    return 0;
}

int tlv_get_u32(const uint8_t *v, uint32_t n, uint32_t *out)
{
    uint64_t x = 0;
    if (tlv_get_u64(v, n, &x) < 0 || x > UINT32_MAX)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

int tlv_get_str(const uint8_t *v, uint32_t n, const char **out)
{
    if (n == 0 || v[n - 1] != '\0' || memchr(v, '\0', n) != v + n - 1)
        return -1;
    *out = (const char *)v;
    return 0;
}
