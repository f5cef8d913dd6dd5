/* SHA-1 (FIPS 180-4), for the WebSocket handshake (RFC 6455 4.2.2) only: not
 * a security hash here. */
#ifndef SB_COMMON_SHA1_H
#define SB_COMMON_SHA1_H

#include <stddef.h>
#include <stdint.h>

void sha1(const void *data, size_t n, uint8_t out[20]);

#endif
