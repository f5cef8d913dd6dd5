/* Netlink messages built in a fixed buffer: nested attributes, batches, send and wait for acks. */
#include "net/nl.h"

#include <endian.h>
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ALIGN(n) (((n) + 3u) & ~3u)

void nl_init(struct nl_buf *b, uint32_t seq)
{
    b->len = 0;
    b->msg = 0;
    b->seq = seq;
    b->first_seq = seq;
    b->nmsgs = 0;
    b->overflow = 0;
}

static void *room(struct nl_buf *b, size_t n)
{
    if (b->overflow || b->len + ALIGN(n) > sizeof b->data) {
        b->overflow = 1;
        return NULL;
    }
    void *p = b->data + b->len;
    memset(p, 0, ALIGN(n));
    b->len += ALIGN(n);
    return p;
}

static void msg_done(struct nl_buf *b)
{
    if (b->overflow || b->len == b->msg)
        return;
    struct nlmsghdr *h = (struct nlmsghdr *)(b->data + b->msg);
    h->nlmsg_len = (uint32_t)(b->len - b->msg);
}

void nl_msg(struct nl_buf *b, uint16_t type, uint16_t flags, const void *extra, size_t extra_len)
{
    msg_done(b);
    b->msg = b->len;
    struct nlmsghdr *h = room(b, sizeof *h);
    void *x = room(b, extra_len);
    if (!h || (extra_len && !x))
        return;
    h->nlmsg_type = type;
    h->nlmsg_flags = (uint16_t)(flags | NLM_F_REQUEST);
    h->nlmsg_seq = b->seq++;
    if (flags & NLM_F_ACK)
        b->nmsgs++;
    if (extra_len)
        memcpy(x, extra, extra_len);
    h->nlmsg_len = (uint32_t)(b->len - b->msg);
}

void nl_put(struct nl_buf *b, uint16_t type, const void *data, size_t len)
{
    struct nlattr *a = room(b, NLA_HDRLEN + len);
    if (!a)
        return;
    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    if (len)
        memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
    msg_done(b);
}

void nl_put_u8(struct nl_buf *b, uint16_t type, uint8_t v) { nl_put(b, type, &v, 1); }
void nl_put_u32(struct nl_buf *b, uint16_t type, uint32_t v) { nl_put(b, type, &v, 4); }

void nl_put_be16(struct nl_buf *b, uint16_t type, uint16_t v)
{
    uint16_t x = htobe16(v);
    nl_put(b, type, &x, sizeof x);
}

void nl_put_be32(struct nl_buf *b, uint16_t type, uint32_t v)
{
    uint32_t x = htobe32(v);
    nl_put(b, type, &x, sizeof x);
}

void nl_put_be64(struct nl_buf *b, uint16_t type, uint64_t v)
{
    uint64_t x = htobe64(v);
    nl_put(b, type, &x, sizeof x);
}

void nl_put_str(struct nl_buf *b, uint16_t type, const char *s)
{
    nl_put(b, type, s, strlen(s) + 1);
}

size_t nl_nest(struct nl_buf *b, uint16_t type)
{
    size_t at = b->len;
    struct nlattr *a = room(b, NLA_HDRLEN);
    if (a)
        a->nla_type = (uint16_t)(type | NLA_F_NESTED);
    return at;
}

void nl_nest_end(struct nl_buf *b, size_t at)
{
    if (b->overflow)
        return;
    struct nlattr *a = (struct nlattr *)(b->data + at);
    a->nla_len = (uint16_t)(b->len - at);
    msg_done(b);
}

int nl_open(int proto, struct sb_error *err)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "socket AF_NETLINK %d", proto);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, e, "bind netlink %d", proto);
    }
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    return fd;
}

/* Reads acks; returns 1 when every one came, 0 to read on, -1 on error. */
static int read_acks(int fd, struct nl_buf *b, unsigned *acked, const char *what,
                     struct sb_error *err)
{
    uint8_t rx[8192];
    ssize_t n = recv(fd, rx, sizeof rx, 0);
    if (n < 0)
        return errno == EINTR ? 0 : sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno,
                                                    "recv netlink (%s)", what);
    for (struct nlmsghdr *h = (struct nlmsghdr *)rx; NLMSG_OK(h, (size_t)n);
         h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type != NLMSG_ERROR)
            continue;
        const struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error)
            return sb_fail_errno(err, SB_E_SANDBOX_SETUP, -e->error,
                                 "netlink %s (message %u)", what,
                                 e->msg.nlmsg_seq - b->first_seq);
        if (++*acked >= b->nmsgs)
            return 1;
    }
    return 0;
}

int nl_send(int fd, struct nl_buf *b, const char *what, struct sb_error *err)
{
    msg_done(b);
    if (b->overflow)
        return sb_fail(err, SB_E_INTERNAL, "netlink %s: message too large", what);
    struct sockaddr_nl to = {.nl_family = AF_NETLINK};
    if (sendto(fd, b->data, b->len, 0, (struct sockaddr *)&to, sizeof to) < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "send netlink (%s)", what);
    unsigned acked = 0;
    while (acked < b->nmsgs) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 2000);
        if (r == 0)
            return sb_fail(err, SB_E_SANDBOX_SETUP, "netlink %s: no answer in 2 s", what);
        if (r < 0 && errno != EINTR)
            return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "poll netlink (%s)", what);
        if (r > 0) {
            int rc = read_acks(fd, b, &acked, what, err);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}
