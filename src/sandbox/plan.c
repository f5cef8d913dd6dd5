/* Plan codec: tag-length-value records, shared by the host and the static agent. */
#include "sandbox/plan.h"

#include <stdlib.h>
#include <string.h>

#define PLAN_MAGIC   0x4c504253u /* "SBPL" */
#define EXEC_MAGIC   0x58454253u /* "SBEX" */
#define PLAN_VERSION 1u

enum tag {
    T_UID = 1, T_GID, T_FLAGS, T_HOSTNAME, T_OP, T_BPF, T_EXEC, T_STAGING, T_AGENT_UID,
    T_OP_KIND = 20, T_OP_FLAGS, T_OP_SIZE, T_OP_INODES, T_OP_MODE, T_OP_SRC,
    T_OP_DST, T_OP_DATA,
    T_CWD = 40, T_ARG, T_ENV, T_FILE, T_RLIMIT, T_INPUT,
    T_F_PATH = 60, T_F_MODE, T_F_DATA,
    T_RL_RES = 70, T_RL_CUR, T_RL_MAX,
};

/* ---- writer ---- */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
};

static void w_raw(struct wbuf *w, const void *d, size_t n)
{
    if (w->oom)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->oom = 1;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void w_u32(struct wbuf *w, uint32_t v) { w_raw(w, &v, 4); }

static void w_tlv(struct wbuf *w, uint16_t tag, const void *d, uint32_t n)
{
    w_raw(w, &tag, 2);
    w_u32(w, n);
    w_raw(w, d, n);
}

static void w_tag_u64(struct wbuf *w, uint16_t tag, uint64_t v) { w_tlv(w, tag, &v, 8); }

static void w_tag_str(struct wbuf *w, uint16_t tag, const char *s)
{
    if (s)
        w_tlv(w, tag, s, (uint32_t)strlen(s) + 1);
}

/* Opens a nested record; returns the offset of its length field. */
static size_t w_begin(struct wbuf *w, uint16_t tag)
{
    w_raw(w, &tag, 2);
    size_t at = w->len;
    w_u32(w, 0);
    return at;
}

static void w_end(struct wbuf *w, size_t at)
{
    if (w->oom)
        return;
    uint32_t n = (uint32_t)(w->len - at - 4);
    memcpy(w->p + at, &n, 4);
}

static void w_exec(struct wbuf *w, const struct plan_exec *e)
{
    w_tag_str(w, T_CWD, e->cwd);
    for (uint32_t i = 0; i < e->n_args; i++)
        w_tag_str(w, T_ARG, e->args[i]);
    for (uint32_t i = 0; i < e->n_env; i++)
        w_tag_str(w, T_ENV, e->env[i]);
    for (uint32_t i = 0; i < e->n_files; i++) {
        size_t at = w_begin(w, T_FILE);
        w_tag_str(w, T_F_PATH, e->files[i].path);
        w_tag_u64(w, T_F_MODE, e->files[i].mode);
        w_tlv(w, T_F_DATA, e->files[i].data, (uint32_t)e->files[i].len);
        w_end(w, at);
    }
    for (uint32_t i = 0; i < e->n_rlimits; i++) {
        size_t at = w_begin(w, T_RLIMIT);
        w_tag_u64(w, T_RL_RES, e->rlimits[i].resource);
        w_tag_u64(w, T_RL_CUR, e->rlimits[i].cur);
        w_tag_u64(w, T_RL_MAX, e->rlimits[i].max);
        w_end(w, at);
    }
    if (e->input)
        w_tlv(w, T_INPUT, e->input, (uint32_t)e->input_len);
}

static int w_finish(struct wbuf *w, uint8_t **out, size_t *len)
{
    if (w->oom) {
        free(w->p);
        return -1;
    }
    *out = w->p;
    *len = w->len;
    return 0;
}

int plan_exec_encode(const struct plan_exec *e, uint8_t **out, size_t *len)
{
    struct wbuf w = {0};
    w_u32(&w, EXEC_MAGIC);
    w_u32(&w, PLAN_VERSION);
    w_exec(&w, e);
    return w_finish(&w, out, len);
}

int plan_encode(const struct plan *p, uint8_t **out, size_t *len)
{
    struct wbuf w = {0};
    w_u32(&w, PLAN_MAGIC);
    w_u32(&w, PLAN_VERSION);
    w_tag_u64(&w, T_UID, p->uid);
    w_tag_u64(&w, T_GID, p->gid);
    w_tag_u64(&w, T_AGENT_UID, p->agent_uid);
    w_tag_u64(&w, T_FLAGS, p->flags);
    w_tag_str(&w, T_HOSTNAME, p->hostname);
    w_tag_str(&w, T_STAGING, p->staging);
    for (uint32_t i = 0; i < p->n_ops; i++) {
        const struct plan_op *op = &p->ops[i];
        size_t at = w_begin(&w, T_OP);
        w_tag_u64(&w, T_OP_KIND, op->kind);
        w_tag_u64(&w, T_OP_FLAGS, op->flags);
        w_tag_u64(&w, T_OP_SIZE, op->size);
        w_tag_u64(&w, T_OP_INODES, op->inodes);
        w_tag_u64(&w, T_OP_MODE, op->mode);
        w_tag_str(&w, T_OP_SRC, op->src);
        w_tag_str(&w, T_OP_DST, op->dst);
        if (op->data)
            w_tlv(&w, T_OP_DATA, op->data, (uint32_t)op->data_len);
        w_end(&w, at);
    }
    if (p->bpf_len)
        w_tlv(&w, T_BPF, p->bpf, p->bpf_len);
    if (p->has_exec) {
        size_t at = w_begin(&w, T_EXEC);
        w_exec(&w, &p->exec);
        w_end(&w, at);
    }
    return w_finish(&w, out, len);
}

/* ---- reader ---- */

struct rbuf {
    const uint8_t *p;
    size_t len, off;
};

/* Returns 1 with the next record, 0 at the end, -1 if malformed. */
static int r_next(struct rbuf *r, uint16_t *tag, const uint8_t **d, uint32_t *n)
{
    if (r->off == r->len)
        return 0;
    if (r->len - r->off < 6)
        return -1;
    memcpy(tag, r->p + r->off, 2);
    memcpy(n, r->p + r->off + 2, 4);
    r->off += 6;
    if (*n > r->len - r->off)
        return -1;
    *d = r->p + r->off;
    r->off += *n;
    return 1;
}

static int r_u64(const uint8_t *d, uint32_t n, uint64_t *v)
{
    if (n != 8)
        return -1;
    memcpy(v, d, 8);
    return 0;
}

static int r_u32(const uint8_t *d, uint32_t n, uint32_t *v)
{
    uint64_t x = 0;
    if (r_u64(d, n, &x) < 0 || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* A string record must end in its only NUL. */
static int r_str(const uint8_t *d, uint32_t n, const char **s)
{
    if (n == 0 || d[n - 1] != '\0' || memchr(d, '\0', n) != d + n - 1)
        return -1;
    *s = (const char *)d;
    return 0;
}

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
    struct rbuf r = {d, n, 0};
    uint16_t tag;
    const uint8_t *v;
    uint32_t vn;
    int rc;
    uint64_t x = 0;
    while ((rc = r_next(&r, &tag, &v, &vn)) > 0) {
        switch (tag) {
        case T_OP_KIND:   rc = r_u32(v, vn, &op->kind); break;
        case T_OP_FLAGS:  rc = r_u32(v, vn, &op->flags); break;
        case T_OP_SIZE:   rc = r_u64(v, vn, &op->size); break;
        case T_OP_INODES: rc = r_u64(v, vn, &op->inodes); break;
        case T_OP_MODE:   rc = r_u64(v, vn, &x); op->mode = (uint32_t)(x & 07777); break;
        case T_OP_SRC:    rc = r_str(v, vn, &op->src); break;
        case T_OP_DST:    rc = r_str(v, vn, &op->dst); break;
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

static int decode_file(const uint8_t *d, uint32_t n, struct plan_file *f)
{
    struct rbuf r = {d, n, 0};
    uint16_t tag;
    const uint8_t *v;
    uint32_t vn;
    int rc;
    uint64_t x = 0;
    while ((rc = r_next(&r, &tag, &v, &vn)) > 0) {
        switch (tag) {
        case T_F_PATH: rc = r_str(v, vn, &f->path); break;
        case T_F_MODE: rc = r_u64(v, vn, &x); f->mode = (uint32_t)(x & 0777); break;
        case T_F_DATA: f->data = v; f->len = vn; rc = 0; break;
        default:       rc = -1; break;
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0 || !f->path || !plan_relpath_ok(f->path))
        return -1;
    return 0;
}

static int decode_rlimit(const uint8_t *d, uint32_t n, struct plan_rlimit *rl)
{
    struct rbuf r = {d, n, 0};
    uint16_t tag;
    const uint8_t *v;
    uint32_t vn;
    int rc;
    while ((rc = r_next(&r, &tag, &v, &vn)) > 0) {
        switch (tag) {
        case T_RL_RES: rc = r_u32(v, vn, &rl->resource); break;
        case T_RL_CUR: rc = r_u64(v, vn, &rl->cur); break;
        case T_RL_MAX: rc = r_u64(v, vn, &rl->max); break;
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

static int decode_exec_body(struct rbuf *r, struct plan_exec *e, const char **why)
{
    uint16_t tag;
    const uint8_t *v;
    uint32_t vn;
    int rc;
    const char *s;
    while ((rc = r_next(r, &tag, &v, &vn)) > 0) {
        switch (tag) {
        case T_CWD:
            rc = r_str(v, vn, &e->cwd);
            break;
        case T_ARG:
            rc = r_str(v, vn, &s);
            if (rc == 0)
                rc = push_str(&e->args, &e->n_args, PLAN_MAX_ARGS, s);
            break;
        case T_ENV:
            rc = r_str(v, vn, &s);
            if (rc == 0 && !strchr(s, '='))
                rc = -1;
            if (rc == 0)
                rc = push_str(&e->env, &e->n_env, PLAN_MAX_ENV, s);
            break;
        case T_FILE: {
            struct plan_file *f = r_grow(e->files, &e->n_files, sizeof *f, PLAN_MAX_FILES);
            if (!f)
                return *why = "too many files", -1;
            e->files = f;
            rc = decode_file(v, vn, &f[e->n_files - 1]);
            break;
        }
        case T_INPUT:
            if (e->input)
                return *why = "two inputs", -1;
            e->input = v;
            e->input_len = vn;
            break;
        case T_RLIMIT: {
            struct plan_rlimit *rl = r_grow(e->rlimits, &e->n_rlimits, sizeof *rl,
                                            PLAN_MAX_RLIMITS);
            if (!rl)
                return *why = "too many rlimits", -1;
            e->rlimits = rl;
            rc = decode_rlimit(v, vn, &rl[e->n_rlimits - 1]);
            break;
        }
        default:
            rc = -1;
            break;
        }
        if (rc < 0)
            return *why = "malformed exec record", -1;
    }
    if (rc < 0)
        return *why = "truncated exec record", -1;
    if (!e->cwd || !plan_path_ok(e->cwd))
        return *why = "exec needs an absolute working directory", -1;
    if (e->n_args == 0 || e->args[0][0] == '\0')
        return *why = "exec needs a program", -1;
    if (!e->env && !(e->env = calloc(1, sizeof *e->env)))
        return *why = "out of memory", -1;
    return 0;
}

static int check_header(struct rbuf *r, uint32_t magic)
{
    uint32_t m, ver;
    if (r->len < 8)
        return -1;
    memcpy(&m, r->p, 4);
    memcpy(&ver, r->p + 4, 4);
    r->off = 8;
    return (m == magic && ver == PLAN_VERSION) ? 0 : -1;
}

int plan_exec_decode(const uint8_t *buf, size_t len, struct plan_exec *e, const char **why)
{
    struct rbuf r = {buf, len, 0};
    memset(e, 0, sizeof *e);
    if (check_header(&r, EXEC_MAGIC) < 0)
        return *why = "bad exec header", -1;
    if (decode_exec_body(&r, e, why) < 0) {
        plan_exec_free(e);
        return -1;
    }
    return 0;
}

static int decode_top(struct rbuf *r, struct plan *p, const char **why)
{
    uint16_t tag;
    const uint8_t *v;
    uint32_t vn;
    int rc;
    bool have_uid = false, have_gid = false;
    while ((rc = r_next(r, &tag, &v, &vn)) > 0) {
        switch (tag) {
        case T_UID:      rc = r_u32(v, vn, &p->uid); have_uid = true; break;
        case T_GID:      rc = r_u32(v, vn, &p->gid); have_gid = true; break;
        case T_AGENT_UID: rc = r_u32(v, vn, &p->agent_uid); break;
        case T_FLAGS:    rc = r_u32(v, vn, &p->flags); break;
        case T_HOSTNAME: rc = r_str(v, vn, &p->hostname); break;
        case T_STAGING:  rc = r_str(v, vn, &p->staging); break;
        case T_BPF:
            p->bpf = v;
            p->bpf_len = vn;
            rc = (vn % 8 == 0 && vn / 8 <= 4096) ? 0 : -1;
            break;
        case T_OP: {
            struct plan_op *ops = r_grow(p->ops, &p->n_ops, sizeof *ops, PLAN_MAX_OPS);
            if (!ops)
                return *why = "too many ops", -1;
            p->ops = ops;
            if (decode_op(v, vn, &ops[p->n_ops - 1], why) < 0)
                return -1;
            rc = 0;
            break;
        }
        case T_EXEC: {
            if (p->has_exec)
                return *why = "duplicate exec record", -1;
            struct rbuf sub = {v, vn, 0};
            p->has_exec = true;
            if (decode_exec_body(&sub, &p->exec, why) < 0)
                return -1;
            rc = 0;
            break;
        }
        default:
            rc = -1;
            break;
        }
        if (rc < 0)
            return *why = "malformed plan record", -1;
    }
    if (rc < 0)
        return *why = "truncated plan", -1;
    if (!have_uid || !have_gid || p->uid == 0 || p->gid == 0)
        return *why = "plan needs a non-root uid and gid", -1;
    if (p->agent_uid == 0 || p->agent_uid == p->uid)
        return *why = "plan needs an agent uid other than root and the program's", -1;
    if (!p->staging || !plan_path_ok(p->staging) || !strcmp(p->staging, "/"))
        return *why = "plan needs a staging directory", -1;
    return 0;
}

int plan_decode(const uint8_t *buf, size_t len, struct plan *p, const char **why)
{
    struct rbuf r = {buf, len, 0};
    memset(p, 0, sizeof *p);
    if (check_header(&r, PLAN_MAGIC) < 0)
        return *why = "bad plan header", -1;
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
    free(e->files);
    free(e->rlimits);
    memset(e, 0, sizeof *e);
}

void plan_free(struct plan *p)
{
    free(p->ops);
    plan_exec_free(&p->exec);
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
