/* Config validation: ranges, paths, server settings, and API keys from the
 * environment. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/sha256.h"
#include "config/config.h"
#include "net/egress.h"
#include "sandbox/plan.h"
#include "sandbox/seccomp.h"

/* ---- validation ---- */

struct range {
    const char *key;
    const uint64_t *v;
    uint64_t min, max;
};

static int check_ranges(const struct sb_config *c, const struct range *r, size_t n,
                        struct sb_error *err)
{
    const char *file = c->path ? c->path : "built-in config";
    for (size_t i = 0; i < n; i++)
        if (*r[i].v < r[i].min || *r[i].v > r[i].max)
            return sb_fail(err, SB_E_CONFIG, "%s: %s: %llu is out of range [%llu, %llu]", file,
                           r[i].key, (unsigned long long)*r[i].v,
                           (unsigned long long)r[i].min, (unsigned long long)r[i].max);
    return 0;
}

/* server.store: "sqlite" or a PostgreSQL URL; cluster timings that work. */
static int check_store(const struct sb_config *c, struct sb_error *err)
{
    const char *file = c->path ? c->path : "built-in config";
    const char *st = c->server.store;
    if (strcmp(st, "sqlite") && strncmp(st, "postgres://", 11) && strncmp(st, "postgresql://", 13))
        return sb_fail(err, SB_E_CONFIG, "%s: server.store: 'sqlite' or a URL "
                       "postgres://user:password@host:port/database, not '%.40s'", file, st);
    for (const char *p = c->cluster.node_name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return sb_fail(err, SB_E_CONFIG, "%s: cluster.node_name: letters, digits, '-', '_' "
                           "and '.' only", file);
    const char *adv = c->cluster.advertise_url;
    if (*adv && (strncmp(adv, "http://", 7) || !adv[7] || strpbrk(adv, " \t\r\n?#")))
        return sb_fail(err, SB_E_CONFIG, "%s: cluster.advertise_url: http://host:port (how the "
                       "other nodes reach this one), not '%.60s'", file, adv);
    if (c->cluster.heartbeat_ms < 100 || c->cluster.heartbeat_ms > 60000)
        return sb_fail(err, SB_E_CONFIG, "%s: cluster.heartbeat_ms: between 100 ms and 60 s",
                       file);
    if (c->cluster.node_timeout_ms < 3 * c->cluster.heartbeat_ms ||
        c->cluster.node_timeout_ms > 3600000)
        return sb_fail(err, SB_E_CONFIG, "%s: cluster.node_timeout_ms: at least three "
                       "heartbeats (%llu ms) and at most an hour", file,
                       (unsigned long long)(3 * c->cluster.heartbeat_ms));
    return 0;
}

static int check_paths(const struct sb_config *c, struct sb_error *err)
{
    const char *file = c->path ? c->path : "built-in config";
    static const char *const reserved[] = {"/", "/usr", "/etc", "/proc", "/dev", "/tmp", "/bin",
                                           "/sbin", "/lib", "/lib64"};
    if (!plan_path_ok(c->state_dir) || !strcmp(c->state_dir, "/"))
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.state_dir: must be an absolute "
                       "normalised path", file);
    if (!plan_path_ok(c->compile_cache_dir) || !strcmp(c->compile_cache_dir, "/"))
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.compile_cache_dir: must be an absolute "
                       "normalised path", file);
    if (c->languages_dir[0] && !plan_path_ok(c->languages_dir) &&
        !plan_relpath_ok(c->languages_dir))
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.languages_dir: must be a normalised path",
                       file);
    if (!plan_relpath_ok(c->cgroup_root))
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.cgroup_root: must be a relative path "
                       "without '..'", file);
    if (!plan_path_ok(c->workdir))
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.workdir: must be an absolute "
                       "normalised path", file);
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (!strcmp(c->workdir, reserved[i]))
            return sb_fail(err, SB_E_CONFIG, "%s: sandbox.workdir: %s is reserved", file,
                           c->workdir);
    for (const char *h = c->hostname; *h; h++)
        if (!((*h >= 'a' && *h <= 'z') || (*h >= '0' && *h <= '9') || *h == '-'))
            return sb_fail(err, SB_E_CONFIG, "%s: sandbox.hostname: only a-z, 0-9 and '-'",
                           file);
    const struct sb_str_list *abs[] = {&c->system_dirs, &c->binds};
    const char *absname[] = {"sandbox.rootfs.system", "sandbox.rootfs.binds"};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < abs[k]->n; i++)
            if (!plan_path_ok(abs[k]->v[i]) || !strcmp(abs[k]->v[i], "/"))
                return sb_fail(err, SB_E_CONFIG, "%s: %s: '%s' is not an absolute "
                               "normalised path", file, absname[k], abs[k]->v[i]);
    for (size_t i = 0; i < c->etc.n; i++)
        if (!plan_relpath_ok(c->etc.v[i]) || strchr(c->etc.v[i], '/'))
            return sb_fail(err, SB_E_CONFIG, "%s: sandbox.rootfs.etc: '%s' must be a name "
                           "directly under /etc", file, c->etc.v[i]);
    return 0;
}

static bool key_id_ok(const char *id)
{
    if (!*id || strlen(id) > 64)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

static int check_server(const struct sb_config *c, struct sb_error *err)
{
    const char *file = c->path ? c->path : "built-in config";
    const struct sb_server_config *v = &c->server;
    const struct range r[] = {
        {"server.port", &v->port, 1, 65535},
        {"server.grpc_port", &v->grpc_port, 1, 65535},
        {"server.max_concurrent", &v->max_concurrent, 1, 100000},
        {"server.max_queue", &v->max_queue, 0, 1000000},
        {"server.max_connections", &v->max_connections, 1, 1000000},
        {"server.max_connections_per_client", &v->max_connections_per_client, 1, 1000000},
        {"server.max_body_kb", &v->max_body_kb, 1, 1u << 20},
        {"server.max_header_kb", &v->max_header_kb, 1, 1024},
        {"server.header_timeout_ms", &v->header_timeout_ms, 100, 3600000},
        {"server.body_timeout_ms", &v->body_timeout_ms, 100, 3600000},
        {"server.idle_timeout_ms", &v->idle_timeout_ms, 100, 86400000},
        {"server.shutdown_grace_ms", &v->shutdown_grace_ms, 0, 3600000},
        {"server.max_files", &v->max_files, 1, 100000},
        {"server.max_args", &v->max_args, 0, 100000},
        {"server.max_test_cases", &v->max_test_cases, 1, 10000},
        {"server.max_shares", &v->max_shares, 1, 10000000},
        {"server.rate_limit.requests_per_second", &v->rate_per_second, 0, 1000000},
        {"server.rate_limit.burst", &v->rate_burst, 0, 10000000},
        {"server.callbacks.timeout_ms", &v->callback_timeout_ms, 100, 600000},
        {"server.callbacks.max_attempts", &v->callback_attempts, 1, 100},
    };
    if (check_ranges(c, r, sizeof r / sizeof *r, err) < 0)
        return -1;
    if (v->port == v->grpc_port)
        return sb_fail(err, SB_E_CONFIG, "%s: server.grpc_port: must differ from server.port", file);
    if (log_parse_level(v->log_level) < 0)
        return sb_fail(err, SB_E_CONFIG, "%s: server.log_level: '%s' is not debug, info, warn "
                       "or error", file, v->log_level);
    for (size_t i = 0; i < v->n_keys; i++) {
        if (!key_id_ok(v->keys[i].id))
            return sb_fail(err, SB_E_CONFIG, "%s: server.auth.keys[%zu].id: use 1-64 of "
                           "A-Z a-z 0-9 _ - .", file, i);
        if (strspn(v->keys[i].sha256, "0123456789abcdef") != 64)
            return sb_fail(err, SB_E_CONFIG, "%s: server.auth.keys[%zu].sha256: must be 64 "
                           "lower-case hex digits (printf %%s SECRET | sha256sum)", file, i);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(v->keys[i].id, v->keys[j].id))
                return sb_fail(err, SB_E_CONFIG, "%s: server.auth.keys: id '%s' appears twice",
                               file, v->keys[i].id);
    }
    if (v->auth_enabled && v->n_keys == 0)
        return sb_fail(err, SB_E_CONFIG, "%s: server.auth: enabled without keys (add "
                       "server.auth.keys or SOULBOX_API_KEYS)", file);
    if (v->rate_per_second && v->rate_burst == 0)
        return sb_fail(err, SB_E_CONFIG, "%s: server.rate_limit.burst: must be at least 1 when "
                       "requests_per_second is set", file);
    return 0;
}

int config_add_env_keys(struct sb_config *c, const char *spec, struct sb_error *err)
{
    struct sb_server_config *v = &c->server;
    char *copy = strdup(spec), *save = NULL;
    if (!copy)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon || colon == tok || !colon[1]) {
            rc = sb_fail(err, SB_E_CONFIG, "SOULBOX_API_KEYS: entries must be id:secret");
            break;
        }
        *colon = '\0';
        struct sb_api_key *k = realloc(v->keys, (v->n_keys + 1) * sizeof *k);
        if (k) {
            v->keys = k;
            /* every field set: not an admin unless SOULBOX_ADMIN_KEYS says so */
            k[v->n_keys] = (struct sb_api_key){.id = strdup(tok)};
        }
        if (!k || !k[v->n_keys].id) {
            rc = sb_fail(err, SB_E_INTERNAL, "out of memory");
            break;
        }
        sha256_hex(colon + 1, strlen(colon + 1), k[v->n_keys].sha256);
        explicit_bzero(colon + 1, strlen(colon + 1));
        v->n_keys++;
    }
    explicit_bzero(copy, strlen(spec));
    free(copy);
    if (rc == 0)
        v->auth_enabled = true;
    return rc;
}

int config_add_env_admins(struct sb_config *c, const char *spec, struct sb_error *err)
{
    struct sb_server_config *v = &c->server;
    char *copy = strdup(spec), *save = NULL;
    if (!copy)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < v->n_keys && strcmp(v->keys[i].id, tok))
            i++;
        if (i == v->n_keys)
            rc = sb_fail(err, SB_E_CONFIG, "SOULBOX_ADMIN_KEYS: '%.64s' is not the id of an API "
                         "key", tok);
        else
            v->keys[i].admin = true;
    }
    free(copy);
    return rc;
}

/* A module name as Python or Node would take it: letters, digits, _ . - / @. */
static bool module_ok(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > 100 || m[0] == '.' || m[0] == '-')
        return false;
    for (; *m; m++)
        if (!isalnum((unsigned char)*m) && !strchr("_.-/@", *m))
            return false;
    return true;
}

static int check_pools(const struct sb_config *c, struct sb_error *err)
{
    const char *file = c->path ? c->path : "built-in config";
    for (size_t i = 0; i < c->n_pools; i++) {
        const struct sb_pool_cfg *p = &c->pools[i];
        if (p->size > 32)
            return sb_fail(err, SB_E_CONFIG, "%s: sandbox.pools[%zu].size: %llu is out of "
                           "range [0, 32]", file, i, (unsigned long long)p->size);
        if (p->max_size && (p->max_size < p->size || p->max_size > 64))
            return sb_fail(err, SB_E_CONFIG, "%s: sandbox.pools[%zu].max_size: %llu is out of "
                           "range [size (%llu), 64]", file, i, (unsigned long long)p->max_size,
                           (unsigned long long)p->size);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(c->pools[k].language, p->language) && c->pools[k].network == p->network &&
                c->pools[k].microvm == p->microvm)
                return sb_fail(err, SB_E_CONFIG, "%s: sandbox.pools: %s%s%s appears twice", file,
                               p->language, p->network ? " (network: true)" : "",
                               p->microvm ? " (isolation: microvm)" : "");
        if (p->microvm && (p->network || !c->microvm.enabled))
            return sb_fail(err, SB_E_CONFIG, "%s: sandbox.pools[%zu].isolation: microvm needs "
                           "sandbox.microvm.enabled and no network", file, i);
        if (p->network && !c->security.enable_network)
            return sb_fail(err, SB_E_CONFIG, "%s: sandbox.pools[%zu].network: true needs "
                           "sandbox.security.enable_network: true", file, i);
        for (size_t k = 0; k < p->preload.n; k++)
            if (!module_ok(p->preload.v[k]))
                return sb_fail(err, SB_E_CONFIG, "%s: sandbox.pools[%zu].preload[%zu]: '%s' "
                               "is not a module name", file, i, k, p->preload.v[k]);
    }
    return 0;
}

/* The egress lists parse (net/policy.h, net/egress.h), whether or not
 * network is enabled: a typo must not wait until someone turns it on. */
static int check_network(const struct sb_config *c, struct sb_error *err)
{
    const char *file = c->path ? c->path : "config";
    const struct sb_net_cfg *n = &c->network;
    struct net_policy p;
    struct sb_error e;
    if (net_policy_build(&p, (const char *const *)n->allow.v, n->allow.n,
                         (const char *const *)n->deny.v, n->deny.n, "sandbox.network", &e) < 0)
        return sb_fail(err, SB_E_CONFIG, "%s: %s", file, e.msg);
    net_policy_free(&p);
    for (size_t i = 0; i < n->dns.n; i++) {
        struct sockaddr_storage ss;
        if (net_parse_resolver(n->dns.v[i], &ss, &e) < 0)
            return sb_fail(err, SB_E_CONFIG, "%s: sandbox.network.dns: %s", file, e.msg);
    }
    if (n->connect_timeout_ms < 100 || n->connect_timeout_ms > 600000)
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.network.connect_timeout_ms: %llu is out "
                       "of range [100, 600000]", file,
                       (unsigned long long)n->connect_timeout_ms);
    return 0;
}

static int check_microvm(const struct sb_config *c, struct sb_error *err)
{
    const char *file = c->path ? c->path : "built-in config";
    if (strcmp(c->isolation, "namespaces") && strcmp(c->isolation, "microvm"))
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.isolation: '%s' is not namespaces or "
                       "microvm", file, c->isolation);
    if (!strcmp(c->isolation, "microvm") && !c->microvm.enabled)
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.isolation is microvm but "
                       "sandbox.microvm.enabled is false", file);
    const char *a = c->microvm.accel;
    if (strcmp(a, "auto") && strcmp(a, "kvm") && strcmp(a, "tcg"))
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.microvm.accel: '%s' is not auto, kvm or "
                       "tcg", file, a);
    if (c->microvm.kernel[0] && c->microvm.kernel[0] != '/')
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.microvm.kernel: must be an absolute path",
                       file);
    const struct range r[] = {
        {"sandbox.microvm.overhead_mb", &c->microvm.overhead_mb, 64, 1u << 16},
        {"sandbox.microvm.tb_mb", &c->microvm.tb_mb, 16, 2048},
        {"sandbox.microvm.vmm_overhead_mb", &c->microvm.vmm_overhead_mb, 64, 1u << 16},
        {"sandbox.microvm.hang_timeout_ms", &c->microvm.hang_timeout_ms, 1000, 3600000},
    };
    return check_ranges(c, r, sizeof r / sizeof *r, err);
}

int config_validate(const struct sb_config *c, struct sb_error *err)
{
    if (check_server(c, err) < 0)
        return -1;
    const char *file = c->path ? c->path : "built-in config";
    uint64_t wall_max = c->security.execution_timeout * 1000;
    const struct range r[] = {
        {"sandbox.security.max_memory_mb", &c->security.max_memory_mb, 8, 1u << 20},
        {"sandbox.security.max_cpu_percent", &c->security.max_cpu_percent, 1, 25600},
        {"sandbox.security.max_disk_mb", &c->security.max_disk_mb, 1, 1u << 20},
        {"sandbox.security.execution_timeout", &c->security.execution_timeout, 1, 86400},
        {"sandbox.maximums.cpu_time_ms", &c->maximums.cpu_time_ms, 1, 86400000},
        {"sandbox.maximums.processes", &c->maximums.processes, 1, 65536},
        {"sandbox.maximums.output_kb", &c->maximums.output_kb, 1, 1u << 20},
        {"sandbox.maximums.file_size_kb", &c->maximums.file_size_kb, 1, 1ull << 30},
        {"sandbox.maximums.open_files", &c->maximums.open_files, 8, 1u << 20},
        {"sandbox.maximums.stack_kb", &c->maximums.stack_kb, 64, 1ull << 30},
        {"sandbox.defaults.wall_time_ms", &c->defaults.wall_time_ms, 1, wall_max},
        {"sandbox.defaults.cpu_time_ms", &c->defaults.cpu_time_ms, 1, c->maximums.cpu_time_ms},
        {"sandbox.defaults.memory_mb", &c->defaults.memory_mb, 8, c->security.max_memory_mb},
        {"sandbox.defaults.disk_mb", &c->defaults.disk_mb, 1, c->security.max_disk_mb},
        {"sandbox.defaults.processes", &c->defaults.processes, 1, c->maximums.processes},
        {"sandbox.defaults.output_kb", &c->defaults.output_kb, 1, c->maximums.output_kb},
        {"sandbox.defaults.file_size_kb", &c->defaults.file_size_kb, 1, c->maximums.file_size_kb},
        {"sandbox.defaults.open_files", &c->defaults.open_files, 8, c->maximums.open_files},
        {"sandbox.defaults.stack_kb", &c->defaults.stack_kb, 64, c->maximums.stack_kb},
        {"sandbox.compile.wall_time_ms", &c->compile.wall_time_ms, 100, 3600000},
        {"sandbox.compile.cpu_time_ms", &c->compile.cpu_time_ms, 100, 3600000},
        {"sandbox.compile.memory_mb", &c->compile.memory_mb, 64, 1u << 20},
        {"sandbox.compile.processes", &c->compile.processes, 4, 65536},
        {"sandbox.compile.output_kb", &c->compile.output_kb, 1, 1u << 20},
        {"sandbox.compile.disk_mb", &c->compile.disk_mb, 16, 1u << 20},
        {"sandbox.compile.artifact_mb", &c->compile.artifact_mb, 1, 4096},
        {"sandbox.uid_base", &c->uid_base, 10000, 2147483647},
        {"sandbox.uid_count", &c->uid_count, 1, 1000000},
        {"sandbox.max_inodes", &c->max_inodes, 64, 1u << 24},
        {"sandbox.compile_cache_mb", &c->compile_cache_mb, 0, 1u << 20},
        {"sandbox.pool_memory_mb", &c->pool_memory_mb, 0, 1u << 20},
        {"sandbox.pool_idle_ms", &c->pool_idle_ms, 100, 86400000},
        {"sessions.max_ttl_ms", &c->sessions.max_ttl_ms, 1000, 30 * 86400000ull},
        {"sessions.default_ttl_ms", &c->sessions.default_ttl_ms, 1000, c->sessions.max_ttl_ms},
        {"sessions.idle_timeout_ms", &c->sessions.idle_timeout_ms, 0, 30 * 86400000ull},
        {"sessions.max_sessions", &c->sessions.max_sessions, 0, 100000},
        {"sessions.max_per_key", &c->sessions.max_per_key, 1, 100000},
        {"sessions.max_memory_mb_per_key", &c->sessions.max_memory_mb_per_key, 8, 1u << 30},
        /* above the sandbox ceilings they are lowered to them (session.c) */
        {"sessions.memory_mb", &c->sessions.memory_mb, 8, 1u << 20},
        {"sessions.disk_mb", &c->sessions.disk_mb, 1, 1u << 20},
        {"sessions.processes", &c->sessions.processes, 4, 65536},
        {"sessions.max_output_mb", &c->sessions.max_output_mb, 1, 1u << 20},
        {"sessions.output_mb", &c->sessions.output_mb, 1, c->sessions.max_output_mb},
        {"sessions.max_contexts", &c->sessions.max_contexts, 1, 256},
        {"sessions.max_commands", &c->sessions.max_commands, 8, 65536},
        {"sessions.max_output_held_mb", &c->sessions.max_output_held_mb, 1, 1u << 20},
        {"functions.max_functions", &c->functions.max_functions, 0, 1000000},
        {"functions.max_versions", &c->functions.max_versions, 1, 10000},
        {"functions.max_instances", &c->functions.max_instances, 1, 4096},
        {"functions.max_instances_total", &c->functions.max_instances_total, 0, 65536},
        {"functions.max_queue", &c->functions.max_queue, 0, 1000000},
        {"functions.idle_timeout_ms", &c->functions.idle_timeout_ms, 100, 30 * 86400000ull},
        {"functions.log_entries", &c->functions.log_entries, 0, 100000},
    };
    if (check_ranges(c, r, sizeof r / sizeof *r, err) < 0)
        return -1;
    if (c->uid_base + c->uid_count > 2147483648ull)
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.uid_base + uid_count must stay below "
                       "2^31", file);
    if (check_network(c, err) < 0 || check_microvm(c, err) < 0)
        return -1;
    if (check_paths(c, err) < 0 || check_pools(c, err) < 0 || check_store(c, err) < 0)
        return -1;
    if (c->security.allowed_syscalls.n &&
        seccomp_validate_allowlist((const char *const *)c->security.allowed_syscalls.v,
                                   c->security.allowed_syscalls.n, err) < 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return sb_fail(err, SB_E_CONFIG, "%s: sandbox.security.allowed_syscalls: %s", file, why);
    }
    return 0;
}
