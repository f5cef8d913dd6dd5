/* A sandbox engine on a loop of its own, for unit tests that run real
 * sandboxes (needs root). Each test process gets a cgroup root of its own:
 * an engine removes the cgroups of owners it does not recognise as SoulBox,
 * and criterion runs tests in parallel processes. */
#ifndef SB_TESTS_ENGINE_FIXTURE_H
#define SB_TESTS_ENGINE_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

#include "config/config.h"
#include "runner/runner.h"
#include "sandbox/sandbox.h"

struct engine_fixture {
    struct sb_config cfg;
    struct sbx_engine engine;
    uv_loop_t loop;
    char cg_root[64];
};

static inline void engine_fixture_open(struct engine_fixture *f)
{
    struct sb_error err = {0};
    cr_assert_eq(config_defaults(&f->cfg), 0);
    cr_assert_eq(uv_loop_init(&f->loop), 0);
    struct sbx_engine_cfg ec;
    runner_engine_cfg(&f->cfg, &ec);
    snprintf(f->cg_root, sizeof f->cg_root, "soulbox-unit-%d", (int)getpid());
    ec.cgroup_root = f->cg_root;
    cr_assert_eq(sbx_engine_init(&f->engine, &f->loop, &ec, &err), 0, "%s", err.msg);
}

/* After a failed assertion sandboxes may be left: this does not wait for
 * them (their agents die with this process). */
static inline void engine_fixture_close(struct engine_fixture *f)
{
    sbx_engine_close(&f->engine);
    for (int i = 0; i < 1000 && uv_loop_alive(&f->loop); i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    if (!uv_loop_alive(&f->loop))
        uv_loop_close(&f->loop);
    for (int i = 0; i < f->engine.cg.ndirs; i++)
        rmdir(f->engine.cg.dirs[i]);
    config_free(&f->cfg);
}

/* Runs the loop until *flag is set. */
static inline void engine_fixture_run_until(struct engine_fixture *f, const bool *flag)
{
    for (int i = 0; !*flag && i < 200000; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    cr_assert(*flag, "the loop ran dry before the event");
}

#endif
