/* Unit tests for src/sandbox/layout.c: the op list that builds a sandbox's root. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "sandbox/layout.h"

#define UID 2100000007u
#define DISK (64ull << 20)

static const char *const sys_dirs[] = {"/usr", "/bin", "/lib"};
static const char *const etc_names[] = {"ssl", "localtime"};
static const char *const bind_dirs[] = {"/opt/tools"};

static struct layout_cfg cfg(void)
{
    return (struct layout_cfg){
        .system = sys_dirs, .n_system = 3, .etc = etc_names, .n_etc = 2,
        .binds = bind_dirs, .n_binds = 1, .staging = "/run/soulbox/root",
        .data_dir = "/run/soulbox/data", .hostname = "judge", .workdir = "/workspace",
        .inodes = 16384,
    };
}

static struct layout_req req(void)
{
    return (struct layout_req){
        .uid = UID, .gid = UID, .agent_uid = UID - 8, .disk_bytes = DISK, .new_net = true,
        .bpf = (const uint8_t *)"12345678", .bpf_len = 8, .seccomp_notify = false,
    };
}

static struct layout_mem *mem;
static struct plan p;

static void setup(void)
{
    mem = calloc(1, sizeof *mem);
    cr_assert_not_null(mem);
}

static void teardown(void)
{
    free(mem);
}

TestSuite(layout, .init = setup, .fini = teardown);

static void build(void)
{
    struct layout_cfg c = cfg();
    struct layout_req r = req();
    cr_assert_eq(layout_build(&c, &r, &p, mem), 0);
}

/* Index of the op of that kind at dst, or -1. */
static int find(uint32_t kind, const char *dst)
{
    for (uint32_t i = 0; i < p.n_ops; i++)
        if (p.ops[i].kind == kind && !strcmp(p.ops[i].dst, dst))
            return (int)i;
    return -1;
}

static const struct plan_op *op(uint32_t kind, const char *dst)
{
    int i = find(kind, dst);
    cr_assert_geq(i, 0, "no op kind %u at %s", kind, dst);
    return &p.ops[i];
}

static bool has_text(const struct plan_op *o, const char *needle)
{
    char buf[1024];
    cr_assert_lt(o->data_len, sizeof buf);
    memcpy(buf, o->data, o->data_len);
    buf[o->data_len] = '\0';
    return strstr(buf, needle) != NULL;
}

Test(layout, plan_header)
{
    build();
    cr_assert_eq(p.uid, UID);
    cr_assert_eq(p.agent_uid, UID - 8);
    cr_assert_eq(p.gid, UID);
    cr_assert_str_eq(p.hostname, "judge");
    cr_assert_str_eq(p.staging, "/run/soulbox/root");
    cr_assert_eq(p.flags, PLAN_ROOT_RO | PLAN_NET_LO_UP);
    cr_assert_eq(p.ops, mem->ops);
    cr_assert_gt(p.n_ops, 20);
    cr_assert_eq(p.bpf_len, 8);
    cr_assert_eq(memcmp(p.bpf, "12345678", 8), 0);
}

Test(layout, flags_follow_the_request)
{
    struct layout_cfg c = cfg();
    struct layout_req r = req();
    r.new_net = false;
    r.seccomp_notify = true;
    cr_assert_eq(layout_build(&c, &r, &p, mem), 0);
    cr_assert_eq(p.flags, PLAN_ROOT_RO | PLAN_SECCOMP_NOTIFY);
}

Test(layout, root_is_a_tmpfs_and_comes_first)
{
    build();
    cr_assert_eq(p.ops[0].kind, PLAN_OP_TMPFS);
    cr_assert_str_eq(p.ops[0].dst, "/");
    cr_assert_eq(p.ops[0].mode, 0755);
    cr_assert_eq(p.ops[0].size, 4u << 20);
    cr_assert_eq(p.ops[0].flags, 0);
}

Test(layout, system_dirs_and_binds_are_exposed_read_only)
{
    build();
    for (int i = 0; i < 3; i++) {
        const struct plan_op *o = op(PLAN_OP_EXPOSE, sys_dirs[i]);
        cr_assert_str_eq(o->src, sys_dirs[i]);
        cr_assert_eq(o->flags, PLAN_F_OPTIONAL);
        cr_assert_eq(find(PLAN_OP_EXPOSE, sys_dirs[i]), 1 + i, "in config order after /");
    }
    const struct plan_op *b = op(PLAN_OP_BIND, "/opt/tools");
    cr_assert_str_eq(b->src, "/opt/tools");
    cr_assert_eq(b->flags, PLAN_F_OPTIONAL);
}

Test(layout, only_tmp_and_the_workdir_are_writable)
{
    build();
    const struct plan_op *tmp = op(PLAN_OP_BIND, "/tmp");
    const struct plan_op *work = op(PLAN_OP_BIND, "/workspace");
    cr_assert_str_eq(tmp->src, "/run/soulbox/data/tmp");
    cr_assert_str_eq(work->src, "/run/soulbox/data/work");
    cr_assert_eq(tmp->flags, PLAN_F_RW);
    cr_assert_eq(work->flags, PLAN_F_RW);
    int rw = 0;
    for (uint32_t i = 0; i < p.n_ops; i++)
        if (p.ops[i].flags & PLAN_F_RW)
            rw++;
    cr_assert_eq(rw, 2, "a third writable mount");
}

Test(layout, etc_is_minimal_and_names_the_sandbox_user)
{
    build();
    int etc = find(PLAN_OP_DIR, "/etc");
    cr_assert_geq(etc, 0);
    cr_assert_eq(p.ops[etc].mode, 0755);
    const struct plan_op *ssl = op(PLAN_OP_EXPOSE, "/etc/ssl");
    cr_assert_str_eq(ssl->src, "/etc/ssl");
    cr_assert_eq(ssl->flags, PLAN_F_OPTIONAL);
    cr_assert_gt(find(PLAN_OP_EXPOSE, "/etc/ssl"), etc);
    op(PLAN_OP_EXPOSE, "/etc/localtime");
    cr_assert_eq(find(PLAN_OP_EXPOSE, "/etc/passwd"), -1, "the host's passwd is never exposed");

    const struct plan_op *pw = op(PLAN_OP_WRITE, "/etc/passwd");
    cr_assert_eq(pw->mode, 0644);
    cr_assert_eq(pw->data_len, strlen((const char *)pw->data));
    cr_assert(has_text(pw, "\nsandbox:x:2100000007:2100000007:SoulBox sandbox:/workspace:"));
    cr_assert(has_text(pw, "root:x:0:0:"));
    cr_assert(has_text(pw, "\nsoulbox-agent:x:2099999999:2100000007:SoulBox supervisor:/:"));
    cr_assert_gt(find(PLAN_OP_WRITE, "/etc/passwd"), etc);
    cr_assert(has_text(op(PLAN_OP_WRITE, "/etc/group"), "\nsandbox:x:2100000007:\n"));
    const struct plan_op *hn = op(PLAN_OP_WRITE, "/etc/hostname");
    cr_assert_eq(hn->data_len, 6);
    cr_assert_eq(memcmp(hn->data, "judge\n", 6), 0);
    cr_assert(has_text(op(PLAN_OP_WRITE, "/etc/hosts"), "127.0.0.1\tlocalhost judge\n"));
}

Test(layout, proc_is_mounted)
{
    build();
    const struct plan_op *o = op(PLAN_OP_PROC, "/proc");
    cr_assert_eq(o->flags, 0);
    /* after /dev/null, which is bound over /proc/locks */
    cr_assert_gt(find(PLAN_OP_PROC, "/proc"), find(PLAN_OP_MKNOD, "/dev/null"));
}

Test(layout, dev_has_exactly_five_memory_devices)
{
    static const struct { const char *path; unsigned minor; } want[] = {
        {"/dev/null", 3}, {"/dev/zero", 5}, {"/dev/full", 7}, {"/dev/random", 8},
        {"/dev/urandom", 9},
    };
    build();
    int dev = find(PLAN_OP_TMPFS, "/dev");
    cr_assert_geq(dev, 0);
    cr_assert_eq(p.ops[dev].flags, PLAN_F_DEV | PLAN_F_EXEC_OFF);
    cr_assert_eq(p.ops[dev].mode, 0755);
    int nodes = 0;
    for (uint32_t i = 0; i < p.n_ops; i++)
        if (p.ops[i].kind == PLAN_OP_MKNOD)
            nodes++;
    cr_assert_eq(nodes, 5);
    for (int i = 0; i < 5; i++) {
        int k = find(PLAN_OP_MKNOD, want[i].path);
        cr_assert_gt(k, dev, "%s before its /dev", want[i].path);
        cr_assert_eq(p.ops[k].mode, 0666);
        cr_assert_eq(p.ops[k].size, makedev(1, want[i].minor), "%s", want[i].path);
        cr_assert_eq(major(p.ops[k].size), 1);
        cr_assert_eq(minor(p.ops[k].size), want[i].minor);
    }
    /* Only /dev allows device nodes. */
    for (uint32_t i = 0; i < p.n_ops; i++)
        if (p.ops[i].flags & PLAN_F_DEV)
            cr_assert_eq((int)i, dev, "%s has PLAN_F_DEV", p.ops[i].dst);
    cr_assert_str_eq(op(PLAN_OP_SYMLINK, "/dev/fd")->src, "/proc/self/fd");
    cr_assert_str_eq(op(PLAN_OP_SYMLINK, "/dev/stdin")->src, "/proc/self/fd/0");
    cr_assert_str_eq(op(PLAN_OP_SYMLINK, "/dev/stdout")->src, "/proc/self/fd/1");
    cr_assert_str_eq(op(PLAN_OP_SYMLINK, "/dev/stderr")->src, "/proc/self/fd/2");
    const struct plan_op *shm = op(PLAN_OP_TMPFS, "/dev/shm");
    cr_assert_eq(shm->mode, 01777);
    cr_assert_eq(shm->flags, PLAN_F_EXEC_OFF);
    cr_assert_eq(shm->size, DISK);
}

Test(layout, data_tmpfs_is_on_the_host_dir_and_sized_by_the_disk_limit)
{
    build();
    int data = find(PLAN_OP_TMPFS, "/run/soulbox/data");
    cr_assert_geq(data, 0);
    cr_assert_eq(p.ops[data].flags, PLAN_F_DST_HOST);
    cr_assert_eq(p.ops[data].size, DISK);
    cr_assert_eq(p.ops[data].inodes, 16384);
    int tmp = find(PLAN_OP_DIR, "/run/soulbox/data/tmp");
    int work = find(PLAN_OP_DIR, "/run/soulbox/data/work");
    cr_assert_gt(tmp, data);
    cr_assert_gt(work, data);
    cr_assert_eq(p.ops[tmp].mode, 01777);
    cr_assert_eq(p.ops[tmp].flags, PLAN_F_DST_HOST);
    cr_assert_eq(p.ops[work].mode, 0755);
    cr_assert_eq(p.ops[work].flags, PLAN_F_OWNED | PLAN_F_DST_HOST);
    cr_assert_gt(find(PLAN_OP_BIND, "/tmp"), tmp);
    cr_assert_gt(find(PLAN_OP_BIND, "/workspace"), work);
    /* Only the data tmpfs and its two dirs live outside the new root. */
    int host = 0;
    for (uint32_t i = 0; i < p.n_ops; i++)
        if (p.ops[i].flags & PLAN_F_DST_HOST)
            host++;
    cr_assert_eq(host, 3);
}

Test(layout, plan_survives_the_codec)
{
    build();
    uint8_t *buf;
    size_t len;
    struct plan out;
    const char *why = NULL;
    cr_assert_eq(plan_encode(&p, &buf, &len), 0);
    cr_assert_eq(plan_decode(buf, len, &out, &why), 0, "%s", why);
    cr_assert_eq(out.n_ops, p.n_ops);
    for (uint32_t i = 0; i < p.n_ops; i++) {
        cr_assert_eq(out.ops[i].kind, p.ops[i].kind);
        cr_assert_str_eq(out.ops[i].dst, p.ops[i].dst);
        cr_assert_eq(out.ops[i].size, p.ops[i].size);
    }
    plan_free(&out);
    free(buf);
}

Test(layout, too_many_etc_entries_fail)
{
    /* the config's 64 and a language's 32 (LANG_MAX_ETC) fit, one more does not */
    static const char *many[97];
    for (int i = 0; i < 97; i++)
        many[i] = "ssl";
    struct layout_cfg c = cfg();
    struct layout_req r = req();
    c.etc = many;
    c.n_etc = 64;
    r.extra_etc = many;
    r.n_extra_etc = 32;
    cr_assert_eq(layout_build(&c, &r, &p, mem), 0, "96 etc entries fit");
    r.n_extra_etc = 33;
    cr_assert_eq(layout_build(&c, &r, &p, mem), -1);
}

Test(layout, the_largest_valid_config_and_language_fit)
{
    static const char *sys[64], *etc[96], *binds[96];
    for (int i = 0; i < 96; i++) {
        etc[i] = "ssl";
        binds[i] = "/opt";
        if (i < 64)
            sys[i] = "/usr";
    }
    struct layout_cfg c = cfg();
    struct layout_req r = req();
    c.system = sys, c.n_system = 64;
    c.etc = etc, c.n_etc = 64;
    c.binds = binds, c.n_binds = 64;
    r.extra_etc = etc + 64, r.n_extra_etc = 32;
    r.extra_binds = binds + 64, r.n_extra_binds = 32;
    cr_assert_eq(layout_build(&c, &r, &p, mem), 0);
}

Test(layout, too_many_ops_fail)
{
    static const char *many[600];
    for (int i = 0; i < 600; i++)
        many[i] = "/usr";
    struct layout_cfg c = cfg();
    struct layout_req r = req();
    c.system = many;
    c.n_system = 600;
    cr_assert_eq(layout_build(&c, &r, &p, mem), -1);
}

/* The config accepts up to 64 entries in each rootfs list: the largest layout
 * it allows must be buildable, or every run of such a config fails. */
Test(layout, largest_config_layout_fits)
{
    static char names[3][64][16];
    static const char *sys[64], *etc[64], *binds[64];
    for (int i = 0; i < 64; i++) {
        snprintf(names[0][i], 16, "/s%d", i);
        snprintf(names[1][i], 16, "e%d", i);
        snprintf(names[2][i], 16, "/b%d", i);
        sys[i] = names[0][i];
        etc[i] = names[1][i];
        binds[i] = names[2][i];
    }
    struct layout_cfg c = cfg();
    struct layout_req r = req();
    c.system = sys;
    c.n_system = 64;
    c.etc = etc;
    c.n_etc = 64;
    c.binds = binds;
    c.n_binds = 64;
    cr_assert_eq(layout_build(&c, &r, &p, mem), 0);
    cr_assert_str_eq(op(PLAN_OP_EXPOSE, "/etc/e63")->src, "/etc/e63");
    cr_assert_str_eq(p.ops[p.n_ops - 1].dst, "/workspace");
}

/* An /etc name longer than its buffer must fail, not expose a truncated
 * (different) path. */
Test(layout, overlong_etc_name_fails)
{
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *etc[] = {"ssl", longname};
    struct layout_cfg c = cfg();
    struct layout_req r = req();
    c.etc = etc;
    c.n_etc = 2;
    cr_assert_eq(layout_build(&c, &r, &p, mem), -1);
}

Test(layout, a_terminal_needs_its_own_devpts)
{
    struct layout_cfg c = cfg();
    struct layout_req r = req();
    cr_assert_eq(layout_build(&c, &r, &p, mem), 0);
    for (uint32_t i = 0; i < p.n_ops; i++)
        cr_assert_neq(p.ops[i].kind, PLAN_OP_DEVPTS, "no pty was asked for");
    r.pty = true;
    cr_assert_eq(layout_build(&c, &r, &p, mem), 0);
    bool devpts = false, ptmx = false;
    for (uint32_t i = 0; i < p.n_ops; i++) {
        if (p.ops[i].kind == PLAN_OP_DEVPTS) {
            cr_assert_str_eq(p.ops[i].dst, "/dev/pts");
            cr_assert_eq(p.ops[i].size, r.gid, "ptys belong to the sandbox's group");
            devpts = true;
        }
        if (p.ops[i].kind == PLAN_OP_SYMLINK && !strcmp(p.ops[i].dst, "/dev/ptmx")) {
            cr_assert_str_eq(p.ops[i].src, "pts/ptmx");
            cr_assert(devpts, "the link follows the mount");
            ptmx = true;
        }
    }
    cr_assert(devpts && ptmx);
}
