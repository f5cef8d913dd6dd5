/* Unit tests for src/store/: typed results round-trip, key scoping, pages,
 * the data dir lock, crash recovery, migrations, and serverless functions
 * (generations, claimed firings) on SQLite and, when given one, PostgreSQL. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "store/pq.h"
#include "store/store.h"

static uv_loop_t loop;
static char dir[64];

static void setup(void)
{
    uv_loop_init(&loop);
    snprintf(dir, sizeof dir, "/tmp/soulbox-store-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

TestSuite(store, .init = setup, .fini = teardown);

static struct store *open_store(int *recovered)
{
    struct store *s = NULL;
    struct sb_error err = {0};
    int rec = -1;
    cr_assert_eq(store_open(&s, &loop, dir, NULL, &rec, &err), 0, "%s", err.msg);
    if (recovered)
        *recovered = rec;
    return s;
}

static void close_store(struct store *s)
{
    store_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
}

/* ---- waiting for completions ---- */

struct got {
    bool done;
    int rc;
    struct exec_row *row;
    struct exec_row *rows;
    size_t n;
    uint64_t next;
};

static void on_done(void *arg, int rc, const struct sb_error *err)
{
    (void)err;
    struct got *g = arg;
    g->rc = rc;
    g->done = true;
}

static void on_row(void *arg, int rc, const struct sb_error *err, struct exec_row *row)
{
    struct got *g = arg;
    g->row = row;
    on_done(arg, rc, err);
}

static void on_list(void *arg, int rc, const struct sb_error *err, struct exec_row *rows,
                    size_t n, uint64_t next)
{
    struct got *g = arg;
    g->rows = rows;
    g->n = n;
    g->next = next;
    on_done(arg, rc, err);
}

static void wait_for(struct got *g)
{
    while (!g->done)
        uv_run(&loop, UV_RUN_ONCE);
}

static void free_row(struct exec_row *r)
{
    if (r) {
        exec_row_free(r);
        free(r);
    }
}

static void free_rows(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        exec_row_free(&g->rows[i]);
    free(g->rows);
}

static void insert(struct store *s, const char *id, const char *key)
{
    struct exec_record r = {
        .id = id, .created_ms = util_now_ms(), .mode = "sync", .language = "python",
        .code_sha256 = "00", .request_id = "req", .key_id = key, .client = "127.0.0.1",
        .limits_json = "{}",
    };
    struct got g = {0};
    store_exec_insert(s, &r, on_done, &g);
    wait_for(&g);
    cr_assert_eq(g.rc, 0);
}

static struct exec_row *get(struct store *s, const char *id, const char *key)
{
    struct store_scope scope = {.all = key == NULL, .key_id = key};
    struct got g = {0};
    store_exec_get(s, id, &scope, on_row, &g);
    wait_for(&g);
    cr_assert_eq(g.rc, 0);
    return g.row;
}

static void set_text(struct sb_buf *b, const char *s)
{
    sb_buf_append(b, s, strlen(s));
}

/* ---- tests ---- */

Test(store, a_typed_result_comes_back_as_it_was_stored)
{
    struct store *s = open_store(NULL);
    insert(s, "e1", NULL);
    struct job_result r = {0};
    r.status = SB_ST_RUNTIME_ERROR;
    r.has_compile = true;
    r.compile.status = SB_ST_OK;
    r.compile.exited = true;
    r.ran = true;
    r.run.status = SB_ST_RUNTIME_ERROR;
    r.run.cause = SBX_CAUSE_SECCOMP;
    snprintf(r.run.seccomp_call, sizeof r.run.seccomp_call, "ptrace");
    snprintf(r.run.message, sizeof r.run.message, "killed by seccomp");
    r.run.signal = 31;
    r.run.wall_ms = 12;
    r.run.cpu_ms = 7;
    r.run.memory_kb = 2048;
    r.run.truncated = true;
    sb_buf_append(&r.run.out, "a\0b", 3);   /* bytes, NUL included */
    set_text(&r.run.err, "oops\n");
    store_exec_started(s, "e1", 5);
    store_exec_finished(s, "e1", 9, &r);
    job_result_free(&r);

    struct exec_row *row = get(s, "e1", NULL);
    cr_assert_not_null(row);
    cr_assert_str_eq(row->state, "done");
    cr_assert_eq(row->started_ms, 5);
    cr_assert_eq(row->finished_ms, 9);
    cr_assert(row->has_result);
    struct job_result *got = &row->result;
    cr_assert_eq(got->status, SB_ST_RUNTIME_ERROR);
    cr_assert(got->has_compile);
    cr_assert(got->compile.exited);
    cr_assert(got->ran);
    cr_assert_eq(got->run.cause, SBX_CAUSE_SECCOMP);
    cr_assert_str_eq(got->run.seccomp_call, "ptrace");
    cr_assert_str_eq(got->run.message, "killed by seccomp");
    cr_assert_eq(got->run.signal, 31);
    cr_assert_eq(got->run.wall_ms, 12);
    cr_assert_eq(got->run.cpu_ms, 7);
    cr_assert_eq(got->run.memory_kb, 2048);
    cr_assert(got->run.truncated);
    cr_assert_eq(got->run.out.len, 3);
    cr_assert_eq(memcmp(got->run.out.data, "a\0b", 3), 0);
    cr_assert_eq(got->run.err.len, 5);
    free_row(row);
    close_store(s);
}

Test(store, test_cases_keep_their_order_and_verdicts)
{
    struct store *s = open_store(NULL);
    insert(s, "e2", NULL);
    struct job_result r = {0};
    r.status = SB_ST_OK;
    r.ran = true;
    r.ncases = 3;
    r.cases = calloc(3, sizeof *r.cases);
    for (int i = 0; i < 3; i++) {
        r.cases[i].judged = true;
        r.cases[i].accepted = i != 1;
        char out[8];
        snprintf(out, sizeof out, "%d", i);
        set_text(&r.cases[i].run.out, out);
    }
    store_exec_finished(s, "e2", 9, &r);
    job_result_free(&r);
    struct exec_row *row = get(s, "e2", NULL);
    cr_assert_eq(row->result.ncases, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(row->result.cases[i].accepted, i != 1);
        cr_assert_eq(row->result.cases[i].run.out.data[0], '0' + i);
    }
    cr_assert_str_eq(case_verdict(&row->result.cases[1]), "wrong_answer");
    free_row(row);
    close_store(s);
}

Test(store, a_key_sees_only_its_own_executions)
{
    struct store *s = open_store(NULL);
    insert(s, "mine", "k1");
    insert(s, "theirs", "k2");
    struct exec_row *row = get(s, "mine", "k1");
    cr_assert_not_null(row);
    cr_assert_str_eq(row->key_id, "k1");
    free_row(row);
    cr_assert_null(get(s, "theirs", "k1"), "another key's execution is not found");
    cr_assert_null(get(s, "nope", NULL));
    row = get(s, "theirs", NULL);   /* all: admin or auth off */
    cr_assert_not_null(row);
    free_row(row);

    struct store_scope k1 = {.key_id = "k1"};
    struct got g = {0};
    store_exec_list(s, 10, 0, &k1, on_list, &g);
    wait_for(&g);
    cr_assert_eq(g.n, 1);
    cr_assert_str_eq(g.rows[0].id, "mine");
    cr_assert_eq(g.next, 0);
    free_rows(&g);
    close_store(s);
}

Test(store, pages_are_newest_first_and_end_with_cursor_zero)
{
    struct store *s = open_store(NULL);
    char id[8];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "x%d", i);
        insert(s, id, NULL);
    }
    struct store_scope all = {.all = true};
    char seen[16] = "";
    uint64_t cursor = 0;
    int pages = 0;
    do {
        struct got g = {0};
        store_exec_list(s, 2, cursor, &all, on_list, &g);
        wait_for(&g);
        cr_assert_eq(g.rc, 0);
        cr_assert_leq(g.n, 2);
        for (size_t i = 0; i < g.n; i++)
            strcat(seen, g.rows[i].id + 1);
        cursor = g.next;
        free_rows(&g);
        pages++;
    } while (cursor && pages < 10);
    cr_assert_str_eq(seen, "43210");
    cr_assert_eq(pages, 3);
    close_store(s);
}

Test(store, a_second_server_cannot_open_the_same_data_dir)
{
    struct store *s = open_store(NULL), *t = NULL;
    struct sb_error err = {0};
    int rec;
    cr_assert_eq(store_open(&t, &loop, dir, NULL, &rec, &err), -1);
    cr_assert(strstr(err.msg, "in use by another soulbox server"), "%s", err.msg);
    close_store(s);
    s = open_store(NULL);   /* free again once closed */
    close_store(s);
}

Test(store, executions_a_crash_left_behind_end_with_a_reason)
{
    struct store *s = open_store(NULL);
    insert(s, "queued", NULL);
    insert(s, "running", NULL);
    insert(s, "done", NULL);
    store_exec_started(s, "running", 3);
    struct job_result r = {0};
    r.status = SB_ST_OK;
    store_exec_finished(s, "done", 4, &r);
    close_store(s);   /* as if the server died: two never finished */

    int recovered = -1;
    s = open_store(&recovered);
    cr_assert_eq(recovered, 2);
    struct exec_row *row = get(s, "running", NULL);
    cr_assert_str_eq(row->state, "done");
    cr_assert(row->has_result);
    cr_assert_eq(row->result.status, SB_ST_INTERNAL_ERROR);
    cr_assert_str_eq(row->result.note, "the server stopped while this execution was running");
    cr_assert_gt(row->finished_ms, 0);
    free_row(row);
    row = get(s, "queued", NULL);
    cr_assert_str_eq(row->result.note, "the server stopped while this execution was queued");
    free_row(row);
    row = get(s, "done", NULL);
    cr_assert_eq(row->result.status, SB_ST_OK);
    free_row(row);
    close_store(s);
    s = open_store(&recovered);
    cr_assert_eq(recovered, 0, "nothing left to recover");
    close_store(s);
}

/* A data dir written by a version 1 server (results as JSON text). */
static void write_v1(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/soulbox.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    const char *sql =
        "CREATE TABLE executions (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " id TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, started_ms INTEGER,"
        " finished_ms INTEGER, state TEXT NOT NULL, status TEXT, mode TEXT NOT NULL,"
        " language TEXT NOT NULL, code_sha256 TEXT NOT NULL, request_id TEXT, key_id TEXT,"
        " client TEXT, limits TEXT, callback_url TEXT, callback_state TEXT,"
        " callback_attempts INTEGER DEFAULT 0, result TEXT);"
        "CREATE INDEX executions_state ON executions(state);"
        "CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL,"
        " event TEXT NOT NULL, request_id TEXT, key_id TEXT, client TEXT, language TEXT,"
        " code_sha256 TEXT, limits TEXT, status TEXT, detail TEXT);"
        "INSERT INTO executions (id, created_ms, finished_ms, state, status, mode, language,"
        " code_sha256, key_id, result) VALUES"
        " ('seccomp', 1, 2, 'done', 'runtime_error', 'sync', 'c', 'aa', 'k1',"
        "  '{\"status\":\"runtime_error\",\"message\":\"killed by seccomp: forbidden system"
        " call ptrace\",\"stdout\":\"hi\\n\",\"stderr\":\"\",\"exit_code\":null,\"signal\":31,"
        "\"wall_time_ms\":5,\"cpu_time_ms\":1,\"memory_kb\":900,\"truncated\":false}'),"
        " ('cases', 3, 4, 'done', 'ok', 'sync', 'python', 'bb', NULL,"
        "  '{\"status\":\"ok\",\"test_cases\":[{\"status\":\"ok\",\"verdict\":\"accepted\","
        "\"stdout\":\"1\",\"wall_time_ms\":1},{\"status\":\"ok\",\"verdict\":\"wrong_answer\","
        "\"stdout\":\"2\",\"wall_time_ms\":1}]}'),"
        " ('compile', 5, 6, 'done', 'compile_error', 'sync', 'c', 'cc', NULL,"
        "  '{\"status\":\"compile_error\",\"compile\":{\"status\":\"runtime_error\","
        "\"stderr\":\"x.c:1: error\",\"exit_code\":1,\"wall_time_ms\":30}}'),"
        " ('lost', 7, NULL, 'running', NULL, 'async', 'c', 'dd', NULL, NULL);"
        "PRAGMA user_version = 1;";
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(db);
}

Test(store, a_version_1_data_dir_is_migrated_once)
{
    write_v1();
    int recovered = -1;
    struct store *s = open_store(&recovered);
    cr_assert_eq(recovered, 1, "the running one");

    struct exec_row *row = get(s, "seccomp", "k1");
    cr_assert_not_null(row, "the key still owns it");
    cr_assert_eq(row->result.status, SB_ST_RUNTIME_ERROR);
    cr_assert(row->result.ran);
    cr_assert_eq(row->result.run.cause, SBX_CAUSE_SECCOMP);
    cr_assert_str_eq(row->result.run.seccomp_call, "ptrace");
    cr_assert_not(row->result.run.exited);
    cr_assert_eq(row->result.run.signal, 31);
    cr_assert_eq(row->result.run.memory_kb, 900);
    cr_assert_eq(row->result.run.out.len, 3);
    cr_assert_eq(memcmp(row->result.run.out.data, "hi\n", 3), 0);
    free_row(row);

    row = get(s, "cases", NULL);
    cr_assert_eq(row->result.ncases, 2);
    cr_assert(row->result.cases[0].accepted);
    cr_assert(row->result.cases[1].judged);
    cr_assert_not(row->result.cases[1].accepted);
    free_row(row);

    row = get(s, "compile", NULL);
    cr_assert_eq(row->result.status, SB_ST_COMPILE_ERROR);
    cr_assert(row->result.has_compile);
    cr_assert_not(row->result.ran);
    cr_assert_eq(row->result.compile.exit_code, 1);
    cr_assert_eq(row->result.compile.err.len, strlen("x.c:1: error"));
    free_row(row);

    row = get(s, "lost", NULL);
    cr_assert_eq(row->result.status, SB_ST_INTERNAL_ERROR);
    free_row(row);
    close_store(s);

    s = open_store(&recovered);   /* version 2 now: opens as is */
    row = get(s, "seccomp", NULL);
    cr_assert_str_eq(row->result.run.seccomp_call, "ptrace");
    free_row(row);
    close_store(s);
}

Test(store, network_traffic_is_stored_with_the_stage)
{
    struct store *s = open_store(NULL);
    insert(s, "net", NULL);
    insert(s, "nonet", NULL);
    struct job_result r = {0};
    r.ran = true;
    r.run.net_enabled = true;
    r.run.net = (struct net_stats){.bytes_sent = 5, .bytes_received = 1ull << 33,
                                   .connections = 3, .refused = 2};
    store_exec_finished(s, "net", 9, &r);
    r.run.net_enabled = false;
    store_exec_finished(s, "nonet", 9, &r);
    struct exec_row *row = get(s, "net", NULL);
    cr_assert(row->result.run.net_enabled);
    cr_assert_eq(row->result.run.net.bytes_sent, 5);
    cr_assert_eq(row->result.run.net.bytes_received, 1ull << 33);
    cr_assert_eq(row->result.run.net.connections, 3);
    cr_assert_eq(row->result.run.net.refused, 2);
    free_row(row);
    row = get(s, "nonet", NULL);
    cr_assert_not(row->result.run.net_enabled);
    free_row(row);
    close_store(s);
}

Test(store, a_version_2_data_dir_gains_the_network_columns)
{
    char path[128];
    snprintf(path, sizeof path, "%s/soulbox.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    const char *sql =
        "CREATE TABLE executions (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
        " created_ms INTEGER NOT NULL, started_ms INTEGER, finished_ms INTEGER, state TEXT NOT NULL,"
        " status TEXT, mode TEXT NOT NULL, language TEXT NOT NULL, code_sha256 TEXT NOT NULL,"
        " request_id TEXT, key_id TEXT, client TEXT, limits TEXT, callback_url TEXT,"
        " callback_state TEXT, callback_attempts INTEGER DEFAULT 0,"
        " failed INTEGER NOT NULL DEFAULT 0, error TEXT, note TEXT,"
        " has_compile INTEGER NOT NULL DEFAULT 0, compile_cached INTEGER NOT NULL DEFAULT 0,"
        " ran INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE stages (exec_seq INTEGER NOT NULL, kind INTEGER NOT NULL, idx INTEGER NOT NULL,"
        " status TEXT NOT NULL, cause TEXT, message TEXT, seccomp_call TEXT, exited INTEGER,"
        " exit_code INTEGER, signal INTEGER, wall_ms INTEGER, cpu_ms INTEGER, memory_kb INTEGER,"
        " truncated INTEGER, warm INTEGER, judged INTEGER, accepted INTEGER, stdout BLOB,"
        " stderr BLOB, PRIMARY KEY (exec_seq, kind, idx));"
        "INSERT INTO executions (id, created_ms, finished_ms, state, status, mode, language,"
        " code_sha256, ran) VALUES ('old', 1, 2, 'done', 'ok', 'sync', 'c', 'aa', 1);"
        "INSERT INTO stages (exec_seq, kind, idx, status, exited, exit_code, stdout, stderr)"
        " VALUES (1, 0, 0, 'ok', 1, 0, 'hi', '');"
        "PRAGMA user_version = 2;";
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(db);
    struct store *s = open_store(NULL);
    struct exec_row *row = get(s, "old", NULL);
    cr_assert_eq(row->result.status, SB_ST_OK);
    cr_assert_not(row->result.run.net_enabled);
    cr_assert_eq(row->result.run.out.len, 2);
    free_row(row);
    close_store(s);
}

Test(store, a_newer_schema_is_refused_with_a_reason)
{
    char path[128];
    snprintf(path, sizeof path, "%s/soulbox.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct store *s = NULL;
    struct sb_error err = {0};
    int rec;
    cr_assert_eq(store_open(&s, &loop, dir, NULL, &rec, &err), -1);
    cr_assert(strstr(err.msg, "schema version 99 is newer"), "%s", err.msg);
}

/* ---- serverless functions ----
 * Each case runs on SQLite (suite store) and, when SOULBOX_TEST_PG_URL names a
 * PostgreSQL database, on it too (suite store_pg: tests/cluster runs it). Names
 * carry the test process's pid: cases share that database and run at once. */

struct fns {
    bool done;
    int rc;
    struct sb_error err;
    struct fn_row *rows;
    size_t n;
};

static void on_fn_done(void *arg, int rc, const struct sb_error *err)
{
    struct fns *f = arg;
    f->rc = rc;
    if (rc < 0)
        f->err = *err;
    f->done = true;
}

static void on_fns(void *arg, int rc, const struct sb_error *err, struct fn_row *rows, size_t n)
{
    struct fns *f = arg;
    f->rows = rows;
    f->n = n;
    on_fn_done(arg, rc, err);
}

static void wait_fns(struct fns *f)
{
    while (!f->done)
        uv_run(&loop, UV_RUN_ONCE);
}

static void free_fns(struct fns *f)
{
    for (size_t i = 0; i < f->n; i++)
        fn_row_free(&f->rows[i]);
    free(f->rows);
    f->rows = NULL, f->n = 0;
}

static const char *pg_url;   /* the backend under test: SQLite in dir when NULL */

static struct store *open_backend(void)
{
    if (!pg_url)
        return open_store(NULL);
    struct store *s = NULL;
    struct sb_error err = {0};
    cr_assert_eq(store_open_pg(&s, &loop, pg_url, "test-node", NULL, &err), 0, "%s", err.msg);
    return s;
}

/* A function name of this test's own. */
static const char *fname(const char *base)
{
    static char names[8][64];
    static int next;
    char *n = names[next++ % 8];
    snprintf(n, sizeof names[0], "t%d-%s", (int)getpid(), base);
    return n;
}

static struct fns put_fn(struct store *s, const char *name, const char *doc, uint64_t expect)
{
    struct fns f = {0};
    store_fn_put(s, name, "key-1", doc, expect, 1000 + expect, on_fn_done, &f);
    wait_fns(&f);
    return f;
}

static struct fns delete_fn(struct store *s, const char *name, uint64_t expect)
{
    struct fns f = {0};
    store_fn_delete(s, name, expect, on_fn_done, &f);
    wait_fns(&f);
    return f;
}

static struct fns load_fn(struct store *s, const char *name)
{
    struct fns f = {0};
    store_fn_load(s, name, on_fns, &f);
    wait_fns(&f);
    cr_assert_eq(f.rc, 0, "%s", f.err.msg);
    return f;
}

static int claim(struct store *s, const char *name, uint64_t fire_ms)
{
    struct fns f = {0};
    store_fn_claim_fire(s, name, fire_ms, "node-a", on_fn_done, &f);
    wait_fns(&f);
    cr_assert_geq(f.rc, 0, "%s", f.err.msg);
    return f.rc;
}

static void assert_conflict(const struct fns *f, const char *name)
{
    char want[128];
    snprintf(want, sizeof want, "function %s was changed by another request", name);
    cr_assert_eq(f->rc, -1);
    cr_assert_eq(f->err.code, SB_E_CONFLICT, "%s", f->err.msg);
    cr_assert_str_eq(f->err.msg, want);
}

/* name's one row holds doc at generation gen. */
static void assert_doc(struct store *s, const char *name, const char *doc, uint64_t gen)
{
    struct fns f = load_fn(s, name);
    cr_assert_eq(f.n, 1, "%s", name);
    cr_assert_str_eq(f.rows[0].name, name);
    cr_assert_str_eq(f.rows[0].owner, "key-1");
    cr_assert_str_eq(f.rows[0].doc, doc);
    cr_assert_eq(f.rows[0].generation, gen);
    cr_assert_eq(f.rows[0].updated_ms, 1000 + gen - 1, "the now_ms of its last write");
    free_fns(&f);
}

/* Each case on both backends. */
#define FN_TEST(name)                                                                       \
    static void fn_case_##name(void);                                                       \
    Test(store, fn_##name) { fn_case_##name(); }                                            \
    Test(store_pg, fn_##name)                                                               \
    {                                                                                       \
        if (!(pg_url = getenv("SOULBOX_TEST_PG_URL")))                                      \
            cr_skip_test("SOULBOX_TEST_PG_URL is not set (tests/cluster sets it)");         \
        fn_case_##name();                                                                   \
    }                                                                                       \
    static void fn_case_##name(void)

TestSuite(store_pg, .init = setup, .fini = teardown);

FN_TEST(a_new_function_is_written_at_generation_1_and_read_back)
{
    struct store *s = open_backend();
    const char *b = fname("b"), *a = fname("a"), *c = fname("c");
    cr_assert_eq(put_fn(s, b, "{\"v\":\"b\"}", 0).rc, 0);
    cr_assert_eq(put_fn(s, a, "{\"v\":\"a\"}", 0).rc, 0);
    cr_assert_eq(put_fn(s, c, "{\"v\":\"c\"}", 0).rc, 0);
    assert_doc(s, a, "{\"v\":\"a\"}", 1);

    struct fns all = load_fn(s, NULL);   /* PostgreSQL: other cases' too, in order */
    const char *want[] = {a, b, c};
    size_t seen = 0;
    for (size_t i = 0; i < all.n; i++)
        if (seen < 3 && !strcmp(all.rows[i].name, want[seen]))
            seen++;
    cr_assert_eq(seen, 3, "every function, ordered by name");
    cr_assert(pg_url || all.n == 3);
    free_fns(&all);

    struct fns none = load_fn(s, fname("missing"));
    cr_assert_eq(none.n, 0);
    cr_assert_null(none.rows);
    close_store(s);
}

FN_TEST(a_write_at_a_stale_generation_is_a_conflict_and_changes_nothing)
{
    struct store *s = open_backend();
    const char *f = fname("f");
    cr_assert_eq(put_fn(s, f, "{\"v\":1}", 0).rc, 0);
    cr_assert_eq(put_fn(s, f, "{\"v\":2}", 1).rc, 0);
    assert_doc(s, f, "{\"v\":2}", 2);
    struct fns stale = put_fn(s, f, "{\"v\":\"stale\"}", 1);
    assert_conflict(&stale, f);
    struct fns again = put_fn(s, f, "{\"v\":\"new\"}", 0);
    assert_conflict(&again, f);   /* it exists already */
    struct fns gone = put_fn(s, fname("nope"), "{}", 3);
    assert_conflict(&gone, fname("nope"));
    assert_doc(s, f, "{\"v\":2}", 2);
    cr_assert_eq(store_errors(s), 0, "a conflict is not the store failing");
    close_store(s);
}

FN_TEST(a_delete_needs_the_current_generation)
{
    struct store *s = open_backend();
    const char *f = fname("f");
    cr_assert_eq(put_fn(s, f, "{}", 0).rc, 0);
    cr_assert_eq(put_fn(s, f, "{\"v\":2}", 1).rc, 0);
    struct fns stale = delete_fn(s, f, 1);
    assert_conflict(&stale, f);
    assert_doc(s, f, "{\"v\":2}", 2);
    cr_assert_eq(delete_fn(s, f, 2).rc, 0);
    struct fns none = load_fn(s, f);
    cr_assert_eq(none.n, 0);
    struct fns twice = delete_fn(s, f, 2);
    assert_conflict(&twice, f);
    cr_assert_eq(put_fn(s, f, "{\"v\":\"again\"}", 0).rc, 0, "the name is free again");
    assert_doc(s, f, "{\"v\":\"again\"}", 1);
    close_store(s);
}

/* Queued together they run in order, in one transaction: a conflict among
 * them undoes none of the others. */
FN_TEST(a_conflict_in_a_batch_leaves_the_other_writes)
{
    struct store *s = open_backend();
    const char *f = fname("batch");
    uint64_t t = util_now_ms();
    struct fns w[5] = {{0}}, got = {0};
    store_fn_put(s, f, "key-1", "{\"v\":1}", 0, 1000, on_fn_done, &w[0]);
    store_fn_put(s, f, "key-1", "{\"v\":\"lost\"}", 0, 1000, on_fn_done, &w[1]);
    store_fn_put(s, f, "key-1", "{\"v\":2}", 1, 1001, on_fn_done, &w[2]);
    store_fn_claim_fire(s, f, t, NULL, on_fn_done, &w[3]);
    store_fn_claim_fire(s, f, t, "node-b", on_fn_done, &w[4]);
    store_fn_load(s, f, on_fns, &got);
    wait_fns(&got);
    for (int i = 0; i < 5; i++)
        cr_assert(w[i].done, "completed in order: %d before the load", i);
    cr_assert_eq(w[0].rc, 0);
    assert_conflict(&w[1], f);
    cr_assert_eq(w[2].rc, 0, "%s", w[2].err.msg);
    cr_assert_eq(w[3].rc, 0);
    cr_assert_eq(w[4].rc, 1);
    cr_assert_eq(got.n, 1);
    cr_assert_str_eq(got.rows[0].doc, "{\"v\":2}");
    free_fns(&got);
    close_store(s);
    s = open_backend();
    assert_doc(s, f, "{\"v\":2}", 2);
    close_store(s);
}

FN_TEST(a_firing_is_claimed_once)
{
    struct store *s = open_backend();
    const char *f = fname("cron");
    uint64_t t = util_now_ms() / 60000 * 60000;
    cr_assert_eq(claim(s, f, t), 0);
    cr_assert_eq(claim(s, f, t), 1, "already claimed");
    cr_assert_eq(claim(s, f, t + 60000), 0, "the next minute is its own");
    cr_assert_eq(claim(s, fname("other"), t), 0, "another function's firing too");
    close_store(s);
}

FN_TEST(deleting_a_function_drops_its_firings)
{
    struct store *s = open_backend();
    const char *f = fname("cron");
    uint64_t t = util_now_ms() / 60000 * 60000;
    cr_assert_eq(put_fn(s, f, "{}", 0).rc, 0);
    cr_assert_eq(claim(s, f, t), 0);
    cr_assert_eq(delete_fn(s, f, 1).rc, 0);
    cr_assert_eq(put_fn(s, f, "{}", 0).rc, 0);
    cr_assert_eq(claim(s, f, t), 0, "claimable again: the old claim went with the function");
    close_store(s);
}

FN_TEST(functions_and_claims_outlive_the_store)
{
    struct store *s = open_backend();
    const char *f = fname("kept");
    uint64_t t = util_now_ms();
    cr_assert_eq(put_fn(s, f, "{\"v\":1}", 0).rc, 0);
    cr_assert_eq(put_fn(s, f, "{\"v\":2}", 1).rc, 0);
    cr_assert_eq(claim(s, f, t), 0);
    close_store(s);
    s = open_backend();
    assert_doc(s, f, "{\"v\":2}", 2);
    cr_assert_eq(claim(s, f, t), 1);
    close_store(s);
}

FN_TEST(a_32_mib_document_round_trips)
{
    struct store *s = open_backend();
    const char *f = fname("big");
    size_t len = 32u << 20;
    char *doc = malloc(len + 1);
    cr_assert_not_null(doc);
    memset(doc, 'x', len);
    memcpy(doc, "{\"x\":\"", 6);
    memcpy(doc + len - 2, "\"}", 2);
    doc[len] = '\0';
    cr_assert_eq(put_fn(s, f, doc, 0).rc, 0);
    struct fns got = load_fn(s, f);
    cr_assert_eq(got.n, 1);
    cr_assert_eq(strlen(got.rows[0].doc), len);
    cr_assert_eq(memcmp(got.rows[0].doc, doc, len), 0);
    free_fns(&got);
    free(doc);
    close_store(s);
}

FN_TEST(a_name_too_long_for_a_row_is_refused_at_once)
{
    struct store *s = open_backend();
    char name[100];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    struct fns f = {0};
    store_fn_put(s, name, "key-1", "{}", 0, 1, on_fn_done, &f);
    cr_assert(f.done, "before the call returns");
    cr_assert_eq(f.err.code, SB_E_INVALID_ARGUMENT);
    struct fns none = load_fn(s, name);
    cr_assert_eq(none.n, 0);
    close_store(s);
}

/* Notifications on channel soulbox_functions naming name, within timeout_ms. */
static int notified(PGconn *c, const char *name, int want, int timeout_ms)
{
    int n = 0;
    for (int waited = 0; n < want && waited < timeout_ms; waited += 20) {
        cr_assert(pq.PQconsumeInput(c));
        PGnotify *m;
        while ((m = pq.PQnotifies(c))) {
            n += !strcmp(m->relname, "soulbox_functions") && !strcmp(m->extra, name);
            pq.PQfreemem(m);
        }
        if (n < want)
            usleep(20000);
    }
    return n;
}

/* PostgreSQL only: a put and a delete tell the other nodes; a conflict does not. */
Test(store_pg, fn_writes_notify_the_other_nodes)
{
    if (!(pg_url = getenv("SOULBOX_TEST_PG_URL")))
        cr_skip_test("SOULBOX_TEST_PG_URL is not set (tests/cluster sets it)");
    struct store *s = open_backend();   /* loads libpq */
    struct sb_error err = {0};
    PGconn *c = pq_connect(pg_url, "test-listen", &err);
    cr_assert_not_null(c, "%s", err.msg);
    cr_assert_eq(pq_exec(c, "LISTEN soulbox_functions", &err, "listen"), 0, "%s", err.msg);
    const char *f = fname("told");
    cr_assert_eq(put_fn(s, f, "{}", 0).rc, 0);
    cr_assert_eq(put_fn(s, f, "{}", 0).rc, -1);
    cr_assert_eq(put_fn(s, f, "{\"v\":2}", 1).rc, 0);
    cr_assert_eq(delete_fn(s, f, 2).rc, 0);
    close_store(s);
    cr_assert_eq(notified(c, f, 3, 5000), 3);
    cr_assert_eq(notified(c, f, 1, 200), 0, "nothing for the conflict");
    pq.PQfinish(c);
}

/* SQLite only: the table of claims stays small. */
Test(store, claims_older_than_a_day_are_dropped_when_new_ones_are_made)
{
    struct store *s = open_store(NULL);
    uint64_t now = util_now_ms();
    cr_assert_eq(claim(s, "f", now - 2 * 86400000ull), 0);
    cr_assert_eq(claim(s, "f", now - 3600000), 0);
    cr_assert_eq(claim(s, "g", now), 0);
    close_store(s);
    char path[128];
    snprintf(path, sizeof path, "%s/soulbox.db", dir);
    sqlite3 *db;
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT group_concat(fire_ms < ?, ',') FROM "
                                    "(SELECT fire_ms FROM function_fires ORDER BY fire_ms)",
                                    -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)(now - 86400000));
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "0,0", "the hour-old and new stay");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

Test(store, a_version_3_data_dir_gains_the_function_tables)
{
    close_store(open_store(NULL));
    char path[128];
    snprintf(path, sizeof path, "%s/soulbox.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "DROP TABLE functions; DROP TABLE function_fires;"
                              "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct store *s = open_store(NULL);
    cr_assert_eq(put_fn(s, "f", "{}", 0).rc, 0);
    cr_assert_eq(claim(s, "f", util_now_ms()), 0);
    close_store(s);
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(q, 0), 6);
    sqlite3_finalize(q);
    sqlite3_close(db);
}
