/* Agent protocol: frames with SCM_RIGHTS fd passing, and the FILE record codec. */
#include "sandbox/proto.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sandbox/plan.h"
#include "sandbox/tlv.h"

/* ---- frames ---- */

int proto_send(int sock, uint16_t type, uint32_t id, int32_t err, uint32_t flags,
               const void *payload, uint32_t len, const int *fds, int nfds)
{
    if (len > AGENT_PAYLOAD_MAX || nfds < 0 || nfds > AGENT_MAX_FDS)
        return -EINVAL;
    struct agent_hdr h = {AGENT_PROTO_MAGIC, AGENT_PROTO_VERSION, type, id, err, flags, len};
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)payload, len}};
    union {
        char buf[CMSG_SPACE(sizeof(int) * AGENT_MAX_FDS)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    if (nfds > 0) {
        memset(&u, 0, sizeof u);
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    for (;;) {
        ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (n == (ssize_t)(sizeof h + len))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 ? -errno : -EPROTO;
    }
}

bool proto_hdr_ok(const struct agent_hdr *h, size_t payload_got, size_t cap)
{
    return h->magic == AGENT_PROTO_MAGIC && h->version == AGENT_PROTO_VERSION &&
           h->len <= cap && h->len == payload_got;
}

static void close_all(const int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int proto_recv(int sock, struct agent_hdr *h, uint8_t *payload, size_t cap, int *fds,
               int *nfds)
{
    struct iovec iov[2] = {{h, sizeof *h}, {payload, cap}};
    union {
        char buf[CMSG_SPACE(sizeof(int) * (AGENT_MAX_FDS + 1))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2,
                        .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t n;
    *nfds = 0;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    int got[AGENT_MAX_FDS + 4], ngot = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int f;
            memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
            if (ngot < (int)(sizeof got / sizeof *got))
                got[ngot++] = f;
            else
                close(f);
        }
    }
    if (n == 0 && ngot == 0)
        return 0;
    bool bad = n < (ssize_t)sizeof *h || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
               ngot > AGENT_MAX_FDS || !proto_hdr_ok(h, (size_t)n - sizeof *h, cap);
    if (bad) {
        close_all(got, ngot);
        return -EPROTO;
    }
    memcpy(fds, got, sizeof(int) * (size_t)ngot);
    *nfds = ngot;
    return 1;
}

/* ---- FILE records ---- */

enum ftag {
    T_OP = 1, T_FLAGS, T_MODE, T_MAX, T_PATH, T_PATH2, T_DATA,
    T_ENTRY = 20, T_E_NAME, T_E_TYPE, T_E_MODE, T_E_SIZE, T_E_MTIME, T_E_TARGET,
    T_RDATA = 40, T_TEXT,
};

size_t proto_file_req_encode(const struct agent_file_req *r, uint8_t *buf, size_t cap)
{
    struct tlv_w w = {buf, 0, cap, true, false};
    tlv_u64(&w, T_OP, r->op);
    tlv_u64(&w, T_FLAGS, r->flags);
    tlv_u64(&w, T_MODE, r->mode);
    tlv_u64(&w, T_MAX, r->max);
    tlv_str(&w, T_PATH, r->path);
    tlv_str(&w, T_PATH2, r->path2);
    if (r->data_len)
        tlv_put(&w, T_DATA, r->data, (uint32_t)r->data_len);
    return w.bad ? 0 : w.len;
}

size_t proto_entry_encode(const struct agent_entry *e, uint8_t *buf, size_t cap)
{
    struct tlv_w w = {buf, 0, cap, true, false};
    size_t at = tlv_begin(&w, T_ENTRY);
    tlv_str(&w, T_E_NAME, e->name);
    tlv_u64(&w, T_E_TYPE, e->type);
    tlv_u64(&w, T_E_MODE, e->mode);
    tlv_u64(&w, T_E_SIZE, e->size);
    tlv_u64(&w, T_E_MTIME, (uint64_t)e->mtime_ms);
    tlv_str(&w, T_E_TARGET, e->target);
    tlv_end(&w, at);
    return w.bad ? 0 : w.len;
}

size_t proto_data_encode(const void *data, size_t len, uint8_t *buf, size_t cap)
{
    struct tlv_w w = {buf, 0, cap, true, false};
    tlv_put(&w, T_RDATA, data, (uint32_t)len);
    return w.bad ? 0 : w.len;
}

size_t proto_text_encode(const char *text, uint8_t *buf, size_t cap)
{
    struct tlv_w w = {buf, 0, cap, true, false};
    tlv_str(&w, T_TEXT, text);
    return w.bad ? 0 : w.len;
}

/* The agent resolves absolute paths only (the host joins relative ones to
 * the working directory); "/" itself names nothing to operate on. */
static bool path_ok(const char *p)
{
    return p && plan_path_ok(p) && p[1] != '\0';
}

static int file_record(struct agent_file_req *r, uint16_t tag, const uint8_t *v, uint32_t n)
{
    uint64_t x;
    switch (tag) {
    case T_OP:    return tlv_get_u32(v, n, &r->op);
    case T_FLAGS: return tlv_get_u32(v, n, &r->flags);
    case T_MODE:
        if (tlv_get_u64(v, n, &x) < 0 || x > 07777)
            return -1;
        r->mode = (uint32_t)x;
        return 0;
    case T_MAX:   return tlv_get_u64(v, n, &r->max);
    case T_PATH:  return tlv_get_str(v, n, &r->path);
    case T_PATH2: return tlv_get_str(v, n, &r->path2);
    case T_DATA:  r->data = v, r->data_len = n; return 0;
    default:      return -1;
    }
}

int proto_file_req_decode(const uint8_t *buf, size_t len, struct agent_file_req *r,
                          const char **why)
{
    struct tlv_r rd = {buf, len, 0};
    uint16_t tag;
    const uint8_t *v;
    uint32_t n;
    int rc;
    memset(r, 0, sizeof *r);
    while ((rc = tlv_next(&rd, &tag, &v, &n)) > 0)
        if (file_record(r, tag, v, n) < 0)
            return *why = "malformed file record", -1;
    if (rc < 0)
        return *why = "truncated file request", -1;
    if (r->op < FOP_WRITE || r->op > FOP_MKDIR)
        return *why = "unknown file operation", -1;
    if (r->flags & ~(uint32_t)(FOPF_RECURSIVE | FOPF_PARENTS | FOPF_EXCL | FOPF_APPEND))
        return *why = "unknown file flags", -1;
    /* the root itself only for what reads it */
    bool root_read = (r->op == FOP_LIST || r->op == FOP_STAT) && r->path &&
                     !strcmp(r->path, "/");
    if (!path_ok(r->path) && !root_read)
        return *why = "file path is not a normalised absolute path", -1;
    if ((r->op == FOP_MOVE) != (r->path2 != NULL) || (r->path2 && !path_ok(r->path2)))
        return *why = "a move needs a normalised absolute destination (and only a move has one)", -1;
    return 0;
}

static int entry_record(struct agent_entry *e, uint16_t tag, const uint8_t *v, uint32_t n)
{
    uint64_t x;
    switch (tag) {
    case T_E_NAME:   return tlv_get_str(v, n, &e->name);
    case T_E_TYPE:   return tlv_get_u32(v, n, &e->type);
    case T_E_MODE:   return tlv_get_u32(v, n, &e->mode);
    case T_E_SIZE:   return tlv_get_u64(v, n, &e->size);
    case T_E_MTIME:
        if (tlv_get_u64(v, n, &x) < 0)
            return -1;
        e->mtime_ms = (int64_t)x;
        return 0;
    case T_E_TARGET: return tlv_get_str(v, n, &e->target);
    default:         return -1;
    }
}

static int decode_entry(const uint8_t *buf, uint32_t len, struct agent_entry *e)
{
    struct tlv_r rd = {buf, len, 0};
    uint16_t tag;
    const uint8_t *v;
    uint32_t n;
    int rc;
    memset(e, 0, sizeof *e);
    while ((rc = tlv_next(&rd, &tag, &v, &n)) > 0)
        if (entry_record(e, tag, v, n) < 0)
            return -1;
    if (rc < 0 || !e->name || e->type < FENT_FILE || e->type > FENT_OTHER)
        return -1;
    return 0;
}

int proto_reply_decode(const uint8_t *buf, size_t len,
                       void (*entry)(void *arg, const struct agent_entry *e),
                       void (*data)(void *arg, const uint8_t *d, size_t n), void *arg,
                       const char **text, const char **why)
{
    struct tlv_r rd = {buf, len, 0};
    uint16_t tag;
    const uint8_t *v;
    uint32_t n;
    int rc;
    *text = NULL;
    while ((rc = tlv_next(&rd, &tag, &v, &n)) > 0) {
        struct agent_entry e;
        switch (tag) {
        case T_ENTRY:
            if (decode_entry(v, n, &e) < 0)
                return *why = "malformed entry record", -1;
            if (entry)
                entry(arg, &e);
            break;
        case T_RDATA:
            if (data)
                data(arg, v, n);
            break;
        case T_TEXT:
            if (tlv_get_str(v, n, text) < 0)
                return *why = "malformed text record", -1;
            break;
        default:
            return *why = "unknown reply record", -1;
        }
    }
    if (rc < 0)
        return *why = "truncated reply", -1;
    return 0;
}
