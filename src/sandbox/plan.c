/* Plan codec: tag-length-value records (tlv.h), shared by the host and the static agent. */
#include "sandbox/plan.h"

#include <stdlib.h>
#include <string.h>

#include "sandbox/tlv.h"

#define PLAN_MAGIC   0x4c504253u /* "SBPL" */
#define PLAN_VERSION 2u

enum tag {
    T_UID = 1, T_GID, T_FLAGS, T_HOSTNAME, T_OP, T_BPF, T_STAGING = 8, T_AGENT_UID,
    T_OP_KIND = 20, T_OP_FLAGS, T_OP_SIZE, T_OP_INODES, T_OP_MODE, T_OP_SRC,
    T_OP_DST, T_OP_DATA,
    T_CWD = 40, T_ARG, T_ENV, T_RLIMIT = 44, T_INPUT, T_XFLAGS, T_ROWS, T_COLS,
    T_RL_RES = 70, T_RL_CUR, T_RL_MAX,
};

/* ---- writer ---- */

static void w_exec(struct tlv_w *w, const struct plan_exec *e)
{
    tlv_u64(w, T_XFLAGS, e->flags);
    tlv_str(w, T_CWD, e->cwd);
    for (uint32_t i = 0; i < e->n_args; i++)
        tlv_str(w, T_ARG, e->args[i]);
    for (uint32_t i = 0; i < e->n_env; i++)
        tlv_str(w, T_ENV, e->env[i]);
    for (uint32_t i = 0; i < e->n_rlimits; i++) {
        size_t at = tlv_begin(w, T_RLIMIT);
        tlv_u64(w, T_RL_RES, e->rlimits[i].resource);
        tlv_u64(w, T_RL_CUR, e->rlimits[i].cur);
        tlv_u64(w, T_RL_MAX, e->rlimits[i].max);
        tlv_end(w, at);
    }
    if (e->flags & PEXEC_PTY) {
        tlv_u64(w, T_ROWS, e->rows);
        tlv_u64(w, T_COLS, e->cols);
    }
    if (e->input)
        tlv_put(w, T_INPUT, e->input, (uint32_t)e->input_len);
}

static int w_finish(struct tlv_w *w, uint8_t **out, size_t *len)
{
    if (w->bad) {
        free(w->p);
        return -1;
    }
    *out = w->p;
    *len = w->len;
    return 0;
}

int plan_exec_encode(const struct plan_exec *e, uint8_t **out, size_t *len)
{
    struct tlv_w w = {0};
    w_exec(&w, e);
    return w_finish(&w, out, len);
}

int plan_encode(const struct plan *p, uint8_t **out, size_t *len)
{
    struct tlv_w w = {0};
    uint32_t head[2] = {PLAN_MAGIC, PLAN_VERSION};
    tlv_raw(&w, head, sizeof head);
    tlv_u64(&w, T_UID, p->uid);
    tlv_u64(&w, T_GID, p->gid);
    tlv_u64(&w, T_AGENT_UID, p->agent_uid);
    tlv_u64(&w, T_FLAGS, p->flags);
    tlv_str(&w, T_HOSTNAME, p->hostname);
    tlv_str(&w, T_STAGING, p->staging);
    for (uint32_t i = 0; i < p->n_ops; i++) {
        const struct plan_op *op = &p->ops[i];
        size_t at = tlv_begin(&w, T_OP);
        tlv_u64(&w, T_OP_KIND, op->kind);
        tlv_u64(&w, T_OP_FLAGS, op->flags);
        tlv_u64(&w, T_OP_SIZE, op->size);
        tlv_u64(&w, T_OP_INODES, op->inodes);
        tlv_u64(&w, T_OP_MODE, op->mode);
        tlv_str(&w, T_OP_SRC, op->src);
        tlv_str(&w, T_OP_DST, op->dst);
        if (op->data)
            tlv_put(&w, T_OP_DATA, op->data, (uint32_t)op->data_len);
        tlv_end(&w, at);
    }
    if (p->bpf_len)
        tlv_put(&w, T_BPF, p->bpf, p->bpf_len);
    return w_finish(&w, out, len);
}

/* ---- reader ---- */

/* Appends to a malloc'd array of elements of size sz, bounded by max. */
static void *r_grow(void *arr, uint32_t *count, size_t sz, uint32_t max)
{
    if (*count >= max)
        return NULL;
    void *p = realloc(arr, (*count + 1) * sz);
    if (!p)
        return NULL;
    memset((char *)p + *count * sz, 0, sz);
    (*count)++;
    return p;
}

static int decode_op(const uint8_t *d, uint32_t n, struct plan_op *op, const char **why)
{
    struct tlv_r r = {d, n, 0};
    uint16_t tag;
    const uint8_t *v;
    uint32_t vn;
    int rc;
    uint64_t x = 0;
    while ((rc = tlv_next(&r, &tag, &v, &vn)) > 0) {
        switch (tag) {
        case T_OP_KIND:   rc = tlv_get_u32(v, vn, &op->kind); break;
        case T_OP_FLAGS:  rc = tlv_get_u32(v, vn, &op->flags); break;
        case T_OP_SIZE:   rc = tlv_get_u64(v, vn, &op->size); break;
        case T_OP_INODES: rc = tlv_get_u64(v, vn, &op->inodes); break;
        case T_OP_MODE:   rc = tlv_get_u64(v, vn, &x); op->mode = (uint32_t)(x & 07777); break;
        case T_OP_SRC:    rc = tlv_get_str(v, vn, &op->src); break;
        case T_OP_DST:    rc = tlv_get_str(v, vn, &op->dst); break;
        case T_OP_DATA:   op->data = v; op->data_len = vn; rc = 0; break;
        default:          rc = -1; break;
        }
        if (rc < 0)
            break;
    }
    if (rc < 0)
        return *why = "malformed op record", -1;
    if (op->kind == 0 || op->kind >= PLAN_OP__MAX)
        return *why = "unknown op kind", -1;
    if (!op->dst || !plan_path_ok(op->dst))
        return *why = "op destination is not a normalised absolute path", -1;
    bool need_src = op->kind == PLAN_OP_BIND || op->kind == PLAN_OP_EXPOSE ||
                    op->kind == PLAN_OP_SYMLINK;
    if (need_src && !op->src)
        return *why = "op needs a source", -1;
    if ((op->kind == PLAN_OP_BIND || op->kind == PLAN_OP_EXPOSE) && !plan_path_ok(op->src))
        return *why = "op source is not a normalised absolute path", -1;
    return 0;
}

static int decode_rlimit(const uint8_t *d, uint32_t n, struct plan_rlimit *rl)
{
    struct tlv_r r = {d, n, 0};
    uint16_t tag;
    const uint8_t *v;
    uint32_t vn;
    int rc;
    while ((rc = tlv_next(&r, &tag, &v, &vn)) > 0) {
        switch (tag) {
        case T_RL_RES: rc = tlv_get_u32(v, vn, &rl->resource); break;
        case T_RL_CUR: rc = tlv_get_u64(v, vn, &rl->cur); break;
        case T_RL_MAX: rc = tlv_get_u64(v, vn, &rl->max); break;
        default:       rc = -1; break;
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0 || rl->resource >= 64 || rl->cur > rl->max)
        return -1;
    return 0;
}

/* Appends a string to a NULL-terminated list kept one slot larger than *n. */
static int push_str(const char ***list, uint32_t *n, uint32_t max, const char *s)
{
    if (*n >= max)
        return -1;
    const char **p = realloc(*list, (*n + 2) * sizeof *p);
    if (!p)
        return -1;
    p[(*n)++] = s;
    p[*n] = NULL;
    *list = p;
    return 0;
}

static int exec_record(struct plan_exec *e, uint16_t tag, const uint8_t *v, uint32_t vn,
                       const char **why)
{
    const char *s;
    uint32_t x;
    switch (tag) {
    case T_XFLAGS:
        return tlv_get_u32(v, vn, &e->flags);
    case T_CWD:
        return tlv_get_str(v, vn, &e->cwd);
    case T_ARG:
        if (tlv_get_str(v, vn, &s) < 0)
            return -1;
        return push_str(&e->args, &e->n_args, PLAN_MAX_ARGS, s);
    case T_ENV:
        if (tlv_get_str(v, vn, &s) < 0 || !strchr(s, '='))
            return -1;
        return push_str(&e->env, &e->n_env, PLAN_MAX_ENV, s);
    case T_ROWS:
    case T_COLS:
        if (tlv_get_u32(v, vn, &x) < 0 || x == 0 || x > 4096)
            return -1;
        *(tag == T_ROWS ? &e->rows : &e->cols) = (uint16_t)x;
        return 0;
    case T_INPUT:
        if (e->input)
            return *why = "two inputs", -1;
        e->input = v;
        e->input_len = vn;
        return 0;
    case T_RLIMIT: {
        struct plan_rlimit *rl = r_grow(e->rlimits, &e->n_rlimits, sizeof *rl,
                                        PLAN_MAX_RLIMITS);
        if (!rl)
            return *why = "too many rlimits", -1;
        e->rlimits = rl;
        return decode_rlimit(v, vn, &rl[e->n_rlimits - 1]);
    }
    default:
        return -1;
    }
}

static int decode_exec_body(struct tlv_r *r, bool go, struct plan_exec *e, const char **why)
{
    uint16_t tag;
    const uint8_t *v;
    uint32_t vn;
    int rc;
    *why = NULL;
    while ((rc = tlv_next(r, &tag, &v, &vn)) > 0)
        if (exec_record(e, tag, v, vn, why) < 0)
            return *why = *why ? *why : "malformed exec record", -1;
    if (rc < 0)
        return *why = "truncated exec record", -1;
    if (e->flags & ~(uint32_t)(PEXEC_SOLE | PEXEC_WARM | PEXEC_PTY))
        return *why = "unknown exec flags", -1;
    if ((e->flags & PEXEC_PTY) && (!e->rows || !e->cols))
        return *why = "a pty needs rows and cols", -1;
    if (!e->env && !(e->env = calloc(1, sizeof *e->env)))
        return *why = "out of memory", -1;
    if (go)
        return 0;
    if (!e->cwd || !plan_path_ok(e->cwd))
        return *why = "exec needs an absolute working directory", -1;
    if (e->n_args == 0 || e->args[0][0] == '\0')
        return *why = "exec needs a program", -1;
    return 0;
}

int plan_exec_decode(const uint8_t *buf, size_t len, bool go, struct plan_exec *e,
                     const char **why)
{
    struct tlv_r r = {buf, len, 0};
    memset(e, 0, sizeof *e);
    if (decode_exec_body(&r, go, e, why) < 0) {
        plan_exec_free(e);
        return -1;
    }
    return 0;
}

static int top_record(struct plan *p, uint16_t tag, const uint8_t *v, uint32_t vn,
                      const char **why)
{
    switch (tag) {
    case T_UID:       return tlv_get_u32(v, vn, &p->uid);
    case T_GID:       return tlv_get_u32(v, vn, &p->gid);
    case T_AGENT_UID: return tlv_get_u32(v, vn, &p->agent_uid);
    case T_FLAGS:     return tlv_get_u32(v, vn, &p->flags);
    case T_HOSTNAME:  return tlv_get_str(v, vn, &p->hostname);
    case T_STAGING:   return tlv_get_str(v, vn, &p->staging);
    case T_BPF:
        p->bpf = v;
        p->bpf_len = vn;
        return (vn % 8 == 0 && vn / 8 <= 4096) ? 0 : -1;
    case T_OP: {
        struct plan_op *ops = r_grow(p->ops, &p->n_ops, sizeof *ops, PLAN_MAX_OPS);
        if (!ops)
            return *why = "too many ops", -1;
        p->ops = ops;
        return decode_op(v, vn, &ops[p->n_ops - 1], why);
    }
    default:
        return -1;
    }
}

static int decode_top(struct tlv_r *r, struct plan *p, const char **why)
{
    uint16_t tag;
    const uint8_t *v;
    uint32_t vn;
    int rc;
    *why = NULL;
    while ((rc = tlv_next(r, &tag, &v, &vn)) > 0)
        if (top_record(p, tag, v, vn, why) < 0)
            return *why = *why ? *why : "malformed plan record", -1;
    if (rc < 0)
        return *why = "truncated plan", -1;
    if (p->uid == 0 || p->gid == 0)
        return *why = "plan needs a non-root uid and gid", -1;
    if (p->agent_uid == 0 || p->agent_uid == p->uid)
        return *why = "plan needs an agent uid other than root and the program's", -1;
    if (!p->staging || !plan_path_ok(p->staging) || !strcmp(p->staging, "/"))
        return *why = "plan needs a staging directory", -1;
    return 0;
}

int plan_decode(const uint8_t *buf, size_t len, struct plan *p, const char **why)
{
    uint32_t head[2];
    memset(p, 0, sizeof *p);
    if (len < sizeof head)
        return *why = "bad plan header", -1;
    memcpy(head, buf, sizeof head);
    if (head[0] != PLAN_MAGIC || head[1] != PLAN_VERSION)
        return *why = "bad plan header", -1;
    struct tlv_r r = {buf, len, sizeof head};
    if (decode_top(&r, p, why) < 0) {
        plan_free(p);
        return -1;
    }
    return 0;
}

void plan_exec_free(struct plan_exec *e)
{
    free(e->args);
    free(e->env);
    free(e->rlimits);
    memset(e, 0, sizeof *e);
}

void plan_free(struct plan *p)
{
    free(p->ops);
    memset(p, 0, sizeof *p);
}

/* ---- path checks ---- */

/* Checks the components of a '/'-separated path (without a leading '/'). */
static bool components_ok(const char *s)
{
    for (;;) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (n == 0 || n > 255)
            return false;
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (!slash)
            return true;
        s = slash + 1;
    }
}

bool plan_path_ok(const char *path)
{
    size_t n = strnlen(path, PLAN_MAX_PATH);
    if (n == 0 || n >= PLAN_MAX_PATH || path[0] != '/')
        return false;
    if (n == 1)
        return true;
    return components_ok(path + 1);
}

bool plan_relpath_ok(const char *name)
{
    size_t n = strnlen(name, PLAN_MAX_PATH);
    if (n == 0 || n >= PLAN_MAX_PATH || name[0] == '/')
        return false;
    return components_ok(name);
}
