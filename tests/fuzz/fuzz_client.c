/* Fuzz target `client`: what the CLI's client mode reads from a server (the
 * user points it at any URL): the Server-Sent Events parser fed in pieces,
 * Retry-After values, error bodies (hc_error_text) and URLs (hc_init).
 * Promises checked: every event's data is NUL-terminated at its length, and
 * a parse is the same whether the stream comes whole or in pieces. First
 * byte: bytes per feed (0 = all at once). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/http_client.h"
#include "client/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
    unsigned long events, bytes, hash;
};

static int count(void *arg, const char *event, const char *d, size_t len)
{
    struct tally *t = arg;
    if (d[len] != '\0' || !*event)
        abort();
    t->events++;
    t->bytes += len;
    for (size_t i = 0; i < len; i++)
        t->hash = t->hash * 31 + (unsigned char)d[i];
    return 0;
}

static void parse(const char *s, size_t n, size_t step, struct tally *t, int *rc)
{
    struct sse_parser p;
    sse_init(&p, count, t);
    *rc = 0;
    for (size_t off = 0; off < n && *rc == 0; off += step)
        *rc = sse_feed(&p, s + off, n - off < step ? n - off : step);
    sse_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = data[0] ? data[0] : size;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    struct tally whole = {0}, pieces = {0};
    int rc1, rc2;
    parse(s, n, n ? n : 1, &whole, &rc1);
    parse(s, n, step, &pieces, &rc2);
    if (rc1 != rc2 || whole.events != pieces.events || whole.bytes != pieces.bytes ||
        whole.hash != pieces.hash)
        abort();

    char *z = malloc(n + 1);
    if (!z)
        return 0;
    memcpy(z, s, n);
    z[n] = '\0';
    long ms = hc_parse_retry_after(z, 1796472000L);
    if (ms < -1 || ms > 86400000L)
        abort();
    struct hc_client c;
    struct sb_error err;
    if (hc_init(&c, z, z, &err) == 0 && (!*c.host || !*c.port || strchr(c.auth, '\n')))
        abort();
    struct hc_response r = {.status = 400};
    sb_buf_append(&r.body, s, n);
    char text[256];
    hc_error_text(&r, text, sizeof text);
    if (strlen(text) >= sizeof text)
        abort();
    hc_response_free(&r);
    free(z);
    return 0;
}
