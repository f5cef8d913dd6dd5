/* Host side of the files API: requests as FILE frames (writes in chunks), replies gathered into results. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/plan.h"
#include "sandbox/sandbox_internal.h"

/* Data per write frame: a frame holds the request records too. */
#define CHUNK (AGENT_REPLY_MAX - 8192)

/* ---- the request table ---- */

static struct file_req *find(struct sbx *s, uint32_t id)
{
    for (size_t i = 0; i < s->nfiles; i++)
        if (s->files[i]->id == id)
            return s->files[i];
    return NULL;
}

static void unlist(struct sbx *s, struct file_req *q)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        if (s->files[i] == q) {
            memmove(&s->files[i], &s->files[i + 1], (s->nfiles - i - 1) * sizeof *s->files);
            s->nfiles--;
            return;
        }
    }
}

void sbx_file_result_free(struct sbx_file_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->entries[i].name);
        free(r->entries[i].target);
    }
    free(r->entries);
    free(r->data);
    memset(r, 0, sizeof *r);
}

static void complete(struct sbx *s, struct file_req *q)
{
    unlist(s, q);
    if (q->cb)
        q->cb(s, &q->r, q->arg);
    sbx_file_result_free(&q->r);
    free(q);
    if (s->state >= SBX_ENDING)
        sbx_maybe_gone(s);
}

void files_fail_all(struct sbx *s, int err, const char *why)
{
    while (s->nfiles) {
        struct file_req *q = s->files[0];
        sbx_file_result_free(&q->r);
        q->r.err = err;
        snprintf(q->r.message, sizeof q->r.message, "%s", why);
        complete(s, q);
    }
}

/* ---- replies ---- */

static void add_entry(void *arg, const struct agent_entry *e)
{
    struct file_req *q = arg;
    if (q->r.err)
        return;
    if (q->r.n == q->cap_entries) {
        size_t cap = q->cap_entries ? q->cap_entries * 2 : 16;
        struct sbx_entry *v = realloc(q->r.entries, cap * sizeof *v);
        if (!v) {
            q->r.err = ENOMEM;
            return;
        }
        q->r.entries = v;
        q->cap_entries = cap;
    }
    struct sbx_entry *d = &q->r.entries[q->r.n];
    *d = (struct sbx_entry){
        .name = strdup(e->name), .type = (enum sbx_entry_type)e->type, .mode = e->mode,
        .size = e->size, .mtime_ms = e->mtime_ms, .target = e->target ? strdup(e->target) : NULL,
    };
    if (!d->name || (e->target && !d->target)) {
        free(d->name);
        free(d->target);
        q->r.err = ENOMEM;
        return;
    }
    q->r.n++;
}

static void add_data(void *arg, const uint8_t *data, size_t n)
{
    struct file_req *q = arg;
    if (q->r.err)
        return;
    if (q->max && q->r.len + n > q->max) {
        q->r.err = EFBIG;
        return;
    }
    if (q->r.len + n + 1 > q->cap_data) {
        size_t cap = q->cap_data ? q->cap_data : 65536;
        while (cap < q->r.len + n + 1)
            cap *= 2;
        uint8_t *v = realloc(q->r.data, cap);
        if (!v) {
            q->r.err = ENOMEM;
            return;
        }
        q->r.data = v;
        q->cap_data = cap;
    }
    memcpy(q->r.data + q->r.len, data, n);
    q->r.len += n;
    q->r.data[q->r.len] = '\0';
}

void files_on_frame(struct sbx *s, const struct agent_hdr *h, const uint8_t *payload)
{
    struct file_req *q = find(s, h->id);
    if (!q)
        return;
    const char *text = NULL, *why = NULL;
    if (proto_reply_decode(payload, h->len, add_entry, add_data, q, &text, &why) < 0 &&
        !q->r.err) {
        q->r.err = EPROTO;
        snprintf(q->r.message, sizeof q->r.message, "sandbox agent: %s", why);
    }
    if (h->err && !q->r.err) {
        q->r.err = h->err;
        snprintf(q->r.message, sizeof q->r.message, "%s", text ? text : strerror(h->err));
    } else if (q->r.err && !q->r.message[0]) {
        snprintf(q->r.message, sizeof q->r.message, "%s", strerror(q->r.err));
    }
    /* A failure ends the reply; a write's later chunks are dropped by the agent. */
    if (!(h->flags & AGENT_F_MORE) || h->err)
        complete(s, q);
}

/* ---- requests ---- */

/* The absolute path for p: relative ones are under the working directory.
 * The root itself only for what reads it (list, stat): `root_ok`. */
static int resolve_in(const struct sbx *s, const char *p, char *out, size_t len, bool root_ok,
                      struct sb_error *err)
{
    if (!p || !*p)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "a path is required");
    int n = p[0] == '/' ? snprintf(out, len, "%s", p)
                        : snprintf(out, len, "%s/%s", s->e->cfg.layout.workdir, p);
    if (n < 0 || (size_t)n >= len || !plan_path_ok(out))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "path '%s' is not a normalised path (no "
                       "'.', '..' or empty components)", p);
    if (!root_ok && !strcmp(out, "/"))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "path '/': the root itself cannot be "
                       "changed");
    return 0;
}

static int resolve(const struct sbx *s, const char *p, char *out, size_t len,
                   struct sb_error *err)
{
    return resolve_in(s, p, out, len, false, err);
}

static struct file_req *new_req(struct sbx *s, uint32_t op, sbx_file_cb cb, void *arg,
                                struct sb_error *err)
{
    if (s->state >= SBX_ENDING)
        return sb_fail(err, SB_E_UNAVAILABLE, "the sandbox is ending"), NULL;
    struct file_req *q = calloc(1, sizeof *q);
    if (q && s->nfiles == s->files_cap) {
        size_t cap = s->files_cap ? s->files_cap * 2 : 8;
        struct file_req **v = realloc(s->files, cap * sizeof *v);
        if (v)
            s->files = v, s->files_cap = cap;
    }
    if (!q || s->nfiles == s->files_cap) {
        free(q);
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    }
    q->id = s->next_id++;
    q->op = op;
    q->cb = cb;
    q->arg = arg;
    return q;
}

/* Encodes and queues one frame of r for q. */
static int send_req(struct sbx *s, struct file_req *q, const struct agent_file_req *r,
                    uint32_t flags, struct sb_error *err)
{
    static uint8_t buf[AGENT_REPLY_MAX];
    size_t n = proto_file_req_encode(r, buf, sizeof buf);
    if (!n)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "file request too large");
    if (sbx_send(s, H_FILE, q->id, flags, buf, (uint32_t)n, NULL, 0) < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    return 0;
}

static int submit(struct sbx *s, uint32_t op, uint32_t fflags, const char *path,
                  const char *path2, uint64_t max, sbx_file_cb cb, void *arg,
                  struct sb_error *err)
{
    char p1[PLAN_MAX_PATH], p2[PLAN_MAX_PATH];
    bool reads = op == FOP_LIST || op == FOP_STAT;
    if (resolve_in(s, path, p1, sizeof p1, reads, err) < 0 ||
        (path2 && resolve(s, path2, p2, sizeof p2, err) < 0))
        return -1;
    struct file_req *q = new_req(s, op, cb, arg, err);
    if (!q)
        return -1;
    q->max = max;
    struct agent_file_req r = {.op = op, .flags = fflags, .max = max, .path = p1,
                               .path2 = path2 ? p2 : NULL};
    if (send_req(s, q, &r, 0, err) < 0) {
        free(q);
        return -1;
    }
    s->files[s->nfiles++] = q;
    return 0;
}

int sbx_file_write(struct sbx *s, const char *path, const void *data, size_t len, uint32_t mode,
                   unsigned flags, sbx_file_cb cb, void *arg, struct sb_error *err)
{
    char p1[PLAN_MAX_PATH];
    if (resolve(s, path, p1, sizeof p1, err) < 0)
        return -1;
    if (mode > 07777)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "mode %o is not a permission mode", mode);
    struct file_req *q = new_req(s, FOP_WRITE, cb, arg, err);
    if (!q)
        return -1;
    uint32_t fflags = ((flags & SBX_WRITE_EXCL) ? FOPF_EXCL : 0) |
                      ((flags & SBX_WRITE_APPEND) ? FOPF_APPEND : 0);
    const uint8_t *d = data;
    size_t off = 0;
    do {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        uint32_t hf = (off == 0 ? AGENT_F_FIRST : 0) | (off + n == len ? AGENT_F_LAST : 0);
        struct agent_file_req r = {.op = FOP_WRITE, .flags = fflags, .mode = mode, .path = p1,
                                   .data = d + off, .data_len = n};
        if (send_req(s, q, &r, hf, err) < 0) {
            /* Frames already queued name a request the agent will answer
             * for: keep it listed, with no one to tell. */
            if (off) {
                q->cb = NULL;
                s->files[s->nfiles++] = q;
                return -1;
            }
            free(q);
            return -1;
        }
        off += n;
    } while (off < len);
    s->files[s->nfiles++] = q;
    return 0;
}

int sbx_file_read(struct sbx *s, const char *path, uint64_t max, sbx_file_cb cb, void *arg,
                  struct sb_error *err)
{
    return submit(s, FOP_READ, 0, path, NULL, max, cb, arg, err);
}

int sbx_file_list(struct sbx *s, const char *path, uint64_t max_entries, sbx_file_cb cb,
                  void *arg, struct sb_error *err)
{
    return submit(s, FOP_LIST, 0, path, NULL, max_entries, cb, arg, err);
}

int sbx_file_stat(struct sbx *s, const char *path, sbx_file_cb cb, void *arg,
                  struct sb_error *err)
{
    return submit(s, FOP_STAT, 0, path, NULL, 0, cb, arg, err);
}

int sbx_file_move(struct sbx *s, const char *from, const char *to, bool replace, sbx_file_cb cb,
                  void *arg, struct sb_error *err)
{
    return submit(s, FOP_MOVE, replace ? 0 : FOPF_EXCL, from, to, 0, cb, arg, err);
}

int sbx_file_remove(struct sbx *s, const char *path, bool recursive, sbx_file_cb cb, void *arg,
                    struct sb_error *err)
{
    return submit(s, FOP_REMOVE, recursive ? FOPF_RECURSIVE : 0, path, NULL, 0, cb, arg, err);
}

int sbx_file_mkdir(struct sbx *s, const char *path, bool parents, sbx_file_cb cb, void *arg,
                   struct sb_error *err)
{
    return submit(s, FOP_MKDIR, parents ? FOPF_PARENTS : 0, path, NULL, 0, cb, arg, err);
}
