/* Config loading: libcyaml parses into a presence-aware raw tree; defaults and ranges are applied here. */
#include "config/config.h"

#include <cyaml/cyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"
#include "common/yamlerr.h"
#include "config/config_raw.h"
#include "sandbox/plan.h"
#include "sandbox/seccomp.h"

/* ---- built-in defaults (kept equal to config/soulbox.yaml) ---- */

static const char *const default_system[] = {"/usr", "/bin", "/sbin", "/lib", "/lib64"};
static const char *const default_etc[] = {
    "ld.so.cache", "alternatives", "ssl", "localtime", "timezone", "nsswitch.conf",
    "protocols", "services", "mime.types", "os-release",
};

static int list_set(struct sb_str_list *l, const char *const *v, size_t n)
{
    l->v = calloc(n ? n : 1, sizeof *l->v);
    if (!l->v)
        return -1;
    for (l->n = 0; l->n < n; l->n++)
        if (!(l->v[l->n] = strdup(v[l->n])))
            return -1;
    return 0;
}

static void list_free(struct sb_str_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int str_set(char **dst, const char *s)
{
    free(*dst);
    *dst = strdup(s);
    return *dst ? 0 : -1;
}

static void pools_free(struct sb_config *c)
{
    for (size_t i = 0; i < c->n_pools; i++) {
        free(c->pools[i].language);
        list_free(&c->pools[i].preload);
    }
    free(c->pools);
    c->pools = NULL;
    c->n_pools = 0;
}

static int add_pool(struct sb_config *c, const char *lang, uint64_t size, uint64_t max_size,
                    char **preload, unsigned npreload)
{
    struct sb_pool_cfg *v = realloc(c->pools, (c->n_pools + 1) * sizeof *v);
    if (!v)
        return -1;
    c->pools = v;
    struct sb_pool_cfg *p = &v[c->n_pools];
    memset(p, 0, sizeof *p);
    p->size = size;
    p->max_size = max_size;
    if (!(p->language = strdup(lang)) ||
        list_set(&p->preload, (const char *const *)preload, npreload) < 0) {
        free(p->language);
        return -1;
    }
    c->n_pools++;
    return 0;
}

/* Small pools of the languages most requests use (skipped where not offered). */
static int default_pools(struct sb_config *c)
{
    static const struct { const char *lang; uint64_t size; } d[] = {
        {"python", 2}, {"javascript", 1}, {"bash", 1}, {"c", 1},
    };
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        if (add_pool(c, d[i].lang, d[i].size, 0, NULL, 0) < 0)
            return -1;
    return 0;
}

int config_defaults(struct sb_config *c)
{
    memset(c, 0, sizeof *c);
    c->security.enable_network = false;
    c->security.max_memory_mb = 2048;
    c->security.max_cpu_percent = 100;
    c->security.max_disk_mb = 1024;
    c->security.execution_timeout = 60;
    c->defaults = (struct sb_limits){
        .wall_time_ms = 10000, .cpu_time_ms = 10000, .memory_mb = 256, .disk_mb = 64,
        .processes = 64, .output_kb = 1024, .file_size_kb = 65536, .open_files = 256,
        .stack_kb = 65536,
    };
    c->maximums = (struct sb_limits){
        .cpu_time_ms = 60000, .processes = 1024, .output_kb = 65536,
        .file_size_kb = 1048576, .open_files = 4096, .stack_kb = 1048576,
    };
    c->compile.wall_time_ms = 30000;
    c->compile.cpu_time_ms = 30000;
    c->compile.memory_mb = 1024;
    c->compile.processes = 128;
    c->compile.output_kb = 1024;
    c->compile.disk_mb = 256;
    c->compile.artifact_mb = 128;
    struct sb_server_config *v = &c->server;
    v->port = 8080;
    v->grpc_port = 50051;
    v->max_concurrent = 64;
    v->max_queue = 1024;
    v->max_connections = 4096;
    v->max_connections_per_client = 256;
    v->max_body_kb = 16384;
    v->max_header_kb = 16;
    v->header_timeout_ms = 10000;
    v->body_timeout_ms = 30000;
    v->idle_timeout_ms = 60000;
    v->shutdown_grace_ms = 10000;
    v->max_files = 256;
    v->max_test_cases = 64;
    v->max_shares = 10000;
    v->max_args = 256;
    v->rate_per_second = 0;
    v->rate_burst = 0;
    v->metrics_public = true;
    v->ui = true;
    v->callback_timeout_ms = 10000;
    v->callback_attempts = 5;
    c->sessions = (struct sb_sessions_cfg){
        .enabled = true, .default_ttl_ms = 300000, .max_ttl_ms = 86400000,
        .idle_timeout_ms = 0, .max_sessions = 500, .max_per_key = 100,
        .max_memory_mb_per_key = 65536, .memory_mb = 512, .disk_mb = 512, .processes = 256,
        .output_mb = 256, .max_output_mb = 4096, .max_contexts = 16, .max_commands = 1024,
        .max_output_held_mb = 2048,
    };
    c->functions = (struct sb_functions_cfg){
        .enabled = true, .max_functions = 1000, .max_versions = 50, .max_instances = 32,
        .max_instances_total = 64, .max_queue = 256, .idle_timeout_ms = 60000,
        .log_entries = 100,
    };
    c->compat.e2b = true;
    c->compat.piston = true;
    c->compat.judge0 = true;
    c->compile_cache_mb = 1024;
    c->pool_memory_mb = 1024;
    c->pool_idle_ms = 30000;
    c->uid_base = 2100000000;
    c->uid_count = 65536;
    c->max_inodes = 16384;
    c->cgroup_favordynmods = true;
    c->network.connect_timeout_ms = 10000;
    c->microvm.enabled = true;
    c->microvm.overhead_mb = 256;
    c->microvm.tb_mb = 128;
    c->microvm.vmm_overhead_mb = 320;
    c->microvm.hang_timeout_ms = 30000;
    c->microvm.snapshot = true;
    c->cluster.heartbeat_ms = 1000;
    c->cluster.node_timeout_ms = 10000;
    if (str_set(&c->state_dir, "/run/soulbox") < 0 || str_set(&c->cgroup_root, "soulbox") < 0 ||
        str_set(&c->hostname, "soulbox") < 0 || str_set(&c->workdir, "/workspace") < 0 ||
        str_set(&c->languages_dir, "") < 0 || str_set(&c->isolation, "namespaces") < 0 ||
        str_set(&c->microvm.accel, "auto") < 0 ||
        str_set(&c->microvm.qemu, "qemu-system-x86_64") < 0 ||
        str_set(&c->microvm.virtiofsd, "/usr/lib/qemu/virtiofsd") < 0 ||
        str_set(&c->microvm.kernel, "") < 0 ||
        str_set(&c->compile_cache_dir, "/var/cache/soulbox") < 0 ||
        list_set(&c->system_dirs, default_system, sizeof default_system / sizeof *default_system) < 0 ||
        list_set(&c->etc, default_etc, sizeof default_etc / sizeof *default_etc) < 0 ||
        list_set(&c->security.allowed_syscalls, NULL, 0) < 0 ||
        list_set(&c->binds, NULL, 0) < 0 || list_set(&c->languages, NULL, 0) < 0 ||
        list_set(&c->network.allow, NULL, 0) < 0 || list_set(&c->network.deny, NULL, 0) < 0 ||
        list_set(&c->network.dns, NULL, 0) < 0 ||
        str_set(&v->listen, "127.0.0.1") < 0 ||
        str_set(&v->data_dir, "./data") < 0 || str_set(&v->log_level, "info") < 0 ||
        str_set(&v->store, "sqlite") < 0 || str_set(&c->cluster.node_name, "") < 0 ||
        str_set(&c->cluster.advertise_url, "") < 0 ||
        str_set(&v->audit_log, "") < 0 || default_pools(c) < 0) {
        config_free(c);
        return -1;
    }
    return 0;
}

void config_free(struct sb_config *c)
{
    pools_free(c);
    free(c->path);
    free(c->server.listen);
    free(c->server.data_dir);
    free(c->server.store);
    free(c->cluster.node_name);
    free(c->cluster.advertise_url);
    free(c->server.log_level);
    free(c->server.audit_log);
    for (size_t i = 0; i < c->server.n_keys; i++)
        free(c->server.keys[i].id);
    free(c->server.keys);
    free(c->state_dir);
    free(c->isolation);
    free(c->microvm.accel);
    free(c->microvm.qemu);
    free(c->microvm.virtiofsd);
    free(c->microvm.kernel);
    free(c->languages_dir);
    free(c->compile_cache_dir);
    free(c->cgroup_root);
    free(c->hostname);
    free(c->workdir);
    list_free(&c->security.allowed_syscalls);
    list_free(&c->system_dirs);
    list_free(&c->etc);
    list_free(&c->binds);
    list_free(&c->languages);
    list_free(&c->network.allow);
    list_free(&c->network.deny);
    list_free(&c->network.dns);
    memset(c, 0, sizeof *c);
}

/* ---- libcyaml's messages, kept for the error we report ---- */

/* ---- merge raw over defaults ---- */

/* The first value that failed to parse: its key, text (in the raw tree) and
 * what it should have been. */
struct bad_value {
    const char *section, *key, *text, *want;
};

/* How a number in the file is read. Every numeric key names one: a bare
 * number is in the key's own unit, and a unit converts to it exactly. */
enum num_kind { NUM_COUNT, NUM_MS, NUM_S, NUM_KB, NUM_MB };

static int parse_count(const char *s, const char *unit, uint64_t *out)
{
    (void)unit;
    return util_parse_u64(s, out) < 0 ? UTIL_QTY_FORM : 0;
}

#define DURATION "a duration (e.g. 500ms, 30s, 2m, 1h)"
#define SIZE "a size (e.g. 512KB, 256MB, 2GB)"

/* Per kind: the parser, the key's unit, and what a refused text "is not",
 * indexed by -util_qty_err - 1 (wrong form, inexact, overflow). */
static const struct {
    int (*parse)(const char *s, const char *unit, uint64_t *out);
    const char *unit;
    const char *want[3];
} num_kinds[] = {
    [NUM_COUNT] = {parse_count, "", {"a plain decimal integer"}},
    [NUM_MS] = {util_parse_duration, "ms", {DURATION, "a whole number of milliseconds",
                                             "a duration that fits in 64 bits"}},
    [NUM_S] = {util_parse_duration, "s", {DURATION, "a whole number of seconds",
                                           "a duration that fits in 64 bits"}},
    [NUM_KB] = {util_parse_size, "KB", {SIZE, "a whole number of KB",
                                         "a size that fits in 64 bits"}},
    [NUM_MB] = {util_parse_size, "MB", {SIZE, "a whole number of MB",
                                         "a size that fits in 64 bits"}},
};

static void set_num(uint64_t *dst, const char *src, enum num_kind kind, const char *section,
                    const char *key, struct bad_value *bad)
{
    int rc = src ? num_kinds[kind].parse(src, num_kinds[kind].unit, dst) : 0;
    if (rc < 0 && !bad->text)
        *bad = (struct bad_value){section, key, src, num_kinds[kind].want[-rc - 1]};
}

static void set_bool(bool *dst, const char *src, const char *section, const char *key,
                     struct bad_value *bad)
{
    if (!src)
        return;
    if (!strcmp(src, "true") || !strcmp(src, "True") || !strcmp(src, "TRUE"))
        *dst = true;
    else if (!strcmp(src, "false") || !strcmp(src, "False") || !strcmp(src, "FALSE"))
        *dst = false;
    else if (!bad->text)
        *bad = (struct bad_value){section, key, src, "true or false"};
}

#define SET_NUM(dst, raw, section, field, kind) \
    set_num(&(dst)->field, (raw)->field, kind, section, #field, bad)

static void merge_limits(struct sb_limits *dst, const struct raw_limits *r, const char *section,
                         struct bad_value *bad)
{
    if (!r)
        return;
    SET_NUM(dst, r, section, wall_time_ms, NUM_MS);
    SET_NUM(dst, r, section, cpu_time_ms, NUM_MS);
    SET_NUM(dst, r, section, memory_mb, NUM_MB);
    SET_NUM(dst, r, section, disk_mb, NUM_MB);
    SET_NUM(dst, r, section, processes, NUM_COUNT);
    SET_NUM(dst, r, section, output_kb, NUM_KB);
    SET_NUM(dst, r, section, file_size_kb, NUM_KB);
    SET_NUM(dst, r, section, open_files, NUM_COUNT);
    SET_NUM(dst, r, section, stack_kb, NUM_KB);
}

static int merge_list(struct sb_str_list *dst, char **v, unsigned n, bool present)
{
    if (!present)
        return 0;
    list_free(dst);
    return list_set(dst, (const char *const *)v, n);
}

static int merge_keys(struct sb_server_config *v, const struct raw_auth *a,
                      struct bad_value *bad)
{
    if (!a->keys)
        return 0;
    v->keys = calloc(a->keys_count ? a->keys_count : 1, sizeof *v->keys);
    if (!v->keys)
        return -1;
    for (unsigned i = 0; i < a->keys_count; i++, v->n_keys++) {
        const char *role = a->keys[i].role;
        if (!(v->keys[i].id = strdup(a->keys[i].id)))
            return -1;
        snprintf(v->keys[i].sha256, sizeof v->keys[i].sha256, "%s", a->keys[i].sha256);
        v->keys[i].admin = role && !strcmp(role, "admin");
        if (role && strcmp(role, "admin") && strcmp(role, "user") && !bad->text)
            *bad = (struct bad_value){"server.auth.keys[].", "role", role, "admin or user"};
    }
    return 0;
}

static int merge_server(struct sb_server_config *v, const struct raw_server *r,
                        struct bad_value *bad)
{
    int rc = 0;
    if (r->listen)
        rc |= str_set(&v->listen, r->listen);
    if (r->data_dir)
        rc |= str_set(&v->data_dir, r->data_dir);
    if (r->store)
        rc |= str_set(&v->store, r->store);
    if (r->log_level)
        rc |= str_set(&v->log_level, r->log_level);
    if (r->audit_log)
        rc |= str_set(&v->audit_log, r->audit_log);
    SET_NUM(v, r, "server.", port, NUM_COUNT);
    SET_NUM(v, r, "server.", grpc_port, NUM_COUNT);
    SET_NUM(v, r, "server.", max_concurrent, NUM_COUNT);
    SET_NUM(v, r, "server.", max_queue, NUM_COUNT);
    SET_NUM(v, r, "server.", max_connections, NUM_COUNT);
    SET_NUM(v, r, "server.", max_connections_per_client, NUM_COUNT);
    SET_NUM(v, r, "server.", max_body_kb, NUM_KB);
    SET_NUM(v, r, "server.", max_header_kb, NUM_KB);
    SET_NUM(v, r, "server.", header_timeout_ms, NUM_MS);
    SET_NUM(v, r, "server.", body_timeout_ms, NUM_MS);
    SET_NUM(v, r, "server.", idle_timeout_ms, NUM_MS);
    SET_NUM(v, r, "server.", shutdown_grace_ms, NUM_MS);
    SET_NUM(v, r, "server.", max_files, NUM_COUNT);
    SET_NUM(v, r, "server.", max_args, NUM_COUNT);
    SET_NUM(v, r, "server.", max_test_cases, NUM_COUNT);
    SET_NUM(v, r, "server.", max_shares, NUM_COUNT);
    set_bool(&v->allow_unauthenticated_remote, r->allow_unauthenticated_remote, "server.",
             "allow_unauthenticated_remote", bad);
    set_bool(&v->metrics_public, r->metrics_public, "server.", "metrics_public", bad);
    set_bool(&v->ui, r->ui, "server.", "ui", bad);
    if (r->auth) {
        set_bool(&v->auth_enabled, r->auth->enabled, "server.auth.", "enabled", bad);
        rc |= merge_keys(v, r->auth, bad);
    }
    if (r->rate_limit) {
        set_num(&v->rate_per_second, r->rate_limit->requests_per_second, NUM_COUNT,
                "server.rate_limit.", "requests_per_second", bad);
        set_num(&v->rate_burst, r->rate_limit->burst, NUM_COUNT, "server.rate_limit.", "burst",
                bad);
    }
    if (r->callbacks) {
        set_bool(&v->callbacks_allow_private, r->callbacks->allow_private, "server.callbacks.",
                 "allow_private", bad);
        set_num(&v->callback_timeout_ms, r->callbacks->timeout_ms, NUM_MS, "server.callbacks.",
                "timeout_ms", bad);
        set_num(&v->callback_attempts, r->callbacks->max_attempts, NUM_COUNT,
                "server.callbacks.", "max_attempts", bad);
    }
    return rc;
}

static void merge_sessions(struct sb_sessions_cfg *v, const struct raw_sessions *r,
                           struct bad_value *bad)
{
    set_bool(&v->enabled, r->enabled, "sessions.", "enabled", bad);
    SET_NUM(v, r, "sessions.", default_ttl_ms, NUM_MS);
    SET_NUM(v, r, "sessions.", max_ttl_ms, NUM_MS);
    SET_NUM(v, r, "sessions.", idle_timeout_ms, NUM_MS);
    SET_NUM(v, r, "sessions.", max_sessions, NUM_COUNT);
    SET_NUM(v, r, "sessions.", max_per_key, NUM_COUNT);
    SET_NUM(v, r, "sessions.", max_memory_mb_per_key, NUM_MB);
    SET_NUM(v, r, "sessions.", memory_mb, NUM_MB);
    SET_NUM(v, r, "sessions.", disk_mb, NUM_MB);
    SET_NUM(v, r, "sessions.", processes, NUM_COUNT);
    SET_NUM(v, r, "sessions.", output_mb, NUM_MB);
    SET_NUM(v, r, "sessions.", max_output_mb, NUM_MB);
    SET_NUM(v, r, "sessions.", max_contexts, NUM_COUNT);
    SET_NUM(v, r, "sessions.", max_commands, NUM_COUNT);
    SET_NUM(v, r, "sessions.", max_output_held_mb, NUM_MB);
}

static void merge_functions(struct sb_functions_cfg *v, const struct raw_functions *r,
                            struct bad_value *bad)
{
    set_bool(&v->enabled, r->enabled, "functions.", "enabled", bad);
    SET_NUM(v, r, "functions.", max_functions, NUM_COUNT);
    SET_NUM(v, r, "functions.", max_versions, NUM_COUNT);
    SET_NUM(v, r, "functions.", max_instances, NUM_COUNT);
    SET_NUM(v, r, "functions.", max_instances_total, NUM_COUNT);
    SET_NUM(v, r, "functions.", max_queue, NUM_COUNT);
    SET_NUM(v, r, "functions.", idle_timeout_ms, NUM_MS);
    SET_NUM(v, r, "functions.", log_entries, NUM_COUNT);
}

static int merge(struct sb_config *c, const struct raw_top *t, struct bad_value *bad)
{
    if (t && t->server && merge_server(&c->server, t->server, bad) < 0)
        return -1;
    if (t && t->sessions)
        merge_sessions(&c->sessions, t->sessions, bad);
    if (t && t->functions)
        merge_functions(&c->functions, t->functions, bad);
    if (t && t->compat) {
        set_bool(&c->compat.e2b, t->compat->e2b, "compat.", "e2b", bad);
        set_bool(&c->compat.piston, t->compat->piston, "compat.", "piston", bad);
        set_bool(&c->compat.judge0, t->compat->judge0, "compat.", "judge0", bad);
    }
    if (t && t->cluster) {
        const struct raw_cluster *k = t->cluster;
        if ((k->node_name && str_set(&c->cluster.node_name, k->node_name) < 0) ||
            (k->advertise_url && str_set(&c->cluster.advertise_url, k->advertise_url) < 0))
            return -1;
        SET_NUM(&c->cluster, k, "cluster.", heartbeat_ms, NUM_MS);
        SET_NUM(&c->cluster, k, "cluster.", node_timeout_ms, NUM_MS);
    }
    const struct raw_sandbox *s = t ? t->sandbox : NULL;
    if (!s)
        return 0;
    int rc = 0;
    if (s->security) {
        const struct raw_security *q = s->security;
        set_bool(&c->security.enable_network, q->enable_network, "sandbox.security.",
                 "enable_network", bad);
        SET_NUM(&c->security, q, "sandbox.security.", max_memory_mb, NUM_MB);
        SET_NUM(&c->security, q, "sandbox.security.", max_cpu_percent, NUM_COUNT);
        SET_NUM(&c->security, q, "sandbox.security.", max_disk_mb, NUM_MB);
        SET_NUM(&c->security, q, "sandbox.security.", execution_timeout, NUM_S);
        rc |= merge_list(&c->security.allowed_syscalls, q->allowed_syscalls,
                         q->allowed_syscalls_count, q->allowed_syscalls != NULL);
    }
    if (s->network) {
        const struct raw_network *n = s->network;
        struct sb_net_cfg *v = &c->network;
        rc |= merge_list(&v->allow, n->allow, n->allow_count, n->allow != NULL);
        rc |= merge_list(&v->deny, n->deny, n->deny_count, n->deny != NULL);
        rc |= merge_list(&v->dns, n->dns, n->dns_count, n->dns != NULL);
        SET_NUM(v, n, "sandbox.network.", bandwidth_up_kbit, NUM_COUNT);
        SET_NUM(v, n, "sandbox.network.", bandwidth_down_kbit, NUM_COUNT);
        SET_NUM(v, n, "sandbox.network.", max_connections, NUM_COUNT);
        SET_NUM(v, n, "sandbox.network.", max_total_mb, NUM_MB);
        SET_NUM(v, n, "sandbox.network.", connect_timeout_ms, NUM_MS);
    }
    if (s->microvm) {
        const struct raw_microvm *m = s->microvm;
        set_bool(&c->microvm.enabled, m->enabled, "sandbox.microvm.", "enabled", bad);
        set_bool(&c->microvm.snapshot, m->snapshot, "sandbox.microvm.", "snapshot", bad);
        SET_NUM(&c->microvm, m, "sandbox.microvm.", overhead_mb, NUM_MB);
        SET_NUM(&c->microvm, m, "sandbox.microvm.", tb_mb, NUM_MB);
        SET_NUM(&c->microvm, m, "sandbox.microvm.", vmm_overhead_mb, NUM_MB);
        SET_NUM(&c->microvm, m, "sandbox.microvm.", hang_timeout_ms, NUM_MS);
        const struct {
            char **dst;
            const char *src;
        } strs[] = {{&c->microvm.accel, m->accel}, {&c->microvm.qemu, m->qemu},
                    {&c->microvm.virtiofsd, m->virtiofsd}, {&c->microvm.kernel, m->kernel}};
        for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
            if (strs[i].src)
                rc |= str_set(strs[i].dst, strs[i].src);
    }
    if (s->isolation)
        rc |= str_set(&c->isolation, s->isolation);
    merge_limits(&c->defaults, s->defaults, "sandbox.defaults.", bad);
    merge_limits(&c->maximums, s->maximums, "sandbox.maximums.", bad);
    if (s->compile) {
        SET_NUM(&c->compile, s->compile, "sandbox.compile.", wall_time_ms, NUM_MS);
        SET_NUM(&c->compile, s->compile, "sandbox.compile.", cpu_time_ms, NUM_MS);
        SET_NUM(&c->compile, s->compile, "sandbox.compile.", memory_mb, NUM_MB);
        SET_NUM(&c->compile, s->compile, "sandbox.compile.", processes, NUM_COUNT);
        SET_NUM(&c->compile, s->compile, "sandbox.compile.", output_kb, NUM_KB);
        SET_NUM(&c->compile, s->compile, "sandbox.compile.", disk_mb, NUM_MB);
        SET_NUM(&c->compile, s->compile, "sandbox.compile.", artifact_mb, NUM_MB);
    }
    if (s->rootfs) {
        const struct raw_rootfs *r = s->rootfs;
        rc |= merge_list(&c->system_dirs, r->system, r->system_count, r->system != NULL);
        rc |= merge_list(&c->etc, r->etc, r->etc_count, r->etc != NULL);
        rc |= merge_list(&c->binds, r->binds, r->binds_count, r->binds != NULL);
    }
    SET_NUM(c, s, "sandbox.", uid_base, NUM_COUNT);
    SET_NUM(c, s, "sandbox.", uid_count, NUM_COUNT);
    SET_NUM(c, s, "sandbox.", compile_cache_mb, NUM_MB);
    SET_NUM(c, s, "sandbox.", pool_memory_mb, NUM_MB);
    SET_NUM(c, s, "sandbox.", pool_idle_ms, NUM_MS);
    if (s->pools) { /* the list replaces the default pools */
        pools_free(c);
        for (unsigned i = 0; i < s->pools_count; i++) {
            uint64_t size = 1, max_size = 0;
            set_num(&size, s->pools[i].size, NUM_COUNT, "sandbox.pools[].", "size", bad);
            set_num(&max_size, s->pools[i].max_size, NUM_COUNT, "sandbox.pools[].", "max_size",
                    bad);
            rc |= add_pool(c, s->pools[i].language, size, max_size, s->pools[i].preload,
                           s->pools[i].preload_count);
            if (rc == 0)
                set_bool(&c->pools[c->n_pools - 1].network, s->pools[i].network,
                         "sandbox.pools[].", "network", bad);
            const char *iso = s->pools[i].isolation;
            if (rc == 0 && iso && !strcmp(iso, "microvm"))
                c->pools[c->n_pools - 1].microvm = true;
            else if (rc == 0 && iso && strcmp(iso, "namespaces") && !bad->text)
                *bad = (struct bad_value){"sandbox.pools[].", "isolation", iso,
                                          "namespaces or microvm"};
        }
    }
    SET_NUM(c, s, "sandbox.", max_inodes, NUM_COUNT);
    set_bool(&c->cgroup_favordynmods, s->cgroup_favordynmods, "sandbox.", "cgroup_favordynmods",
             bad);
    if (s->state_dir)
        rc |= str_set(&c->state_dir, s->state_dir);
    if (s->cgroup_root)
        rc |= str_set(&c->cgroup_root, s->cgroup_root);
    if (s->hostname)
        rc |= str_set(&c->hostname, s->hostname);
    if (s->workdir)
        rc |= str_set(&c->workdir, s->workdir);
    if (s->languages_dir)
        rc |= str_set(&c->languages_dir, s->languages_dir);
    rc |= merge_list(&c->languages, s->languages, s->languages_count, s->languages != NULL);
    if (s->compile_cache_dir)
        rc |= str_set(&c->compile_cache_dir, s->compile_cache_dir);
    return rc ? -1 : 0;
}

int config_load(const char *path, struct sb_config *c, struct sb_error *err)
{
    struct yaml_err lc = {{0}, {0}};
    cyaml_config_t cfg = {
        .log_fn = yaml_err_log, .log_ctx = &lc, .mem_fn = cyaml_mem,
        .log_level = CYAML_LOG_ERROR, .flags = CYAML_CFG_NO_ALIAS,
    };
    struct raw_top *raw = NULL;
    cyaml_err_t e = cyaml_load_file(path, &cfg, &config_top_schema, (cyaml_data_t **)&raw, NULL);
    if (e != CYAML_OK) {
        if (e == CYAML_ERR_FILE_OPEN)
            return sb_fail(err, SB_E_CONFIG, "%s: cannot open the file", path);
        return sb_fail(err, SB_E_CONFIG, "%s: %s%s%s", path, lc.where[0] ? lc.where : "",
                       lc.where[0] ? ": " : "", lc.msg[0] ? lc.msg : cyaml_strerror(e));
    }
    struct bad_value bad = {0};
    int rc = merge(c, raw, &bad);
    if (rc == 0 && bad.text)
        sb_fail(err, SB_E_CONFIG, "%s: %s%s: '%s' is not %s", path, bad.section, bad.key,
                bad.text, bad.want);
    cyaml_free(&cfg, &config_top_schema, raw, 0);
    if (rc < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory loading %s", path);
    if (bad.text)
        return -1;
    if (str_set(&c->path, path) < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    return config_validate(c, err);
}

