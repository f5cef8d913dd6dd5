/* The relay thread of a microVM: the engine's frames and the processes' stdio to and from the guest's virtio-serial port. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "vm/vm_internal.h"


static struct rproc *rp_get(struct vm_sbx *v, uint32_t id)
{
    for (int i = 0; i < MAX_RPROCS; i++)
        if (v->procs[i].used && v->procs[i].id == id)
            return &v->procs[i];
    return NULL;
}

static struct rproc *rp_new(struct vm_sbx *v, uint32_t id)
{
    for (int i = 0; i < MAX_RPROCS; i++)
        if (!v->procs[i].used) {
            struct rproc *r = &v->procs[i];
            memset(r, 0, sizeof *r);
            r->used = true, r->id = id;
            r->in = r->out[0] = r->out[1] = r->out[2] = -1;
            return r;
        }
    return NULL;
}

static void rp_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void rp_maybe_free(struct rproc *r)
{
    if (!r->exited || r->out[1] >= 0 || r->out[2] >= 0)
        return;
    rp_close(&r->in);
    for (int i = 0; i < 3; i++)
        sb_buf_free(&r->q[i]);
    r->used = false;
}

/* A frame for the engine: sent now, or queued behind others (no fds then:
 * only a pty's A_STARTED carries one, and it is sent at once or dropped). */
static void flush_engine(struct vm_sbx *v);

static void to_engine(struct vm_sbx *v, const struct agent_hdr *h, const void *payload, int fd)
{
    /* A descriptor cannot wait in the byte queue: let the engine (which
     * reads its channel all the time) drain it first. */
    for (int i = 0; fd >= 0 && v->fwd.len && i < 50; i++) {
        struct pollfd p = {v->chan[1], POLLOUT, 0};
        if (poll(&p, 1, 100) > 0)
            flush_engine(v);
    }
    if (!v->fwd.len) {
        int rc = proto_send(v->chan[1], h->type, h->id, h->err, h->flags, payload, h->len,
                            fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
        if (rc != -EAGAIN) {
            if (fd >= 0)
                close(fd);
            return;
        }
    }
    if (fd >= 0)
        close(fd);
    vm_tx_frame(&v->fwd, h->type, h->id, h->err, h->flags, payload, h->len);
}

static void flush_engine(struct vm_sbx *v)
{
    while (v->fwd.len >= sizeof(struct agent_hdr)) {
        struct agent_hdr h;
        memcpy(&h, v->fwd.data, sizeof h);
        int rc = proto_send(v->chan[1], h.type, h.id, h.err, h.flags, v->fwd.data + sizeof h,
                            h.len, NULL, 0);
        if (rc == -EAGAIN)
            return;
        sb_buf_drop(&v->fwd, sizeof h + h.len);
    }
}

static void on_engine_frame(struct vm_sbx *v, const struct agent_hdr *h, const uint8_t *payload,
                            int *fds, int nfds)
{
    uint32_t flags = h->flags;
    if (h->type == H_EXEC) {
        struct rproc *r = rp_get(v, h->id) ? NULL : rp_new(v, h->id);
        if (r && nfds == 3) {
            r->in = fds[0], r->out[1] = fds[1], r->out[2] = fds[2];
            for (int i = 0; i < 3; i++)
                fcntl(fds[i], F_SETFL, O_NONBLOCK);
            nfds = 0;
        } else if (r) {
            r->pty_pending = true;
            flags |= AGENT_F_VM_NOSTDIO;
        }
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    vm_tx_frame(&v->tx, h->type, h->id, h->err, flags, payload, h->len);
}

static void on_guest_frame(struct vm_sbx *v, const struct agent_hdr *h, const uint8_t *payload)
{
    struct rproc *r = rp_get(v, h->id);
    switch (h->type) {
    case A_VM_UP:
        if (h->len >= sizeof(struct agent_vm_up)) {
            struct agent_vm_up up;
            memcpy(&up, payload, sizeof up);
            pthread_mutex_lock(&v->mu);
            snprintf(v->kernel, sizeof v->kernel, "%.*s", (int)sizeof up.kernel, up.kernel);
            pthread_mutex_unlock(&v->mu);
        }
        struct agent_vm_start *st = (struct agent_vm_start *)v->start;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        st->realtime_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        if (util_random(st->seed, sizeof st->seed) < 0)
            memset(st->seed, 0, sizeof st->seed);
        if (!v->started)
            vm_tx_frame(&v->tx, H_VM_START, 0, 0, 0, v->start, (uint32_t)v->start_len);
        v->started = true;
        return;
    case A_STATS:
        if (h->len == sizeof(struct agent_vm_stats)) {
            pthread_mutex_lock(&v->mu);
            memcpy(&v->stats, payload, sizeof v->stats);
            v->have_stats = true;
            v->stats_asked = false;
            pthread_mutex_unlock(&v->mu);
        }
        return;
    case A_OUT:
    case A_OUT_EOF:
        if (r && (h->flags == 1 || h->flags == 2) && r->out[h->flags] >= 0) {
            if (h->type == A_OUT)
                sb_buf_append(&r->q[h->flags], payload, h->len);
            else
                r->eof[h->flags] = true;
        }
        return;
    case A_STARTED:
        if (r && r->pty_pending && h->len == sizeof(struct agent_started)) {
            struct agent_started as;
            memcpy(&as, payload, sizeof as);
            int sp[2];
            if (as.has_pty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0) {
                r->pty_pending = false;
                r->in = r->out[1] = sp[0];
                fcntl(sp[0], F_SETFL, O_NONBLOCK);
                to_engine(v, h, payload, sp[1]);
                return;
            }
        }
        break;
    case A_EXITED:
    case A_EXEC_FAILED:
        if (r) {
            r->exited = true;
            if (r->pty_pending)
                r->used = false;
        }
        break;
    }
    to_engine(v, h, payload, -1);
}

static void write_out(struct rproc *r, int s)
{
    struct sb_buf *q = &r->q[s];
    while (q->len) {
        ssize_t n = write(r->out[s], q->data, q->len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            sb_buf_reset(q); /* the engine closed its end */
            break;
        }
        sb_buf_drop(q, (size_t)n);
    }
    if (r->eof[s]) {
        if (r->out[s] == r->in)
            r->in = -1;
        rp_close(&r->out[s]);
        rp_maybe_free(r);
    }
}

static void read_in(struct vm_sbx *v, struct rproc *r)
{
    static __thread uint8_t buf[AGENT_REPLY_MAX];
    ssize_t n = read(r->in, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        vm_tx_frame(&v->tx, H_STDIN, r->id, 0, 0, buf, (uint32_t)n);
        return;
    }
    if (r->out[1] == r->in) { /* a pty: the engine stopped writing, output goes on */
        r->in_done = true;
        return;
    }
    vm_tx_frame(&v->tx, H_STDIN_EOF, r->id, 0, 0, NULL, 0);
    rp_close(&r->in);
}

static void keep_console(struct vm_sbx *v, const char *b, size_t n)
{
    static int echo = -1; /* SOULBOX_VM_CONSOLE=1: guests' consoles on stderr (debugging) */
    if (echo < 0)
        echo = getenv("SOULBOX_VM_CONSOLE") != NULL;
    if (echo && fwrite(b, 1, n, stderr) != n) {
    }
    pthread_mutex_lock(&v->mu);
    if (n >= CONSOLE_KEEP) {
        b += n - CONSOLE_KEEP;
        n = CONSOLE_KEEP;
    }
    if (v->console_len + n > CONSOLE_KEEP) {
        size_t drop = v->console_len + n - CONSOLE_KEEP;
        memmove(v->console, v->console + drop, v->console_len - drop);
        v->console_len -= drop;
    }
    memcpy(v->console + v->console_len, b, n);
    v->console_len += n;
    pthread_mutex_unlock(&v->mu);
}

/* Returns false once the guest is gone (the port's end). */
static bool on_port(struct vm_sbx *v)
{
    ssize_t n = vm_rx_fill(&v->rx, v->p.port);
    if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS))
        return false;
    struct agent_hdr h;
    const uint8_t *payload;
    int rc;
    if (n > 0)
        v->last_rx_ns = util_mono_ns();
    while ((rc = vm_rx_next(&v->rx, &h, &payload)) == 1)
        on_guest_frame(v, &h, payload);
    return rc == 0; /* a malformed frame: the guest is not trusted any more */
}

static size_t queued(struct vm_sbx *v)
{
    size_t n = v->fwd.len;
    for (int i = 0; i < MAX_RPROCS; i++)
        if (v->procs[i].used)
            n += v->procs[i].q[1].len + v->procs[i].q[2].len;
    return n;
}

/* What to wait for: the port, the engine's channel, the console, then each
 * process's streams (who/what say whose: 0 its stdin, 1 or 2 its output). */
static int poll_set(struct vm_sbx *v, struct pollfd *pf, struct rproc **who, int *what)
{
    int n = 0;
    bool room = queued(v) < QUEUE_HIGH;
    pf[n++] = (struct pollfd){v->p.port, (room ? POLLIN : 0) | (v->tx.len ? POLLOUT : 0), 0};
    pf[n++] = (struct pollfd){v->chan[1], (v->started && v->tx.len < QUEUE_HIGH ? POLLIN : 0) |
                                              (v->fwd.len ? POLLOUT : 0), 0};
    pf[n++] = (struct pollfd){v->p.console, POLLIN, 0};
    for (int i = 0; i < MAX_RPROCS; i++) {
        struct rproc *r = &v->procs[i];
        if (!r->used)
            continue;
        for (int s = 1; s <= 2; s++)
            if (r->out[s] >= 0 && (r->q[s].len || r->eof[s]))
                who[n] = r, what[n] = s, pf[n++] = (struct pollfd){r->out[s], POLLOUT, 0};
        if (r->in >= 0 && !r->in_done && v->tx.len < QUEUE_HIGH)
            who[n] = r, what[n] = 0, pf[n++] = (struct pollfd){r->in, POLLIN, 0};
    }
    return n;
}

/* Liveness: a ping a second once the guest is up; silence past
 * hang_timeout_ms ends the VM (its QEMU's exit reports why). */
static void ping(struct vm_sbx *v)
{
    uint64_t now = util_mono_ns();
    if (!v->started || v->hung)
        return;
    if (now - v->last_rx_ns > (uint64_t)v->s->e->vm.cfg->hang_timeout_ms * 1000000u) {
        v->hung = true;
        vmm_kill(&v->p);
    } else if (now - v->last_ping_ns >= 1000000000u) {
        v->last_ping_ns = now;
        vm_tx_frame(&v->tx, H_STATS, 0, 0, 0, NULL, 0);
    }
}

static void on_console(struct vm_sbx *v)
{
    char b[1024];
    ssize_t c = read(v->p.console, b, sizeof b);
    if (c > 0)
        keep_console(v, b, (size_t)c);
    else if (c == 0 || errno != EAGAIN)
        v->p.console = -v->p.console - 2; /* closed: stop polling, keep for release */
}

/* The guest is gone: what it said reaches the engine if it fits now. */
static void relay_end(struct vm_sbx *v)
{
    flush_engine(v);
    for (int i = 0; i < MAX_RPROCS; i++) {
        struct rproc *r = &v->procs[i];
        if (!r->used)
            continue;
        for (int s = 1; s <= 2; s++)
            if (r->out[s] >= 0) {
                r->eof[s] = true;
                write_out(r, s);
            }
        r->exited = true;
        rp_maybe_free(r);
    }
}

void *vm_relay_main(void *arg)
{
    struct vm_sbx *v = arg;
    static __thread struct pollfd pf[3 + 3 * MAX_RPROCS];
    static __thread struct rproc *who[3 + 3 * MAX_RPROCS];
    static __thread int what[3 + 3 * MAX_RPROCS];
    fcntl(v->p.port, F_SETFL, O_NONBLOCK);
    fcntl(v->chan[1], F_SETFL, O_NONBLOCK);
    bool alive = true;
    while (alive) {
        int n = poll_set(v, pf, who, what);
        if (poll(pf, (nfds_t)n, 1000) < 0 && errno != EINTR)
            break;
        ping(v);
        if (pf[2].revents)
            on_console(v);
        if (pf[1].revents & POLLOUT)
            flush_engine(v);
        if (pf[1].revents & POLLIN) {
            struct agent_hdr h;
            int fds[AGENT_MAX_FDS], nfds = 0;
            if (proto_recv(v->chan[1], &h, v->frame, AGENT_PAYLOAD_MAX, fds, &nfds) == 1)
                on_engine_frame(v, &h, v->frame, fds, nfds);
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
            alive = on_port(v);
        for (int i = 3; i < n; i++) {
            struct rproc *r = who[i];
            if (!pf[i].revents || !r->used)
                continue;
            if (what[i] == 0 && r->in == pf[i].fd)
                read_in(v, r);
            else if (what[i] && r->out[what[i]] == pf[i].fd)
                write_out(r, what[i]);
        }
        if (v->tx.len && vm_tx_flush(&v->tx, v->p.port) < 0)
            alive = false;
    }
    relay_end(v);
    return NULL;
}
