/* The store's schema: created, migrated from older versions, and recovered after a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "store/store_internal.h"

/*
 * Version 2: results are typed columns of `executions` plus one `stages`
 * row per stage (run, compile, test case) with stdout and stderr as bytes.
 * Version 1 kept each result as the API's JSON text; it is converted once.
 * Version 3 adds a stage's network traffic (NULL: it had no network).
 * Version 4 adds serverless functions (one JSON document each, written at a
 * generation) and their claimed cron firings: new tables only, so `schema`
 * (IF NOT EXISTS) is the migration.
 * Version 5 adds share links (one JSON document each, the oldest pruned) and
 * an index for reading the audit log by event: new ones only, as for 4.
 * Version 6 adds Judge0 submissions (the compat API; one JSON document per
 * token): a new table only, as for 4.
 */
#define SCHEMA_VERSION 6

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS executions ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " created_ms INTEGER NOT NULL, started_ms INTEGER, finished_ms INTEGER,"
    " state TEXT NOT NULL, status TEXT, mode TEXT NOT NULL, language TEXT NOT NULL,"
    " code_sha256 TEXT NOT NULL, request_id TEXT, key_id TEXT, client TEXT, limits TEXT,"
    " callback_url TEXT, callback_state TEXT, callback_attempts INTEGER DEFAULT 0,"
    " failed INTEGER NOT NULL DEFAULT 0, error TEXT, note TEXT,"
    " has_compile INTEGER NOT NULL DEFAULT 0, compile_cached INTEGER NOT NULL DEFAULT 0,"
    " ran INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS executions_state ON executions(state);"
    "CREATE INDEX IF NOT EXISTS executions_key ON executions(key_id, seq);"
    "CREATE TABLE IF NOT EXISTS stages ("
    " exec_seq INTEGER NOT NULL, kind INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " status TEXT NOT NULL, cause TEXT, message TEXT, seccomp_call TEXT,"
    " exited INTEGER, exit_code INTEGER, signal INTEGER, wall_ms INTEGER, cpu_ms INTEGER,"
    " memory_kb INTEGER, truncated INTEGER, warm INTEGER, judged INTEGER, accepted INTEGER,"
    " stdout BLOB, stderr BLOB,"
    " net_sent INTEGER, net_received INTEGER, net_connections INTEGER, net_refused INTEGER,"
    " PRIMARY KEY (exec_seq, kind, idx));"
    "CREATE TABLE IF NOT EXISTS audit ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, event TEXT NOT NULL,"
    " request_id TEXT, key_id TEXT, client TEXT, language TEXT, code_sha256 TEXT,"
    " limits TEXT, status TEXT, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts_ms);"
    "CREATE TABLE IF NOT EXISTS functions ("
    " name TEXT PRIMARY KEY, owner TEXT NOT NULL, doc TEXT NOT NULL,"
    " generation INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS function_fires ("
    " name TEXT NOT NULL, fire_ms INTEGER NOT NULL, node TEXT, PRIMARY KEY (name, fire_ms));"
    "CREATE INDEX IF NOT EXISTS function_fires_ms ON function_fires(fire_ms);"
    "CREATE INDEX IF NOT EXISTS audit_event ON audit(event, seq);"
    "CREATE TABLE IF NOT EXISTS shares ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " created_ms INTEGER NOT NULL, key_id TEXT, doc TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS judge0_submissions ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, token TEXT NOT NULL UNIQUE,"
    " created_ms INTEGER NOT NULL, key_id TEXT, doc TEXT NOT NULL);";

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* ---- version 1: results as JSON text ---- */

static int64_t int_of(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void text_of(json_t *o, const char *key, struct sb_buf *b)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        sb_buf_append(b, json_string_value(v), json_string_length(v));
}

/* What a version 1 message said about the cause (the audit's distinction). */
static enum sbx_cause v1_cause(enum sb_status status, const char *msg, char *call, size_t len)
{
    static const char seccomp[] = "killed by seccomp: forbidden system call ";
    if (!strncmp(msg, seccomp, sizeof seccomp - 1)) {
        snprintf(call, len, "%s", msg + sizeof seccomp - 1);
        return SBX_CAUSE_SECCOMP;
    }
    if (status == SB_ST_OUTPUT_LIMIT)
        return SBX_CAUSE_OUTPUT;
    if (status == SB_ST_MEMORY_LIMIT)
        return SBX_CAUSE_MEMORY;
    if (status == SB_ST_TIME_LIMIT)
        return strncmp(msg, "CPU", 3) ? SBX_CAUSE_WALL : SBX_CAUSE_CPU;
    if (!strcmp(msg, "killed on request"))
        return SBX_CAUSE_KILLED;
    if (strstr(msg, "(SIGXFSZ)"))
        return SBX_CAUSE_FILE_SIZE;
    return SBX_CAUSE_NONE;
}

static void v1_stage(json_t *o, struct stage_result *st)
{
    memset(st, 0, sizeof *st);
    int status = sb_status_from_name(json_string_value(json_object_get(o, "status")));
    const char *msg = json_string_value(json_object_get(o, "message"));
    st->status = status < 0 ? SB_ST_INTERNAL_ERROR : (enum sb_status)status;
    snprintf(st->message, sizeof st->message, "%s", msg ? msg : "");
    st->cause = v1_cause(st->status, st->message, st->seccomp_call, sizeof st->seccomp_call);
    json_t *code = json_object_get(o, "exit_code"), *sig = json_object_get(o, "signal");
    st->exited = json_is_integer(code);
    st->exit_code = (int)json_integer_value(code);
    st->signal = (int)json_integer_value(sig);
    st->wall_ms = (uint64_t)int_of(o, "wall_time_ms");
    st->cpu_ms = (uint64_t)int_of(o, "cpu_time_ms");
    st->memory_kb = (uint64_t)int_of(o, "memory_kb");
    st->truncated = json_is_true(json_object_get(o, "truncated"));
    st->warm = json_is_true(json_object_get(o, "warm"));
    text_of(o, "stdout", &st->out);
    text_of(o, "stderr", &st->err);
}

static void v1_cases(json_t *arr, struct job_result *r)
{
    size_t n = json_array_size(arr);
    if (!n || !(r->cases = calloc(n, sizeof *r->cases)))
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(arr, i);
        const char *v = json_string_value(json_object_get(c, "verdict"));
        v1_stage(c, &r->cases[i].run);
        r->cases[i].judged = v && (!strcmp(v, "accepted") || !strcmp(v, "wrong_answer"));
        r->cases[i].accepted = v && !strcmp(v, "accepted");
    }
    r->ncases = n;
}

/* A version 1 result object, typed. */
static void v1_result(json_t *o, struct job_result *r)
{
    memset(r, 0, sizeof *r);
    int status = sb_status_from_name(json_string_value(json_object_get(o, "status")));
    r->status = status < 0 ? SB_ST_INTERNAL_ERROR : (enum sb_status)status;
    json_t *cases = json_object_get(o, "test_cases"), *compile = json_object_get(o, "compile");
    if (json_is_array(cases)) {
        r->ran = true;
        v1_cases(cases, r);
    } else if (json_object_get(o, "wall_time_ms") && r->status != SB_ST_COMPILE_ERROR) {
        r->ran = true;
        v1_stage(o, &r->run);
    } else {
        const char *msg = json_string_value(json_object_get(o, "message"));
        if (r->status == SB_ST_INTERNAL_ERROR)
            job_result_note(r, msg ? msg : "internal error");
    }
    if (json_is_object(compile)) {
        r->has_compile = true;
        v1_stage(compile, &r->compile);
        r->compile_cached = json_is_true(json_object_get(o, "compile_cached"));
    }
}

static int convert_v1_results(sqlite3 *db, struct sb_error *err)
{
    sqlite3_stmt *q = store_prepare(db, "SELECT seq, result FROM executions "
                                    "WHERE result IS NOT NULL", err);
    if (!q)
        return -1;
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *o = json_loads((const char *)sqlite3_column_text(q, 1), 0, NULL);
        struct job_result r;
        v1_result(json_is_object(o) ? o : json_object(), &r);
        json_decref(o);
        out = store_write_result(db, sqlite3_column_int64(q, 0), &r, err);
        job_result_free(&r);
    }
    sqlite3_finalize(q);
    return out;
}

static int migrate_v1(sqlite3 *db, struct sb_error *err)
{
    static const char add[] =
        "ALTER TABLE executions ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE executions ADD COLUMN error TEXT;"
        "ALTER TABLE executions ADD COLUMN note TEXT;"
        "ALTER TABLE executions ADD COLUMN has_compile INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE executions ADD COLUMN compile_cached INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE executions ADD COLUMN ran INTEGER NOT NULL DEFAULT 0;";
    if (store_sql(db, "BEGIN IMMEDIATE", err, "begin migration") < 0)
        return -1;
    if (store_sql(db, add, err, "migrate to version 2") < 0 ||
        store_sql(db, schema, err, "schema") < 0 || convert_v1_results(db, err) < 0 ||
        store_sql(db, "ALTER TABLE executions DROP COLUMN result", err, "drop result") < 0 ||
        store_sql(db, "PRAGMA user_version = 3", err, "user_version") < 0) {
        struct sb_error ignored;
        store_sql(db, "ROLLBACK", &ignored, "rollback");
        return -1;
    }
    return store_sql(db, "COMMIT", err, "commit migration");
}

int store_schema(sqlite3 *db, const char *dir, struct sb_error *err)
{
    char sql[64];
    if (store_sql(db, "PRAGMA journal_mode = WAL", err, "journal_mode") < 0 ||
        store_sql(db, "PRAGMA synchronous = NORMAL", err, "synchronous") < 0)
        goto fail;
    int v = user_version(db);
    if (v == 1 && migrate_v1(db, err) < 0)
        goto fail;
    if (v == 2 && store_sql(db, "ALTER TABLE stages ADD COLUMN net_sent INTEGER;"
                                "ALTER TABLE stages ADD COLUMN net_received INTEGER;"
                                "ALTER TABLE stages ADD COLUMN net_connections INTEGER;"
                                "ALTER TABLE stages ADD COLUMN net_refused INTEGER;",
                            err, "migrate to version 3") < 0)
        goto fail;
    if (v > SCHEMA_VERSION)
        return sb_fail(err, SB_E_INTERNAL, "%s/soulbox.db: schema version %d is newer than this "
                       "soulbox (%d): use a newer binary", dir, v, SCHEMA_VERSION);
    if (store_sql(db, schema, err, "schema") < 0)
        goto fail;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
    return store_sql(db, sql, err, "user_version");
fail:;
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    return sb_fail(err, SB_E_INTERNAL, "%s/soulbox.db: %s", dir, why);
}

/* A server that died leaves executions queued or running: they will never
 * finish, so they end as internal_error, with a reason, not vanish. */
int store_recover(sqlite3 *db, int *count, struct sb_error *err)
{
    sqlite3_stmt *st = store_prepare(db,
        "UPDATE executions SET state = 'done', status = 'internal_error', finished_ms = ?, "
        "note = 'the server stopped while this execution was ' || state "
        "WHERE state IN ('queued', 'running')", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)util_now_ms());
    if (store_step_done(db, st, err, "recover") < 0)
        return -1;
    *count = sqlite3_changes(db);
    return 0;
}
