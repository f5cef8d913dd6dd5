/* Frames (sandbox/proto.h) over a byte stream: a microVM's virtio-serial port, both ends. */
#ifndef SB_VM_STREAM_H
#define SB_VM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "sandbox/proto.h"

/* The receiving side: bytes in, whole frames out. */
struct vm_rx {
    uint8_t *buf;       /* AGENT_PAYLOAD_MAX + header */
    size_t len;
    size_t handed;      /* bytes of the frame vm_rx_next handed out last */
    bool bad;           /* a malformed frame was seen: the stream is unusable */
};

int vm_rx_init(struct vm_rx *r);
void vm_rx_free(struct vm_rx *r);
/* Reads what fd has (non-blocking). Returns bytes read, 0 on EOF, -errno
 * (-EAGAIN: nothing now). */
ssize_t vm_rx_fill(struct vm_rx *r, int fd);
/* Takes the bytes of data (tests, fuzzing). Returns how many fit. */
size_t vm_rx_feed(struct vm_rx *r, const void *data, size_t n);
/* The next whole frame: 1 with *h and *payload (valid until the next call),
 * 0 when more bytes are needed, -1 on a malformed frame (r->bad is set). */
int vm_rx_next(struct vm_rx *r, struct agent_hdr *h, const uint8_t **payload);

/* Appends one frame to out. Returns 0 or -1 (no memory). */
int vm_tx_frame(struct sb_buf *out, uint16_t type, uint32_t id, int32_t err, uint32_t flags,
                const void *payload, uint32_t len);
/* Writes what fd takes of out (non-blocking), dropping it from out.
 * Returns 0 (all written or EAGAIN) or -errno. */
int vm_tx_flush(struct sb_buf *out, int fd);

#endif
