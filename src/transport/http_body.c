/* Streamed request bodies: spooled to an unnamed file as they arrive, never whole in memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "transport/http_internal.h"

/* Collected bytes go to the file in writes of about SPOOL_CHUNK; while one
 * write is in flight and SPOOL_HIGH more are collected, the socket is not
 * read (the client is held back instead of our memory growing). */
#define SPOOL_CHUNK (256u << 10)
#define SPOOL_HIGH (1u << 20)

struct http_spool {
    struct http_conn *c;
    int fd;
    uint64_t max;
    uint64_t size;           /* body bytes taken so far */
    uint64_t offset;         /* where the next write goes in the file */
    struct sb_buf fill;      /* taken, not yet being written */
    char *wbuf;              /* being written: wbuf[woff..wlen) */
    size_t wlen, woff;
    uv_fs_t fs;
    bool writing;
    bool complete;           /* the whole body arrived */
    bool failed;
    bool read_stopped;
    struct sb_error err;
    http_body_cb cb;
    void *arg;
};

/* An unnamed file in dir (O_TMPFILE; where the file system lacks it, a
 * named one unlinked at once): nothing is left behind, even after a crash. */
static int open_spool_file(const char *dir, struct sb_error *err)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "cannot spool the request body in %s",
                             dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/.upload-XXXXXX", dir);
    if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "cannot spool the request body in %s",
                             dir);
    unlink(path);
    return fd;
}

static void set_reading(struct http_spool *s, bool on)
{
    if (s->read_stopped == !on || s->c->base.closing)
        return;
    s->read_stopped = !on;
    if (on)
        tcp_read_start(&s->c->base);
    else
        tcp_read_stop(&s->c->base);
}

/* The end: the handler hears once, with the file or why there is none. */
static void finish(struct http_spool *s)
{
    struct http_conn *c = s->c;
    c->spool = NULL;
    c->req.body_pending = false;
    tcp_timer_stop(&c->base);
    http_set_state(c, C_HANDLING);
    if (s->failed) {
        c->close_after = true;   /* the rest of the body is not read */
        close(s->fd);
        s->fd = -1;
    }
    if (!s->failed)
        set_reading(s, true);    /* the next request (the answer's close discards the rest) */
    sb_buf_free(&s->fill);
    s->cb(c, s->fd, s->size, s->failed ? &s->err : NULL, s->arg);
    free(s);
    tcp_conn_release(&c->base);  /* may free c */
}

static void start_write(struct http_spool *s);

static void on_written(uv_fs_t *fs)
{
    struct http_spool *s = fs->data;
    ssize_t n = fs->result;
    uv_fs_req_cleanup(fs);
    s->writing = false;
    if (n < 0 && !s->failed) {
        s->failed = true;
        sb_fail(&s->err, SB_E_UNAVAILABLE, "cannot store the request body: %s",
                uv_strerror((int)n));
    }
    if (n > 0) {
        s->woff += (size_t)n;
        s->offset += (uint64_t)n;
    }
    if (s->failed || s->woff == s->wlen) {
        free(s->wbuf);
        s->wbuf = NULL;
        s->wlen = s->woff = 0;
    }
    if (s->failed)
        return finish(s);
    http_spool_pump(s->c);
}

static void start_write(struct http_spool *s)
{
    if (!s->wbuf) {
        s->wbuf = sb_buf_steal(&s->fill, &s->wlen);
        s->woff = 0;
    }
    uv_buf_t b = uv_buf_init(s->wbuf + s->woff, (unsigned)(s->wlen - s->woff));
    s->fs.data = s;
    int rc = uv_fs_write(s->c->base.tcp.loop, &s->fs, s->fd, &b, 1, (int64_t)s->offset,
                         on_written);
    if (rc < 0) {
        s->failed = true;
        sb_fail(&s->err, SB_E_UNAVAILABLE, "cannot store the request body: %s", uv_strerror(rc));
        return;
    }
    s->writing = true;
}

void http_spool_pump(struct http_conn *c)
{
    struct http_spool *s = c->spool;
    if (!s || s->writing)
        return;
    if (s->failed)
        return finish(s);
    if (s->wbuf || s->fill.len >= SPOOL_CHUNK || (s->complete && s->fill.len))
        start_write(s);
    if (s->failed)
        return finish(s);
    if (!s->writing && s->complete)
        return finish(s);
    set_reading(s, s->fill.len < SPOOL_HIGH);
}

int http_spool_data(struct http_conn *c, const char *at, size_t n)
{
    struct http_spool *s = c->spool;
    if (s->size + n > s->max) {
        sb_fail(&s->err, SB_E_PAYLOAD_TOO_LARGE, "request body is too large (at most %llu bytes)",
                (unsigned long long)s->max);
        return -1;
    }
    if (sb_buf_append(&s->fill, at, n) < 0) {
        sb_fail(&s->err, SB_E_INTERNAL, "out of memory");
        return -1;
    }
    s->size += n;
    http_start_timer(c, c->srv->cfg.body_timeout_ms);
    if (!s->writing && s->fill.len >= SPOOL_CHUNK)
        start_write(s);
    else if (s->writing && s->fill.len >= SPOOL_HIGH)
        set_reading(s, false);
    return s->failed ? -1 : 0;
}

void http_spool_mark_complete(struct http_conn *c)
{
    c->spool->complete = true;
}

bool http_spool_waiting(const struct http_conn *c)
{
    return c->spool && c->spool->complete;
}

void http_spool_fail(struct http_conn *c, enum sb_code code, const char *why)
{
    struct http_spool *s = c->spool;
    if (!s)
        return;
    if (!s->failed && !s->err.msg[0])
        sb_fail(&s->err, code, "%s", why);
    s->failed = true;
    set_reading(s, false);
    if (!s->writing)
        finish(s);   /* may free c */
}

const char *http_spool_error(const struct http_conn *c, enum sb_code *code)
{
    const struct http_spool *s = c->spool;
    if (!s || !s->err.msg[0])
        return NULL;
    *code = s->err.code;
    return s->err.msg;
}

int http_body_spool(struct http_conn *c, uint64_t max, http_body_cb cb, void *arg,
                    struct sb_error *err)
{
    struct http_request *r = &c->req;
    if (c->state != C_HANDLING || !r->body_pending || c->spool)
        return sb_fail(err, SB_E_INTERNAL, "no request body to take");
    if (r->has_length && r->content_length > max)
        return sb_fail(err, SB_E_PAYLOAD_TOO_LARGE, "request body is too large (at most %llu "
                       "bytes)", (unsigned long long)max);
    const char *dir = c->srv->cfg.spool_dir ? c->srv->cfg.spool_dir : "/tmp";
    int fd = open_spool_file(dir, err);
    if (fd < 0)
        return -1;
    struct http_spool *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    *s = (struct http_spool){.c = c, .fd = fd, .max = max, .cb = cb, .arg = arg,
                             .read_stopped = true /* dispatch stopped it */};
    tcp_conn_hold(&c->base);
    c->spool = s;
    http_set_state(c, C_UPLOAD);
    const char *expect = http_header(r, "expect");
    if (expect && !strcasecmp(expect, "100-continue"))
        http_write_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, NULL, 0);
    http_start_timer(c, c->srv->cfg.body_timeout_ms);
    http_parser_pause(&c->parser, 0);
    set_reading(s, true);
    http_parse_more(c);
    return 0;
}
