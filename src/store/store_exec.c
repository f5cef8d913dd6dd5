/* Executions in the store: typed results as columns and stage rows (stdout and stderr as bytes), read back typed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

/* Stage rows: the run, the compile stage, or a test case (idx). */
enum { STAGE_RUN = 0, STAGE_COMPILE = 1, STAGE_CASE = 2 };

void exec_row_free(struct exec_row *r)
{
    free(r->callback_url);
    r->callback_url = NULL;
    if (r->has_result)
        job_result_free(&r->result);
    r->has_result = false;
}

static void copy_text(char *dst, size_t len, const unsigned char *src)
{
    snprintf(dst, len, "%s", src ? (const char *)src : "");
}

/* ---- writing ---- */

static int write_stage(sqlite3 *db, int64_t seq, int kind, int idx, const struct stage_result *st,
                       const struct case_result *c, struct sb_error *err)
{
    sqlite3_stmt *q = store_prepare(db,
        "INSERT INTO stages(exec_seq, kind, idx, status, cause, message, seccomp_call, exited, "
        "exit_code, signal, wall_ms, cpu_ms, memory_kb, truncated, warm, judged, accepted, "
        "stdout, stderr, net_sent, net_received, net_connections, net_refused) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", err);
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_int(q, 2, kind);
    sqlite3_bind_int(q, 3, idx);
    store_bind_text(q, 4, sb_status_name(st->status));
    store_bind_text(q, 5, sbx_cause_name(st->cause));
    store_bind_text(q, 6, st->message);
    store_bind_text(q, 7, st->seccomp_call[0] ? st->seccomp_call : NULL);
    sqlite3_bind_int(q, 8, st->exited);
    sqlite3_bind_int(q, 9, st->exit_code);
    sqlite3_bind_int(q, 10, st->signal);
    sqlite3_bind_int64(q, 11, (sqlite3_int64)st->wall_ms);
    sqlite3_bind_int64(q, 12, (sqlite3_int64)st->cpu_ms);
    sqlite3_bind_int64(q, 13, (sqlite3_int64)st->memory_kb);
    sqlite3_bind_int(q, 14, st->truncated);
    sqlite3_bind_int(q, 15, st->warm);
    sqlite3_bind_int(q, 16, c && c->judged);
    sqlite3_bind_int(q, 17, c && c->accepted);
    sqlite3_bind_blob(q, 18, st->out.data ? st->out.data : "", (int)st->out.len, SQLITE_STATIC);
    sqlite3_bind_blob(q, 19, st->err.data ? st->err.data : "", (int)st->err.len, SQLITE_STATIC);
    if (st->net_enabled) {
        sqlite3_bind_int64(q, 20, (sqlite3_int64)st->net.bytes_sent);
        sqlite3_bind_int64(q, 21, (sqlite3_int64)st->net.bytes_received);
        sqlite3_bind_int64(q, 22, (sqlite3_int64)st->net.connections);
        sqlite3_bind_int64(q, 23, (sqlite3_int64)st->net.refused);
    }
    return store_step_done(db, q, err, "write stage");
}

int store_write_result(sqlite3 *db, int64_t seq, const struct job_result *r, struct sb_error *err)
{
    sqlite3_stmt *q = store_prepare(db,
        "UPDATE executions SET status = ?, failed = ?, error = ?, note = ?, has_compile = ?, "
        "compile_cached = ?, ran = ? WHERE seq = ?", err);
    if (!q)
        return -1;
    store_bind_text(q, 1, r->failed ? "internal_error" : sb_status_name(r->status));
    sqlite3_bind_int(q, 2, r->failed);
    store_bind_text(q, 3, r->failed ? r->error.msg : NULL);
    store_bind_text(q, 4, r->note[0] ? r->note : NULL);
    sqlite3_bind_int(q, 5, r->has_compile);
    sqlite3_bind_int(q, 6, r->compile_cached);
    sqlite3_bind_int(q, 7, r->ran);
    sqlite3_bind_int64(q, 8, seq);
    if (store_step_done(db, q, err, "write result") < 0)
        return -1;
    if (r->has_compile && write_stage(db, seq, STAGE_COMPILE, 0, &r->compile, NULL, err) < 0)
        return -1;
    if (r->ran && !r->ncases && write_stage(db, seq, STAGE_RUN, 0, &r->run, NULL, err) < 0)
        return -1;
    for (size_t i = 0; i < r->ncases; i++)
        if (write_stage(db, seq, STAGE_CASE, (int)i, &r->cases[i].run, &r->cases[i], err) < 0)
            return -1;
    return 0;
}

static int64_t seq_of(sqlite3 *db, const char *id, struct sb_error *err)
{
    sqlite3_stmt *q = store_prepare(db, "SELECT seq FROM executions WHERE id = ?", err);
    if (!q)
        return -1;
    store_bind_text(q, 1, id);
    int64_t seq = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    if (!seq)
        sb_fail(err, SB_E_INTERNAL, "store: no execution %s", id);
    return seq ? seq : -1;
}

static int do_finished(sqlite3 *db, struct op *op)
{
    int64_t seq = seq_of(db, op->s[0], &op->err);
    if (seq < 0)
        return -1;
    sqlite3_stmt *q = store_prepare(db, "UPDATE executions SET state = 'done', finished_ms = ? "
                                    "WHERE seq = ?", &op->err);
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, (sqlite3_int64)op->u[0]);
    sqlite3_bind_int64(q, 2, seq);
    if (store_step_done(db, q, &op->err, "finish") < 0)
        return -1;
    return store_write_result(db, seq, &op->result, &op->err);
}

static int do_write(sqlite3 *db, struct op *op)
{
    static const char *const sql[] = {
        [OP_INSERT] = "INSERT INTO executions(id, created_ms, state, mode, language, "
                      "code_sha256, request_id, key_id, client, limits, callback_url, "
                      "callback_state) VALUES(?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, "
                      "CASE WHEN ? IS NULL THEN NULL ELSE 'pending' END)",
        [OP_STARTED] = "UPDATE executions SET state = 'running', started_ms = ? WHERE id = ?",
        [OP_CALLBACK] = "UPDATE executions SET callback_state = ?, callback_attempts = ? "
                        "WHERE id = ?",
    };
    sqlite3_stmt *st = store_prepare(db, sql[op->kind], &op->err);
    if (!st)
        return -1;
    switch (op->kind) {
    case OP_INSERT:
        store_bind_text(st, 1, op->s[0]);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)op->u[0]);
        for (int i = 1; i <= 8; i++)
            store_bind_text(st, i + 2, op->s[i]);
        store_bind_text(st, 11, op->s[8]);
        break;
    case OP_STARTED:
        sqlite3_bind_int64(st, 1, (sqlite3_int64)op->u[0]);
        store_bind_text(st, 2, op->s[0]);
        break;
    default: /* OP_CALLBACK */
        store_bind_text(st, 1, op->s[1]);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)op->u[0]);
        store_bind_text(st, 3, op->s[0]);
        break;
    }
    return store_step_done(db, st, &op->err, "write");
}

/* ---- reading ---- */

#define EXEC_COLUMNS                                                                   \
    "seq, id, created_ms, started_ms, finished_ms, state, status, mode, language, "    \
    "key_id, callback_url, callback_state, callback_attempts, failed, error, note, "   \
    "has_compile, compile_cached, ran"

/* Scoping: every execution, or the key's own (a key sees nothing created
 * without one). ?2 is the key, ?3 "all". */
#define SCOPE_SQL " AND (?3 OR key_id = ?2)"

static void read_stage(sqlite3_stmt *q, struct stage_result *st)
{
    memset(st, 0, sizeof *st);
    int status = sb_status_from_name((const char *)sqlite3_column_text(q, 0));
    int cause = sbx_cause_from_name((const char *)sqlite3_column_text(q, 1));
    st->status = status < 0 ? SB_ST_INTERNAL_ERROR : (enum sb_status)status;
    st->cause = cause < 0 ? SBX_CAUSE_NONE : (enum sbx_cause)cause;
    copy_text(st->message, sizeof st->message, sqlite3_column_text(q, 2));
    copy_text(st->seccomp_call, sizeof st->seccomp_call, sqlite3_column_text(q, 3));
    st->exited = sqlite3_column_int(q, 4);
    st->exit_code = sqlite3_column_int(q, 5);
    st->signal = sqlite3_column_int(q, 6);
    st->wall_ms = (uint64_t)sqlite3_column_int64(q, 7);
    st->cpu_ms = (uint64_t)sqlite3_column_int64(q, 8);
    st->memory_kb = (uint64_t)sqlite3_column_int64(q, 9);
    st->truncated = sqlite3_column_int(q, 10);
    st->warm = sqlite3_column_int(q, 11);
    sb_buf_append(&st->out, sqlite3_column_blob(q, 14), (size_t)sqlite3_column_bytes(q, 14));
    sb_buf_append(&st->err, sqlite3_column_blob(q, 15), (size_t)sqlite3_column_bytes(q, 15));
    if (sqlite3_column_type(q, 18) != SQLITE_NULL) {
        st->net_enabled = true;
        st->net.bytes_sent = (uint64_t)sqlite3_column_int64(q, 18);
        st->net.bytes_received = (uint64_t)sqlite3_column_int64(q, 19);
        st->net.connections = (uint32_t)sqlite3_column_int64(q, 20);
        st->net.refused = (uint32_t)sqlite3_column_int64(q, 21);
    }
}

static int read_stages(sqlite3 *db, int64_t seq, struct job_result *r, struct sb_error *err)
{
    sqlite3_stmt *q = store_prepare(db,
        "SELECT status, cause, message, seccomp_call, exited, exit_code, signal, wall_ms, "
        "cpu_ms, memory_kb, truncated, warm, judged, accepted, stdout, stderr, kind, idx, "
        "net_sent, net_received, net_connections, net_refused FROM stages WHERE exec_seq = ? ORDER BY kind, idx", err);
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, seq);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int kind = sqlite3_column_int(q, 16);
        if (kind == STAGE_COMPILE && !r->has_compile) {
            read_stage(q, &r->compile);
            r->has_compile = true;
        } else if (kind == STAGE_RUN && !r->ncases) {
            stage_free(&r->run);
            read_stage(q, &r->run);
        } else if (kind == STAGE_CASE) {
            struct case_result *v = realloc(r->cases, (r->ncases + 1) * sizeof *v);
            if (!v)
                break;
            r->cases = v;
            read_stage(q, &v[r->ncases].run);
            v[r->ncases].judged = sqlite3_column_int(q, 12);
            v[r->ncases].accepted = sqlite3_column_int(q, 13);
            r->ncases++;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sb_fail(err, SB_E_INTERNAL, "store: read stages: %s", sqlite3_errmsg(db));
    return 0;
}

static void read_result(sqlite3_stmt *q, struct job_result *r)
{
    memset(r, 0, sizeof *r);
    int status = sb_status_from_name((const char *)sqlite3_column_text(q, 6));
    r->status = status < 0 ? SB_ST_INTERNAL_ERROR : (enum sb_status)status;
    r->failed = sqlite3_column_int(q, 13);
    if (r->failed) {
        r->error.code = SB_E_INTERNAL;
        copy_text(r->error.msg, sizeof r->error.msg, sqlite3_column_text(q, 14));
    }
    copy_text(r->note, sizeof r->note, sqlite3_column_text(q, 15));
    r->compile_cached = sqlite3_column_int(q, 17);
    r->ran = sqlite3_column_int(q, 18);
}

static int read_row(sqlite3 *db, sqlite3_stmt *q, struct exec_row *row, struct sb_error *err)
{
    memset(row, 0, sizeof *row);
    row->seq = (uint64_t)sqlite3_column_int64(q, 0);
    copy_text(row->id, sizeof row->id, sqlite3_column_text(q, 1));
    row->created_ms = (uint64_t)sqlite3_column_int64(q, 2);
    row->started_ms = (uint64_t)sqlite3_column_int64(q, 3);
    row->finished_ms = (uint64_t)sqlite3_column_int64(q, 4);
    copy_text(row->state, sizeof row->state, sqlite3_column_text(q, 5));
    copy_text(row->mode, sizeof row->mode, sqlite3_column_text(q, 7));
    copy_text(row->language, sizeof row->language, sqlite3_column_text(q, 8));
    copy_text(row->key_id, sizeof row->key_id, sqlite3_column_text(q, 9));
    if (sqlite3_column_text(q, 10))
        row->callback_url = strdup((const char *)sqlite3_column_text(q, 10));
    copy_text(row->callback_state, sizeof row->callback_state,
              sqlite3_column_text(q, 11) ? sqlite3_column_text(q, 11)
                                         : (const unsigned char *)"pending");
    row->callback_attempts = sqlite3_column_int(q, 12);
    if (strcmp(row->state, "done"))
        return 0;
    row->has_result = true;
    read_result(q, &row->result);
    return read_stages(db, (int64_t)row->seq, &row->result, err);
}

static void bind_scope(sqlite3_stmt *q, const struct op *op)
{
    store_bind_text(q, 2, op->s[1]);
    sqlite3_bind_int(q, 3, op->scope_all);
}

static int do_get(sqlite3 *db, struct op *op)
{
    sqlite3_stmt *q = store_prepare(db, "SELECT " EXEC_COLUMNS " FROM executions WHERE id = ?1"
                                    SCOPE_SQL, &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[0]);
    bind_scope(q, op);
    int rc = sqlite3_step(q), out = 0;
    if (rc == SQLITE_ROW) {
        if (!(op->rows = calloc(1, sizeof *op->rows)))
            out = sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
        else if ((op->nrows = 1, read_row(db, q, op->rows, &op->err)) < 0)
            out = -1;
    } else if (rc != SQLITE_DONE) {
        out = sb_fail(&op->err, SB_E_INTERNAL, "store: get: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(q);
    return out;
}

static int do_list(sqlite3 *db, struct op *op)
{
    sqlite3_stmt *q = store_prepare(db, "SELECT " EXEC_COLUMNS " FROM executions WHERE seq < ?1"
                                    SCOPE_SQL " ORDER BY seq DESC LIMIT ?4", &op->err);
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, (sqlite3_int64)op->u[1]);
    bind_scope(q, op);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)op->u[0] + 1);
    op->rows = calloc(op->u[0] + 1, sizeof *op->rows);
    int rc = op->rows ? SQLITE_ROW : SQLITE_NOMEM, out = 0;
    while (op->rows && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (op->nrows == op->u[0]) {
            op->next_cursor = op->rows[op->nrows - 1].seq;
            break;
        }
        if (read_row(db, q, &op->rows[op->nrows++], &op->err) < 0) {
            out = -1;
            break;
        }
    }
    sqlite3_finalize(q);
    if (!out && rc != SQLITE_ROW && rc != SQLITE_DONE)
        out = sb_fail(&op->err, SB_E_INTERNAL, "store: list: %s", sqlite3_errmsg(db));
    return out;
}

int store_run_exec_op(sqlite3 *db, struct op *op)
{
    switch (op->kind) {
    case OP_GET:      return do_get(db, op);
    case OP_LIST:     return do_list(db, op);
    case OP_FINISHED: return do_finished(db, op);
    default:          return do_write(db, op);
    }
}
