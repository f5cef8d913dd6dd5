/* The runner's context: the engine's settings from the config and the environment programs get. */
#include "runner/runner.h"

#include <stdlib.h>
#include <string.h>

#include "net/egress.h"

static const char *const base_env[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8",
    "USER=sandbox", "LOGNAME=sandbox",
};

void runner_engine_cfg(const struct sb_config *cfg, struct sbx_engine_cfg *out)
{
    memset(out, 0, sizeof *out);
    out->state_dir = cfg->state_dir;
    out->cgroup_root = cfg->cgroup_root;
    out->cgroup_favordynmods = cfg->cgroup_favordynmods;
    out->uid_base = (uint32_t)cfg->uid_base;
    out->uid_count = (uint32_t)cfg->uid_count;
    out->allowed_syscalls = (const char *const *)cfg->security.allowed_syscalls.v;
    out->n_allowed_syscalls = cfg->security.allowed_syscalls.n;
    out->layout.system = (const char *const *)cfg->system_dirs.v;
    out->layout.n_system = cfg->system_dirs.n;
    out->layout.etc = (const char *const *)cfg->etc.v;
    out->layout.n_etc = cfg->etc.n;
    out->layout.binds = (const char *const *)cfg->binds.v;
    out->layout.n_binds = cfg->binds.n;
    out->layout.hostname = cfg->hostname;
    out->layout.workdir = cfg->workdir;
    out->layout.inodes = cfg->max_inodes;
    out->vm = (struct vm_cfg){
        .enabled = cfg->microvm.enabled, .qemu = cfg->microvm.qemu,
        .virtiofsd = cfg->microvm.virtiofsd,
        .kernel = cfg->microvm.kernel[0] ? cfg->microvm.kernel : NULL,
        .accel = !strcmp(cfg->microvm.accel, "kvm")   ? VM_ACCEL_KVM
                 : !strcmp(cfg->microvm.accel, "tcg") ? VM_ACCEL_TCG
                                                      : VM_ACCEL_AUTO,
        .overhead_mb = (uint32_t)cfg->microvm.overhead_mb, .tb_mb = (uint32_t)cfg->microvm.tb_mb,
        .vmm_overhead_mb = (uint32_t)cfg->microvm.vmm_overhead_mb,
        .hang_timeout_ms = (uint32_t)cfg->microvm.hang_timeout_ms,
        .snapshot = cfg->microvm.snapshot,
    };
}

int runner_env_put(char ***env, size_t *n, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    char *d = strdup(kv);
    if (!d)
        return -1;
    for (size_t i = 0; i < *n; i++) {
        if (!strncmp((*env)[i], kv, klen) && (*env)[i][klen] == '=') {
            free((*env)[i]);
            (*env)[i] = d;
            return 0;
        }
    }
    char **v = realloc(*env, (*n + 2) * sizeof *v);
    if (!v) {
        free(d);
        return -1;
    }
    *env = v;
    v[(*n)++] = d;
    v[*n] = NULL;
    return 0;
}

int runner_lang_env(const struct lang *l, char ***env, size_t *n)
{
    for (size_t i = 0; i < sizeof base_env / sizeof *base_env; i++)
        if (runner_env_put(env, n, base_env[i]) < 0)
            return -1;
    for (char **e = l->env; e && *e; e++)
        if (runner_env_put(env, n, *e) < 0)
            return -1;
    return 0;
}

/* ---- egress ---- */

static int config_policy(const struct sb_config *cfg, struct net_policy *p, struct sb_error *err)
{
    const struct sb_net_cfg *n = &cfg->network;
    return net_policy_build(p, (const char *const *)n->allow.v, n->allow.n,
                            (const char *const *)n->deny.v, n->deny.n, "sandbox.network", err);
}

int runner_net_start(const struct sb_config *cfg,
                     void (*audit)(void *arg, const char *tag, const char *event,
                                   const char *detail),
                     void *arg, struct net_engine **out, struct sb_error *err)
{
    *out = NULL;
    if (!cfg->security.enable_network)
        return 0;
    struct net_policy p;
    if (config_policy(cfg, &p, err) < 0)
        return -1;
    struct net_engine_cfg ec = {
        .policy = &p, .connect_timeout_ms = (uint32_t)cfg->network.connect_timeout_ms,
        .dns_timeout_ms = 2000, .audit = audit, .audit_arg = arg,
    };
    for (size_t i = 0; i < cfg->network.dns.n && ec.n_dns < NET_MAX_DNS; i++)
        if (net_parse_resolver(cfg->network.dns.v[i], &ec.dns[ec.n_dns], err) == 0)
            ec.n_dns++;
    if (cfg->network.dns.n == 0)
        ec.n_dns = net_system_resolvers(ec.dns, NET_MAX_DNS);
    int rc = net_engine_start(out, &ec, err);
    net_policy_free(&p);
    return rc;
}

void runner_net_limits(const struct sb_config *cfg, struct net_limits *out)
{
    const struct sb_net_cfg *n = &cfg->network;
    *out = (struct net_limits){
        .up_bps = n->bandwidth_up_kbit * 1000 / 8, .down_bps = n->bandwidth_down_kbit * 1000 / 8,
        .max_connections = (uint32_t)n->max_connections, .max_bytes = n->max_total_mb << 20,
    };
}

int runner_net_narrow(const struct sb_config *cfg, const char *const *allow, size_t n,
                      struct net_policy *out, struct sb_error *err)
{
    struct net_policy p;
    if (config_policy(cfg, &p, err) < 0)
        return -1;
    int rc = net_policy_narrow(&p, allow, n, out, err);
    net_policy_free(&p);
    if (rc < 0)
        err->code = SB_E_INVALID_ARGUMENT;
    return rc;
}
