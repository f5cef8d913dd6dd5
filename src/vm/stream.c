/* Frames over a byte stream: the header's len delimits them (stream.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/stream.h"

#define RX_CAP (sizeof(struct agent_hdr) + AGENT_PAYLOAD_MAX)

int vm_rx_init(struct vm_rx *r)
{
    memset(r, 0, sizeof *r);
    r->buf = malloc(RX_CAP);
    return r->buf ? 0 : -1;
}

void vm_rx_free(struct vm_rx *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Drops the frame handed out last (its payload pointer is now stale). */
static void drop_handed(struct vm_rx *r)
{
    if (!r->handed)
        return;
    memmove(r->buf, r->buf + r->handed, r->len - r->handed);
    r->len -= r->handed;
    r->handed = 0;
}

ssize_t vm_rx_fill(struct vm_rx *r, int fd)
{
    drop_handed(r);
    if (r->len == RX_CAP)
        return -ENOBUFS; /* a whole frame is waiting: take it first */
    ssize_t n = read(fd, r->buf + r->len, RX_CAP - r->len);
    if (n < 0)
        return errno == EINTR ? -EAGAIN : -errno;
    r->len += (size_t)n;
    return n;
}

size_t vm_rx_feed(struct vm_rx *r, const void *data, size_t n)
{
    drop_handed(r);
    size_t room = RX_CAP - r->len;
    if (n > room)
        n = room;
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return n;
}

int vm_rx_next(struct vm_rx *r, struct agent_hdr *h, const uint8_t **payload)
{
    drop_handed(r);
    if (r->bad)
        return -1;
    if (r->len < sizeof *h)
        return 0;
    memcpy(h, r->buf, sizeof *h);
    if (h->magic != AGENT_PROTO_MAGIC || h->version != AGENT_PROTO_VERSION ||
        h->len > AGENT_PAYLOAD_MAX) {
        r->bad = true;
        return -1;
    }
    size_t whole = sizeof *h + h->len;
    if (r->len < whole)
        return 0;
    *payload = r->buf + sizeof *h;
    r->handed = whole;
    return 1;
}

int vm_tx_frame(struct sb_buf *out, uint16_t type, uint32_t id, int32_t err, uint32_t flags,
                const void *payload, uint32_t len)
{
    struct agent_hdr h = {.magic = AGENT_PROTO_MAGIC, .version = AGENT_PROTO_VERSION,
                          .type = type, .id = id, .err = err, .flags = flags, .len = len};
    if (sb_buf_reserve(out, sizeof h + len) < 0)
        return -1;
    sb_buf_append(out, &h, sizeof h);
    if (len)
        sb_buf_append(out, payload, len);
    return 0;
}

int vm_tx_flush(struct sb_buf *out, int fd)
{
    size_t off = 0;
    while (off < out->len) {
        ssize_t n = write(fd, out->data + off, out->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            return -errno;
        }
        off += (size_t)n;
    }
    sb_buf_drop(out, off);
    return 0;
}
