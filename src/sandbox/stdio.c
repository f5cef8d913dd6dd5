/* Host side: a process's standard streams. Output is captured up to the
 * output limit and forwarded as it arrives; reading can pause (a slow
 * consumer then blocks the program on write). Stdin is a pipe (or the pty)
 * fed from memory: written once and closed, or, for interactive processes,
 * written piece by piece until closed. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/uvbuf.h"
#include "sandbox/sandbox_internal.h"

/* Stdin queued in the host, not yet taken by the pipe: beyond this a write is
 * refused (the program is not reading; the client must wait). */
#define STDIN_MAX_PENDING (1u << 20)

struct stdin_write {
    uv_write_t req;
    struct sbx_proc *p;
    size_t len;
    char data[];
};

static void close_one(struct sbx_proc *p, uv_handle_t *h, bool *on)
{
    sbx_close_handle(&p->open_handles, h, on, proc_handle_closed);
}

/* ---- output ---- */

static void capture(struct sbx_proc *p, int stream, const char *data, size_t n)
{
    if (p->forward_only) {
        if (p->cb.output && !p->freed)   /* freed: its owner is gone, no callback follows */
            p->cb.output(p, stream, data, n, p->arg);
        return;
    }
    struct sb_buf *b = stream == 1 ? &p->r.out : &p->r.err;
    uint64_t used = p->r.out.len + p->r.err.len;
    size_t keep = n;
    if (used + n > p->lim.output_bytes) {
        keep = used < p->lim.output_bytes ? (size_t)(p->lim.output_bytes - used) : 0;
        if (!p->r.output_exceeded) {
            p->r.output_exceeded = true;
            p->r.truncated = true;
            proc_limit_hit(p);
        }
    }
    if (keep) {
        sb_buf_append(b, data, keep);
        /* A warm interpreter's start-up talk is not its program's output. */
        if (p->cb.output && !p->freed && (!(p->flags & PEXEC_WARM) || p->go_sent))
            p->cb.output(p, stream, data, keep, p->arg);
    }
}

/* libuv reports EOF on POLLHUP after a short read without reading again, but
 * a pty's last output can still be in the kernel's flip buffer then (its
 * slave closed a moment after writing). A read now waits for that buffer
 * and returns what it held, then EIO: take it all before closing. */
static void drain_pty(struct sbx_proc *p, uv_stream_t *st)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)st, &fd) < 0)
        return;
    char buf[16384];
    for (int i = 0; i < 256; i++) { /* the kernel holds far less than 4 MiB */
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return; /* EIO: nothing more; EAGAIN cannot happen once it hung up */
        capture(p, 1, buf, (size_t)n);
    }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct sbx_proc *p = st->data;
    bool is_out = st == (uv_stream_t *)&p->out_pipe;
    if (n > 0) {
        capture(p, is_out ? 1 : 2, buf->base, (size_t)n);
        return;
    }
    if (n == 0)
        return;
    if (is_out && p->pty >= 0 && n == UV_EOF)
        drain_pty(p, st);
    /* EOF (a pty: EIO once the terminal's last holder is gone), or a read
     * error: every writer is gone. */
    close_one(p, (uv_handle_t *)st, is_out ? &p->out_on : &p->err_on);
    proc_maybe_done(p);
}

static void read_on(struct sbx_proc *p, bool on)
{
    uv_stream_t *pipes[] = {(uv_stream_t *)&p->out_pipe, (uv_stream_t *)&p->err_pipe};
    bool open[] = {p->out_on, p->err_on};
    for (int i = 0; i < 2; i++) {
        if (!open[i])
            continue;
        if (on)
            uv_read_start(pipes[i], sb_uv_alloc_scratch, on_read);
        else
            uv_read_stop(pipes[i]);
    }
}

void sbx_proc_output_pause(struct sbx_proc *p)
{
    if (p->output_paused || p->state == P_DONE)
        return;
    p->output_paused = true;
    read_on(p, false);
}

void sbx_proc_output_resume(struct sbx_proc *p)
{
    if (!p->output_paused || p->state == P_DONE)
        return;
    p->output_paused = false;
    read_on(p, true);
}

/* ---- stdin ---- */

static void close_stdin_now(struct sbx_proc *p)
{
    close_one(p, (uv_handle_t *)&p->in_pipe, &p->in_on);
}

static void on_stdin_written(uv_write_t *req, int status)
{
    struct stdin_write *w = (struct stdin_write *)req;
    struct sbx_proc *p = w->p;
    p->stdin_pending -= w->len;
    free(w);
    if (status == UV_ECANCELED)
        return; /* the handle is closing */
    /* EPIPE: the program closed its stdin, which is its right: stop feeding it. */
    if (status < 0 || (p->stdin_closing && p->stdin_pending == 0))
        close_stdin_now(p);
}

static int queue_stdin(struct sbx_proc *p, const void *data, size_t len)
{
    struct stdin_write *w = malloc(sizeof *w + (len ? len : 1));
    if (!w)
        return -1;
    w->p = p;
    w->len = len;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    p->stdin_pending += len;
    if (uv_write(&w->req, (uv_stream_t *)&p->in_pipe, &b, 1, on_stdin_written) < 0) {
        p->stdin_pending -= len;
        free(w);
        close_stdin_now(p);
        return -1;
    }
    return 0;
}

int sbx_proc_stdin_write(struct sbx_proc *p, const void *data, size_t len)
{
    if (!p->interactive || !p->in_on || p->stdin_closing || p->state >= P_EXITED)
        return -1;
    if (len == 0)
        return 0;
    if (len > STDIN_MAX_PENDING || p->stdin_pending + len > STDIN_MAX_PENDING)
        return -2;
    return queue_stdin(p, data, len);
}

void sbx_proc_stdin_close(struct sbx_proc *p)
{
    if (!p->in_on || p->stdin_closing)
        return;
    p->stdin_closing = true;
    if (p->stdin_pending == 0)
        close_stdin_now(p);
}

/* The stdin the process was given: written, then EOF unless interactive
 * (a pty's stdin is its terminal: it is never closed, only written). */
static void feed_stdin(struct sbx_proc *p, const void *data, size_t len)
{
    if (!p->in_on)
        return;
    if (len && queue_stdin(p, data, len) < 0)
        return;
    if (!p->interactive && p->pty < 0)
        sbx_proc_stdin_close(p);
}

void stdio_claimed(struct sbx_proc *p, const void *data, size_t len)
{
    feed_stdin(p, data, len);
}

/* ---- opening and closing ---- */

static void open_pipe(struct sbx_proc *p, uv_pipe_t *pipe, int fd, bool *on)
{
    uv_pipe_init(p->s->e->loop, pipe, 0);
    pipe->data = p;
    if (uv_pipe_open(pipe, fd) < 0) {
        close(fd);
        p->open_handles++;
        *on = true;
        close_one(p, (uv_handle_t *)pipe, on);
        return;
    }
    *on = true;
}

static void begin(struct sbx_proc *p)
{
    read_on(p, !p->output_paused);
    if (p->flags & PEXEC_WARM)
        return; /* its stdin comes with its run (stdio_claimed) */
    feed_stdin(p, p->stdin_copy, p->stdin_len);
    free(p->stdin_copy);
    p->stdin_copy = NULL;
}

void stdio_open(struct sbx_proc *p, const int host[3])
{
    open_pipe(p, &p->in_pipe, host[0], &p->in_on);
    open_pipe(p, &p->out_pipe, host[1], &p->out_on);
    open_pipe(p, &p->err_pipe, host[2], &p->err_on);
    begin(p);
}

void stdio_start(struct sbx_proc *p)
{
    /* One terminal, two handles (libuv watches a descriptor once): output
     * on the master, input on a duplicate of it. */
    int in = fcntl(p->pty, F_DUPFD_CLOEXEC, 3);
    open_pipe(p, &p->out_pipe, p->pty, &p->out_on);
    if (in >= 0)
        open_pipe(p, &p->in_pipe, in, &p->in_on);
    begin(p);
}

void stdio_close(struct sbx_proc *p)
{
    close_one(p, (uv_handle_t *)&p->out_pipe, &p->out_on);
    close_one(p, (uv_handle_t *)&p->err_pipe, &p->err_on);
    close_one(p, (uv_handle_t *)&p->in_pipe, &p->in_on);
}
