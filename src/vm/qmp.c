/* A blocking QMP client: one JSON object per line each way, with a deadline for the whole conversation. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vm/qmp.h"

#define QMP_LINE_MAX (1u << 20)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next whole message, parsed (new reference), or NULL with err. */
static json_t *read_msg(struct qmp *q, struct sb_error *err)
{
    for (;;) {
        char *nl = q->in.data ? memchr(q->in.data, '\n', q->in.len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - q->in.data) + 1;
            json_error_t je;
            json_t *m = json_loadb(q->in.data, n, 0, &je);
            sb_buf_drop(&q->in, n);
            if (!m || !json_is_object(m)) {
                json_decref(m);
                sb_fail(err, SB_E_SANDBOX_SETUP, "QMP: not a JSON object from QEMU");
                return NULL;
            }
            return m;
        }
        if (q->in.len > QMP_LINE_MAX) {
            sb_fail(err, SB_E_SANDBOX_SETUP, "QMP: a message from QEMU is too long");
            return NULL;
        }
        long long left = q->deadline_ms - now_ms();
        struct pollfd pf = {q->fd, POLLIN, 0};
        int rc = left > 0 ? poll(&pf, 1, (int)left) : 0;
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            sb_fail(err, SB_E_SANDBOX_SETUP, "QMP: QEMU did not answer in time");
            return NULL;
        }
        char buf[4096];
        ssize_t r = read(q->fd, buf, sizeof buf);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            sb_fail(err, SB_E_SANDBOX_SETUP, "QMP: QEMU closed its monitor (it ended)");
            return NULL;
        }
        if (sb_buf_append(&q->in, buf, (size_t)r) < 0) {
            sb_fail(err, SB_E_INTERNAL, "out of memory");
            return NULL;
        }
    }
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* The command's text with fd attached (SCM_RIGHTS), for getfd. */
static int send_with_fd(int sock, const char *text, int fd)
{
    struct iovec iov = {(void *)text, strlen(text)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n;
    while ((n = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    if (n < 0)
        return -1;
    return send_all(sock, text + n, strlen(text) - (size_t)n);
}

static int exec_fd(struct qmp *q, const char *cmd, json_t *args, int fd, json_t **ret,
                   struct sb_error *err)
{
    json_t *req = json_pack("{s:s}", "execute", cmd);
    if (req && args)
        json_object_set_new(req, "arguments", args);
    else
        json_decref(args);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    int rc = (fd >= 0 ? send_with_fd(q->fd, text, fd) : send_all(q->fd, text, strlen(text))) < 0 ||
             send_all(q->fd, "\n", 1) < 0;
    free(text);
    if (rc)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "QMP: send %s", cmd);
    for (;;) {
        json_t *m = read_msg(q, err);
        if (!m)
            return -1;
        json_t *r = json_object_get(m, "return");
        json_t *e = json_object_get(m, "error");
        if (r) {
            if (ret)
                *ret = json_incref(r);
            json_decref(m);
            return 0;
        }
        if (e) {
            const char *desc = json_string_value(json_object_get(e, "desc"));
            sb_fail(err, SB_E_SANDBOX_SETUP, "QMP %s: %s", cmd, desc ? desc : "failed");
            json_decref(m);
            return -1;
        }
        json_decref(m); /* an event */
    }
}

int qmp_exec(struct qmp *q, const char *cmd, json_t *args, json_t **ret, struct sb_error *err)
{
    return exec_fd(q, cmd, args, -1, ret, err);
}

int qmp_getfd(struct qmp *q, const char *name, int fd, struct sb_error *err)
{
    return exec_fd(q, "getfd", json_pack("{s:s}", "fdname", name), fd, NULL, err);
}

int qmp_wait_event(struct qmp *q, const char *name, const char *status, struct sb_error *err)
{
    for (;;) {
        json_t *m = read_msg(q, err);
        if (!m)
            return -1;
        const char *ev = json_string_value(json_object_get(m, "event"));
        const char *st = json_string_value(json_object_get(json_object_get(m, "data"), "status"));
        bool hit = ev && !strcmp(ev, name) && (!status || (st && !strcmp(st, status)));
        json_decref(m);
        if (hit)
            return 0;
    }
}

int qmp_open(struct qmp *q, int fd, unsigned timeout_ms, struct sb_error *err)
{
    memset(q, 0, sizeof *q);
    q->fd = fd;
    q->deadline_ms = now_ms() + timeout_ms;
    json_t *greeting = read_msg(q, err);
    if (!greeting)
        return -1;
    bool ok = json_object_get(greeting, "QMP") != NULL;
    json_decref(greeting);
    if (!ok)
        return sb_fail(err, SB_E_SANDBOX_SETUP, "QMP: no greeting from QEMU");
    return qmp_exec(q, "qmp_capabilities", NULL, NULL, err);
}

void qmp_close(struct qmp *q)
{
    sb_buf_free(&q->in);
}
