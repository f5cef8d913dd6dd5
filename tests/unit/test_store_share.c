/* Unit tests for src/store/store_share.c (and store_pg_share.c): the audit log read back a
 * page at a time with its filters, and share links (round trip, pruning), on SQLite and,
 * when SOULBOX_TEST_PG_URL names a database, on PostgreSQL (tests/cluster runs that). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "store/store.h"

static uv_loop_t loop;
static char dir[64];
static const char *pg_url;   /* the backend under test: SQLite in dir when NULL */

static void setup(void)
{
    uv_loop_init(&loop);
    snprintf(dir, sizeof dir, "/tmp/soulbox-share-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    /* not UV_RUN_DEFAULT: after a failed assertion the store's handle is still open */
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
}

TestSuite(store_share, .init = setup, .fini = teardown);
TestSuite(store_share_pg, .init = setup, .fini = teardown);

static struct store *open_backend(void)
{
    struct store *s = NULL;
    struct sb_error err = {0};
    int rec;
    char node[32];
    /* a node of its own: audit records are numbered per node (retries are idempotent) */
    snprintf(node, sizeof node, "test-node-%d", (int)getpid());
    if (pg_url)
        cr_assert_eq(store_open_pg(&s, &loop, pg_url, node, NULL, &err), 0, "%s", err.msg);
    else
        cr_assert_eq(store_open(&s, &loop, dir, NULL, &rec, &err), 0, "%s", err.msg);
    return s;
}

static void close_store(struct store *s)
{
    store_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
}

/* A name of this test process's own: PostgreSQL cases share one database. */
static const char *own(const char *base)
{
    static char names[8][64];
    static int next;
    char *n = names[next++ % 8];
    snprintf(n, sizeof names[0], "t%d-%s", (int)getpid(), base);
    return n;
}

/* Each case on both backends. */
#define BOTH(name)                                                                          \
    static void case_##name(void);                                                          \
    Test(store_share, name) { case_##name(); }                                              \
    Test(store_share_pg, name)                                                              \
    {                                                                                       \
        if (!(pg_url = getenv("SOULBOX_TEST_PG_URL")))                                      \
            cr_skip_test("SOULBOX_TEST_PG_URL is not set (tests/cluster sets it)");         \
        case_##name();                                                                      \
    }                                                                                       \
    static void case_##name(void)

/* ---- the audit log ---- */

struct page {
    bool done;
    int rc;
    struct sb_error err;
    struct audit_row *rows;
    size_t n;
    uint64_t next;
};

static void on_page(void *arg, int rc, const struct sb_error *err, struct audit_row *rows,
                    size_t n, uint64_t next)
{
    struct page *p = arg;
    *p = (struct page){.done = true, .rc = rc, .rows = rows, .n = n, .next = next};
    if (rc < 0)
        p->err = *err;
}

static struct page read_page(struct store *s, struct audit_query q)
{
    struct page p = {0};
    store_audit_list(s, &q, on_page, &p);
    while (!p.done)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(p.rc, 0, "%s", p.err.msg);
    return p;
}

static void free_page(struct page *p)
{
    for (size_t i = 0; i < p->n; i++)
        audit_row_free(&p->rows[i]);
    free(p->rows);
}

/* Five records of event ev at ts 1000..5000, keys k0 k1 k0 k1 k0, status ok or bad. */
static void write_five(struct store *s, const char *ev)
{
    for (int i = 0; i < 5; i++) {
        char detail[16];
        snprintf(detail, sizeof detail, "n%d", i);
        struct audit_record a = {
            .ts_ms = 1000u * (unsigned)(i + 1), .event = ev, .key_id = i % 2 ? "k1" : "k0",
            .status = i == 3 ? "bad" : "ok", .detail = detail,
            .limits_json = i == 0 ? "{\"wall_time_ms\":5}" : NULL,
        };
        store_audit(s, &a);
    }
}

BOTH(audit_pages_are_newest_first_and_joined_by_their_cursor)
{
    struct store *s = open_backend();
    const char *ev = own("paged");
    write_five(s, ev);
    struct page p1 = read_page(s, (struct audit_query){.limit = 2, .event = ev});
    cr_assert_eq(p1.n, 2);
    cr_assert_str_eq(p1.rows[0].f[AUDIT_DETAIL], "n4");
    cr_assert_str_eq(p1.rows[1].f[AUDIT_DETAIL], "n3");
    cr_assert_eq(p1.rows[0].ts_ms, 5000);
    cr_assert_gt(p1.rows[0].seq, p1.rows[1].seq);
    cr_assert_eq(p1.next, p1.rows[1].seq);
    struct page p2 = read_page(s, (struct audit_query){.limit = 2, .event = ev,
                                                       .before_seq = p1.next});
    cr_assert_eq(p2.n, 2);
    cr_assert_str_eq(p2.rows[0].f[AUDIT_DETAIL], "n2");
    struct page p3 = read_page(s, (struct audit_query){.limit = 2, .event = ev,
                                                       .before_seq = p2.next});
    cr_assert_eq(p3.n, 1);
    cr_assert_eq(p3.next, 0, "the last page");
    cr_assert_str_eq(p3.rows[0].f[AUDIT_DETAIL], "n0");
    cr_assert_str_eq(p3.rows[0].f[AUDIT_LIMITS], "{\"wall_time_ms\":5}");
    cr_assert_null(p3.rows[0].f[AUDIT_LANGUAGE], "absent fields are NULL");
    cr_assert_null(p3.rows[0].f[AUDIT_REQUEST_ID]);
    free_page(&p1);
    free_page(&p2);
    free_page(&p3);
    close_store(s);
}

BOTH(audit_filters_match_exactly_and_combine)
{
    struct store *s = open_backend();
    const char *ev = own("filtered");
    write_five(s, ev);
    struct page k1 = read_page(s, (struct audit_query){.limit = 10, .event = ev, .key_id = "k1"});
    cr_assert_eq(k1.n, 2);
    cr_assert_str_eq(k1.rows[0].f[AUDIT_DETAIL], "n3");
    cr_assert_str_eq(k1.rows[1].f[AUDIT_DETAIL], "n1");
    struct page bad = read_page(s, (struct audit_query){.limit = 10, .event = ev,
                                                        .status = "bad"});
    cr_assert_eq(bad.n, 1);
    cr_assert_str_eq(bad.rows[0].f[AUDIT_DETAIL], "n3");
    struct page since = read_page(s, (struct audit_query){.limit = 10, .event = ev,
                                                          .since_ms = 3000, .key_id = "k0"});
    cr_assert_eq(since.n, 2, "3000 is included");
    cr_assert_str_eq(since.rows[1].f[AUDIT_DETAIL], "n2");
    struct page none = read_page(s, (struct audit_query){.limit = 10, .event = own("other")});
    cr_assert_eq(none.n, 0);
    cr_assert_eq(none.next, 0);
    free_page(&k1);
    free_page(&bad);
    free_page(&since);
    free_page(&none);
    close_store(s);
}

/* ---- shares ---- */

struct got_share {
    bool done;
    int rc;
    struct sb_error err;
    struct share_row *row;
};

static void on_put(void *arg, int rc, const struct sb_error *err)
{
    struct got_share *g = arg;
    g->rc = rc;
    if (rc < 0)
        g->err = *err;
    g->done = true;
}

static void on_share(void *arg, int rc, const struct sb_error *err, struct share_row *row)
{
    struct got_share *g = arg;
    g->row = row;
    on_put(arg, rc, err);
}

static void put(struct store *s, const char *id, const char *doc, uint64_t keep)
{
    struct got_share g = {0};
    store_share_put(s, id, "key-1", doc, 1234, keep, on_put, &g);
    while (!g.done)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(g.rc, 0, "%s", g.err.msg);
}

/* The share id (the caller frees it: share_row_free, free), or NULL. */
static struct share_row *get(struct store *s, const char *id)
{
    struct got_share g = {0};
    store_share_get(s, id, on_share, &g);
    while (!g.done)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(g.rc, 0, "%s", g.err.msg);
    return g.row;
}

static void free_share(struct share_row *r)
{
    if (r)
        share_row_free(r);
    free(r);
}

BOTH(a_share_round_trips_and_an_unknown_one_is_null)
{
    struct store *s = open_backend();
    const char *id = own("share-round-trip");
    put(s, id, "{\"language\":\"python\",\"code\":\"print(1)\"}", 1000000);
    struct share_row *r = get(s, id);
    cr_assert_not_null(r);
    cr_assert_str_eq(r->id, id);
    cr_assert_str_eq(r->doc, "{\"language\":\"python\",\"code\":\"print(1)\"}");
    cr_assert_eq(r->created_ms, 1234);
    cr_assert_str_eq(r->key_id, "key-1");
    free_share(r);
    cr_assert_null(get(s, own("no-such-share")));
    close_store(s);
}

/* SQLite only: on PostgreSQL the cases share one table, and pruning would
 * take the others' shares. */
Test(store_share, the_oldest_shares_beyond_keep_go)
{
    struct store *s = open_backend();
    char ids[5][16];
    for (int i = 0; i < 5; i++) {
        snprintf(ids[i], sizeof ids[i], "share-%d", i);
        put(s, ids[i], "{}", 3);
    }
    for (int i = 0; i < 5; i++) {
        struct share_row *r = get(s, ids[i]);
        cr_assert_eq(r != NULL, i >= 2, "%s", ids[i]);
        free_share(r);
    }
    put(s, "share-5", "{}", 1);
    for (int i = 0; i < 5; i++)
        cr_assert_null(get(s, ids[i]));
    free_share(get(s, "share-5"));
    close_store(s);
}

Test(store_share, shares_outlive_the_store)
{
    struct store *s = open_backend();
    put(s, "kept", "{\"a\":1}", 10);
    close_store(s);
    s = open_backend();
    struct share_row *r = get(s, "kept");
    cr_assert_not_null(r);
    cr_assert_str_eq(r->doc, "{\"a\":1}");
    free_share(r);
    close_store(s);
}
