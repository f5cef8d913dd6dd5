/* Base64 (RFC 4648, standard alphabet) for file contents in requests and results. */
#ifndef SB_COMMON_BASE64_H
#define SB_COMMON_BASE64_H

#include <stddef.h>

/* Decodes strictly: the standard alphabet, '=' padding optional but correct,
 * no whitespace. Returns a malloc'd buffer (NUL-terminated for convenience)
 * and sets *outlen, or NULL if the input is not valid base64. */
char *base64_decode(const char *in, size_t len, size_t *outlen);
/* Encodes with padding; returns a malloc'd NUL-terminated string or NULL. */
char *base64_encode(const void *data, size_t len);

#endif
