/* SQLite store: one writer thread, operations applied in order, batched per transaction. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define SCHEMA_VERSION 1

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS executions ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " created_ms INTEGER NOT NULL, started_ms INTEGER, finished_ms INTEGER,"
    " state TEXT NOT NULL, status TEXT, mode TEXT NOT NULL, language TEXT NOT NULL,"
    " code_sha256 TEXT NOT NULL, request_id TEXT, key_id TEXT, client TEXT, limits TEXT,"
    " callback_url TEXT, callback_state TEXT, callback_attempts INTEGER DEFAULT 0,"
    " result TEXT);"
    "CREATE INDEX IF NOT EXISTS executions_state ON executions(state);"
    "CREATE TABLE IF NOT EXISTS audit ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, event TEXT NOT NULL,"
    " request_id TEXT, key_id TEXT, client TEXT, language TEXT, code_sha256 TEXT,"
    " limits TEXT, status TEXT, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts_ms);";

enum op_kind { OP_INSERT, OP_STARTED, OP_FINISHED, OP_CALLBACK, OP_AUDIT, OP_GET, OP_LIST };

#define OP_NSTR 10

struct op {
    enum op_kind kind;
    char *s[OP_NSTR];
    uint64_t u[2];
    store_cb cb;
    void *arg;
    int rc;
    struct sb_error err;
    json_t *data;
    struct op *next;
};

struct store {
    sqlite3 *db;
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct op *head, *tail;      /* pending, FIFO */
    struct op *done;             /* completed, for the loop (LIFO, reversed on drain) */
    bool stopping;
    int lock_fd;
    int audit_fd;
};

/* ---- helpers ---- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int exec_sql(sqlite3 *db, const char *sql, struct sb_error *err, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sb_fail(err, SB_E_INTERNAL, "store: %s: %s", what, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Runs a prepared-on-the-fly statement with text/int parameters. */

static int step_done(sqlite3 *db, sqlite3_stmt *st, struct sb_error *err, const char *what)
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

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, struct sb_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sb_fail(err, SB_E_INTERNAL, "store: prepare: %s", sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

/* ---- reading executions back as JSON ---- */

#define EXEC_COLUMNS                                                                   \
    "seq, id, created_ms, started_ms, finished_ms, state, status, mode, language, "    \
    "callback_url, callback_state, callback_attempts, result"

static void set_time(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return;
    char buf[40];
    util_iso_time((uint64_t)sqlite3_column_int64(st, col), buf, sizeof buf);
    json_object_set_new(o, key, json_string(buf));
}

static const char *col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : NULL;
}

/* The execution object: the result's fields (when done) plus its metadata. */
static json_t *row_to_json(sqlite3_stmt *st)
{
    const char *result = col_text(st, 12);
    json_t *o = result ? json_loads(result, 0, NULL) : NULL;
    if (!o || !json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    const char *state = col_text(st, 5), *status = col_text(st, 6);
    json_object_set_new(o, "id", json_string(col_text(st, 1)));
    json_object_set_new(o, "status", json_string(!strcmp(state, "done") && status ? status : state));
    json_object_set_new(o, "language", json_string(col_text(st, 8)));
    json_object_set_new(o, "mode", json_string(col_text(st, 7)));
    set_time(o, "created_at", st, 2);
    set_time(o, "started_at", st, 3);
    set_time(o, "finished_at", st, 4);
    if (col_text(st, 9)) {
        json_t *cb = json_object();
        json_object_set_new(cb, "url", json_string(col_text(st, 9)));
        json_object_set_new(cb, "state", json_string(col_text(st, 10) ? col_text(st, 10) : "pending"));
        json_object_set_new(cb, "attempts", json_integer(sqlite3_column_int(st, 11)));
        json_object_set_new(o, "callback", cb);
    }
    return o;
}

static int do_get(struct store *s, struct op *op)
{
    sqlite3_stmt *st = prepare(s->db, "SELECT " EXEC_COLUMNS " FROM executions WHERE id = ?",
                               &op->err);
    if (!st)
        return -1;
    bind_text(st, 1, op->s[0]);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        op->data = row_to_json(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sb_fail(&op->err, SB_E_INTERNAL, "store: get: %s", sqlite3_errmsg(s->db));
    return 0;
}

static int do_list(struct store *s, struct op *op)
{
    sqlite3_stmt *st = prepare(s->db, "SELECT " EXEC_COLUMNS " FROM executions WHERE seq < ? "
                               "ORDER BY seq DESC LIMIT ?", &op->err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)op->u[1]);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)op->u[0] + 1);
    json_t *arr = json_array();
    int rc;
    uint64_t last = 0, n = 0;
    bool more = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == op->u[0]) {
            more = true;
            break;
        }
        json_array_append_new(arr, row_to_json(st));
        last = (uint64_t)sqlite3_column_int64(st, 0);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(arr);
        return sb_fail(&op->err, SB_E_INTERNAL, "store: list: %s", sqlite3_errmsg(s->db));
    }
    json_t *o = json_object();
    json_object_set_new(o, "executions", arr);
    if (more) {
        char cur[32];
        snprintf(cur, sizeof cur, "%llu", (unsigned long long)last);
        json_object_set_new(o, "next_cursor", json_string(cur));
    } else {
        json_object_set_new(o, "next_cursor", json_null());
    }
    op->data = o;
    return 0;
}

/* ---- writes ---- */

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

static int do_write(struct store *s, struct op *op)
{
    static const char *const sql[] = {
        [OP_INSERT] = "INSERT INTO executions(id, created_ms, state, mode, language, "
                      "code_sha256, request_id, key_id, client, limits, callback_url, "
                      "callback_state) VALUES(?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, "
                      "CASE WHEN ? IS NULL THEN NULL ELSE 'pending' END)",
        [OP_STARTED] = "UPDATE executions SET state = 'running', started_ms = ? WHERE id = ?",
        [OP_FINISHED] = "UPDATE executions SET state = 'done', finished_ms = ?, status = ?, "
                        "result = ? WHERE id = ?",
        [OP_CALLBACK] = "UPDATE executions SET callback_state = ?, callback_attempts = ? "
                        "WHERE id = ?",
        [OP_AUDIT] = "INSERT INTO audit(ts_ms, event, request_id, key_id, client, language, "
                     "code_sha256, limits, status, detail) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    };
    sqlite3_stmt *st = prepare(s->db, sql[op->kind], &op->err);
    if (!st)
        return -1;
    switch (op->kind) {
    case OP_INSERT:
        bind_text(st, 1, op->s[0]);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)op->u[0]);
        for (int i = 1; i <= 8; i++)
            bind_text(st, i + 2, op->s[i]);
        bind_text(st, 11, op->s[8]);
        break;
    case OP_STARTED:
        sqlite3_bind_int64(st, 1, (sqlite3_int64)op->u[0]);
        bind_text(st, 2, op->s[0]);
        break;
    case OP_FINISHED:
        sqlite3_bind_int64(st, 1, (sqlite3_int64)op->u[0]);
        bind_text(st, 2, op->s[1]);
        bind_text(st, 3, op->s[2]);
        bind_text(st, 4, op->s[0]);
        break;
    case OP_CALLBACK:
        bind_text(st, 1, op->s[1]);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)op->u[0]);
        bind_text(st, 3, op->s[0]);
        break;
    case OP_AUDIT:
        sqlite3_bind_int64(st, 1, (sqlite3_int64)op->u[0]);
        for (int i = 0; i < 9; i++)
            bind_text(st, i + 2, op->s[i]);
        audit_line(s, op);
        break;
    default:
        break;
    }
    return step_done(s->db, st, &op->err, "write");
}

/* ---- the thread ---- */

static void run_op(struct store *s, struct op *op)
{
    switch (op->kind) {
    case OP_GET:  op->rc = do_get(s, op); break;
    case OP_LIST: op->rc = do_list(s, op); break;
    default:      op->rc = do_write(s, op); break;
    }
    if (op->rc < 0 && op->kind != OP_GET && op->kind != OP_LIST)
        log_msg(LOG_ERROR, "%s", op->err.msg);
}

static void finish_batch(struct store *s, struct op *batch)
{
    pthread_mutex_lock(&s->mu);
    while (batch) {
        struct op *next = batch->next;
        batch->next = s->done;
        s->done = batch;
        batch = next;
    }
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->async);
}

static void store_thread(void *arg)
{
    struct store *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        struct op *batch = s->head;
        s->head = s->tail = NULL;
        bool stop = s->stopping && !batch;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return;
        /* Group commit: everything queued so far in one transaction. */
        struct sb_error err;
        bool tx = exec_sql(s->db, "BEGIN IMMEDIATE", &err, "begin") == 0;
        for (struct op *op = batch; op; op = op->next)
            run_op(s, op);
        if (tx && exec_sql(s->db, "COMMIT", &err, "commit") < 0) {
            log_msg(LOG_ERROR, "%s", err.msg);
            exec_sql(s->db, "ROLLBACK", &err, "rollback");
            for (struct op *op = batch; op; op = op->next)
                if (op->kind != OP_GET && op->kind != OP_LIST && op->rc == 0)
                    op->rc = sb_fail(&op->err, SB_E_UNAVAILABLE, "store: commit failed: %s",
                                     sqlite3_errmsg(s->db));
        } else if (!tx) {
            for (struct op *op = batch; op; op = op->next)
                if (op->rc == 0 && op->kind != OP_GET && op->kind != OP_LIST)
                    op->rc = sb_fail(&op->err, SB_E_UNAVAILABLE, "%s", err.msg);
        }
        finish_batch(s, batch);
    }
}

static void free_op(struct op *op)
{
    for (int i = 0; i < OP_NSTR; i++)
        free(op->s[i]);
    json_decref(op->data);
    free(op);
}

static void on_async(uv_async_t *a)
{
    struct store *s = a->data;
    pthread_mutex_lock(&s->mu);
    struct op *list = s->done;
    s->done = NULL;
    pthread_mutex_unlock(&s->mu);
    /* Reverse into completion order. */
    struct op *ordered = NULL;
    while (list) {
        struct op *next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    while (ordered) {
        struct op *next = ordered->next;
        if (ordered->cb) {
            json_t *d = ordered->data;
            ordered->data = NULL;
            ordered->cb(ordered->arg, ordered->rc, &ordered->err, d);
        }
        free_op(ordered);
        ordered = next;
    }
}

static void submit(struct store *s, struct op *op)
{
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static struct op *new_op(enum op_kind kind, store_cb cb, void *arg)
{
    struct op *op = calloc(1, sizeof *op);
    if (!op) {
        log_msg(LOG_ERROR, "store: out of memory");
        return NULL;
    }
    op->kind = kind;
    op->cb = cb;
    op->arg = arg;
    return op;
}

/* Out of memory before queueing: report it the same way, from the loop. */
static void fail_now(store_cb cb, void *arg)
{
    if (cb) {
        struct sb_error err;
        sb_fail(&err, SB_E_INTERNAL, "store: out of memory");
        cb(arg, -1, &err, NULL);
    }
}

/* ---- public operations ---- */

void store_exec_insert(struct store *s, const struct exec_record *r, store_cb cb, void *arg)
{
    struct op *op = new_op(OP_INSERT, cb, arg);
    if (!op)
        return fail_now(cb, arg);
    const char *v[] = {r->id, r->mode, r->language, r->code_sha256, r->request_id, r->key_id,
                       r->client, r->limits_json, r->callback_url};
    for (int i = 0; i < 9; i++)
        op->s[i] = dup_or_null(v[i]);
    op->u[0] = r->created_ms;
    submit(s, op);
}

void store_exec_started(struct store *s, const char *id, uint64_t ms)
{
    struct op *op = new_op(OP_STARTED, NULL, NULL);
    if (!op)
        return;
    op->s[0] = strdup(id);
    op->u[0] = ms;
    submit(s, op);
}

void store_exec_finished(struct store *s, const char *id, uint64_t ms, const char *status,
                         json_t *result)
{
    struct op *op = new_op(OP_FINISHED, NULL, NULL);
    if (!op)
        return;
    op->s[0] = strdup(id);
    op->s[1] = strdup(status);
    op->s[2] = json_dumps(result, JSON_COMPACT | JSON_PRESERVE_ORDER);
    op->u[0] = ms;
    submit(s, op);
}

void store_callback_state(struct store *s, const char *id, const char *state, int attempts)
{
    struct op *op = new_op(OP_CALLBACK, NULL, NULL);
    if (!op)
        return;
    op->s[0] = strdup(id);
    op->s[1] = strdup(state);
    op->u[0] = (uint64_t)attempts;
    submit(s, op);
}

void store_audit(struct store *s, const struct audit_record *r)
{
    struct op *op = new_op(OP_AUDIT, NULL, NULL);
    if (!op)
        return;
    const char *v[] = {r->event, r->request_id, r->key_id, r->client, r->language,
                       r->code_sha256, r->limits_json, r->status, r->detail};
    for (int i = 0; i < 9; i++)
        op->s[i] = dup_or_null(v[i]);
    op->u[0] = r->ts_ms;
    submit(s, op);
}

void store_exec_get(struct store *s, const char *id, store_cb cb, void *arg)
{
    struct op *op = new_op(OP_GET, cb, arg);
    if (!op)
        return fail_now(cb, arg);
    op->s[0] = strdup(id);
    submit(s, op);
}

void store_exec_list(struct store *s, unsigned limit, uint64_t before_seq, store_cb cb, void *arg)
{
    struct op *op = new_op(OP_LIST, cb, arg);
    if (!op)
        return fail_now(cb, arg);
    op->u[0] = limit;
    op->u[1] = before_seq ? before_seq : (uint64_t)INT64_MAX;
    submit(s, op);
}

/* ---- opening, recovery, closing ---- */

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

static int migrate(sqlite3 *db, const char *dir, struct sb_error *err)
{
    char sql[128];
    if (exec_sql(db, "PRAGMA journal_mode = WAL", err, "journal_mode") < 0 ||
        exec_sql(db, "PRAGMA synchronous = NORMAL", err, "synchronous") < 0 ||
        exec_sql(db, schema, err, "schema") < 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return sb_fail(err, SB_E_INTERNAL, "%s/soulbox.db: %s", dir, why);
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
    return exec_sql(db, sql, err, "user_version");
}

/* A server that died leaves executions queued or running: they will never
 * finish, so they end as internal_error, with a reason, not vanish. */
static int recover(sqlite3 *db, int *count, struct sb_error *err)
{
    sqlite3_stmt *st = prepare(db,
        "UPDATE executions SET state = 'done', status = 'internal_error', finished_ms = ?, "
        "result = json_object('status', 'internal_error', 'message', "
        "'the server stopped while this execution was ' || state, 'stdout', '', 'stderr', '', "
        "'exit_code', NULL, 'signal', NULL) WHERE state IN ('queued', 'running')", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)util_now_ms());
    if (step_done(db, st, err, "recover") < 0)
        return -1;
    *count = sqlite3_changes(db);
    return 0;
}

int store_open(struct store **out, uv_loop_t *loop, const char *data_dir,
               const char *audit_log, int *recovered, struct sb_error *err)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    s->lock_fd = s->audit_fd = -1;
    if (make_data_dir(data_dir, err) < 0 || (s->lock_fd = lock_data_dir(data_dir, err)) < 0)
        goto fail;
    if (open_db(data_dir, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s->db, err) < 0 ||
        migrate(s->db, data_dir, err) < 0 || recover(s->db, recovered, err) < 0)
        goto fail;
    if (audit_log && *audit_log) {
        s->audit_fd = open(audit_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (s->audit_fd < 0) {
            sb_fail_errno(err, SB_E_INTERNAL, errno, "open audit log %s", audit_log);
            goto fail;
        }
    }
    s->loop = loop;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    uv_async_init(loop, &s->async, on_async);
    s->async.data = s;
    if (uv_thread_create(&s->thread, store_thread, s) != 0) {
        sb_fail(err, SB_E_INTERNAL, "store: cannot start its thread");
        uv_close((uv_handle_t *)&s->async, NULL);
        goto fail;
    }
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
    sqlite3_close(s->db);
    close(s->lock_fd);
    if (s->audit_fd >= 0)
        close(s->audit_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    uv_close((uv_handle_t *)&s->async, free_store);
}

json_t *store_read_audit(const char *data_dir, uint64_t since_ms, struct sb_error *err)
{
    sqlite3 *db = NULL;
    if (open_db(data_dir, SQLITE_OPEN_READONLY, &db, err) < 0)
        return NULL;
    sqlite3_stmt *st = prepare(db, "SELECT ts_ms, event, request_id, key_id, client, language, "
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
