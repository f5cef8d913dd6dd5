/* E2B envd's filesystem.Filesystem service (Stat, MakeDir, Move, ListDir, Remove) and its /files upload and download, over the session's files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/e2b/e2b.h"
#include "frontend/multipart.h"
#include "frontend/e2b/connect.h"
#include "frontend/session_files.h"
#include "service/session_watch.h"

#define READ_MAX (256ull << 20)
#define LIST_MAX 10000

static const char *type_name(enum sbx_entry_type t)
{
    return t == SBX_FILE ? "FILE_TYPE_FILE" : t == SBX_DIR ? "FILE_TYPE_DIRECTORY"
         : t == SBX_SYMLINK ? "FILE_TYPE_SYMLINK" : NULL;
}

/* envd's EntryInfo; NULL for types it does not report. */
static json_t *entry_info(const struct sbx_entry *e, const char *path)
{
    const char *type = type_name(e->type);
    if (!type)
        return NULL;
    json_t *base = files_entry_json(e, path);
    char size[32], mtime[40];
    snprintf(size, sizeof size, "%llu", (unsigned long long)e->size);
    util_iso_time((uint64_t)(e->mtime_ms > 0 ? e->mtime_ms : 0), mtime, sizeof mtime);
    json_t *j = json_pack("{s:O,s:s,s:s,s:s,s:i,s:O,s:s,s:s,s:s}", "name",
                          json_object_get(base, "name"), "type", type, "path", path, "size", size,
                          "mode", (int)e->mode, "permissions",
                          json_object_get(base, "permissions"), "owner", "user", "group", "user",
                          "modifiedTime", mtime);
    if (j && e->target)
        json_object_set_new(j, "symlinkTarget", json_string(e->target));
    json_decref(base);
    return j;
}

/* ---- an operation in flight ---- */

struct fsop {
    struct rest_call *rc;
    struct session *s;
    char path[4096], to[4096];
    int step;
    unsigned left;               /* uploads */
    json_t *written;
    char error[600];
    int error_status;
};

static struct fsop *fsop_new(struct rest_call *rc, struct session *s)
{
    struct fsop *f = calloc(1, sizeof *f);
    if (!f || !(f->rc = rest_call_keep(rc))) {
        free(f);
        return NULL;
    }
    f->s = s;
    session_ref(s);
    return f;
}

static void fsop_free(struct fsop *f)
{
    json_decref(f->written);
    session_unref(f->s);
    free(f->rc);
    free(f);
}

/* A path given by the SDK, relative to the user's home. 0, or -1 after replying. */
static int norm(struct rest_call *rc, const char *in, char *out, size_t len, bool unary)
{
    struct sb_error err;
    if (!in) {
        if (unary)
            e2b_unary_error(rc, SB_E_INVALID_ARGUMENT, "path is required");
        else
            e2b_reply_error(rc, 400, "path is required");
        return -1;
    }
    if (session_path(in, "/home/user", out, len, &err) < 0) {
        if (unary)
            e2b_unary_error(rc, err.code, err.msg);
        else
            e2b_reply_error(rc, 400, "%s", err.msg);
        return -1;
    }
    return 0;
}

static void unary_file_error(struct rest_call *rc, const struct sbx_file_result *r)
{
    e2b_unary_error(rc, files_errno_code(r->err), r->message);
}

/* ---- unary calls ---- */

static void on_entry(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fsop *f = arg;
    if (r->err || r->n != 1)
        unary_file_error(f->rc, r);
    else
        e2b_unary_ok(f->rc, json_pack("{s:o}", "entry", entry_info(&r->entries[0], f->path)));
    fsop_free(f);
}

static void on_removed(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fsop *f = arg;
    if (r->err)
        unary_file_error(f->rc, r);
    else
        e2b_unary_ok(f->rc, json_object());
    fsop_free(f);
}

/* Move and MakeDir answer with the entry: a stat after the change. */
static void then_stat(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fsop *f = arg;
    struct sb_error err;
    if (r->err) {
        unary_file_error(f->rc, r);
        fsop_free(f);
    } else if (session_file_stat(f->s, f->path, on_entry, f, &err) < 0) {
        e2b_unary_error(f->rc, err.code, err.msg);
        fsop_free(f);
    }
}

/* MakeDir: already_exists when it does, as envd says. */
static void mkdir_checked(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fsop *f = arg;
    struct sb_error err;
    if (!r->err) {
        e2b_unary_error(f->rc, SB_E_CONFLICT, "directory already exists");
        fsop_free(f);
    } else if (session_file_mkdir(f->s, f->path, then_stat, f, &err) < 0) {
        e2b_unary_error(f->rc, err.code, err.msg);
        fsop_free(f);
    }
}

static void on_walked(struct files_walk *w, void *arg)
{
    struct fsop *f = arg;
    if (w->error != SB_E_OK) {
        e2b_unary_error(f->rc, w->error, w->message);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < w->n; i++) {
            json_t *e = entry_info(&w->entries[i], w->paths[i]);
            if (e)
                json_array_append_new(arr, e);
        }
        e2b_unary_ok(f->rc, json_pack("{s:o}", "entries", arr));
    }
    files_walk_free(w);
    fsop_free(f);
}

/* ---- WatchDir: a server stream ---- */

#define KEEPALIVE_MS 30000

struct dirwatch {
    struct watch_watcher w;
    struct rest_call *rc;
    struct session_watch *sw;
    uv_timer_t keepalive;
    char root[4096];
    bool started;
};

static void env_send(struct dirwatch *d, uint8_t flags, json_t *ev)
{
    e2b_stream_send(d->rc->c, flags, ev);
}

static void dw_closed(uv_handle_t *h)
{
    struct dirwatch *d = h->data;
    free(d->rc);
    free(d);
}

static void dw_done(struct dirwatch *d)
{
    uv_timer_stop(&d->keepalive);
    uv_close((uv_handle_t *)&d->keepalive, dw_closed);
}

static void dw_keepalive(uv_timer_t *t)
{
    struct dirwatch *d = t->data;
    if (d->started)
        env_send(d, 0, json_pack("{s:{}}", "keepalive"));
}

static void dw_ready(struct watch_watcher *w)
{
    struct dirwatch *d = w->arg;
    d->started = true;
    http_stream_start(d->rc->c, 200, "application/connect+json", NULL);
    env_send(d, 0, json_pack("{s:{}}", "start")); /* WatchDirResponse's oneof: top level */
}

static void dw_event(struct watch_watcher *w, const char *type, const char *path, bool dir)
{
    (void)dir;
    struct dirwatch *d = w->arg;
    static const struct { const char *ours, *theirs; } map[] = {
        {"created", "EVENT_TYPE_CREATE"}, {"modified", "EVENT_TYPE_WRITE"},
        {"removed", "EVENT_TYPE_REMOVE"}, {"renamed", "EVENT_TYPE_RENAME"},
    };
    const char *t = NULL;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(type, map[i].ours))
            t = map[i].theirs;
    size_t n = strlen(d->root);
    /* envd names an event by its path below the watched directory */
    const char *name = !strncmp(path, d->root, n) && path[n] == '/' ? path + n + 1 : path;
    if (t)
        env_send(d, 0, json_pack("{s:{s:s,s:s}}", "filesystem", "name", name, "type", t));
}

static void dw_end(struct watch_watcher *w, const char *why)
{
    struct dirwatch *d = w->arg;
    if (!d->started) { /* it never started: the call fails, as envd's does */
        e2b_unary_error(d->rc, strstr(why, "No such file") ? SB_E_NOT_FOUND
                                                           : SB_E_INVALID_ARGUMENT, why);
    } else {
        env_send(d, CONNECT_FLAG_END, json_object());
        rest_log(d->rc, 200);
        http_stream_end(d->rc->c);
    }
    dw_done(d);
}

static void dw_abort(void *arg)
{
    struct dirwatch *d = arg;
    session_watch_stop(d->sw);
    rest_log(d->rc, 499);
    if (d->started)
        http_stream_end(d->rc->c);
    else
        http_respond(d->rc->c, 499, "application/json", "{}", 2, NULL);
    dw_done(d);
}

static void watch_dir(struct rest_call *rc, struct session *s)
{
    json_t *m = e2b_message(rc, true);
    if (!m)
        return;
    struct dirwatch *d = calloc(1, sizeof *d);
    struct sb_error err;
    if (!d || !(d->rc = rest_call_keep(rc)) ||
        norm(rc, json_string_value(json_object_get(m, "path")), d->root, sizeof d->root,
             true) < 0) {
        if (d)
            free(d->rc);
        free(d);
        json_decref(m);
        return;
    }
    d->w = (struct watch_watcher){.ready = dw_ready, .event = dw_event, .end = dw_end, .arg = d};
    d->sw = session_watch_start(s, d->root, json_is_true(json_object_get(m, "recursive")), &d->w,
                                &err);
    json_decref(m);
    if (!d->sw) {
        e2b_unary_error(rc, err.code, err.msg);
        free(d->rc);
        free(d);
        return;
    }
    uv_timer_init(s->svc->loop, &d->keepalive);
    d->keepalive.data = d;
    uv_timer_start(&d->keepalive, dw_keepalive, KEEPALIVE_MS, KEEPALIVE_MS);
    http_conn_on_abort(rc->c, dw_abort, d);
}

void e2b_fs_call(struct rest_call *rc, struct session *s, const char *method)
{
    if (!strcmp(method, "WatchDir")) {
        watch_dir(rc, s);
        return;
    }
    json_t *m = rc->req->body.len ? json_loadb(rc->req->body.data, rc->req->body.len, 0, NULL)
                                  : json_object();
    if (!json_is_object(m)) {
        json_decref(m);
        e2b_unary_error(rc, SB_E_INVALID_ARGUMENT, "the message is not a JSON object");
        return;
    }
    bool move = !strcmp(method, "Move");
    const char *p = json_string_value(json_object_get(m, move ? "source" : "path"));
    struct fsop *f = NULL;
    struct sb_error err;
    int r = 0;
    if (!strcmp(method, "CreateWatcher") || !strcmp(method, "GetWatcherEvents") ||
        !strcmp(method, "RemoveWatcher")) {
        e2b_unary_error(rc, SB_E_METHOD_NOT_ALLOWED, "polled watchers are not supported: use "
                        "WatchDir (the SDK's watchDir)");
        goto out;
    }
    if (!(f = fsop_new(rc, s)))
        goto out;
    if (norm(rc, p, f->path, sizeof f->path, true) < 0) {
        fsop_free(f);
        goto out;
    }
    if (!strcmp(method, "Stat")) {
        r = session_file_stat(s, f->path, on_entry, f, &err);
    } else if (!strcmp(method, "MakeDir")) {
        r = session_file_stat(s, f->path, mkdir_checked, f, &err);
    } else if (!strcmp(method, "Remove")) {
        r = session_file_remove(s, f->path, on_removed, f, &err);
    } else if (move) {
        const char *to = json_string_value(json_object_get(m, "destination"));
        if (norm(rc, to, f->to, sizeof f->to, true) < 0) {
            fsop_free(f);
            goto out;
        }
        r = session_file_move(s, f->path, f->to, then_stat, f, &err);
        snprintf(f->path, sizeof f->path, "%s", f->to);
    } else if (!strcmp(method, "ListDir")) {
        json_int_t depth = json_integer_value(json_object_get(m, "depth"));
        r = files_walk(s, f->path, depth > 0 && depth <= 16 ? (unsigned)depth : 1, LIST_MAX,
                       on_walked, f, &err) ? 0 : -1;
    } else {
        fsop_free(f);
        e2b_unary_error(rc, SB_E_METHOD_NOT_ALLOWED, "this method is not implemented");
        goto out;
    }
    if (r < 0) {
        e2b_unary_error(rc, err.code, err.msg);
        fsop_free(f);
    }
out:
    json_decref(m);
}

/* ---- GET /files ---- */

static void on_read(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fsop *f = arg;
    if (r->err) {
        e2b_reply_error(f->rc, sb_code_http(files_errno_code(r->err)), "%s", r->message);
    } else {
        f->s->svc->sessions.file_bytes_out += r->len;
        rest_log(f->rc, 200);
        http_respond(f->rc->c, 200, "application/octet-stream", (const char *)r->data, r->len,
                     NULL);
    }
    fsop_free(f);
}

void e2b_files_get(struct rest_call *rc, struct session *s)
{
    char raw[4096];
    struct sb_error err;
    if (http_query_get(rc->req, "path", raw, sizeof raw) <= 0) {
        e2b_reply_error(rc, 400, "?path= is required");
        return;
    }
    struct fsop *f = fsop_new(rc, s);
    if (!f || norm(rc, raw, f->path, sizeof f->path, false) < 0) {
        if (f)
            fsop_free(f);
        return;
    }
    if (session_file_read(s, f->path, READ_MAX, on_read, f, &err) < 0) {
        e2b_reply_error(rc, sb_code_http(err.code), "%s", err.msg);
        fsop_free(f);
    }
}

/* ---- POST /files (multipart: one part "file" per file, filename = its path) ---- */

static void on_written(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fsop *f = arg;
    if (r->err && !f->error[0]) {
        snprintf(f->error, sizeof f->error, "%s", r->message);
        f->error_status = sb_code_http(files_errno_code(r->err));
        if (r->err == ENOSPC || r->err == EDQUOT || r->err == EFBIG)
            f->error_status = 507;
    } else if (!r->err && r->n == 1) {
        const char *path = r->entries[0].name;
        const char *slash = strrchr(path, '/');
        json_array_append_new(f->written, json_pack("{s:s,s:s,s:s}", "name",
                                                    slash ? slash + 1 : path, "type", "file",
                                                    "path", path));
    }
    if (--f->left)
        return;
    if (f->error[0])
        e2b_reply_error(f->rc, f->error_status, "%s", f->error);
    else
        rest_reply_json(f->rc, 200, json_incref(f->written), NULL);
    fsop_free(f);
}

void e2b_files_post(struct rest_call *rc, struct session *s)
{
    char boundary[80], dest[4096] = "";
    struct sb_error err;
    size_t max = rc->rest->svc->cfg->server.max_files, n = 0;
    if (http_query_get(rc->req, "path", dest, sizeof dest) < 0) {
        e2b_reply_error(rc, 400, "?path= is malformed");
        return;
    }
    const char *ct = http_header(rc->req, "content-type");
    struct mp_part *parts = calloc(max ? max : 1, sizeof *parts);
    if (!parts)
        return;
    bool raw = ct && !strncmp(ct, "application/octet-stream", 24);
    if (raw) {
        /* envd >= 0.5.7's form: the body is the file, ?path= its path */
        if (!dest[0] || http_header(rc->req, "content-encoding")) {
            e2b_reply_error(rc, 400, dest[0] ? "compressed uploads are not supported"
                                             : "?path= is required");
            free(parts);
            return;
        }
        snprintf(parts[0].filename, sizeof parts[0].filename, "%s", dest);
        parts[0].data = rc->req->body.data ? rc->req->body.data : "";
        parts[0].len = rc->req->body.len;
        n = 1;
    } else if (mp_boundary(ct, boundary, sizeof boundary, &err) < 0 ||
               mp_parse(rc->req->body.data ? rc->req->body.data : "", rc->req->body.len, boundary,
                        parts, max, &n, &err) < 0) {
        e2b_reply_error(rc, 400, "%s", err.msg);
        free(parts);
        return;
    }
    struct fsop *f = n ? fsop_new(rc, s) : NULL;
    if (!f) {
        if (!n)
            e2b_reply_error(rc, 400, "the upload holds no file");
        free(parts);
        return;
    }
    f->written = json_array();
    f->left = 1;
    for (size_t i = 0; i < n; i++) {
        /* a part's filename is its path; a single file may take ?path= instead */
        const char *name = n == 1 && dest[0] ? dest : parts[i].filename;
        char path[4096];
        if (!name[0] || session_path(name, "/home/user", path, sizeof path, &err) < 0 ||
            session_file_write(s, path, parts[i].data, parts[i].len, on_written, f, &err) < 0) {
            snprintf(f->error, sizeof f->error, "%s", name[0] ? err.msg : "a file has no path");
            f->error_status = name[0] ? sb_code_http(err.code) : 400;
            break;
        }
        f->left++;
    }
    free(parts);
    struct sbx_file_result none = {0};
    on_written(NULL, &none, f);
}
