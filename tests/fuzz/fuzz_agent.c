/* Fuzz target `agent`: everything the host and the agent decode from each
 * other (proto.h, plan.h): frame headers, the plan, EXEC and GO records,
 * FILE requests and their replies. The agent runs as pid 1 of a sandbox
 * whose programs are hostile, and the host reads what that agent says, so
 * neither side may trust the other's bytes. Whatever is accepted must hold
 * the documented promises (strings NUL-terminated inside the input, paths
 * normalised, bounds respected) and re-encode to the same thing. The first
 * input byte picks the decoder; the rest is its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "sandbox/plan.h"
#include "sandbox/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;
    return q >= buf && q <= buf + len && n <= (size_t)(buf + len - q);
}

static bool str_inside(const char *s, const uint8_t *buf, size_t len)
{
    return s && inside(s, 0, buf, len) && memchr(s, '\0', (size_t)(buf + len - (const uint8_t *)s));
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_bytes(const void *a, size_t an, const void *b, size_t bn)
{
    return an == bn && (an == 0 || !memcmp(a, b, an));
}

/* ---- EXEC and GO ---- */

static void check_exec(const struct plan_exec *e, bool go, const uint8_t *buf, size_t len)
{
    if (!go && (!plan_path_ok(e->cwd) || !str_inside(e->cwd, buf, len)))
        abort();
    if (!go && (e->n_args == 0 || !e->args || !e->args[0][0] || e->args[e->n_args]))
        abort();
    if (!e->env || e->env[e->n_env])
        abort();
    for (uint32_t i = 0; i < e->n_args; i++)
        if (!str_inside(e->args[i], buf, len))
            abort();
    for (uint32_t i = 0; i < e->n_env; i++)
        if (!str_inside(e->env[i], buf, len) || !strchr(e->env[i], '='))
            abort();
    for (uint32_t i = 0; i < e->n_rlimits; i++)
        if (e->rlimits[i].resource >= 64 || e->rlimits[i].cur > e->rlimits[i].max)
            abort();
    if (e->flags & ~(uint32_t)(PEXEC_SOLE | PEXEC_WARM | PEXEC_PTY))
        abort();
    if ((e->flags & PEXEC_PTY) && (!e->rows || !e->cols))
        abort();
    if (e->input && !inside(e->input, e->input_len, buf, len))
        abort();
}

static bool same_exec(const struct plan_exec *a, const struct plan_exec *b)
{
    if (a->flags != b->flags || !same_str(a->cwd, b->cwd) || a->n_args != b->n_args ||
        a->n_env != b->n_env || a->n_rlimits != b->n_rlimits ||
        ((a->flags & PEXEC_PTY) && (a->rows != b->rows || a->cols != b->cols)) ||
        !same_bytes(a->input, a->input_len, b->input, b->input_len) || !a->input != !b->input)
        return false;
    for (uint32_t i = 0; i < a->n_args; i++)
        if (!same_str(a->args[i], b->args[i]))
            return false;
    for (uint32_t i = 0; i < a->n_env; i++)
        if (!same_str(a->env[i], b->env[i]))
            return false;
    for (uint32_t i = 0; i < a->n_rlimits; i++)
        if (a->rlimits[i].resource != b->rlimits[i].resource ||
            a->rlimits[i].cur != b->rlimits[i].cur || a->rlimits[i].max != b->rlimits[i].max)
            return false;
    return true;
}

static void check_plan_exec(const uint8_t *data, size_t size, bool go)
{
    struct plan_exec e;
    const char *why = NULL;
    if (plan_exec_decode(data, size, go, &e, &why) < 0) {
        fuzz_touch(why);
        return;
    }
    check_exec(&e, go, data, size);
    uint8_t *enc;
    size_t elen;
    if (plan_exec_encode(&e, &enc, &elen) == 0) {
        struct plan_exec f;
        if (plan_exec_decode(enc, elen, go, &f, &why) < 0 || !same_exec(&e, &f))
            abort();
        plan_exec_free(&f);
        free(enc);
    }
    plan_exec_free(&e);
}

/* ---- the plan ---- */

static void check_ops(const struct plan *p, const uint8_t *data, size_t size)
{
    for (uint32_t i = 0; i < p->n_ops; i++) {
        const struct plan_op *op = &p->ops[i];
        if (op->kind == 0 || op->kind >= PLAN_OP__MAX || !plan_path_ok(op->dst))
            abort();
        if ((op->kind == PLAN_OP_BIND || op->kind == PLAN_OP_EXPOSE) && !plan_path_ok(op->src))
            abort();
        if (op->kind == PLAN_OP_SYMLINK && !str_inside(op->src, data, size))
            abort();
        if (op->data && !inside(op->data, op->data_len, data, size))
            abort();
    }
}

static bool same_plan(const struct plan *p, const struct plan *q)
{
    if (q->uid != p->uid || q->gid != p->gid || q->agent_uid != p->agent_uid ||
        q->flags != p->flags || !same_str(q->hostname, p->hostname) ||
        !same_str(q->staging, p->staging) || q->n_ops != p->n_ops ||
        !same_bytes(q->bpf, q->bpf_len, p->bpf, p->bpf_len))
        return false;
    for (uint32_t i = 0; i < p->n_ops; i++) {
        const struct plan_op *a = &p->ops[i], *b = &q->ops[i];
        if (a->kind != b->kind || a->flags != b->flags || a->size != b->size ||
            a->inodes != b->inodes || a->mode != b->mode || !same_str(a->src, b->src) ||
            !same_str(a->dst, b->dst) ||
            !same_bytes(a->data, a->data_len, b->data, b->data_len) || !a->data != !b->data)
            return false;
    }
    return true;
}

static void check_plan(const uint8_t *data, size_t size)
{
    struct plan p;
    const char *why = NULL;
    if (plan_decode(data, size, &p, &why) < 0) {
        fuzz_touch(why);
        return;
    }
    if (p.uid == 0 || p.gid == 0 || p.agent_uid == 0 || p.agent_uid == p.uid ||
        !plan_path_ok(p.staging) || !strcmp(p.staging, "/"))
        abort();
    if (p.hostname && !str_inside(p.hostname, data, size))
        abort();
    check_ops(&p, data, size);
    if (p.bpf_len % 8 || (p.bpf_len && !inside(p.bpf, p.bpf_len, data, size)))
        abort();
    uint8_t *enc;
    size_t elen;
    if (plan_encode(&p, &enc, &elen) == 0) {
        struct plan q;
        if (plan_decode(enc, elen, &q, &why) < 0 || !same_plan(&p, &q))
            abort();
        plan_free(&q);
        free(enc);
    }
    plan_free(&p);
}

/* ---- FILE requests and replies ---- */

static bool abs_path_ok(const char *p)
{
    return p && plan_path_ok(p) && p[1] != '\0';
}

/* "/" names nothing to change, but may be listed and stat'ed */
static bool req_path_ok(const struct agent_file_req *r)
{
    if ((r->op == FOP_LIST || r->op == FOP_STAT) && r->path && !strcmp(r->path, "/"))
        return true;
    return abs_path_ok(r->path);
}

static void check_file_req(const uint8_t *data, size_t size)
{
    struct agent_file_req r;
    const char *why = NULL;
    if (proto_file_req_decode(data, size, &r, &why) < 0) {
        fuzz_touch(why);
        return;
    }
    if (r.op < FOP_WRITE || r.op > FOP_MKDIR || r.mode > 07777 ||
        !req_path_ok(&r) || !str_inside(r.path, data, size) ||
        (r.op == FOP_MOVE) != (r.path2 != NULL) ||
        (r.path2 && (!abs_path_ok(r.path2) || !str_inside(r.path2, data, size))) ||
        (r.data_len && !inside(r.data, r.data_len, data, size)))
        abort();
    static uint8_t enc[AGENT_PAYLOAD_MAX];
    size_t n = proto_file_req_encode(&r, enc, sizeof enc);
    struct agent_file_req q;
    if (!n || proto_file_req_decode(enc, n, &q, &why) < 0 || q.op != r.op ||
        q.flags != r.flags || q.mode != r.mode || q.max != r.max ||
        !same_str(q.path, r.path) || !same_str(q.path2, r.path2) ||
        !same_bytes(q.data, q.data_len, r.data, r.data_len))
        abort();
}

struct reply_check {
    const uint8_t *buf;
    size_t len;
};

static void on_entry(void *arg, const struct agent_entry *e)
{
    struct reply_check *c = arg;
    if (!str_inside(e->name, c->buf, c->len) || e->type < FENT_FILE || e->type > FENT_OTHER ||
        (e->target && !str_inside(e->target, c->buf, c->len)))
        abort();
}

static void on_data(void *arg, const uint8_t *d, size_t n)
{
    struct reply_check *c = arg;
    if (n && !inside(d, n, c->buf, c->len))
        abort();
}

static void check_reply(const uint8_t *data, size_t size)
{
    struct reply_check c = {data, size};
    const char *text = NULL, *why = NULL;
    if (proto_reply_decode(data, size, on_entry, on_data, &c, &text, &why) < 0)
        fuzz_touch(why);
    else if (text && !str_inside(text, data, size))
        abort();
}

static void check_header(const uint8_t *data, size_t size)
{
    struct agent_hdr h;
    if (size < sizeof h)
        return;
    memcpy(&h, data, sizeof h);
    size_t got = size - sizeof h;
    bool ok = proto_hdr_ok(&h, got, AGENT_REPLY_MAX);
    bool want = h.magic == AGENT_PROTO_MAGIC && h.version == AGENT_PROTO_VERSION &&
                h.len == got && got <= AGENT_REPLY_MAX;
    if (ok != want)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* libFuzzer's data is an exact-size heap copy: a read past it is caught */
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0: check_plan(d, n); break;
    case 1: check_plan_exec(d, n, false); break;
    case 2: check_plan_exec(d, n, true); break;
    case 3: check_file_req(d, n); break;
    case 4: check_reply(d, n); break;
    case 5: check_header(d, n); break;
    }
    return 0;
}
