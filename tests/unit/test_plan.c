/* Unit tests for src/sandbox/plan.c: the host <-> agent plan codec and path checks. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/plan.h"

static struct plan sample(struct plan_op *ops)
{
    ops[0] = (struct plan_op){.kind = PLAN_OP_TMPFS, .dst = "/", .size = 4096, .mode = 0755};
    ops[1] = (struct plan_op){.kind = PLAN_OP_BIND, .src = "/usr", .dst = "/usr"};
    ops[2] = (struct plan_op){.kind = PLAN_OP_WRITE, .dst = "/etc/passwd",
                              .data = (const uint8_t *)"root:x:0:0\n", .data_len = 11,
                              .mode = 0644};
    struct plan p = {
        .uid = 2100000001, .gid = 2100000001, .agent_uid = 2099999999, .flags = PLAN_ROOT_RO,
        .hostname = "soulbox", .staging = "/run/soulbox/root", .n_ops = 3, .ops = ops,
        .bpf = (const uint8_t *)"12345678", .bpf_len = 8,
    };
    return p;
}

static struct plan_exec sample_exec(struct plan_rlimit *rl)
{
    static const char *args[] = {"/usr/bin/python3", "main.py", NULL};
    static const char *env[] = {"PATH=/usr/bin", "HOME=/tmp", NULL};
    rl[0] = (struct plan_rlimit){7, 256, 256};
    struct plan_exec e = {.flags = PEXEC_SOLE | PEXEC_PTY, .cwd = "/workspace", .n_args = 2,
                          .args = args, .n_env = 2, .env = env, .n_rlimits = 1, .rlimits = rl,
                          .rows = 24, .cols = 80};
    return e;
}

Test(plan, round_trip_keeps_every_field)
{
    struct plan_op ops[3];
    struct plan in = sample(ops), out;
    uint8_t *buf;
    size_t len;
    const char *why = NULL;
    cr_assert_eq(plan_encode(&in, &buf, &len), 0);
    cr_assert_eq(plan_decode(buf, len, &out, &why), 0, "%s", why);
    cr_assert_eq(out.uid, in.uid);
    cr_assert_eq(out.agent_uid, in.agent_uid);
    cr_assert_eq(out.flags, PLAN_ROOT_RO);
    cr_assert_str_eq(out.hostname, "soulbox");
    cr_assert_str_eq(out.staging, "/run/soulbox/root");
    cr_assert_eq(out.n_ops, 3);
    cr_assert_str_eq(out.ops[1].src, "/usr");
    cr_assert_eq(out.ops[2].data_len, 11);
    cr_assert_eq(memcmp(out.ops[2].data, "root:x:0:0\n", 11), 0);
    cr_assert_eq(out.bpf_len, 8);
    plan_free(&out);
    free(buf);
}

Test(plan, exec_round_trip_keeps_every_field)
{
    struct plan_rlimit rl[1];
    struct plan_exec in = sample_exec(rl), out;
    uint8_t *buf;
    size_t len;
    const char *why = NULL;
    cr_assert_eq(plan_exec_encode(&in, &buf, &len), 0);
    cr_assert_eq(plan_exec_decode(buf, len, false, &out, &why), 0, "%s", why);
    cr_assert_eq(out.flags, PEXEC_SOLE | PEXEC_PTY);
    cr_assert_str_eq(out.cwd, "/workspace");
    cr_assert_str_eq(out.args[0], "/usr/bin/python3");
    cr_assert_null(out.args[2]);
    cr_assert_null(out.env[2]);
    cr_assert_eq(out.rlimits[0].cur, 256);
    cr_assert_eq(out.rows, 24);
    cr_assert_eq(out.cols, 80);
    plan_exec_free(&out);
    free(buf);
}

Test(plan, exec_needs_a_program_and_a_cwd_but_go_does_not)
{
    struct plan_rlimit rl[1];
    struct plan_exec in = {.n_rlimits = 1, .rlimits = rl, .input = (const uint8_t *)"{}",
                           .input_len = 2}, out;
    rl[0] = (struct plan_rlimit){7, 1, 1};
    uint8_t *buf;
    size_t len;
    const char *why = NULL;
    cr_assert_eq(plan_exec_encode(&in, &buf, &len), 0);
    cr_assert_eq(plan_exec_decode(buf, len, false, &out, &why), -1);
    cr_assert_str_eq(why, "exec needs an absolute working directory");
    cr_assert_eq(plan_exec_decode(buf, len, true, &out, &why), 0, "%s", why);
    cr_assert_eq(out.input_len, 2);
    plan_exec_free(&out);
    free(buf);
}

Test(plan, exec_flags_and_pty_size_are_checked)
{
    struct plan_rlimit rl[1];
    struct plan_exec in = sample_exec(rl), out;
    uint8_t *buf;
    size_t len;
    const char *why = NULL;
    in.flags |= 1u << 7;
    cr_assert_eq(plan_exec_encode(&in, &buf, &len), 0);
    cr_assert_eq(plan_exec_decode(buf, len, false, &out, &why), -1);
    cr_assert_str_eq(why, "unknown exec flags");
    free(buf);
    in = sample_exec(rl);
    in.rows = 0;
    cr_assert_eq(plan_exec_encode(&in, &buf, &len), 0);
    cr_assert_eq(plan_exec_decode(buf, len, false, &out, &why), -1);
    free(buf);
}

Test(plan, every_truncation_is_rejected)
{
    struct plan_op ops[3];
    struct plan in = sample(ops), out;
    uint8_t *buf;
    size_t len;
    cr_assert_eq(plan_encode(&in, &buf, &len), 0);
    for (size_t n = 0; n < len; n++) {
        const char *why = NULL;
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        int rc = plan_decode(copy, n, &out, &why);
        /* A prefix may only decode if it ends on a record boundary and
         * still holds everything required. */
        if (rc == 0)
            plan_free(&out);
        else
            cr_assert_not_null(why);
        free(copy);
    }
    free(buf);
}

Test(plan, root_uid_is_refused)
{
    struct plan_op ops[3];
    struct plan in = sample(ops), out;
    in.uid = 0;
    uint8_t *buf;
    size_t len;
    const char *why = NULL;
    cr_assert_eq(plan_encode(&in, &buf, &len), 0);
    cr_assert_eq(plan_decode(buf, len, &out, &why), -1);
    cr_assert_str_eq(why, "plan needs a non-root uid and gid");
    free(buf);
}

Test(plan, agent_uid_must_differ_from_the_program_and_root)
{
    struct plan_op ops[3];
    uint32_t bad[] = {0, 2100000001};
    for (size_t i = 0; i < 2; i++) {
        struct plan in = sample(ops), out;
        in.agent_uid = bad[i];
        uint8_t *buf;
        size_t len;
        const char *why = NULL;
        cr_assert_eq(plan_encode(&in, &buf, &len), 0);
        cr_assert_eq(plan_decode(buf, len, &out, &why), -1);
        cr_assert_str_eq(why, "plan needs an agent uid other than root and the program's");
        free(buf);
    }
}

Test(plan, path_checks)
{
    cr_assert(plan_path_ok("/"));
    cr_assert(plan_path_ok("/usr/lib"));
    cr_assert_not(plan_path_ok("usr"));
    cr_assert_not(plan_path_ok("/usr/"));
    cr_assert_not(plan_path_ok("/usr//lib"));
    cr_assert_not(plan_path_ok("/usr/../etc"));
    cr_assert_not(plan_path_ok("/."));
    cr_assert(plan_relpath_ok("a/b.c"));
    cr_assert(plan_relpath_ok("..a"));
    cr_assert_not(plan_relpath_ok(".."));
    cr_assert_not(plan_relpath_ok("/a"));
}
