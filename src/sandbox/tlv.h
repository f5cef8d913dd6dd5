/* Tag-length-value records: the encoding of plans and agent messages (host and agent; libc only). */
#ifndef SB_SANDBOX_TLV_H
#define SB_SANDBOX_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A record is a 16-bit tag, a 32-bit length and that many bytes. Integers
 * are 8-byte records, strings carry their NUL, nested records are records
 * whose value is a sequence of records.
 */

/* A writer: growable (cap 0 and p NULL at start, realloc'd) or fixed (p and
 * cap given, `fixed` set). Any failure sets `bad`; check it once at the end. */
struct tlv_w {
    uint8_t *p;
    size_t len, cap;
    bool fixed;
    bool bad;
};

void tlv_raw(struct tlv_w *w, const void *d, size_t n);
void tlv_put(struct tlv_w *w, uint16_t tag, const void *d, uint32_t n);
void tlv_u64(struct tlv_w *w, uint16_t tag, uint64_t v);
/* Nothing for a NULL string. */
void tlv_str(struct tlv_w *w, uint16_t tag, const char *s);
/* Opens a nested record; returns where its length goes (for tlv_end). */
size_t tlv_begin(struct tlv_w *w, uint16_t tag);
void tlv_end(struct tlv_w *w, size_t at);

struct tlv_r {
    const uint8_t *p;
    size_t len, off;
};

/* Returns 1 with the next record, 0 at the end, -1 if malformed. */
int tlv_next(struct tlv_r *r, uint16_t *tag, const uint8_t **v, uint32_t *n);
/* Value readers: 0, or -1 if the record is not of that form. */
int tlv_get_u64(const uint8_t *v, uint32_t n, uint64_t *out);
int tlv_get_u32(const uint8_t *v, uint32_t n, uint32_t *out);
/* A string record must end in its only NUL. */
int tlv_get_str(const uint8_t *v, uint32_t n, const char **out);

#endif
