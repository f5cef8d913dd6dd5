/* Files of sessions, shared by the front ends: error codes and entry JSON. */
#include "frontend/session_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* ---- the error of a file operation ---- */

enum sb_code files_errno_code(int e)
{
    switch (e) {
    case ENOENT: return SB_E_NOT_FOUND;
    case EEXIST:
    case ENOTEMPTY: return SB_E_CONFLICT;
    case EFBIG:
    case ENOSPC:
    case EDQUOT: return SB_E_PAYLOAD_TOO_LARGE;
    case 0: return SB_E_OK;
    default: return SB_E_INVALID_ARGUMENT;
    }
}

static void perms(uint32_t mode, enum sbx_entry_type t, char out[11])
{
    out[0] = t == SBX_DIR ? 'd' : t == SBX_SYMLINK ? 'l' : t == SBX_FILE ? '-' : '?';
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        out[1 + i] = (mode & (1u << (8 - i))) ? rwx[i] : '-';
    out[10] = '\0';
}

json_t *files_entry_json(const struct sbx_entry *e, const char *path)
{
    static const char *const types[] = {"", "file", "dir", "symlink", "other"};
    char mtime[40], p[11];
    util_iso_time((uint64_t)(e->mtime_ms > 0 ? e->mtime_ms : 0), mtime, sizeof mtime);
    perms(e->mode, e->type, p);
    const char *slash = strrchr(path, '/');
    json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:i,s:s,s:s}", "name",
                          slash && slash[1] ? slash + 1 : path, "path", path, "type",
                          types[e->type <= SBX_OTHER ? e->type : SBX_OTHER], "size",
                          (json_int_t)e->size, "mode", (int)e->mode, "permissions", p,
                          "modified_at", mtime);
    if (j && e->target)
        json_object_set_new(j, "symlink_target", json_string(e->target));
    return j;
}


/* ---- walking a tree ---- */

struct walk_arg {
    struct files_walk *w;
    char path[4096];
    unsigned depth;
};

static void walk_dir(struct files_walk *w, const char *path, unsigned depth);

static void walk_finish(struct files_walk *w)
{
    w->done(w, w->arg);
}

static int keep(struct files_walk *w, const char *path, const struct sbx_entry *e)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        char **p = realloc(w->paths, cap * sizeof *p);
        if (!p)
            return -1;
        w->paths = p;
        struct sbx_entry *v = realloc(w->entries, cap * sizeof *v);
        if (!v)
            return -1;
        w->entries = v;
        w->cap = cap;
    }
    struct sbx_entry *d = &w->entries[w->n];
    *d = *e;
    d->name = strdup(e->name);
    d->target = e->target ? strdup(e->target) : NULL;
    w->paths[w->n] = strdup(path);
    w->n++;
    return 0;
}

static void on_listed(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct walk_arg *a = arg;
    struct files_walk *w = a->w;
    if (r->err) {
        if (a->depth == 1 && w->error == SB_E_OK) {
            w->error = files_errno_code(r->err);
            snprintf(w->message, sizeof w->message, "%s", r->message);
        }
    } else {
        for (size_t i = 0; i < r->n && w->n < w->max; i++) {
            char child[8400];
            snprintf(child, sizeof child, "%s%s%s", a->path, strcmp(a->path, "/") ? "/" : "",
                     r->entries[i].name);
            if (strlen(child) >= 4096 || keep(w, child, &r->entries[i]) < 0)
                continue;
            if (r->entries[i].type == SBX_DIR && a->depth < w->depth)
                walk_dir(w, child, a->depth + 1);
        }
    }
    free(a);
    if (--w->pending == 0)
        walk_finish(w);
}

static void walk_dir(struct files_walk *w, const char *path, unsigned depth)
{
    struct walk_arg *a = calloc(1, sizeof *a);
    struct sb_error err;
    if (!a)
        return;
    a->w = w;
    a->depth = depth;
    snprintf(a->path, sizeof a->path, "%s", path);
    if (session_file_list(w->s, path, on_listed, a, &err) < 0) {
        free(a);
        if (depth == 1 && w->error == SB_E_OK) {
            w->error = err.code;
            snprintf(w->message, sizeof w->message, "%s", err.msg);
        }
        return;
    }
    w->pending++;
}

struct files_walk *files_walk(struct session *s, const char *path, unsigned depth, size_t max,
                              void (*done)(struct files_walk *w, void *arg), void *arg,
                              struct sb_error *err)
{
    struct files_walk *w = calloc(1, sizeof *w);
    if (!w)
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    w->s = s;
    w->depth = depth ? depth : 1;
    w->max = max;
    w->done = done;
    w->arg = arg;
    session_ref(s);
    walk_dir(w, path, 1);
    if (w->pending == 0) { /* nothing queued: the error is the answer */
        *err = (struct sb_error){.code = w->error};
        snprintf(err->msg, sizeof err->msg, "%s", w->message);
        files_walk_free(w);
        return NULL;
    }
    return w;
}

void files_walk_free(struct files_walk *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->paths[i]);
        free(w->entries[i].name);
        free(w->entries[i].target);
    }
    free(w->paths);
    free(w->entries);
    session_unref(w->s);
    free(w);
}
