/* Unit tests for src/runner/pool.c: warm pools filled a few sandboxes at a
 * time within a memory budget, claimed, refilled, missed and closed. Runs real
 * sandboxes (bash) on a libuv loop; needs root. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_fixture.h"
#include "runner/limits.h"
#include "runner/pool.h"
#include "runner/runner.h"

static struct engine_fixture fx;
static struct lang_registry reg;
static const struct lang *bash;
static struct runner rn;
static struct pools *ps;
static bool pools_closed, engine_idle;

static struct sb_pool_cfg *default_pools; /* the config's own, freed with it */
static size_t n_default_pools;

static void open_pools(uint64_t size, uint64_t budget_mb)
{
    static struct sb_pool_cfg pc;
    pc = (struct sb_pool_cfg){.language = "bash", .size = size};
    default_pools = fx.cfg.pools;
    n_default_pools = fx.cfg.n_pools;
    fx.cfg.pools = &pc;
    fx.cfg.n_pools = 1;
    fx.cfg.pool_memory_mb = budget_mb;
    struct sb_error err = {0};
    cr_assert_eq(pools_open(&ps, &rn, &err), 0, "%s", err.msg);
    rn.pools = ps;
    cr_assert_eq(pools_enable(ps, bash, &err), 0, "%s", err.msg);
}

static void setup(void)
{
    struct sb_error err = {0};
    engine_fixture_open(&fx);
    cr_assert_eq(lang_registry_open_for(NULL, "bash", NULL, 0, &reg, &err), 0, "%s", err.msg);
    cr_assert_not_null(bash = lang_find(&reg, "bash"));
    rn = (struct runner){.engine = &fx.engine, .cfg = &fx.cfg};
    pools_closed = engine_idle = false;
}

static void on_pools_closed(void *arg)
{
    (void)arg;
    pools_closed = true;
}

static void on_idle(void *arg)
{
    (void)arg;
    engine_idle = true;
}

static void run_until(const bool *flag)
{
    engine_fixture_run_until(&fx, flag);
}

static void teardown(void)
{
    if (ps && !pools_closed) {
        pools_close(ps, on_pools_closed, NULL);
        run_until(&pools_closed);
    }
    ps = NULL;
    sbx_engine_idle(&fx.engine, on_idle, NULL);
    run_until(&engine_idle);
    lang_registry_free(&reg);
    if (default_pools) {
        fx.cfg.pools = default_pools;
        fx.cfg.n_pools = n_default_pools;
        default_pools = NULL;
    }
    engine_fixture_close(&fx);
}

TestSuite(pool, .init = setup, .fini = teardown, .timeout = 120);

static struct pool_stats stats(void)
{
    struct pool_stats st[2];
    cr_assert_eq(pools_stats(ps, st, 2), 1);
    return st[0];
}

static void tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until the pool holds `ready` sandboxes (polling every 10 ms). */
static void ticker_closed(uv_handle_t *h)
{
    *(bool *)h->data = true;
}

static void wait_ready(unsigned ready)
{
    uv_timer_t t;
    bool closed = false;
    uv_timer_init(&fx.loop, &t);
    t.data = &closed;
    uv_timer_start(&t, tick, 10, 10);
    for (int i = 0; stats().ready != ready && i < 3000; i++)
        uv_run(&fx.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, ticker_closed);
    run_until(&closed);
    cr_assert_eq(stats().ready, ready);
}

/* ---- claiming ---- */

struct claim {
    bool done;
    char out[64];
    int exit_code;
    bool warm;
};

static void on_done(struct sbx_run *r, void *arg)
{
    struct claim *c = arg;
    const struct sbx_result *res = sbx_run_result(r);
    snprintf(c->out, sizeof c->out, "%.*s", (int)res->out.len,
             res->out.data ? res->out.data : "");
    c->exit_code = res->exit_code;
    c->done = true;
    sbx_run_free(r);
}

static struct sbx_run *claim(const char *script, struct claim *c, int64_t disk_delta)
{
    static const char *argv[4] = {"/bin/bash", "-c"};
    static const char *env[] = {"PATH=/usr/bin:/bin"};
    argv[2] = script;
    struct limit_request none;
    limit_request_init(&none);
    struct sbx_run_go go = {.argv = argv, .argc = 3, .env = env, .envc = 1};
    struct sb_error err = {0};
    cr_assert_eq(limits_resolve(&fx.cfg, &bash->limits, &none, "limits.", &go.limits, &err), 0,
                 "%s", err.msg);
    go.limits.disk_kb = (uint64_t)((int64_t)go.limits.disk_kb + disk_delta);
    return pools_claim(ps, bash, &go, on_done, NULL, c);
}

Test(pool, fills_to_its_target_a_few_at_a_time)
{
    open_pools(3, 1024);
    struct pool_stats st0 = stats();
    cr_assert_eq(st0.ready, 0, "nothing is ready at once");
    cr_assert_eq(st0.target, 3);
    unsigned ncpus = fx.engine.cg.ncpus;
    cr_assert_eq(st0.starting, ncpus < 3 ? ncpus : 3, "up to one refill per CPU at once");
    wait_ready(3);
    struct pool_stats st = stats();
    cr_assert_eq(st.refills, 3);
    cr_assert_eq(st.starting, 0, "never beyond the target");
    cr_assert_eq(st.hits + st.misses, 0);
    cr_assert_gt(st.memory, 0);
    cr_assert_str_eq(st.language, "bash");
}

Test(pool, a_claim_runs_the_program_in_a_ready_sandbox_and_refills)
{
    open_pools(2, 1024);
    wait_ready(2);
    struct claim c = {0};
    struct sbx_run *r = claim("echo pooled; exit 3", &c, 0);
    cr_assert_not_null(r);
    cr_assert_eq(stats().hits, 1);
    cr_assert_eq(stats().ready, 1, "the claimed one left the pool");
    run_until(&c.done);
    cr_assert_str_eq(c.out, "pooled\n");
    cr_assert_eq(c.exit_code, 3);
    wait_ready(2);
    cr_assert_eq(stats().refills, 3);
}

Test(pool, claims_beyond_the_ready_ones_miss)
{
    open_pools(1, 1024);
    wait_ready(1);
    struct claim a = {0}, b = {0};
    cr_assert_not_null(claim("echo a", &a, 0));
    cr_assert_null(claim("echo b", &b, 0), "none ready: the caller runs cold");
    cr_assert_eq(stats().hits, 1);
    cr_assert_eq(stats().misses, 1);
    /* a request that found it empty asks for one more; the two came faster
     * than a refill, so it may aim higher, up to max_size (8 by default) */
    unsigned target = stats().target;
    cr_assert(target >= 2 && target <= 8, "target %u", target);
    run_until(&a.done);
    cr_assert_str_eq(a.out, "a\n");
    cr_assert_not(b.done);
}

Test(pool, a_sandbox_built_for_other_limits_is_not_used)
{
    open_pools(1, 1024);
    wait_ready(1);
    struct claim c = {0};
    cr_assert_null(claim("echo x", &c, 1024), "its disk was sized for the defaults");
    cr_assert_eq(stats().misses, 1);
    cr_assert_eq(stats().ready, 1, "it stays for a request it fits");
}

Test(pool, a_language_without_a_pool_always_misses)
{
    open_pools(0, 1024);
    struct pool_stats st[2];
    cr_assert_eq(pools_stats(ps, st, 2), 0, "size 0: no pool");
    struct claim c = {0};
    cr_assert_null(claim("echo x", &c, 0));
    cr_assert_not(pools_warm(ps, bash, false, SBX_ISO_NAMESPACES));
}

Test(pool, the_memory_budget_stops_the_fill)
{
    open_pools(4, 1);   /* 1 MiB: not even one sandbox fits */
    for (int i = 0; i < 50; i++)
        uv_run(&fx.loop, UV_RUN_NOWAIT);
    cr_assert_eq(stats().ready, 0);
    cr_assert_eq(stats().refills, 0);
    cr_assert_eq(fx.engine.active, 0, "no sandbox was even started");
}

Test(pool, closing_destroys_the_ready_sandboxes)
{
    open_pools(2, 1024);
    wait_ready(2);
    pools_close(ps, on_pools_closed, NULL);
    run_until(&pools_closed);
    ps = NULL;
    sbx_engine_idle(&fx.engine, on_idle, NULL);
    run_until(&engine_idle);
}
