/* Fuzz target `vmstream`: what a microVM's guest sends the host over its
 * virtio-serial port (a guest kernel under an attacker's control can send
 * anything): the stream's frame splitter (vm/stream.c) fed in pieces.
 * Promises checked: every frame handed out has a valid header and a payload
 * of its len inside what was fed; a malformed header stops the stream for
 * good; the frames are the same whether the bytes come whole or in pieces.
 * First byte: bytes per feed (0 = all at once). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
    unsigned long frames, bytes, hash;
    int bad;
};

static void drain(struct vm_rx *r, struct tally *t)
{
    struct agent_hdr h;
    const uint8_t *p;
    int rc;
    while ((rc = vm_rx_next(r, &h, &p)) == 1) {
        if (h.magic != AGENT_PROTO_MAGIC || h.version != AGENT_PROTO_VERSION ||
            h.len > AGENT_PAYLOAD_MAX || p < r->buf || p + h.len > r->buf + r->len)
            abort();
        t->frames++;
        t->bytes += h.len;
        t->hash = t->hash * 31 + h.type + h.id;
        for (uint32_t i = 0; i < h.len; i++)
            t->hash = t->hash * 31 + p[i];
    }
    if (rc < 0) {
        t->bad = 1;
        if (vm_rx_next(r, &h, &p) != -1) /* sticky */
            abort();
    }
}

static void parse(const uint8_t *s, size_t n, size_t step, struct tally *t)
{
    struct vm_rx r;
    if (vm_rx_init(&r) < 0)
        return;
    for (size_t off = 0; off < n && !t->bad;) {
        size_t want = n - off < step ? n - off : step;
        size_t took = vm_rx_feed(&r, s + off, want);
        off += took;
        drain(&r, t);
        if (!took && !t->bad)
            break; /* a whole-buffer frame that never completes */
    }
    vm_rx_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = data[0] ? data[0] : size;
    struct tally whole = {0}, pieces = {0};
    parse(data + 1, size - 1, size > 1 ? size - 1 : 1, &whole);
    parse(data + 1, size - 1, step, &pieces);
    if (whole.frames != pieces.frames || whole.bytes != pieces.bytes ||
        whole.hash != pieces.hash || whole.bad != pieces.bad)
        abort();
    return 0;
}
