/* The runner's context: the engine's settings from the config and the environment programs get. */
#include "runner/runner.h"

#include <stdlib.h>
#include <string.h>

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
