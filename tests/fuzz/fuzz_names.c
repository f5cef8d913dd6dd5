/* Fuzz target `names`: file-name validation (plan_relpath_ok, plan_path_ok),
 * the artifact tar reader (tar_parse: archives come out of a sandbox, so are
 * untrusted) and the agent's plan codec (plan_decode, plan_exec_decode).
 * Whatever is accepted must hold the documented promises: tar names pass
 * plan_relpath_ok and point into the archive, decoded plans hold only valid
 * paths, and re-encoding a decoded plan decodes again to the same plan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "runner/tar.h"
#include "sandbox/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARTIFACT_FILES 10000 /* as src/runner/job.c */

static bool inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;
    return q >= buf && q <= buf + len && n <= (size_t)(buf + len - q);
}

static bool str_inside(const char *s, const uint8_t *buf, size_t len)
{
    return s && inside(s, 0, buf, len) && memchr(s, '\0', (size_t)(buf + len - (const uint8_t *)s));
}

static void check_names(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    bool rel = plan_relpath_ok(s), abs = plan_path_ok(s);
    size_t n = strlen(s);
    if (rel && abs)
        abort(); /* one starts with '/', the other must not */
    if (rel || abs) {
        /* the promises: no "." or ".." component, no empty one, bounded */
        if (n == 0 || n >= PLAN_MAX_PATH || (rel && s[0] == '/') || (abs && s[0] != '/'))
            abort();
        if (n > 1 && s[n - 1] == '/')
            abort();
        if (strstr(s, "//") || strstr(s, "/./") || strstr(s, "/../") ||
            (n >= 2 && !strcmp(s + n - 2, "/.")) || (n >= 3 && !strcmp(s + n - 3, "/..")) ||
            !strcmp(s, ".") || !strcmp(s, "..") || !strncmp(s, "./", 2) || !strncmp(s, "../", 3))
            abort();
    }
    free(s);
}

static void check_tar(const uint8_t *data, size_t size)
{
    struct tar_list l;
    const char *why = NULL;
    if (tar_parse(data, size, MAX_ARTIFACT_FILES, &l, &why) < 0) {
        if (!why || l.n || l.v)
            abort();
        fuzz_touch(why);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        if (!plan_relpath_ok(l.v[i].name) || !inside(l.v[i].data, l.v[i].len, data, size))
            abort();
        if (l.v[i].mode != 0755 && l.v[i].mode != 0644)
            abort();
        for (size_t j = 0; j < i; j++)
            if (!strcmp(l.v[i].name, l.v[j].name))
                abort(); /* a later entry replaces an earlier one */
    }
    tar_free(&l);
}

static void check_exec(const struct plan_exec *e, const uint8_t *buf, size_t len)
{
    if (!plan_path_ok(e->cwd) || !str_inside(e->cwd, buf, len))
        abort();
    if (e->n_args == 0 || !e->args || !e->args[0][0] || e->args[e->n_args] || !e->env ||
        e->env[e->n_env])
        abort();
    for (uint32_t i = 0; i < e->n_args; i++)
        if (!str_inside(e->args[i], buf, len))
            abort();
    for (uint32_t i = 0; i < e->n_env; i++)
        if (!str_inside(e->env[i], buf, len) || !strchr(e->env[i], '='))
            abort();
    for (uint32_t i = 0; i < e->n_files; i++)
        if (!plan_relpath_ok(e->files[i].path) || !str_inside(e->files[i].path, buf, len) ||
            e->files[i].mode > 0777 ||
            (e->files[i].len && !inside(e->files[i].data, e->files[i].len, buf, len)))
            abort();
    for (uint32_t i = 0; i < e->n_rlimits; i++)
        if (e->rlimits[i].resource >= 64 || e->rlimits[i].cur > e->rlimits[i].max)
            abort();
    if (e->input && !inside(e->input, e->input_len, buf, len))
        abort();
}

/* A file record without T_F_DATA decodes to data NULL; the host never
 * encodes one like that (its files always have a buffer, if empty), and
 * plan_encode takes the pointer as is: give it an empty one. */
static void host_like(struct plan_exec *e)
{
    for (uint32_t i = 0; i < e->n_files; i++)
        if (!e->files[i].data)
            e->files[i].data = (const uint8_t *)"";
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_bytes(const void *a, size_t an, const void *b, size_t bn)
{
    return an == bn && (an == 0 || !memcmp(a, b, an));
}

static bool same_exec(const struct plan_exec *a, const struct plan_exec *b)
{
    if (!same_str(a->cwd, b->cwd) || a->n_args != b->n_args || a->n_env != b->n_env ||
        a->n_files != b->n_files || a->n_rlimits != b->n_rlimits ||
        !same_bytes(a->input, a->input_len, b->input, b->input_len) ||
        !a->input != !b->input)
        return false;
    for (uint32_t i = 0; i < a->n_args; i++)
        if (!same_str(a->args[i], b->args[i]))
            return false;
    for (uint32_t i = 0; i < a->n_env; i++)
        if (!same_str(a->env[i], b->env[i]))
            return false;
    for (uint32_t i = 0; i < a->n_files; i++)
        if (!same_str(a->files[i].path, b->files[i].path) || a->files[i].mode != b->files[i].mode ||
            !same_bytes(a->files[i].data, a->files[i].len, b->files[i].data, b->files[i].len))
            return false;
    for (uint32_t i = 0; i < a->n_rlimits; i++)
        if (a->rlimits[i].resource != b->rlimits[i].resource ||
            a->rlimits[i].cur != b->rlimits[i].cur || a->rlimits[i].max != b->rlimits[i].max)
            return false;
    return true;
}

static void check_plan(const uint8_t *data, size_t size)
{
    struct plan p;
    const char *why = NULL;
    if (plan_decode(data, size, &p, &why) < 0) {
        fuzz_touch(why);
        return;
    }
    if (p.uid == 0 || p.gid == 0 || p.agent_uid == 0 || p.agent_uid == p.uid || !plan_path_ok(p.staging) || !strcmp(p.staging, "/"))
        abort();
    if (p.hostname && !str_inside(p.hostname, data, size))
        abort();
    for (uint32_t i = 0; i < p.n_ops; i++) {
        const struct plan_op *op = &p.ops[i];
        if (op->kind == 0 || op->kind >= PLAN_OP__MAX || !plan_path_ok(op->dst))
            abort();
        if ((op->kind == PLAN_OP_BIND || op->kind == PLAN_OP_EXPOSE) && !plan_path_ok(op->src))
            abort();
        if (op->kind == PLAN_OP_SYMLINK && !str_inside(op->src, data, size))
            abort();
        if (op->data && !inside(op->data, op->data_len, data, size))
            abort();
    }
    if (p.bpf_len % 8 || (p.bpf_len && !inside(p.bpf, p.bpf_len, data, size)))
        abort();
    if (p.has_exec)
        check_exec(&p.exec, data, size);
    /* round trip */
    host_like(&p.exec);
    uint8_t *enc;
    size_t elen;
    if (plan_encode(&p, &enc, &elen) == 0) {
        struct plan q;
        if (plan_decode(enc, elen, &q, &why) < 0)
            abort();
        if (q.uid != p.uid || q.gid != p.gid || q.agent_uid != p.agent_uid || q.flags != p.flags ||
            !same_str(q.hostname, p.hostname) || !same_str(q.staging, p.staging) ||
            q.n_ops != p.n_ops || q.has_exec != p.has_exec ||
            !same_bytes(q.bpf, q.bpf_len, p.bpf, p.bpf_len))
            abort();
        for (uint32_t i = 0; i < p.n_ops; i++) {
            const struct plan_op *a = &p.ops[i], *b = &q.ops[i];
            if (a->kind != b->kind || a->flags != b->flags || a->size != b->size ||
                a->inodes != b->inodes || a->mode != b->mode || !same_str(a->src, b->src) ||
                !same_str(a->dst, b->dst) ||
                !same_bytes(a->data, a->data_len, b->data, b->data_len) || !a->data != !b->data)
                abort();
        }
        if (p.has_exec && !same_exec(&p.exec, &q.exec))
            abort();
        plan_free(&q);
        free(enc);
    }
    plan_free(&p);
}

static void check_plan_exec(const uint8_t *data, size_t size)
{
    struct plan_exec e;
    const char *why = NULL;
    if (plan_exec_decode(data, size, &e, &why) < 0) {
        fuzz_touch(why);
        return;
    }
    check_exec(&e, data, size);
    host_like(&e);
    uint8_t *enc;
    size_t elen;
    if (plan_exec_encode(&e, &enc, &elen) == 0) {
        struct plan_exec f;
        if (plan_exec_decode(enc, elen, &f, &why) < 0 || !same_exec(&e, &f))
            abort();
        plan_exec_free(&f);
        free(enc);
    }
    plan_exec_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libFuzzer's data is an exact-size heap copy: a read past it is caught */
    check_names(data, size);
    check_tar(data, size);
    check_plan(data, size);
    check_plan_exec(data, size);
    return 0;
}
