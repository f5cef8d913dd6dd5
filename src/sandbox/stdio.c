/* Host side: a run's standard streams. Output is captured up to the output
 * limit and forwarded as it arrives; reading can pause (a slow consumer then
 * blocks the program on write). Stdin is a pipe fed from memory: written once
 * and closed, or, for interactive runs, written piece by piece until closed. */
#include <stdlib.h>
#include <string.h>

#include "common/uvbuf.h"
#include "sandbox/sandbox_internal.h"

/* Stdin queued in the host, not yet taken by the pipe: beyond this a write is
 * refused (the program is not reading; the client must wait). */
#define STDIN_MAX_PENDING (1u << 20)

struct stdin_write {
    uv_write_t req;
    struct sbx *s;
    size_t len;
    char data[];
};

/* ---- output ---- */

static void capture(struct sbx *s, int stream, const char *data, size_t n)
{
    struct sb_buf *b = stream == 1 ? &s->r.out : &s->r.err;
    uint64_t used = s->r.out.len + s->r.err.len;
    size_t keep = n;
    if (used + n > s->lim.output_bytes) {
        keep = used < s->lim.output_bytes ? (size_t)(s->lim.output_bytes - used) : 0;
        if (!s->r.output_exceeded) {
            s->r.output_exceeded = true;
            s->r.truncated = true;
            sbx_kill_agent(s);
        }
    }
    if (keep) {
        sb_buf_append(b, data, keep);
        if (s->output)
            s->output(s, stream, data, keep, s->arg);
    }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct sbx *s = st->data;
    bool is_out = st == (uv_stream_t *)&s->out_pipe;
    if (n > 0) {
        capture(s, is_out ? 1 : 2, buf->base, (size_t)n);
        return;
    }
    if (n == 0)
        return;
    /* EOF (or a read error): every writer is gone. */
    sbx_close_handle(s, (uv_handle_t *)st, is_out ? &s->out_on : &s->err_on);
    sbx_maybe_finish(s);
}

static void read_on(struct sbx *s, bool on)
{
    uv_stream_t *pipes[] = {(uv_stream_t *)&s->out_pipe, (uv_stream_t *)&s->err_pipe};
    bool open[] = {s->out_on, s->err_on};
    for (int i = 0; i < 2; i++) {
        if (!open[i])
            continue;
        if (on)
            uv_read_start(pipes[i], sb_uv_alloc_scratch, on_read);
        else
            uv_read_stop(pipes[i]);
    }
}

void sbx_output_pause(struct sbx *s)
{
    if (s->output_paused || s->finishing)
        return;
    s->output_paused = true;
    read_on(s, false);
}

void sbx_output_resume(struct sbx *s)
{
    if (!s->output_paused || s->finishing)
        return;
    s->output_paused = false;
    read_on(s, true);
}

/* ---- stdin ---- */

static void close_stdin_now(struct sbx *s)
{
    sbx_close_handle(s, (uv_handle_t *)&s->in_pipe, &s->in_on);
}

static void on_stdin_written(uv_write_t *req, int status)
{
    struct stdin_write *w = (struct stdin_write *)req;
    struct sbx *s = w->s;
    s->stdin_pending -= w->len;
    free(w);
    if (status == UV_ECANCELED)
        return; /* the handle is closing */
    /* EPIPE: the program closed its stdin, which is its right: stop feeding it. */
    if (status < 0 || (s->stdin_closing && s->stdin_pending == 0))
        close_stdin_now(s);
}

static int queue_stdin(struct sbx *s, const void *data, size_t len)
{
    struct stdin_write *w = malloc(sizeof *w + (len ? len : 1));
    if (!w)
        return -1;
    w->s = s;
    w->len = len;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    s->stdin_pending += len;
    if (uv_write(&w->req, (uv_stream_t *)&s->in_pipe, &b, 1, on_stdin_written) < 0) {
        s->stdin_pending -= len;
        free(w);
        close_stdin_now(s);
        return -1;
    }
    return 0;
}

int sbx_stdin_write(struct sbx *s, const void *data, size_t len)
{
    if (!s->interactive || !s->in_on || s->stdin_closing || s->finishing)
        return -1;
    if (len == 0)
        return 0;
    if (len > STDIN_MAX_PENDING || s->stdin_pending + len > STDIN_MAX_PENDING)
        return -2;
    return queue_stdin(s, data, len);
}

void sbx_stdin_close(struct sbx *s)
{
    if (!s->in_on || s->stdin_closing)
        return;
    s->stdin_closing = true;
    if (s->stdin_pending == 0)
        close_stdin_now(s);
}

void sbx_stdio_claimed(struct sbx *s, const void *data, size_t len)
{
    if (!s->in_on)
        return;
    if (len && queue_stdin(s, data, len) < 0)
        return;
    if (!s->interactive)
        sbx_stdin_close(s);
}

void sbx_stdio_start(struct sbx *s)
{
    s->out_pipe.data = s->err_pipe.data = s;
    read_on(s, true);
    if (!s->in_on)
        return;
    s->in_pipe.data = s;
    if (s->pooled)
        return; /* its stdin comes with the request (sbx_stdio_claimed) */
    if (s->stdin_len && queue_stdin(s, s->stdin_copy, s->stdin_len) < 0)
        return;
    free(s->stdin_copy);
    s->stdin_copy = NULL;
    if (!s->interactive)
        sbx_stdin_close(s);
}
