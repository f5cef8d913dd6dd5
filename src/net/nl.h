/* Netlink messages built in a fixed buffer: nested attributes, batches, send and wait for acks. */
#ifndef SB_NET_NL_H
#define SB_NET_NL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* A buffer of one or more netlink messages. Any overflow is remembered and
 * reported by nl_send (the builder calls never fail on their own). */
struct nl_buf {
    uint8_t data[65536];
    size_t len;
    size_t msg;          /* offset of the message being built */
    uint32_t seq, first_seq;
    unsigned nmsgs;      /* messages asking for an ack */
    int overflow;
};

void nl_init(struct nl_buf *b, uint32_t seq);
/* Starts a message; extra is a fixed header (nfgenmsg, rtmsg...) copied after
 * the nlmsghdr. Every message asks for an ack. */
void nl_msg(struct nl_buf *b, uint16_t type, uint16_t flags, const void *extra, size_t extra_len);
void nl_put(struct nl_buf *b, uint16_t type, const void *data, size_t len);
void nl_put_u8(struct nl_buf *b, uint16_t type, uint8_t v);
void nl_put_be16(struct nl_buf *b, uint16_t type, uint16_t v);
void nl_put_be32(struct nl_buf *b, uint16_t type, uint32_t v);
void nl_put_be64(struct nl_buf *b, uint16_t type, uint64_t v);
void nl_put_u32(struct nl_buf *b, uint16_t type, uint32_t v);
void nl_put_str(struct nl_buf *b, uint16_t type, const char *s);
/* Nesting: nl_nest returns the offset to give nl_nest_end. */
size_t nl_nest(struct nl_buf *b, uint16_t type);
void nl_nest_end(struct nl_buf *b, size_t at);

/* Opens a netlink socket of `proto` in the calling thread's network namespace. */
int nl_open(int proto, struct sb_error *err);
/* Sends the buffer and reads acks until every message is acknowledged. The
 * first error the kernel reports fails it, naming `what`. */
int nl_send(int fd, struct nl_buf *b, const char *what, struct sb_error *err);

#endif
