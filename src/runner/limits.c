/* Request limits -> exact sandbox limits, bounded by the config. */
#include "runner/limits.h"

#include <stddef.h>

void limit_request_init(struct limit_request *r)
{
    r->wall_time_ms = r->cpu_time_ms = r->memory_mb = r->disk_mb = r->processes =
        r->output_kb = r->file_size_kb = r->open_files = r->stack_kb = LIMIT_UNSET;
}

struct field {
    const char *name;
    uint64_t asked, def, min, max;
    const char *max_key;
    uint64_t *out;
};

int limits_resolve(const struct sb_config *cfg, const struct limit_request *req,
                   const char *prefix, struct sbx_limits *out, struct sb_error *err)
{
    uint64_t v[9];
    const struct field f[] = {
        {"wall_time_ms", req->wall_time_ms, cfg->defaults.wall_time_ms, 1,
         cfg->security.execution_timeout * 1000, "sandbox.security.execution_timeout", &v[0]},
        {"cpu_time_ms", req->cpu_time_ms, cfg->defaults.cpu_time_ms, 1,
         cfg->maximums.cpu_time_ms, "sandbox.maximums.cpu_time_ms", &v[1]},
        {"memory_mb", req->memory_mb, cfg->defaults.memory_mb, 8,
         cfg->security.max_memory_mb, "sandbox.security.max_memory_mb", &v[2]},
        {"disk_mb", req->disk_mb, cfg->defaults.disk_mb, 1, cfg->security.max_disk_mb,
         "sandbox.security.max_disk_mb", &v[3]},
        {"processes", req->processes, cfg->defaults.processes, 1, cfg->maximums.processes,
         "sandbox.maximums.processes", &v[4]},
        {"output_kb", req->output_kb, cfg->defaults.output_kb, 1, cfg->maximums.output_kb,
         "sandbox.maximums.output_kb", &v[5]},
        {"file_size_kb", req->file_size_kb, cfg->defaults.file_size_kb, 1,
         cfg->maximums.file_size_kb, "sandbox.maximums.file_size_kb", &v[6]},
        {"open_files", req->open_files, cfg->defaults.open_files, 8, cfg->maximums.open_files,
         "sandbox.maximums.open_files", &v[7]},
        {"stack_kb", req->stack_kb, cfg->defaults.stack_kb, 64, cfg->maximums.stack_kb,
         "sandbox.maximums.stack_kb", &v[8]},
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        if (f[i].asked == LIMIT_UNSET) {
            *f[i].out = f[i].def;
            continue;
        }
        if (f[i].asked < f[i].min)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s%s: %llu is below the minimum %llu",
                           prefix, f[i].name, (unsigned long long)f[i].asked,
                           (unsigned long long)f[i].min);
        if (f[i].asked > f[i].max)
            return sb_fail(err, SB_E_LIMIT_EXCEEDS_MAX,
                           "%s%s: %llu is above the maximum %llu (%s)", prefix, f[i].name,
                           (unsigned long long)f[i].asked, (unsigned long long)f[i].max,
                           f[i].max_key);
        *f[i].out = f[i].asked;
    }
    out->wall_ms = v[0];
    out->cpu_ms = v[1];
    out->memory_kb = v[2] * 1024;
    out->disk_kb = v[3] * 1024;
    out->processes = (uint32_t)v[4];
    out->output_bytes = v[5] * 1024;
    out->file_size_kb = v[6];
    out->open_files = (uint32_t)v[7];
    out->stack_kb = v[8];
    out->cpu_percent = (uint32_t)cfg->security.max_cpu_percent;
    return 0;
}

void limits_compile(const struct sb_config *cfg, struct sbx_limits *out)
{
    out->wall_ms = cfg->compile.wall_time_ms;
    out->cpu_ms = cfg->compile.cpu_time_ms;
    out->memory_kb = cfg->compile.memory_mb * 1024;
    out->disk_kb = cfg->compile.disk_mb * 1024;
    out->processes = (uint32_t)cfg->compile.processes;
    out->output_bytes = cfg->compile.output_kb * 1024;
    out->file_size_kb = cfg->compile.artifact_mb * 1024;
    out->open_files = 1024;
    out->stack_kb = 65536;
    out->cpu_percent = (uint32_t)cfg->security.max_cpu_percent;
}
