/* Growable byte buffer with an optional hard cap. */
#ifndef SB_COMMON_BUF_H
#define SB_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sb_buf {
    char *data;      /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    bool oom;        /* an allocation failed; contents are incomplete */
};

/* Appends n bytes; on allocation failure sets b->oom and returns -1. */
int sb_buf_append(struct sb_buf *b, const void *p, size_t n);
int sb_buf_puts(struct sb_buf *b, const char *s);
int sb_buf_printf(struct sb_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ensures room for n more bytes without changing len. */
int sb_buf_reserve(struct sb_buf *b, size_t n);
void sb_buf_reset(struct sb_buf *b);
/* Drops the first n bytes (n <= len), keeping the rest and the NUL after it:
 * what a consumer does with the part of a queue it has written or parsed. */
void sb_buf_drop(struct sb_buf *b, size_t n);
void sb_buf_free(struct sb_buf *b);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char *sb_buf_steal(struct sb_buf *b, size_t *len);
/* Hands each complete line of b (without its '\n') to fn, in order, then
 * drops them from b, keeping a partial last line. fn returns false to stop
 * at once: b is then left as fn left it (it may have reset it). */
void sb_buf_lines(struct sb_buf *b, bool (*fn)(void *arg, const char *line, size_t len),
                  void *arg);

#endif
