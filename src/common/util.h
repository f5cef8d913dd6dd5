/* Small shared helpers: clocks, ISO 8601 times, random ids, hex. */
#ifndef SB_COMMON_UTIL_H
#define SB_COMMON_UTIL_H

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
void util_hex(const void *data, size_t n, char *out); /* out: 2n + 1 */

/* A plain decimal (no sign, suffix, exponent, base prefix or leading zero)
 * that fits in 64 bits. Returns 0 and sets *out, or -1. */
int util_parse_u64(const char *s, uint64_t *out);

#endif
