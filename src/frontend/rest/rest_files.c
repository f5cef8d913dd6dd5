/* REST session files: read (raw, range), write (raw, multipart), list (depth), stat, mkdir, move, remove. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/multipart.h"
#include "frontend/rest/rest_internal.h"
#include "frontend/session_files.h"
#include "service/session_watch.h"

/* Largest file read in one request. */
#define READ_MAX (256ull << 20)
/* Entries a listing returns at most. */
#define LIST_MAX 10000

/* ---- one operation in flight ---- */

struct fop {
    struct rest_call *rc;
    struct session *s;
    char path[4096];
    uint64_t offset, length;
    bool has_range;
    /* multipart */
    json_t *written;
    unsigned writes_left;
    char error[600];
    enum sb_code error_code;
};

static struct fop *fop_new(struct rest_call *rc, struct session *s)
{
    struct fop *f = calloc(1, sizeof *f);
    if (!f || !(f->rc = rest_call_keep(rc))) {
        if (!f)
            rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        free(f);
        return NULL;
    }
    f->s = s;
    session_ref(s);
    return f;
}

static void fop_free(struct fop *f)
{
    session_unref(f->s);
    json_decref(f->written);
    free(f->rc);
    free(f);
}

static void reply_file_error(struct rest_call *rc, const struct sbx_file_result *r)
{
    rest_reply_error(rc, files_errno_code(r->err), r->message, NULL);
}

/* The ?path= of the call, normalised. Returns 0 or -1 after replying. */
static int query_path(struct rest_call *rc, const char *name, char *out, size_t len)
{
    char raw[4096];
    struct sb_error err;
    int got = http_query_get(rc->req, name, raw, sizeof raw);
    if (got <= 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "?%s= is %s", name, got < 0 ? "malformed" : "required");
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, msg, NULL);
        return -1;
    }
    if (session_path(raw, "/home/user", out, len, &err) < 0) {
        rest_reply_error(rc, err.code, err.msg, NULL);
        return -1;
    }
    return 0;
}

/* ---- read ---- */

static void on_read(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fop *f = arg;
    if (r->err) {
        reply_file_error(f->rc, r);
    } else {
        uint64_t off = f->offset < r->len ? f->offset : r->len;
        uint64_t n = r->len - off;
        if (f->has_range && f->length < n)
            n = f->length;
        f->s->svc->sessions.file_bytes_out += n;
        rest_log(f->rc, 200);
        http_respond(f->rc->c, 200, "application/octet-stream", (const char *)r->data + off,
                     (size_t)n, NULL);
    }
    fop_free(f);
}

void rest_file_read(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    char path[4096], num[32];
    uint64_t off = 0, length = 0;
    if (query_path(rc, "path", path, sizeof path) < 0)
        return;
    int hl = http_query_u64(rc->req, "length", num, sizeof num, READ_MAX, &length);
    if (http_query_u64(rc->req, "offset", num, sizeof num, READ_MAX, &off) < 0 || hl < 0) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "offset and length must be integers up to "
                         "256 MiB", NULL);
        return;
    }
    struct fop *f = fop_new(rc, s);
    if (!f)
        return;
    f->offset = off;
    f->length = length;
    f->has_range = hl == 1;
    struct sb_error err;
    if (session_file_read(s, path, READ_MAX, on_read, f, &err) < 0) {
        rest_reply_error(rc, err.code, err.msg, NULL);
        fop_free(f);
    }
}

/* ---- write: raw (PUT ?path=) and multipart (POST, many files) ---- */

static void on_written(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fop *f = arg;
    if (r->err && !f->error[0]) {
        snprintf(f->error, sizeof f->error, "%s", r->message);
        f->error_code = files_errno_code(r->err);
    } else if (!r->err && r->n == 1 && f->written) {
        json_array_append_new(f->written, files_entry_json(&r->entries[0], r->entries[0].name));
    }
    if (--f->writes_left)
        return;
    if (f->error[0])
        rest_reply_error(f->rc, f->error_code, f->error, NULL);
    else
        rest_reply_json(f->rc, 200, json_pack("{s:O}", "files", f->written), NULL);
    fop_free(f);
}

/* Queues one write for f; 0, or -1 with err. */
static int write_one(struct fop *f, const char *path, const char *data, size_t len,
                     struct sb_error *err)
{
    char norm[4096];
    if (session_path(path, "/home/user", norm, sizeof norm, err) < 0)
        return -1;
    if (session_file_write(f->s, norm, data, len, on_written, f, err) < 0)
        return -1;
    f->writes_left++;
    return 0;
}

void rest_file_put(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    char path[4096];
    if (query_path(rc, "path", path, sizeof path) < 0)
        return;
    struct fop *f = fop_new(rc, s);
    if (!f)
        return;
    f->written = json_array();
    struct sb_error err;
    if (write_one(f, path, rc->req->body.data ? rc->req->body.data : "", rc->req->body.len,
                  &err) < 0) {
        rest_reply_error(rc, err.code, err.msg, NULL);
        fop_free(f);
    }
}

void rest_file_upload(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    char boundary[80];
    struct sb_error err;
    size_t max = rc->rest->svc->cfg->server.max_files, n = 0;
    struct mp_part *parts = calloc(max, sizeof *parts);
    if (!parts) {
        rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        return;
    }
    char dir[4096] = "/home/user";
    if (http_query_get(rc->req, "path", dir, sizeof dir) < 0) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "?path= is malformed", NULL);
        free(parts);
        return;
    }
    if (mp_boundary(http_header(rc->req, "content-type"), boundary, sizeof boundary, &err) < 0 ||
        mp_parse(rc->req->body.data ? rc->req->body.data : "", rc->req->body.len, boundary,
                 parts, max, &n, &err) < 0) {
        rest_reply_error(rc, err.code, err.msg, NULL);
        free(parts);
        return;
    }
    if (n == 0) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "the upload holds no files", NULL);
        free(parts);
        return;
    }
    struct fop *f = fop_new(rc, s);
    if (!f) {
        free(parts);
        return;
    }
    f->written = json_array();
    f->writes_left = 1; /* held until every write is queued */
    for (size_t i = 0; i < n; i++) {
        /* the file's name is its filename (a path) or, without one, the field name */
        const char *name = parts[i].filename[0] ? parts[i].filename : parts[i].name;
        char path[8400];
        if (name[0] == '/')
            snprintf(path, sizeof path, "%s", name);
        else
            snprintf(path, sizeof path, "%s/%s", dir, name);
        if (write_one(f, path, parts[i].data, parts[i].len, &err) < 0) {
            snprintf(f->error, sizeof f->error, "%s: %s", name, err.msg);
            f->error_code = err.code;
            break;
        }
    }
    free(parts);
    struct sbx_file_result none = {0};
    on_written(NULL, &none, f);
}

/* ---- list (with depth), stat ---- */

static void on_walked(struct files_walk *w, void *arg)
{
    struct fop *f = arg;
    if (w->error != SB_E_OK) {
        rest_reply_error(f->rc, w->error, w->message, NULL);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < w->n; i++)
            json_array_append_new(arr, files_entry_json(&w->entries[i], w->paths[i]));
        rest_reply_json(f->rc, 200, json_pack("{s:o}", "entries", arr), NULL);
    }
    files_walk_free(w);
    fop_free(f);
}

void rest_file_list(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    char path[4096], num[32];
    uint64_t depth = 1;
    if (http_query_get(rc->req, "path", path, sizeof path) == 0)
        snprintf(path, sizeof path, "/home/user");
    else if (query_path(rc, "path", path, sizeof path) < 0)
        return;
    if (http_query_u64(rc->req, "depth", num, sizeof num, 16, &depth) < 0 || depth == 0) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "depth must be 1 to 16", NULL);
        return;
    }
    struct fop *f = fop_new(rc, s);
    struct sb_error err;
    if (f && !files_walk(s, path, (unsigned)depth, LIST_MAX, on_walked, f, &err)) {
        rest_reply_error(rc, err.code, err.msg, NULL);
        fop_free(f);
    }
}

static void on_stat(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fop *f = arg;
    if (r->err || r->n != 1)
        reply_file_error(f->rc, r);
    else
        rest_reply_json(f->rc, 200, files_entry_json(&r->entries[0], f->path), NULL);
    fop_free(f);
}

/* ---- mkdir, move, remove ---- */

static void on_done(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct fop *f = arg;
    if (r->err) {
        reply_file_error(f->rc, r);
    } else if (r->n == 1) {
        rest_reply_json(f->rc, 200, files_entry_json(&r->entries[0], f->path), NULL);
    } else {
        rest_log(f->rc, 204);
        http_respond(f->rc->c, 204, NULL, NULL, 0, NULL);
    }
    fop_free(f);
}

enum fkind { F_STAT, F_MKDIR, F_REMOVE, F_MOVE };

static void simple(struct rest_call *rc, enum fkind kind)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    char path[4096], to[4096] = "";
    json_t *b = NULL;
    struct sb_error err;
    if (kind == F_STAT || kind == F_REMOVE) {
        if (query_path(rc, "path", path, sizeof path) < 0)
            return;
    } else {
        if (!(b = rest_json_body(rc)))
            return;
        const char *p = json_string_value(json_object_get(b, kind == F_MOVE ? "from" : "path"));
        const char *t = json_string_value(json_object_get(b, "to"));
        if (!p || (kind == F_MOVE && !t)) {
            rest_reply_error(rc, SB_E_INVALID_ARGUMENT, kind == F_MOVE
                             ? "from and to must be strings" : "path must be a string", NULL);
            json_decref(b);
            return;
        }
        if (session_path(p, "/home/user", path, sizeof path, &err) < 0 ||
            (t && session_path(t, "/home/user", to, sizeof to, &err) < 0)) {
            rest_reply_error(rc, err.code, err.msg, NULL);
            json_decref(b);
            return;
        }
        json_decref(b);
    }
    struct fop *f = fop_new(rc, s);
    if (!f)
        return;
    snprintf(f->path, sizeof f->path, "%s", kind == F_MOVE ? to : path);
    int r = kind == F_STAT    ? session_file_stat(s, path, on_stat, f, &err)
          : kind == F_MKDIR   ? session_file_mkdir(s, path, on_done, f, &err)
          : kind == F_REMOVE  ? session_file_remove(s, path, on_done, f, &err)
                              : session_file_move(s, path, to, on_done, f, &err);
    if (r < 0) {
        rest_reply_error(rc, err.code, err.msg, NULL);
        fop_free(f);
    }
}

void rest_file_stat(struct rest_call *rc)
{
    simple(rc, F_STAT);
}

void rest_file_mkdir(struct rest_call *rc)
{
    simple(rc, F_MKDIR);
}

void rest_file_move(struct rest_call *rc)
{
    simple(rc, F_MOVE);
}

void rest_file_remove(struct rest_call *rc)
{
    simple(rc, F_REMOVE);
}

/* ---- GET .../files/watch: Server-Sent Events ---- */

#define WATCH_KEEPALIVE_MS 15000

struct follow_dir {
    struct watch_watcher w;
    struct rest_call *rc;
    struct session_watch *sw;
    uv_timer_t keepalive;
};

static void sse(struct follow_dir *f, const char *type, json_t *data)
{
    rest_sse_send(f->rc->c, type, data);
}

static void follow_closed(uv_handle_t *h)
{
    struct follow_dir *f = h->data;
    free(f->rc);
    free(f);
}

static void follow_done(struct follow_dir *f)
{
    uv_timer_stop(&f->keepalive);
    uv_close((uv_handle_t *)&f->keepalive, follow_closed);
}

static void on_keepalive(uv_timer_t *t)
{
    struct follow_dir *f = t->data;
    http_stream_write(f->rc->c, ": keepalive\n\n", 14);
}

static void watch_ready(struct watch_watcher *w)
{
    struct follow_dir *f = w->arg;
    sse(f, "ready", json_object());
}

static void watch_event(struct watch_watcher *w, const char *type, const char *path, bool dir)
{
    struct follow_dir *f = w->arg;
    sse(f, type, json_pack("{s:s,s:s,s:b}", "type", type, "path", path, "dir", dir));
}

static void watch_end(struct watch_watcher *w, const char *why)
{
    struct follow_dir *f = w->arg;
    sse(f, "end", json_pack("{s:s}", "reason", why));
    rest_log(f->rc, 200);
    http_stream_end(f->rc->c);
    follow_done(f);
}

static void watch_abort(void *arg)
{
    struct follow_dir *f = arg;
    session_watch_stop(f->sw);
    rest_log(f->rc, 499);
    http_stream_end(f->rc->c);
    follow_done(f);
}

void rest_file_watch(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    char path[4096], rec[8] = "";
    if (http_query_get(rc->req, "path", path, sizeof path) == 0)
        snprintf(path, sizeof path, "/home/user");
    else if (query_path(rc, "path", path, sizeof path) < 0)
        return;
    if (http_query_get(rc->req, "recursive", rec, sizeof rec) < 0) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "recursive must be true or false", NULL);
        return;
    }
    struct follow_dir *f = calloc(1, sizeof *f);
    struct sb_error err;
    if (!f || !(f->rc = rest_call_keep(rc))) {
        free(f);
        return;
    }
    f->w = (struct watch_watcher){.ready = watch_ready, .event = watch_event, .end = watch_end,
                                  .arg = f};
    if (!(f->sw = session_watch_start(s, path, !strcmp(rec, "true") || !strcmp(rec, "1"),
                                      &f->w, &err))) {
        rest_reply_sb_error(rc, &err);
        free(f->rc);
        free(f);
        return;
    }
    uv_timer_init(s->svc->loop, &f->keepalive);
    f->keepalive.data = f;
    uv_timer_start(&f->keepalive, on_keepalive, WATCH_KEEPALIVE_MS, WATCH_KEEPALIVE_MS);
    http_stream_start(rc->c, 200, "text/event-stream", "Cache-Control: no-store\r\n");
    http_conn_on_abort(rc->c, watch_abort, f);
}
