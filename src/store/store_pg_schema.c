/* The PostgreSQL schema: numbered migrations, applied once, in order, under an advisory lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "store/store_pg.h"

/* Never edit an applied migration: add the next one. */
static const struct {
    int version;
    const char *what;
    const char *sql;
} migrations[] = {
    {1, "executions, stages, audit, nodes",
     "CREATE TABLE executions ("
     " seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE,"
     " created_ms bigint NOT NULL, started_ms bigint, finished_ms bigint,"
     " state text NOT NULL CHECK (state IN ('queued', 'running', 'done')),"
     " status text, mode text NOT NULL, language text NOT NULL,"
     " code_sha256 text NOT NULL, request_id text, key_id text, client text, limits text,"
     " callback_url text, callback_state text, callback_attempts integer NOT NULL DEFAULT 0,"
     " failed smallint NOT NULL DEFAULT 0, error text, note text,"
     " has_compile smallint NOT NULL DEFAULT 0, compile_cached smallint NOT NULL DEFAULT 0,"
     " ran smallint NOT NULL DEFAULT 0,"
     " node text, request text, runs integer NOT NULL DEFAULT 0);"
     "CREATE INDEX executions_queue ON executions(seq) WHERE state = 'queued' AND node IS NULL;"
     "CREATE INDEX executions_node ON executions(node) WHERE state <> 'done';"
     "CREATE INDEX executions_key ON executions(key_id, seq);"
     "CREATE TABLE stages ("
     " exec_seq bigint NOT NULL REFERENCES executions(seq) ON DELETE CASCADE,"
     " kind smallint NOT NULL, idx integer NOT NULL,"
     " status text NOT NULL, cause text, message text, seccomp_call text,"
     " exited smallint, exit_code integer, signal integer, wall_ms bigint, cpu_ms bigint,"
     " memory_kb bigint, truncated smallint, warm smallint, judged smallint, accepted smallint,"
     " stdout bytea, stderr bytea,"
     " net_sent bigint, net_received bigint, net_connections bigint, net_refused bigint,"
     " PRIMARY KEY (exec_seq, kind, idx));"
     "CREATE TABLE audit ("
     " seq bigserial PRIMARY KEY, uid text UNIQUE, ts_ms bigint NOT NULL, event text NOT NULL,"
     " request_id text, key_id text, client text, language text, code_sha256 text,"
     " limits text, status text, detail text, node text);"
     "CREATE INDEX audit_ts ON audit(ts_ms);"
     "CREATE TABLE nodes ("
     " id text PRIMARY KEY, name text NOT NULL, started_ms bigint NOT NULL,"
     " heartbeat_ms bigint NOT NULL, state text NOT NULL CHECK (state IN ('up', 'lost', 'left')),"
     " capacity integer NOT NULL, max_queue integer NOT NULL DEFAULT 0,"
     " running integer NOT NULL DEFAULT 0,"
     " queued integer NOT NULL DEFAULT 0, languages text NOT NULL DEFAULT '[]',"
     " version text, ended_ms bigint, reason text);"},
    {2, "sessions and where they live, nodes' URLs",
     "ALTER TABLE nodes ADD COLUMN url text;"
     "ALTER TABLE nodes ADD COLUMN grpc_port integer;"
     "CREATE TABLE sessions ("
     " id text PRIMARY KEY, node text NOT NULL, key_id text, created_ms bigint NOT NULL,"
     " state text NOT NULL CHECK (state IN ('live', 'ended', 'lost')),"
     " ended_ms bigint, reason text);"
     "CREATE INDEX sessions_node ON sessions(node) WHERE state = 'live';"},
    {3, "serverless functions and their claimed cron firings",
     "CREATE TABLE functions ("
     " name text PRIMARY KEY, owner text NOT NULL, doc text NOT NULL,"
     " generation bigint NOT NULL, updated_ms bigint NOT NULL);"
     "CREATE TABLE function_fires ("
     " name text NOT NULL, fire_ms bigint NOT NULL, node text, PRIMARY KEY (name, fire_ms));"
     "CREATE INDEX function_fires_ms ON function_fires(fire_ms);"},
    {4, "share links; the audit log read by event",
     "CREATE TABLE shares ("
     " seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE,"
     " created_ms bigint NOT NULL, key_id text, doc text NOT NULL);"
     "CREATE INDEX audit_event ON audit(event, seq);"},
    {5, "Judge0 submissions (the compat API)",
     "CREATE TABLE judge0_submissions ("
     " seq bigserial PRIMARY KEY, token text NOT NULL UNIQUE,"
     " created_ms bigint NOT NULL, key_id text, doc text NOT NULL);"},
};

#define NMIGRATIONS (sizeof migrations / sizeof *migrations)

static int current_version(PGconn *c, int *v, struct sb_error *err)
{
    PGresult *r = pq.PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (!r || pq.PQresultStatus(r) != PGRES_TUPLES_OK) {
        pq_failed(c, r, err, "read the schema version");
        pq.PQclear(r);
        return -1;
    }
    *v = atoi(pq.PQgetvalue(r, 0, 0));
    pq.PQclear(r);
    return 0;
}

static int record(PGconn *c, int version, const char *what, struct sb_error *err)
{
    char ms[24], ver[16];
    snprintf(ms, sizeof ms, "%llu", (unsigned long long)util_now_ms());
    snprintf(ver, sizeof ver, "%d", version);
    const char *v[] = {ver, ms, what};
    PGresult *r = pq.PQexecParams(c, "INSERT INTO schema_migrations(version, applied_ms, "
                                  "description) VALUES($1, $2, $3)", 3, NULL, v, NULL, NULL, 0);
    int rc = r && pq.PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc < 0)
        pq_failed(c, r, err, "record a migration");
    pq.PQclear(r);
    return rc;
}

static int migrate(PGconn *c, struct sb_error *err)
{
    int v;
    /* Nodes starting at once: one migrates, the others wait and see it done. */
    if (pq_exec(c, "SELECT pg_advisory_xact_lock(5050500)", err, "lock for migrations") < 0 ||
        pq_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                " applied_ms bigint NOT NULL, description text NOT NULL)", err,
                "create schema_migrations") < 0 ||
        current_version(c, &v, err) < 0)
        return -1;
    if (v > migrations[NMIGRATIONS - 1].version)
        return sb_fail(err, SB_E_INTERNAL, "postgres: schema version %d is newer than this "
                       "soulbox (%d): use a newer binary", v,
                       migrations[NMIGRATIONS - 1].version);
    for (size_t i = 0; i < NMIGRATIONS; i++) {
        if (migrations[i].version <= v)
            continue;
        char what[64];
        snprintf(what, sizeof what, "migration %d", migrations[i].version);
        if (pq_exec(c, migrations[i].sql, err, what) < 0 ||
            record(c, migrations[i].version, migrations[i].what, err) < 0)
            return -1;
    }
    return 0;
}

int store_pg_schema(PGconn *c, struct sb_error *err)
{
    if (pq_exec(c, "BEGIN", err, "begin migrations") < 0)
        return -1;
    if (migrate(c, err) < 0) {
        struct sb_error ignored;
        pq_exec(c, "ROLLBACK", &ignored, "rollback");
        return -1;
    }
    return pq_exec(c, "COMMIT", err, "commit migrations");
}
