/* Growable byte buffer. */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb_buf_reserve(struct sb_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (n > SIZE_MAX / 2 - b->len)
        goto oom;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        goto oom;
    b->data = p;
    b->cap = cap;
    return 0;
oom:
    b->oom = true;
    return -1;
}

int sb_buf_append(struct sb_buf *b, const void *p, size_t n)
{
    if (sb_buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sb_buf_puts(struct sb_buf *b, const char *s)
{
    return sb_buf_append(b, s, strlen(s));
}

int sb_buf_printf(struct sb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sb_buf_reserve(b, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sb_buf_reset(struct sb_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data)
        b->data[0] = '\0';
}

void sb_buf_free(struct sb_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *sb_buf_steal(struct sb_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    if (!p)
        p = calloc(1, 1);
    memset(b, 0, sizeof *b);
    return p;
}

void sb_buf_lines(struct sb_buf *b, bool (*fn)(void *arg, const char *line, size_t len),
                  void *arg)
{
    size_t start = 0;
    for (;;) {
        char *nl = b->data ? memchr(b->data + start, '\n', b->len - start) : NULL;
        if (!nl)
            break;
        size_t n = (size_t)(nl - (b->data + start));
        if (!fn(arg, b->data + start, n))
            return;
        start += n + 1;
    }
    sb_buf_drop(b, start);
}

void sb_buf_drop(struct sb_buf *b, size_t n)
{
    if (!n || !b->data)
        return;
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}
