/* Fuzz target `e2b`: what the session front ends parse from clients: Connect
 * RPC envelopes (connect_next), multipart/form-data bodies and boundaries
 * (mp_boundary, mp_parse), and client paths (session_path). Whatever is
 * accepted must keep the documented promises: envelopes and parts point
 * into the input, paths come out absolute and clean. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "frontend/e2b/connect.h"
#include "frontend/multipart.h"
#include "service/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && p <= buf + len && n <= (size_t)(buf + len - p);
}

static void envelopes(const char *buf, size_t len)
{
    size_t off = 0, prev = 0;
    uint8_t flags;
    const char *msg;
    size_t mlen;
    struct sb_error err;
    int r;
    while ((r = connect_next(buf, len, &off, &flags, &msg, &mlen, &err)) == 1) {
        if (!inside(msg, mlen, buf, len) || off <= prev || mlen > CONNECT_MAX_MESSAGE ||
            (flags & ~CONNECT_FLAG_END))
            abort();
        prev = off;
    }
    if (r < 0 && !err.msg[0])
        abort();
}

static void multipart(const char *buf, size_t len)
{
    static struct mp_part parts[16];
    struct sb_error err;
    size_t n = 0;
    /* a fixed boundary, then one taken from the input's first line */
    if (mp_parse(buf, len, "xyz", parts, 16, &n, &err) == 0)
        for (size_t i = 0; i < n; i++)
            if (!inside(parts[i].data, parts[i].len, buf, len))
                abort();
    const char *nl = memchr(buf, '\n', len);
    if (!nl || nl - buf > 200)
        return;
    char ct[256], b[80];
    memcpy(ct, buf, (size_t)(nl - buf));
    ct[nl - buf] = '\0';
    if (mp_boundary(ct, b, sizeof b, &err) < 0)
        return;
    if (strlen(b) == 0 || strlen(b) > 70)
        abort();
    const char *rest = nl + 1;
    size_t rlen = len - (size_t)(rest - buf);
    if (mp_parse(rest, rlen, b, parts, 16, &n, &err) == 0)
        for (size_t i = 0; i < n; i++)
            if (!inside(parts[i].data, parts[i].len, rest, rlen) || !parts[i].name[0])
                abort();
}

static void paths(const char *buf, size_t len)
{
    char *in = malloc(len + 1), out[4096];
    struct sb_error err;
    if (!in)
        return;
    memcpy(in, buf, len);
    in[len] = '\0';
    if (session_path(in, "/home/user", out, sizeof out, &err) == 0) {
        size_t n = strlen(out);
        if (out[0] != '/' || strstr(out, "//") || strstr(out, "/./") || strstr(out, "/../") ||
            (n > 1 && out[n - 1] == '/') || (n >= 3 && !strcmp(out + n - 3, "/..")) ||
            (n >= 2 && !strcmp(out + n - 2, "/.")))
            abort();
    }
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    envelopes(buf, size);
    multipart(buf, size);
    paths(buf, size);
    return 0;
}
