/* The store: one thread, operations applied in order, batched per transaction, in SQLite or (cluster mode) PostgreSQL. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store_internal.h"
#include "store/store_pg.h"

/* Writes kept for a database that went away are tried again this often, and
 * given up this long after the server began to stop. */
#define RETRY_MS 200
#define STOP_RETRY_MS 5000

struct store {
    sqlite3 *db;
    struct store_pg *pg;         /* instead of db in cluster mode */
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct list_node pending;    /* queued, FIFO */
    struct list_node done;       /* completed, for the loop, in order */
    bool stopping;
    int lock_fd;
    int audit_fd;
    uint64_t errors;             /* operations that failed (loop thread) */
};

/* ---- sqlite helpers ---- */

void store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

int store_sql(sqlite3 *db, const char *sql, struct sb_error *err, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sb_fail(err, SB_E_INTERNAL, "store: %s: %s", what, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int store_step_done(sqlite3 *db, sqlite3_stmt *st, struct sb_error *err, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        sb_fail(err, SB_E_INTERNAL, "store: %s: %s", what, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

sqlite3_stmt *store_prepare(sqlite3 *db, const char *sql, struct sb_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sb_fail(err, SB_E_INTERNAL, "store: prepare: %s", sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- audit ---- */

static void audit_line(struct store *s, struct op *op)
{
    if (s->audit_fd < 0)
        return;
    static const char *const keys[] = {"event", "request_id", "key_id", "client", "language",
                                       "code_sha256", "limits", "status", "detail"};
    json_t *o = json_object();
    char ts[40];
    util_iso_time(op->u[0], ts, sizeof ts);
    json_object_set_new(o, "ts", json_string(ts));
    for (int i = 0; i < 9; i++) {
        if (!op->s[i])
            continue;
        json_t *v = i == 6 ? json_loads(op->s[i], 0, NULL) : NULL;
        json_object_set_new(o, keys[i], v ? v : json_string(op->s[i]));
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (line) {
        size_t n = strlen(line);
        line[n] = '\n';
        if (write(s->audit_fd, line, n + 1) < 0)
            log_msg(LOG_ERROR, "audit log write: %s", strerror(errno));
        free(line);
    }
}

static int do_audit(struct store *s, struct op *op)
{
    sqlite3_stmt *st = store_prepare(s->db, "INSERT INTO audit(ts_ms, event, request_id, key_id, "
                                     "client, language, code_sha256, limits, status, detail) "
                                     "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &op->err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)op->u[0]);
    for (int i = 0; i < 9; i++)
        store_bind_text(st, i + 2, op->s[i]);
    audit_line(s, op);
    return store_step_done(s->db, st, &op->err, "audit");
}

/* ---- the thread ---- */

static bool is_read(const struct op *op)
{
    return op->kind == OP_GET || op->kind == OP_LIST || op->kind == OP_FN_LOAD ||
           op->kind == OP_AUDIT_LIST || op->kind == OP_SHARE_GET ||
           op->kind == OP_J0_GET || op->kind == OP_J0_LIST;
}

/* A conflict is the caller's news (a stale generation), not the store failing. */
static bool failed(const struct op *op)
{
    return op->rc < 0 && op->err.code != SB_E_CONFLICT;
}

static void run_op(struct store *s, struct op *op)
{
    if (op->kind == OP_AUDIT)
        op->rc = do_audit(s, op);
    else if (op_is_fn(op->kind))
        op->rc = store_run_fn_op(s->db, op);
    else if (op_is_share(op->kind))
        op->rc = store_run_share_op(s->db, op);
    else if (op_is_judge0(op->kind))
        op->rc = store_run_judge0_op(s->db, op);
    else
        op->rc = store_run_exec_op(s->db, op);
    if (failed(op) && !is_read(op))
        log_msg(LOG_ERROR, "%s", op->err.msg);
}

static void audit_lines(struct store *s, struct list_node *batch)
{
    struct list_node *pos;
    list_foreach(pos, batch) {
        struct op *op = list_entry(pos, struct op, node);
        if (op->kind == OP_AUDIT && !op->u[1]) {
            audit_line(s, op);
            op->u[1] = 1;            /* once, however often the database is tried */
        }
    }
}

/* Group commit: everything queued so far in one transaction. Returns 1 when
 * writes wait in `retry` for a database that went away. */
static int run_batch(struct store *s, struct list_node *batch, struct list_node *retry)
{
    if (s->pg) {
        audit_lines(s, batch);
        return store_pg_batch(s->pg, batch, retry);
    }
    struct sb_error err;
    struct list_node *pos;
    bool tx = store_sql(s->db, "BEGIN IMMEDIATE", &err, "begin") == 0;
    list_foreach(pos, batch)
        run_op(s, list_entry(pos, struct op, node));
    if (tx && store_sql(s->db, "COMMIT", &err, "commit") < 0) {
        log_msg(LOG_ERROR, "%s", err.msg);
        store_sql(s->db, "ROLLBACK", &err, "rollback");
        list_foreach(pos, batch) {
            struct op *op = list_entry(pos, struct op, node);
            if (!is_read(op) && op->rc == 0)
                op->rc = sb_fail(&op->err, SB_E_UNAVAILABLE, "store: commit failed: %s",
                                 sqlite3_errmsg(s->db));
        }
    } else if (!tx) {
        list_foreach(pos, batch) {
            struct op *op = list_entry(pos, struct op, node);
            if (op->rc == 0 && !is_read(op))
                op->rc = sb_fail(&op->err, SB_E_UNAVAILABLE, "%s", err.msg);
        }
    }
    return 0;
}

/* Writes kept through an outage go first next time; a server stopping
 * with the database still away gives them up after STOP_RETRY_MS. */
static void keep_for_retry(struct store *s, struct list_node *retry, uint64_t *stop_since)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopping && !*stop_since)
        *stop_since = util_mono_ns() / 1000000u;
    bool give_up = s->stopping && util_mono_ns() / 1000000u - *stop_since > STOP_RETRY_MS;
    if (give_up) {
        struct list_node *pos;
        size_t n = 0;
        list_foreach(pos, retry) {
            struct op *op = list_entry(pos, struct op, node);
            op->rc = sb_fail(&op->err, SB_E_UNAVAILABLE, "the database stayed unreachable");
            n++;
        }
        log_msg(LOG_ERROR, "store: %zu writes not recorded: the database stayed unreachable "
                "while the server stopped", n);
        list_splice_tail(&s->done, retry);
    } else {
        list_splice_tail(retry, &s->pending);   /* retried first, then the newer ones */
        list_splice_tail(&s->pending, retry);
    }
    pthread_mutex_unlock(&s->mu);
    if (!give_up)
        usleep(RETRY_MS * 1000);
}

static void store_thread(void *arg)
{
    struct store *s = arg;
    uint64_t stop_since = 0;
    for (;;) {
        struct list_node batch, retry;
        list_init(&batch);
        list_init(&retry);
        pthread_mutex_lock(&s->mu);
        while (list_empty(&s->pending) && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        list_splice_tail(&batch, &s->pending);
        bool stop = s->stopping && list_empty(&batch);
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return;
        run_batch(s, &batch, &retry);
        pthread_mutex_lock(&s->mu);
        list_splice_tail(&s->done, &batch);
        pthread_mutex_unlock(&s->mu);
        uv_async_send(&s->async);
        if (!list_empty(&retry)) {
            keep_for_retry(s, &retry, &stop_since);
            uv_async_send(&s->async);
        }
    }
}

void store_op_drop_rows(struct op *op)
{
    for (size_t i = 0; i < op->nrows; i++)
        exec_row_free(&op->rows[i]);
    free(op->rows);
    op->rows = NULL, op->nrows = 0, op->next_cursor = 0;
    for (size_t i = 0; i < op->nfns; i++)
        fn_row_free(&op->fns[i]);
    free(op->fns);
    op->fns = NULL, op->nfns = 0;
    for (size_t i = 0; i < op->naudit; i++)
        audit_row_free(&op->audit[i]);
    free(op->audit);
    op->audit = NULL, op->naudit = 0;
    if (op->share)
        share_row_free(op->share);
    free(op->share);
    op->share = NULL;
    for (size_t i = 0; i < op->ndocs; i++)
        share_row_free(&op->docs[i]);
    free(op->docs);
    op->docs = NULL, op->ndocs = 0;
}

static void free_op(struct op *op)
{
    for (int i = 0; i < OP_NSTR; i++)
        free(op->s[i]);
    if (op->has_result)
        job_result_free(&op->result);
    store_op_drop_rows(op);
    free(op);
}

static void complete(struct op *op)
{
    switch (op->kind) {
    case OP_GET:
        if (op->cb.row) {
            struct exec_row *row = op->nrows ? op->rows : NULL;
            op->cb.row(op->arg, op->rc, &op->err, row);
            if (row)
                op->rows = NULL, op->nrows = 0; /* the callee's now */
        }
        break;
    case OP_SESSION_WHERE:
        op->cb.place(op->arg, op->rc, &op->err, &op->place);
        break;
    case OP_FN_LOAD:
        if (op->cb.fn) {
            bool ok = op->rc >= 0;   /* rows of a failed read are freed here */
            op->cb.fn(op->arg, op->rc, &op->err, ok ? op->fns : NULL, ok ? op->nfns : 0);
            if (ok)
                op->fns = NULL, op->nfns = 0;   /* the callee's now */
        }
        break;
    case OP_AUDIT_LIST:
        if (op->cb.audit) {
            bool ok = op->rc >= 0;
            op->cb.audit(op->arg, op->rc, &op->err, ok ? op->audit : NULL, ok ? op->naudit : 0,
                         ok ? op->next_cursor : 0);
            if (ok)
                op->audit = NULL, op->naudit = 0;   /* the callee's now */
        }
        break;
    case OP_SHARE_GET:
    case OP_J0_GET:
        if (op->cb.share) {
            struct share_row *row = op->rc >= 0 ? op->share : NULL;
            op->cb.share(op->arg, op->rc, &op->err, row);
            if (row)
                op->share = NULL;                   /* the callee's now */
        }
        break;
    case OP_J0_LIST:
        if (op->cb.j0_list) {
            bool ok = op->rc >= 0;
            op->cb.j0_list(op->arg, op->rc, &op->err, ok ? op->docs : NULL, ok ? op->ndocs : 0,
                           ok ? op->next_cursor : 0);
            if (ok)
                op->docs = NULL, op->ndocs = 0;   /* the callee's now */
        }
        break;
    case OP_LIST:
        if (op->cb.list) {
            op->cb.list(op->arg, op->rc, &op->err, op->rows, op->nrows, op->next_cursor);
            op->rows = NULL, op->nrows = 0;
        }
        break;
    default:
        if (op->cb.done)
            op->cb.done(op->arg, op->rc, &op->err);
        break;
    }
    free_op(op);
}

static void on_async(uv_async_t *a)
{
    struct store *s = a->data;
    struct list_node list, *pos, *tmp;
    list_init(&list);
    pthread_mutex_lock(&s->mu);
    list_splice_tail(&list, &s->done);
    pthread_mutex_unlock(&s->mu);
    list_foreach_safe(pos, tmp, &list) {
        list_remove(pos);
        struct op *op = list_entry(pos, struct op, node);
        s->errors += failed(op);
        complete(op);
    }
}

uint64_t store_errors(const struct store *s)
{
    return s ? s->errors : 0;
}

void store_op_submit(struct store *s, struct op *op)
{
    pthread_mutex_lock(&s->mu);
    list_insert_tail(&s->pending, &op->node);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

struct op *store_op_new(enum op_kind kind, void *arg)
{
    struct op *op = calloc(1, sizeof *op);
    if (!op) {
        log_msg(LOG_ERROR, "store: out of memory");
        return NULL;
    }
    op->kind = kind;
    op->arg = arg;
    list_init(&op->node);
    return op;
}

/* Out of memory before queueing: reported the same way, on the loop (the
 * callers are on it). */
static struct sb_error oom_error(void)
{
    struct sb_error err;
    sb_fail(&err, SB_E_INTERNAL, "store: out of memory");
    return err;
}

/* ---- public operations ---- */

void store_exec_insert(struct store *s, const struct exec_record *r, store_done_cb cb, void *arg)
{
    struct op *op = store_op_new(OP_INSERT, arg);
    const char *v[] = {r->id, r->mode, r->language, r->code_sha256, r->request_id, r->key_id,
                       r->client, r->limits_json, r->callback_url, r->request_json, r->node};
    if (op) {
        op->cb.done = cb;
        for (int i = 0; i < 11; i++)
            op->s[i] = dup_or_null(v[i]);
        op->u[0] = r->created_ms;
        op->u[1] = r->started_ms;
        store_op_submit(s, op);
    } else if (cb) {
        struct sb_error err = oom_error();
        cb(arg, -1, &err);
    }
}

void store_exec_started(struct store *s, const char *id, uint64_t ms)
{
    struct op *op = store_op_new(OP_STARTED, NULL);
    if (!op)
        return;
    op->s[0] = strdup(id);
    op->u[0] = ms;
    store_op_submit(s, op);
}

void store_exec_start_owned(struct store *s, const char *id, uint64_t ms, store_done_cb cb,
                            void *arg)
{
    struct op *op = store_op_new(s->pg ? OP_START_OWNED : OP_STARTED, arg);
    if (!op) {
        struct sb_error err = oom_error();
        cb(arg, -1, &err);
        return;
    }
    op->cb.done = cb;
    op->s[0] = strdup(id);
    op->u[0] = ms;
    store_op_submit(s, op);
}

void store_session_add(struct store *s, const char *id, const char *node, const char *key_id,
                       uint64_t created_ms)
{
    struct op *op = s->pg ? store_op_new(OP_SESSION_ADD, NULL) : NULL;
    if (!op)
        return;
    op->s[0] = strdup(id);
    op->s[1] = strdup(node);
    op->s[2] = dup_or_null(key_id);
    op->u[0] = created_ms;
    store_op_submit(s, op);
}

void store_session_end(struct store *s, const char *id, const char *reason)
{
    struct op *op = s->pg ? store_op_new(OP_SESSION_END, NULL) : NULL;
    if (!op)
        return;
    op->s[0] = strdup(id);
    op->s[1] = strdup(reason ? reason : "");
    store_op_submit(s, op);
}

void store_session_where(struct store *s, const char *id, store_place_cb cb, void *arg)
{
    struct op *op = s->pg ? store_op_new(OP_SESSION_WHERE, arg) : NULL;
    if (!op) {
        struct session_place none = {0};
        cb(arg, 0, NULL, &none);   /* SQLite: sessions are this node's alone */
        return;
    }
    op->cb.place = cb;
    op->s[0] = strdup(id);
    store_op_submit(s, op);
}

bool store_is_shared(const struct store *s)
{
    return s && s->pg;
}

void store_exec_finished(struct store *s, const char *id, uint64_t ms,
                         const struct job_result *result)
{
    struct op *op = store_op_new(OP_FINISHED, NULL);
    if (!op)
        return;
    op->s[0] = strdup(id);
    op->u[0] = ms;
    if (job_result_copy(&op->result, result) < 0) {
        /* Keep what can be kept: the verdict, not the output. */
        op->result = (struct job_result){.failed = result->failed, .error = result->error,
                                         .status = result->status};
        job_result_note(&op->result, "the result was too large to record");
    }
    op->has_result = true;
    store_op_submit(s, op);
}

void store_callback_state(struct store *s, const char *id, const char *state, int attempts)
{
    struct op *op = store_op_new(OP_CALLBACK, NULL);
    if (!op)
        return;
    op->s[0] = strdup(id);
    op->s[1] = strdup(state);
    op->u[0] = (uint64_t)attempts;
    store_op_submit(s, op);
}

void store_audit(struct store *s, const struct audit_record *r)
{
    struct op *op = store_op_new(OP_AUDIT, NULL);
    if (!op)
        return;
    const char *v[] = {r->event, r->request_id, r->key_id, r->client, r->language,
                       r->code_sha256, r->limits_json, r->status, r->detail};
    for (int i = 0; i < 9; i++)
        op->s[i] = dup_or_null(v[i]);
    op->u[0] = r->ts_ms;
    store_op_submit(s, op);
}

void store_exec_get(struct store *s, const char *id, const struct store_scope *scope,
                    store_row_cb cb, void *arg)
{
    struct op *op = store_op_new(OP_GET, arg);
    if (!op) {
        struct sb_error err = oom_error();
        cb(arg, -1, &err, NULL);
        return;
    }
    op->cb.row = cb;
    op->s[0] = strdup(id);
    op->s[1] = dup_or_null(scope->key_id);
    op->scope_all = scope->all;
    store_op_submit(s, op);
}

void store_exec_list(struct store *s, unsigned limit, uint64_t before_seq,
                     const struct store_scope *scope, store_list_cb cb, void *arg)
{
    struct op *op = store_op_new(OP_LIST, arg);
    if (!op) {
        struct sb_error err = oom_error();
        cb(arg, -1, &err, NULL, 0, 0);
        return;
    }
    op->cb.list = cb;
    op->u[0] = limit;
    op->u[1] = before_seq ? before_seq : (uint64_t)INT64_MAX;
    op->s[1] = dup_or_null(scope->key_id);
    op->scope_all = scope->all;
    store_op_submit(s, op);
}

/* ---- opening, closing ---- */

static int make_data_dir(const char *dir, struct sb_error *err)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return sb_fail_errno(err, SB_E_INTERNAL, errno, "mkdir %s", tmp);
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "mkdir %s", tmp);
    return 0;
}

static int lock_data_dir(const char *dir, struct sb_error *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/soulbox.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "open %s", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return sb_fail(err, SB_E_INTERNAL, "data dir %s is in use by another soulbox server",
                           dir);
        return sb_fail_errno(err, SB_E_INTERNAL, e, "flock %s", path);
    }
    return fd;
}

static int open_db(const char *dir, int flags, sqlite3 **db, struct sb_error *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/soulbox.db", dir);
    if (sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sb_fail(err, SB_E_INTERNAL, "open %s: %s", path, *db ? sqlite3_errmsg(*db) : "no memory");
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(*db, 5000);
    return 0;
}

static int start_thread(struct store *s, uv_loop_t *loop, struct sb_error *err)
{
    s->loop = loop;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    uv_async_init(loop, &s->async, on_async);
    s->async.data = s;
    if (uv_thread_create(&s->thread, store_thread, s) != 0) {
        uv_close((uv_handle_t *)&s->async, NULL);
        return sb_fail(err, SB_E_INTERNAL, "store: cannot start its thread");
    }
    return 0;
}

int store_open(struct store **out, uv_loop_t *loop, const char *data_dir,
               const char *audit_log, int *recovered, struct sb_error *err)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    s->lock_fd = s->audit_fd = -1;
    list_init(&s->pending);
    list_init(&s->done);
    if (make_data_dir(data_dir, err) < 0 || (s->lock_fd = lock_data_dir(data_dir, err)) < 0)
        goto fail;
    if (open_db(data_dir, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s->db, err) < 0 ||
        store_schema(s->db, data_dir, err) < 0 || store_recover(s->db, recovered, err) < 0)
        goto fail;
    if (audit_log && *audit_log) {
        s->audit_fd = open(audit_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (s->audit_fd < 0) {
            sb_fail_errno(err, SB_E_INTERNAL, errno, "open audit log %s", audit_log);
            goto fail;
        }
    }
    if (start_thread(s, loop, err) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    if (s->db)
        sqlite3_close(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->audit_fd >= 0)
        close(s->audit_fd);
    free(s);
    return -1;
}

int store_open_pg(struct store **out, uv_loop_t *loop, const char *url, const char *node,
                  const char *audit_log, struct sb_error *err)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    s->lock_fd = s->audit_fd = -1;
    list_init(&s->pending);
    list_init(&s->done);
    if (store_pg_open(&s->pg, url, node, err) < 0)
        goto fail;
    if (audit_log && *audit_log &&
        (s->audit_fd = open(audit_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        sb_fail_errno(err, SB_E_INTERNAL, errno, "open audit log %s", audit_log);
        goto fail;
    }
    if (start_thread(s, loop, err) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    store_pg_close(s->pg);
    if (s->audit_fd >= 0)
        close(s->audit_fd);
    free(s);
    return -1;
}

static void free_store(uv_handle_t *h)
{
    free(h->data);
}

void store_close(struct store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    uv_thread_join(&s->thread);
    on_async(&s->async); /* deliver the last completions */
    if (s->db)
        sqlite3_close(s->db);
    store_pg_close(s->pg);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->audit_fd >= 0)
        close(s->audit_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    uv_close((uv_handle_t *)&s->async, free_store);
}

static const char *col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : NULL;
}

json_t *store_read_audit(const char *data_dir, uint64_t since_ms, struct sb_error *err)
{
    sqlite3 *db = NULL;
    if (open_db(data_dir, SQLITE_OPEN_READONLY, &db, err) < 0)
        return NULL;
    sqlite3_stmt *st = store_prepare(db, "SELECT ts_ms, event, request_id, key_id, client, language, "
                               "code_sha256, limits, status, detail FROM audit "
                               "WHERE ts_ms >= ? ORDER BY seq", err);
    if (!st) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)since_ms);
    static const char *const keys[] = {"ts", "event", "request_id", "key_id", "client",
                                       "language", "code_sha256", "limits", "status", "detail"};
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        char ts[40];
        util_iso_time((uint64_t)sqlite3_column_int64(st, 0), ts, sizeof ts);
        json_object_set_new(o, "ts", json_string(ts));
        for (int i = 1; i < 10; i++) {
            const char *v = col_text(st, i);
            json_t *j = v && i == 7 ? json_loads(v, 0, NULL) : NULL;
            json_object_set_new(o, keys[i], j ? j : v ? json_string(v) : json_null());
        }
        json_array_append_new(arr, o);
    }
    if (rc != SQLITE_DONE) {
        sb_fail(err, SB_E_INTERNAL, "read audit: %s", sqlite3_errmsg(db));
        json_decref(arr);
        arr = NULL;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return arr;
}
