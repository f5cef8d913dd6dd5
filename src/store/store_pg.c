/* PostgreSQL backend: batches in one transaction, writes retried across outages, reads and inserts failing fast. */
#include "store/store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store_internal.h"

/* Between two attempts to reach a database that went away. */
#define RECONNECT_MS 500

struct store_pg {
    PGconn *conn;
    char *url;
    char node[64];
    uint64_t audit_n;            /* numbers this node's audit records (idempotent retries) */
    uint64_t last_attempt_ms;
    char down_why[200];          /* why the database is unreachable ("" when it is) */
};

/* ---- parameters ---- */

void pg_text(struct pg_params *p, const char *s)
{
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n++] = 0;
}

void pg_int(struct pg_params *p, long long v)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", v);
    pg_text(p, p->num[p->n]);
}

/* Binary: stdout and stderr are bytes, NULs included. */
static void pg_bytes(struct pg_params *p, const void *data, size_t len)
{
    p->v[p->n] = data ? data : "";
    p->len[p->n] = (int)len;
    p->fmt[p->n++] = 1;
}

int pg_run(PGconn *c, const char *sql, struct pg_params *p, PGresult **out, struct sb_error *err,
           const char *what)
{
    PGresult *r = pq.PQexecParams(c, sql, p ? p->n : 0, NULL, p ? p->v : NULL,
                                  p ? p->len : NULL, p ? p->fmt : NULL, 0);
    ExecStatusType st = r ? pq.PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pq_failed(c, r, err, what);
        pq.PQclear(r);
        return -1;
    }
    if (out)
        *out = r;
    else
        pq.PQclear(r);
    return 0;
}

static long long col_ll(const PGresult *r, int row, int col)
{
    return pq.PQgetisnull(r, row, col) ? 0 : strtoll(pq.PQgetvalue(r, row, col), NULL, 10);
}

static void col_copy(char *dst, size_t len, const PGresult *r, int row, int col)
{
    snprintf(dst, len, "%s", pq.PQgetisnull(r, row, col) ? "" : pq.PQgetvalue(r, row, col));
}

/* ---- writes ---- */

/* Idempotent: the id is this execution's own, so a row already there is this
 * insert, made by an attempt whose answer the connection lost. */
static int do_insert(struct store_pg *p, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    pg_int(&q, (long long)op->u[0]);
    for (int i = 1; i <= 8; i++)
        pg_text(&q, op->s[i]);
    pg_text(&q, op->s[9]);                   /* request (shared queue) */
    pg_text(&q, op->s[10]);                  /* owner, or NULL: any node */
    pg_int(&q, (long long)op->u[1]);         /* started (owned, running at once) */
    return pg_run(p->conn,
                  "WITH ins AS (INSERT INTO executions(id, created_ms, state, mode, language, "
                  "code_sha256, request_id, key_id, client, limits, callback_url, callback_state, "
                  "request, node, started_ms, runs) VALUES($1, $2, "
                  "CASE WHEN $13::bigint > 0 THEN 'running' ELSE 'queued' END, $3, $4, $5, $6, "
                  "$7, $8, $9, $10::text, "
                  "CASE WHEN $10::text IS NULL THEN NULL ELSE 'pending' END, $11, $12, "
                  "nullif($13::bigint, 0), CASE WHEN $13::bigint > 0 THEN 1 ELSE 0 END) "
                  "ON CONFLICT (id) DO NOTHING RETURNING node) "
                  "SELECT pg_notify('soulbox_queue', '') FROM ins WHERE node IS NULL",
                  &q, NULL, &op->err, "insert execution");
}

static int do_started(struct store_pg *p, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    pg_int(&q, (long long)op->u[0]);
    pg_text(&q, p->node);
    PGresult *r = NULL;
    /* Only an execution this node still owns, still queued: after a
     * partition it may have been given to another node. */
    if (pg_run(p->conn, "UPDATE executions SET state = 'running', started_ms = $2, runs = runs + 1 "
               "WHERE id = $1 AND node = $3 AND state = 'queued'", &q, &r, &op->err,
               "start execution") < 0)
        return -1;
    int n = atoi(pq.PQcmdTuples(r));
    pq.PQclear(r);
    if (n == 1 || op->kind == OP_STARTED)
        return 0;
    return sb_fail(&op->err, SB_E_UNAVAILABLE, "execution %s is no longer this node's (it was "
                   "taken over or ended while this node was out of touch)", op->s[0]);
}

static int write_stage(PGconn *c, const char *seq, int kind, int idx, const struct stage_result *st,
                       const struct case_result *cr, struct sb_error *err)
{
    struct pg_params q = {0};
    pg_text(&q, seq);
    pg_int(&q, kind);
    pg_int(&q, idx);
    pg_text(&q, sb_status_name(st->status));
    pg_text(&q, sbx_cause_name(st->cause));
    pg_text(&q, st->message);
    pg_text(&q, st->seccomp_call[0] ? st->seccomp_call : NULL);
    pg_int(&q, st->exited);
    pg_int(&q, st->exit_code);
    pg_int(&q, st->signal);
    pg_int(&q, (long long)st->wall_ms);
    pg_int(&q, (long long)st->cpu_ms);
    pg_int(&q, (long long)st->memory_kb);
    pg_int(&q, st->truncated);
    pg_int(&q, st->warm);
    pg_int(&q, cr && cr->judged);
    pg_int(&q, cr && cr->accepted);
    pg_bytes(&q, st->out.data, st->out.len);
    pg_bytes(&q, st->err.data, st->err.len);
    if (st->net_enabled) {
        pg_int(&q, (long long)st->net.bytes_sent);
        pg_int(&q, (long long)st->net.bytes_received);
        pg_int(&q, (long long)st->net.connections);
        pg_int(&q, (long long)st->net.refused);
    } else {
        for (int i = 0; i < 4; i++)
            pg_text(&q, NULL);
    }
    return pg_run(c,
                  "INSERT INTO stages(exec_seq, kind, idx, status, cause, message, seccomp_call, "
                  "exited, exit_code, signal, wall_ms, cpu_ms, memory_kb, truncated, warm, judged, "
                  "accepted, stdout, stderr, net_sent, net_received, net_connections, net_refused) "
                  "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
                  "$17, $18, $19, $20, $21, $22, $23) ON CONFLICT DO NOTHING", &q, NULL, err,
                  "write stage");
}

/* The final result, once: an execution already ended (by the node that
 * found this one lost, say) keeps its first result. Tells waiting nodes. */
static int do_finished(struct store_pg *p, struct op *op)
{
    const struct job_result *r = &op->result;
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    pg_int(&q, (long long)op->u[0]);
    pg_text(&q, r->failed ? "internal_error" : sb_status_name(r->status));
    pg_int(&q, r->failed);
    pg_text(&q, r->failed ? r->error.msg : NULL);
    pg_text(&q, r->note[0] ? r->note : NULL);
    pg_int(&q, r->has_compile);
    pg_int(&q, r->compile_cached);
    pg_int(&q, r->ran);
    PGresult *res = NULL;
    if (pg_run(p->conn, "UPDATE executions SET state = 'done', finished_ms = $2, status = $3, "
               "failed = $4, error = $5, note = $6, has_compile = $7, compile_cached = $8, "
               "ran = $9, request = NULL WHERE id = $1 AND state <> 'done' RETURNING seq", &q,
               &res, &op->err, "finish execution") < 0)
        return -1;
    if (pq.PQntuples(res) != 1) {
        pq.PQclear(res);
        log_event(LOG_WARN, "result not recorded: the execution had already ended",
                  json_pack("{s:s}", "id", op->s[0]));
        return 0;
    }
    char seq[24];
    col_copy(seq, sizeof seq, res, 0, 0);
    pq.PQclear(res);
    if (r->has_compile && write_stage(p->conn, seq, 1, 0, &r->compile, NULL, &op->err) < 0)
        return -1;
    if (r->ran && !r->ncases && write_stage(p->conn, seq, 0, 0, &r->run, NULL, &op->err) < 0)
        return -1;
    for (size_t i = 0; i < r->ncases; i++)
        if (write_stage(p->conn, seq, 2, (int)i, &r->cases[i].run, &r->cases[i], &op->err) < 0)
            return -1;
    struct pg_params n = {0};
    pg_text(&n, op->s[0]);
    return pg_run(p->conn, "SELECT pg_notify('soulbox_done', $1)", &n, NULL, &op->err, "notify");
}

static int do_callback(struct store_pg *p, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[1]);
    pg_int(&q, (long long)op->u[0]);
    pg_text(&q, op->s[0]);
    return pg_run(p->conn, "UPDATE executions SET callback_state = $1, callback_attempts = $2 "
                  "WHERE id = $3", &q, NULL, &op->err, "callback state");
}

static int do_audit(struct store_pg *p, struct op *op)
{
    if (!op->s[11]) {
        char uid[96];
        snprintf(uid, sizeof uid, "%s-%llu", p->node, (unsigned long long)++p->audit_n);
        op->s[11] = strdup(uid);
    }
    struct pg_params q = {0};
    pg_text(&q, op->s[11]);
    pg_int(&q, (long long)op->u[0]);
    for (int i = 0; i < 9; i++)
        pg_text(&q, op->s[i]);
    pg_text(&q, p->node);
    return pg_run(p->conn, "INSERT INTO audit(uid, ts_ms, event, request_id, key_id, client, "
                  "language, code_sha256, limits, status, detail, node) VALUES($1, $2, $3, $4, $5, "
                  "$6, $7, $8, $9, $10, $11, $12) ON CONFLICT (uid) DO NOTHING", &q, NULL, &op->err,
                  "audit");
}

/* ---- sessions ---- */

static int do_session(struct store_pg *p, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    if (op->kind == OP_SESSION_ADD) {
        pg_text(&q, op->s[1]);
        pg_text(&q, op->s[2]);
        pg_int(&q, (long long)op->u[0]);
        return pg_run(p->conn, "INSERT INTO sessions(id, node, key_id, created_ms, state) "
                      "VALUES($1, $2, $3, $4, 'live') ON CONFLICT (id) DO UPDATE SET node = $2, "
                      "state = 'live', ended_ms = NULL, reason = NULL", &q, NULL,
                      &op->err, "record session");
    }
    if (op->kind == OP_SESSION_END) {
        pg_text(&q, op->s[1]);
        return pg_run(p->conn, "UPDATE sessions SET state = 'ended', ended_ms = " PG_NOW_MS ", "
                      "reason = $2 WHERE id = $1 AND state = 'live'", &q, NULL, &op->err,
                      "end session");
    }
    PGresult *r = NULL;
    if (pg_run(p->conn, "SELECT s.state, s.node, n.name, n.url, n.state, coalesce(s.reason, ''), "
               "n.grpc_port "
               "FROM sessions s LEFT JOIN nodes n ON n.id = s.node WHERE s.id = $1", &q, &r,
               &op->err, "find session") < 0)
        return -1;
    struct session_place *pl = &op->place;
    if (pq.PQntuples(r) == 1) {
        pl->found = true;
        col_copy(pl->state, sizeof pl->state, r, 0, 0);
        col_copy(pl->node, sizeof pl->node, r, 0, 1);
        col_copy(pl->node_name, sizeof pl->node_name, r, 0, 2);
        col_copy(pl->url, sizeof pl->url, r, 0, 3);
        col_copy(pl->node_state, sizeof pl->node_state, r, 0, 4);
        col_copy(pl->reason, sizeof pl->reason, r, 0, 5);
        pl->grpc_port = (int)col_ll(r, 0, 6);
    }
    pq.PQclear(r);
    return 0;
}

/* ---- reads ---- */

#define EXEC_COLUMNS                                                                   \
    "seq, id, created_ms, started_ms, finished_ms, state, status, mode, language, "    \
    "key_id, callback_url, callback_state, callback_attempts, failed, error, note, "   \
    "has_compile, compile_cached, ran"

static void read_stage(const PGresult *r, int i, struct stage_result *st)
{
    memset(st, 0, sizeof *st);
    int status = sb_status_from_name(pq.PQgetvalue(r, i, 0));
    int cause = sbx_cause_from_name(pq.PQgetvalue(r, i, 1));
    st->status = status < 0 ? SB_ST_INTERNAL_ERROR : (enum sb_status)status;
    st->cause = cause < 0 ? SBX_CAUSE_NONE : (enum sbx_cause)cause;
    col_copy(st->message, sizeof st->message, r, i, 2);
    col_copy(st->seccomp_call, sizeof st->seccomp_call, r, i, 3);
    st->exited = col_ll(r, i, 4);
    st->exit_code = (int)col_ll(r, i, 5);
    st->signal = (int)col_ll(r, i, 6);
    st->wall_ms = (uint64_t)col_ll(r, i, 7);
    st->cpu_ms = (uint64_t)col_ll(r, i, 8);
    st->memory_kb = (uint64_t)col_ll(r, i, 9);
    st->truncated = col_ll(r, i, 10);
    st->warm = col_ll(r, i, 11);
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        unsigned char *b = pq.PQunescapeBytea((const unsigned char *)pq.PQgetvalue(r, i, 14 + k),
                                              &n);
        if (b)
            sb_buf_append(k ? &st->err : &st->out, b, n);
        pq.PQfreemem(b);
    }
    if (!pq.PQgetisnull(r, i, 18)) {
        st->net_enabled = true;
        st->net.bytes_sent = (uint64_t)col_ll(r, i, 18);
        st->net.bytes_received = (uint64_t)col_ll(r, i, 19);
        st->net.connections = (uint32_t)col_ll(r, i, 20);
        st->net.refused = (uint32_t)col_ll(r, i, 21);
    }
}

static int read_stages(PGconn *c, const char *seq, struct job_result *res, struct sb_error *err)
{
    struct pg_params q = {0};
    pg_text(&q, seq);
    PGresult *r = NULL;
    if (pg_run(c, "SELECT status, cause, message, seccomp_call, exited, exit_code, signal, "
               "wall_ms, cpu_ms, memory_kb, truncated, warm, judged, accepted, stdout, stderr, "
               "kind, idx, net_sent, net_received, net_connections, net_refused FROM stages "
               "WHERE exec_seq = $1 ORDER BY kind, idx", &q, &r, err, "read stages") < 0)
        return -1;
    int n = pq.PQntuples(r);
    for (int i = 0; i < n; i++) {
        int kind = (int)col_ll(r, i, 16);
        if (kind == 1 && !res->has_compile) {
            read_stage(r, i, &res->compile);
            res->has_compile = true;
        } else if (kind == 0 && !res->ncases) {
            stage_free(&res->run);
            read_stage(r, i, &res->run);
        } else if (kind == 2) {
            struct case_result *v = realloc(res->cases, (res->ncases + 1) * sizeof *v);
            if (!v)
                break;
            res->cases = v;
            read_stage(r, i, &v[res->ncases].run);
            v[res->ncases].judged = col_ll(r, i, 12);
            v[res->ncases].accepted = col_ll(r, i, 13);
            res->ncases++;
        }
    }
    pq.PQclear(r);
    return 0;
}

static int read_row(PGconn *c, const PGresult *r, int i, struct exec_row *row,
                    struct sb_error *err)
{
    memset(row, 0, sizeof *row);
    row->seq = (uint64_t)col_ll(r, i, 0);
    col_copy(row->id, sizeof row->id, r, i, 1);
    row->created_ms = (uint64_t)col_ll(r, i, 2);
    row->started_ms = (uint64_t)col_ll(r, i, 3);
    row->finished_ms = (uint64_t)col_ll(r, i, 4);
    col_copy(row->state, sizeof row->state, r, i, 5);
    col_copy(row->mode, sizeof row->mode, r, i, 7);
    col_copy(row->language, sizeof row->language, r, i, 8);
    col_copy(row->key_id, sizeof row->key_id, r, i, 9);
    if (!pq.PQgetisnull(r, i, 10))
        row->callback_url = strdup(pq.PQgetvalue(r, i, 10));
    if (pq.PQgetisnull(r, i, 11))
        snprintf(row->callback_state, sizeof row->callback_state, "pending");
    else
        col_copy(row->callback_state, sizeof row->callback_state, r, i, 11);
    row->callback_attempts = (int)col_ll(r, i, 12);
    if (strcmp(row->state, "done"))
        return 0;
    row->has_result = true;
    struct job_result *res = &row->result;
    int status = sb_status_from_name(pq.PQgetvalue(r, i, 6));
    res->status = status < 0 ? SB_ST_INTERNAL_ERROR : (enum sb_status)status;
    res->failed = col_ll(r, i, 13);
    if (res->failed) {
        res->error.code = SB_E_INTERNAL;
        col_copy(res->error.msg, sizeof res->error.msg, r, i, 14);
    }
    col_copy(res->note, sizeof res->note, r, i, 15);
    res->compile_cached = col_ll(r, i, 17);
    res->ran = col_ll(r, i, 18);
    return read_stages(c, pq.PQgetvalue(r, i, 0), res, err);
}

static int read_rows(struct store_pg *p, struct op *op, PGresult *r, size_t max)
{
    size_t n = (size_t)pq.PQntuples(r);
    if (n > max) {
        n = max;
        op->next_cursor = (uint64_t)col_ll(r, (int)n - 1, 0);
    }
    if (n && !(op->rows = calloc(n, sizeof *op->rows)))
        return sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
    for (size_t i = 0; i < n; i++) {
        op->nrows++;
        if (read_row(p->conn, r, (int)i, &op->rows[i], &op->err) < 0)
            return -1;
    }
    return 0;
}

static int do_read(struct store_pg *p, struct op *op)
{
    struct pg_params q = {0};
    PGresult *r = NULL;
    int rc;
    if (op->kind == OP_GET) {
        pg_text(&q, op->s[0]);
        pg_text(&q, op->s[1]);
        pg_text(&q, op->scope_all ? "t" : "f");
        rc = pg_run(p->conn, "SELECT " EXEC_COLUMNS " FROM executions WHERE id = $1 "
                    "AND ($3::boolean OR key_id = $2)", &q, &r, &op->err, "get execution");
    } else {
        pg_int(&q, op->u[1] > INT64_MAX ? INT64_MAX : (long long)op->u[1]);
        pg_text(&q, op->s[1]);
        pg_text(&q, op->scope_all ? "t" : "f");
        pg_int(&q, (long long)op->u[0] + 1);
        rc = pg_run(p->conn, "SELECT " EXEC_COLUMNS " FROM executions WHERE seq < $1 "
                    "AND ($3::boolean OR key_id = $2) ORDER BY seq DESC LIMIT $4", &q, &r, &op->err,
                    "list executions");
    }
    if (rc < 0)
        return -1;
    rc = read_rows(p, op, r, op->kind == OP_GET ? 1 : op->u[0]);
    pq.PQclear(r);
    return rc;
}

static int run_op(struct store_pg *p, struct op *op)
{
    switch (op->kind) {
    case OP_INSERT:        return do_insert(p, op);
    case OP_STARTED:
    case OP_START_OWNED:   return do_started(p, op);
    case OP_FINISHED:      return do_finished(p, op);
    case OP_CALLBACK:      return do_callback(p, op);
    case OP_AUDIT:         return do_audit(p, op);
    case OP_SESSION_ADD:
    case OP_SESSION_END:
    case OP_SESSION_WHERE: return do_session(p, op);
    case OP_FN_PUT:
    case OP_FN_DELETE:
    case OP_FN_LOAD:
    case OP_FN_CLAIM:      return store_pg_fn_op(p->conn, op);
    case OP_AUDIT_LIST:
    case OP_SHARE_PUT:
    case OP_SHARE_GET:     return store_pg_share_op(p->conn, op);
    case OP_J0_PUT:
    case OP_J0_GET:
    case OP_J0_LIST:       return store_pg_judge0_op(p->conn, op);
    default:               return do_read(p, op);
    }
}

/* ---- batches ---- */

static bool must_keep(const struct op *op)
{
    return op->kind == OP_STARTED || op->kind == OP_FINISHED || op->kind == OP_CALLBACK ||
           op->kind == OP_AUDIT || op->kind == OP_SESSION_ADD || op->kind == OP_SESSION_END;
}

static bool reconnect(struct store_pg *p)
{
    if (p->conn && pq.PQstatus(p->conn) == CONNECTION_OK)
        return true;
    uint64_t now = util_mono_ns() / 1000000u;
    if (p->last_attempt_ms && now - p->last_attempt_ms < RECONNECT_MS)
        return false;
    p->last_attempt_ms = now;
    if (p->conn)
        pq.PQfinish(p->conn);
    struct sb_error err;
    p->conn = pq_connect(p->url, "soulbox-store", &err);
    if (!p->conn) {
        if (!p->down_why[0])
            log_msg(LOG_ERROR, "store: the database is unreachable: %s", err.msg);
        snprintf(p->down_why, sizeof p->down_why, "%s", err.msg);
        return false;
    }
    if (p->down_why[0])
        log_msg(LOG_INFO, "store: the database is reachable again");
    p->down_why[0] = '\0';
    return true;
}

/* The database is out of reach: what may wait waits, the rest fails now. */
static int defer(struct store_pg *p, struct list_node *batch, struct list_node *retry)
{
    struct list_node *pos, *tmp;
    list_foreach_safe(pos, tmp, batch) {
        struct op *op = list_entry(pos, struct op, node);
        if (must_keep(op)) {
            list_remove(pos);
            list_insert_tail(retry, pos);
        } else {
            op->rc = sb_fail(&op->err, SB_E_UNAVAILABLE, "the database is unreachable (%s); "
                             "try again later", p->down_why);
        }
    }
    return 1;
}

static void lost(struct store_pg *p, const struct sb_error *err)
{
    snprintf(p->down_why, sizeof p->down_why, "%s", err->msg);
    log_msg(LOG_ERROR, "store: lost the database: %s", err->msg);
    p->last_attempt_ms = util_mono_ns() / 1000000u;
}

/* One at a time, each its own transaction (after a statement failed). */
static int one_by_one(struct store_pg *p, struct list_node *batch, struct list_node *retry)
{
    struct list_node *pos;
    list_foreach(pos, batch) {
        struct op *op = list_entry(pos, struct op, node);
        struct sb_error err;
        bool tx = op->kind == OP_FINISHED;
        op->rc = 0;
        if ((tx && pq_exec(p->conn, "BEGIN", &op->err, "begin") < 0) || (op->rc = run_op(p, op)) < 0 ||
            (tx && pq_exec(p->conn, "COMMIT", &op->err, "commit") < 0)) {
            op->rc = -1;
            if (tx)
                pq_exec(p->conn, "ROLLBACK", &err, "rollback");
            if (pq.PQstatus(p->conn) != CONNECTION_OK) {
                lost(p, &op->err);
                return defer(p, batch, retry);
            }
            if (must_keep(op))
                log_msg(LOG_ERROR, "%s", op->err.msg);
        }
    }
    return 0;
}

/* A batch of one statement's worth needs no transaction of its own: one
 * round trip instead of three (a read, an insert, a state change). */
static bool alone(struct list_node *batch)
{
    if (batch->next->next != batch)
        return false;
    enum op_kind k = list_entry(batch->next, struct op, node)->kind;
    return k != OP_FINISHED;
}

int store_pg_batch(struct store_pg *p, struct list_node *batch, struct list_node *retry)
{
    if (!reconnect(p))
        return defer(p, batch, retry);
    struct sb_error err;
    struct list_node *pos;
    if (alone(batch)) {
        struct op *op = list_entry(batch->next, struct op, node);
        if ((op->rc = run_op(p, op)) == 0)
            return 0;
        if (pq.PQstatus(p->conn) == CONNECTION_OK) {
            if (must_keep(op))
                log_msg(LOG_ERROR, "%s", op->err.msg);
            return 0;
        }
        /* The connection was found dead: if it died idle (the database
         * restarted) nothing ran, so one more try on a new one. */
        store_op_drop_rows(op);
        p->last_attempt_ms = 0;
        if (!reconnect(p))
            return defer(p, batch, retry);
        if ((op->rc = run_op(p, op)) == 0 || pq.PQstatus(p->conn) == CONNECTION_OK)
            return 0;
        lost(p, &op->err);
        return defer(p, batch, retry);
    }
    int rc = pq_exec(p->conn, "BEGIN", &err, "begin");
    if (rc < 0 && pq.PQstatus(p->conn) != CONNECTION_OK) {
        /* A connection the database closed while idle (it restarted): nothing
         * of this batch ran, so connect again now rather than fail it. */
        p->last_attempt_ms = 0;
        if (!reconnect(p))
            return defer(p, batch, retry);
        rc = pq_exec(p->conn, "BEGIN", &err, "begin");
    }
    if (rc < 0)
        goto failed;
    list_foreach(pos, batch) {
        struct op *op = list_entry(pos, struct op, node);
        /* A conflict (a function's generation moved) left nothing to undo. */
        if ((op->rc = run_op(p, op)) < 0 && op->err.code != SB_E_CONFLICT) {
            err = op->err;
            goto failed;
        }
    }
    if (pq_exec(p->conn, "COMMIT", &err, "commit") == 0)
        return 0;
failed:
    if (pq.PQstatus(p->conn) != CONNECTION_OK) {
        lost(p, &err);
        return defer(p, batch, retry);
    }
    pq_exec(p->conn, "ROLLBACK", &err, "rollback");
    list_foreach(pos, batch)
        store_op_drop_rows(list_entry(pos, struct op, node));
    return one_by_one(p, batch, retry);
}

int store_pg_open(struct store_pg **out, const char *url, const char *node, struct sb_error *err)
{
    struct store_pg *p = calloc(1, sizeof *p);
    if (!p || !(p->url = strdup(url))) {
        free(p);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    snprintf(p->node, sizeof p->node, "%s", node);
    if (!(p->conn = pq_connect(url, "soulbox-store", err)) || store_pg_schema(p->conn, err) < 0) {
        store_pg_close(p);
        return -1;
    }
    *out = p;
    return 0;
}

void store_pg_close(struct store_pg *p)
{
    if (!p)
        return;
    if (p->conn)
        pq.PQfinish(p->conn);
    free(p->url);
    free(p);
}

json_t *store_pg_read_audit(const char *url, uint64_t since_ms, struct sb_error *err)
{
    PGconn *c = pq_connect(url, "soulbox-audit", err);
    if (!c)
        return NULL;
    struct pg_params q = {0};
    pg_int(&q, (long long)since_ms);
    PGresult *r = NULL;
    json_t *arr = NULL;
    if (pg_run(c, "SELECT ts_ms, event, request_id, key_id, client, language, code_sha256, limits, "
               "status, detail, node FROM audit WHERE ts_ms >= $1 ORDER BY ts_ms, seq", &q, &r, err,
               "read audit") == 0) {
        static const char *const keys[] = {"ts", "event", "request_id", "key_id", "client",
                                           "language", "code_sha256", "limits", "status",
                                           "detail", "node"};
        arr = json_array();
        for (int i = 0; i < pq.PQntuples(r); i++) {
            json_t *o = json_object();
            char ts[40];
            util_iso_time((uint64_t)col_ll(r, i, 0), ts, sizeof ts);
            json_object_set_new(o, "ts", json_string(ts));
            for (int k = 1; k < 11; k++) {
                const char *v = pq.PQgetisnull(r, i, k) ? NULL : pq.PQgetvalue(r, i, k);
                json_t *j = v && k == 7 ? json_loads(v, 0, NULL) : NULL;
                json_object_set_new(o, keys[k], j ? j : v ? json_string(v) : json_null());
            }
            json_array_append_new(arr, o);
        }
        pq.PQclear(r);
    }
    pq.PQfinish(c);
    return arr;
}
