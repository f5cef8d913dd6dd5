/* Small shared helpers: clocks, ISO 8601 times, random ids, hex, numbers with units. */
#ifndef SB_COMMON_UTIL_H
#define SB_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t util_now_ms(void);        /* wall clock, ms since the epoch */
uint64_t util_mono_ns(void);       /* monotonic */

/* "2026-11-27T13:10:05.123Z" */
void util_iso_time(uint64_t ms, char *buf, size_t len);
/* Parses the format above (or without milliseconds / "Z", or a plain date
 * "2026-11-27"). Returns 0 and sets *ms, or -1. */
int util_parse_iso_time(const char *s, uint64_t *ms);

/* Fills buf with n random bytes (getrandom). Returns 0 or -1. */
int util_random(void *buf, size_t n);
/* A random RFC 4122 version-4 UUID, lower-case, 36 chars + NUL. */
void util_uuid(char out[37]);
/* s as a UUID in its canonical lower-case form into out (ids are made that
 * way; clients may write them either way); false if s is not one. */
bool util_uuid_canonical(const char *s, char out[37]);
void util_hex(const void *data, size_t n, char *out); /* out: 2n + 1 */

/* A plain decimal (no sign, suffix, exponent, base prefix or leading zero)
 * that fits in 64 bits. Returns 0 and sets *out, or -1. */
int util_parse_u64(const char *s, uint64_t *out);

/* Why util_parse_duration or util_parse_size refused a text. */
enum util_qty_err {
    UTIL_QTY_FORM = -1,     /* not "<plain decimal>[ ]<unit>" */
    UTIL_QTY_INEXACT = -2,  /* not a whole number of the wanted unit */
    UTIL_QTY_OVERFLOW = -3, /* the number, or it in the wanted unit, exceeds 64 bits */
};

/* A duration: a plain decimal as util_parse_u64 takes it, then optionally one
 * space and one of ms, s, m, h (case-sensitive). A bare number is already in
 * `unit` ("ms" or any other of those). Sets *out to the duration in `unit`
 * and returns 0, or returns a util_qty_err and leaves *out alone: "1500ms"
 * in "s" is UTIL_QTY_INEXACT, never rounded. */
int util_parse_duration(const char *s, const char *unit, uint64_t *out);

/* A size, the same way: units B, K/KB/KiB, M/MB/MiB, G/GB/GiB, all
 * 1024-based and case-insensitive; `unit` is one of them ("KB", "MB"). */
int util_parse_size(const char *s, const char *unit, uint64_t *out);

#endif
