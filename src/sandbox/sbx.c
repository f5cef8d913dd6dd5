/* A sandbox's life on the loop: start through the backend, the agent channel (frames in and out), the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "sandbox/sandbox_internal.h"
#include "vm/vm.h"

#define SETUP_TIMEOUT_MS 30000

static void on_control(uv_poll_t *p, int status, int events);

/* Frames are handled as they are read, on the loop's one thread: one buffer
 * serves every sandbox. */
static uint8_t rx[AGENT_REPLY_MAX];

/* ---- handles ---- */

void sbx_close_handle(int *counter, uv_handle_t *h, bool *on, uv_close_cb cb)
{
    if (!*on)
        return;
    *on = false;
    (*counter)++;
    uv_close(h, cb);
}

static void free_now(struct sbx *s)
{
    for (size_t i = s->out_head; i < s->nout; i++) {
        for (int k = 0; k < s->out[i]->nfds; k++)
            close(s->out[i]->fds[k]);
        free(s->out[i]);
    }
    free(s->out);
    free(s->procs);
    free(s->files);
    free(s);
}

void sbx_handle_closed(uv_handle_t *h)
{
    struct sbx *s = h->data;
    s->open_handles--;
    sbx_maybe_gone(s);
}

/* ---- the outgoing queue ---- */

static void poll_update(struct sbx *s)
{
    if (!s->ctl_poll_on)
        return;
    int want = UV_READABLE | (s->out_head < s->nout ? UV_WRITABLE : 0);
    if (want != s->ctl_events) {
        s->ctl_events = want;
        uv_poll_start(&s->ctl_poll, want, on_control);
    }
}

/* Sends what the channel takes now. */
static void flush(struct sbx *s)
{
    while (s->ctl >= 0 && s->out_head < s->nout) {
        struct out_frame *f = s->out[s->out_head];
        int rc = proto_send(s->ctl, f->h.type, f->h.id, f->h.err, f->h.flags, f->payload,
                            f->h.len, f->fds, f->nfds);
        if (rc == -EAGAIN)
            break;
        for (int k = 0; k < f->nfds; k++)
            close(f->fds[k]);
        free(f);
        s->out[s->out_head++] = NULL;
        if (rc < 0)
            break; /* the agent is gone: its end is seen on the backend's side */
    }
    if (s->out_head == s->nout)
        s->out_head = s->nout = 0;
    poll_update(s);
}

int sbx_send(struct sbx *s, uint16_t type, uint32_t id, uint32_t flags, const void *payload,
             uint32_t len, const int *fds, int nfds)
{
    struct out_frame *f = NULL;
    if (s->nout == s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap * 2 : 16;
        struct out_frame **v = realloc(s->out, cap * sizeof *v);
        if (v)
            s->out = v, s->out_cap = cap;
    }
    if (s->nout < s->out_cap && (f = malloc(sizeof *f + len))) {
        f->h = (struct agent_hdr){AGENT_PROTO_MAGIC, AGENT_PROTO_VERSION, type, id, 0, flags, len};
        f->nfds = nfds;
        if (nfds)
            memcpy(f->fds, fds, sizeof(int) * (size_t)nfds);
        if (len)
            memcpy(f->payload, payload, len);
        s->out[s->nout++] = f;
    }
    if (!f) {
        for (int k = 0; k < nfds; k++)
            close(fds[k]);
        return -1;
    }
    flush(s);
    return 0;
}

/* ---- incoming frames ---- */

static void on_ready(struct sbx *s, const uint8_t *payload, uint32_t len)
{
    struct agent_ready r;
    if (len != sizeof r) {
        sbx_kill(s, "sandbox agent: malformed READY");
        return;
    }
    memcpy(&r, payload, sizeof r);
    if (r.version != AGENT_PROTO_VERSION) {
        sbx_kill(s, "sandbox agent speaks another protocol version");
        return;
    }
    s->t.ready = util_mono_ns();
    s->state = SBX_READY;
    uv_timer_stop(&s->setup_timer);
    if (s->cb.ready)
        s->cb.ready(s, s->arg);
}

static void on_failed(struct sbx *s, const struct agent_hdr *h, const uint8_t *payload)
{
    const char *text = NULL, *why;
    proto_reply_decode(payload, h->len, NULL, NULL, NULL, &text, &why);
    if (!s->end.failed) {
        s->end.failed = true;
        sb_fail(&s->end.error, SB_E_SANDBOX_SETUP, "sandbox setup: %s",
                text ? text : "the agent failed");
    }
}

static void dispatch(struct sbx *s, const struct agent_hdr *h, const int *fds, int nfds)
{
    struct sbx_proc *p;
    switch (h->type) {
    case A_READY:
        if (s->state == SBX_STARTING)
            on_ready(s, rx, h->len);
        break;
    case A_FAILED:
        on_failed(s, h, rx);
        break;
    case A_FILE:
        files_on_frame(s, h, rx);
        break;
    case A_STARTED:
    case A_EXEC_FAILED:
    case A_EXITED:
    case A_WARM_READY:
        if ((p = proc_find(s, h->id))) {
            proc_on_frame(p, h, rx, fds, nfds);
            return; /* it owns the fds */
        }
        break;
    default:
        break;
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
}

static void close_control(struct sbx *s)
{
    sbx_close_handle(&s->open_handles, (uv_handle_t *)&s->ctl_poll, &s->ctl_poll_on,
                     sbx_handle_closed);
    if (s->ctl >= 0) {
        close(s->ctl); /* the agent sees EOF and exits, ending the sandbox */
        s->ctl = -1;
    }
}

static void read_frames(struct sbx *s)
{
    bool reset = false;
    while (s->ctl >= 0) {
        struct agent_hdr h;
        int fds[AGENT_MAX_FDS], nfds = 0;
        int rc = proto_recv(s->ctl, &h, rx, sizeof rx, fds, &nfds);
        if (rc == -EAGAIN)
            return;
        if (rc == -EPROTO) {
            sbx_kill(s, "sandbox agent: malformed frame");
            return;
        }
        /* An agent that exited with a frame of ours unread makes our next
         * recvmsg ECONNRESET once (SOCK_SEQPACKET reports the error before the
         * queue, and clears it): what it sent before, e.g. why its setup
         * failed, comes after. */
        if (rc == -ECONNRESET && !reset) {
            reset = true;
            continue;
        }
        if (rc <= 0) {
            close_control(s); /* the agent is gone: its end comes from the backend */
            return;
        }
        dispatch(s, &h, fds, nfds);
    }
}

static void on_control(uv_poll_t *p, int status, int events)
{
    struct sbx *s = p->data;
    if (status < 0) {
        /* An agent that exits with a frame of ours unread leaves ECONNRESET
         * on our end (EPOLLERR), but what it sent before is still queued
         * here: read it (read_frames steps over the error) before closing. */
        read_frames(s);
        close_control(s);
        return;
    }
    if (events & UV_WRITABLE)
        flush(s);
    if (events & UV_READABLE)
        read_frames(s);
}

/* ---- the end ---- */

void sbx_kill(struct sbx *s, const char *why_failed)
{
    if (why_failed && !s->end.failed) {
        s->end.failed = true;
        sb_fail(&s->end.error, SB_E_SANDBOX_SETUP, "%s", why_failed);
    }
    if (s->state < SBX_ENDING)
        s->state = SBX_ENDING;
    s->kill_requested = true;
    uv_timer_stop(&s->setup_timer);
    s->ops->kill(s);
}

void sbx_agent_gone(struct sbx *s, const char *how)
{
    s->agent_gone = true;
    s->t.gone = util_mono_ns();
    if (s->state < SBX_ENDING)
        s->state = SBX_ENDING;
    uv_timer_stop(&s->setup_timer);
    /* Read what the agent still had queued, then stop listening. */
    if (s->ctl >= 0)
        read_frames(s);
    close_control(s);
    if (!s->end.failed && !s->end.destroyed && !s->kill_requested) {
        s->end.failed = true;
        sb_fail(&s->end.error, SB_E_INTERNAL, "sandbox agent ended unexpectedly (%s)", how);
    }
    char why[600];
    snprintf(why, sizeof why, "%s", s->end.failed ? s->end.error.msg : "the sandbox ended");
    files_fail_all(s, s->end.failed ? EIO : ECANCELED, why);
    for (size_t i = 0; i < s->nprocs; i++)
        proc_sandbox_gone(s->procs[i]);
    sbx_maybe_gone(s);
}

static void net_close(struct sbx *s)
{
    if (s->net) {
        net_box_stats(s->net, &s->net_final);
        net_box_close(s->net);
        s->net = NULL;
    }
    netns_fds_close(&s->net_fds);
    net_policy_free(&s->net_req_policy);
    s->net_req_set = false;
}

static void tear_down(struct sbx *s)
{
    struct sb_error err;
    s->torn_down = true;
    net_close(s);
    if (s->ops->release(s, &err) < 0) {
        log_msg(LOG_ERROR, "sandbox clean-up: %s", err.msg);
        if (!s->end.failed && s->state != SBX_GONE) {
            s->end.failed = true;
            s->end.error = err;
        }
    }
}

/* Gone once the agent is, every process has reported and every file
 * request is answered: then the release of the cgroup and uid, and
 * `ended`; freed once its handles are closed and its owner let it go. */
void sbx_maybe_gone(struct sbx *s)
{
    if (!s->agent_gone || s->nprocs || s->nfiles)
        return;
    if (s->state != SBX_GONE) {
        if (!s->torn_down)
            tear_down(s);
        s->state = SBX_GONE;
        s->e->agent_cpu_ns += s->agent_cpu_ns;
        uv_timer_stop(&s->setup_timer);
        bool on = true;
        sbx_close_handle(&s->open_handles, (uv_handle_t *)&s->setup_timer, &on,
                         sbx_handle_closed);
        s->e->active--;
        if (!s->freed && s->cb.ended) {
            s->cb.ended(s, s->arg); /* may free it: the timer's close finishes that */
            return;
        }
    }
    if (s->open_handles)
        return;
    struct sbx_engine *e = s->e;
    if (s->freed)
        free_now(s);
    sbx_engine_idle_check(e);
}

/* ---- starting ---- */

static void on_setup_timeout(uv_timer_t *t)
{
    struct sbx *s = t->data;
    if (s->state == SBX_STARTING) {
        char why[96];
        snprintf(why, sizeof why, "sandbox setup timed out after %d ms", SETUP_TIMEOUT_MS);
        sbx_kill(s, why);
    }
}

static void on_start_failed(uv_timer_t *t)
{
    struct sbx *s = t->data;
    sbx_agent_gone(s, "never started");
}

struct sbx *sbx_create(struct sbx_engine *e, const struct sbx_spec *spec,
                       const struct sbx_callbacks *cb, void *arg, struct sb_error *err)
{
    struct sbx *s = calloc(1, sizeof *s);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    s->e = e;
    s->ops = spec->isolation == SBX_ISO_MICROVM ? &sbx_vm_backend : &sbx_ns_backend;
    s->cb = *cb;
    s->arg = arg;
    s->lim = spec->limits;
    s->ctl = -1;
    s->next_id = 1;
    s->t.start = util_mono_ns();
    s->net_fds = (struct netns_fds){-1, -1, -1, -1, -1, -1};
    s->network = spec->network && e->cfg.net;
    if (spec->network && !e->cfg.net) {
        sb_fail(err, SB_E_INVALID_ARGUMENT, "network access is not enabled on this server");
        free(s);
        return NULL;
    }
    if (s->network && spec->net_policy) {
        if (net_policy_copy(&s->net_req_policy, spec->net_policy->policy, err) < 0) {
            free(s);
            return NULL;
        }
        s->net_req = *spec->net_policy;
        s->net_req.policy = &s->net_req_policy;
        snprintf(s->net_tag, sizeof s->net_tag, "%s", spec->net_policy->tag ? spec->net_policy->tag : "");
        s->net_req.tag = s->net_tag;
        s->net_req_set = true;
    }
    uv_timer_init(e->loop, &s->setup_timer);
    s->setup_timer.data = s;
    e->active++;
    uv_timer_start(&s->setup_timer, on_setup_timeout, SETUP_TIMEOUT_MS, 0);
    if (s->ops->start(s, spec, &s->end.error) < 0) {
        s->end.failed = true;
        e->setup_failures++;
        s->state = SBX_ENDING;
        s->torn_down = true; /* nothing was left to release */
        /* Report from the loop, never from inside sbx_create. */
        uv_timer_start(&s->setup_timer, on_start_failed, 0, 0);
    }
    return s;
}

void sbx_channel_open(struct sbx *s)
{
    uv_poll_init(s->e->loop, &s->ctl_poll, s->ctl);
    s->ctl_poll.data = s;
    s->ctl_poll_on = true;
    s->ctl_events = UV_READABLE;
    uv_poll_start(&s->ctl_poll, UV_READABLE, on_control);
    flush(s); /* what was queued while the agent was being spawned */
}

void sbx_start_failed(struct sbx *s, const struct sb_error *err)
{
    if (!s->end.failed) {
        s->end.failed = true;
        s->end.error = *err;
        s->e->setup_failures++;
    }
    s->torn_down = true;
    sbx_agent_gone(s, "never started");
}

bool sbx_is_ready(const struct sbx *s)
{
    return s->state == SBX_READY;
}

void sbx_destroy(struct sbx *s)
{
    if (s->state >= SBX_ENDING)
        return;
    s->end.destroyed = true;
    sbx_kill(s, NULL);
}

void sbx_free(struct sbx *s)
{
    if (!s)
        return;
    s->freed = true;
    if (s->state != SBX_GONE) {
        sbx_destroy(s);
        return; /* freed once gone */
    }
    sbx_maybe_gone(s);
}

const struct sbx_end *sbx_end(const struct sbx *s)
{
    return &s->end;
}

const struct sbx_times *sbx_times(const struct sbx *s)
{
    return &s->t;
}

int sbx_set_limits(struct sbx *s, const struct sbx_limits *l, struct sb_error *err)
{
    if (s->state != SBX_READY)
        return sb_fail(err, SB_E_INTERNAL, "the sandbox is not ready");
    if (l->disk_kb != s->lim.disk_kb)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "its disk size is fixed");
    if (s->ops->set_limits(s, l, err) < 0)
        return -1;
    s->lim = *l;
    return 0;
}

uint64_t sbx_memory(const struct sbx *s)
{
    return s->ops->memory(s);
}

/* ---- egress ---- */

int sbx_net_open(struct sbx *s, const struct sbx_net *n, struct sb_error *err)
{
    if (!s->network || s->net_fds.nft < 0 || s->net)
        return sb_fail(err, SB_E_INTERNAL, "the sandbox has no network plumbing to open");
    s->net = net_box_open(s->e->cfg.net, &s->net_fds, n->policy, &n->limits, n->tag, err);
    return s->net ? 0 : -1;
}

int sbx_net_start(struct sbx *s, struct sb_error *err)
{
    if (!s->net_req_set)
        return 0;
    int rc = sbx_net_open(s, &s->net_req, err);
    net_policy_free(&s->net_req_policy);
    s->net_req_set = false;
    return rc;
}

bool sbx_net_stats(const struct sbx *s, struct net_stats *st)
{
    if (!s->network)
        return false;
    if (s->net)
        net_box_stats(s->net, st);
    else
        *st = s->net_final;
    return true;
}
