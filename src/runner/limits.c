/* Request limits -> exact sandbox limits, bounded by the config. */
#include "runner/limits.h"

#include <stddef.h>

#include "runner/job.h"

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

/* The config's defaults with the language's overrides on top. */
static struct sb_limits defaults_for(const struct sb_config *cfg, const struct lang_limits *l)
{
    struct sb_limits d = cfg->defaults;
    if (!l)
        return d;
    const uint64_t *src[] = {&l->wall_time_ms, &l->cpu_time_ms, &l->memory_mb, &l->disk_mb,
                             &l->processes, &l->output_kb, &l->file_size_kb, &l->open_files,
                             &l->stack_kb};
    uint64_t *dst[] = {&d.wall_time_ms, &d.cpu_time_ms, &d.memory_mb, &d.disk_mb,
                       &d.processes, &d.output_kb, &d.file_size_kb, &d.open_files, &d.stack_kb};
    for (size_t i = 0; i < sizeof src / sizeof *src; i++)
        if (*src[i])
            *dst[i] = *src[i];
    return d;
}

int limits_check_lang(const struct sb_config *cfg, const struct lang_limits *lang,
                      struct sb_error *err)
{
    struct sbx_limits out;
    struct sb_limits d = defaults_for(cfg, lang);
    /* Resolving the language's defaults as if requested checks them all. */
    struct limit_request as_req = {d.wall_time_ms, d.cpu_time_ms, d.memory_mb, d.disk_mb,
                                   d.processes, d.output_kb, d.file_size_kb, d.open_files,
                                   d.stack_kb};
    return limits_resolve(cfg, NULL, &as_req, "limits.", &out, err);
}

int limits_resolve(const struct sb_config *cfg, const struct lang_limits *lang,
                   const struct limit_request *req, const char *prefix,
                   struct sbx_limits *out, struct sb_error *err)
{
    uint64_t v[9];
    const struct sb_limits dflt = defaults_for(cfg, lang);
    const struct field f[] = {
        {"wall_time_ms", req->wall_time_ms, dflt.wall_time_ms, 1,
         cfg->security.execution_timeout * 1000, "sandbox.security.execution_timeout", &v[0]},
        {"cpu_time_ms", req->cpu_time_ms, dflt.cpu_time_ms, 1,
         cfg->maximums.cpu_time_ms, "sandbox.maximums.cpu_time_ms", &v[1]},
        {"memory_mb", req->memory_mb, dflt.memory_mb, 8,
         cfg->security.max_memory_mb, "sandbox.security.max_memory_mb", &v[2]},
        {"disk_mb", req->disk_mb, dflt.disk_mb, 1, cfg->security.max_disk_mb,
         "sandbox.security.max_disk_mb", &v[3]},
        {"processes", req->processes, dflt.processes, 1, cfg->maximums.processes,
         "sandbox.maximums.processes", &v[4]},
        {"output_kb", req->output_kb, dflt.output_kb, 1, cfg->maximums.output_kb,
         "sandbox.maximums.output_kb", &v[5]},
        {"file_size_kb", req->file_size_kb, dflt.file_size_kb, 1,
         cfg->maximums.file_size_kb, "sandbox.maximums.file_size_kb", &v[6]},
        {"open_files", req->open_files, dflt.open_files, 8, cfg->maximums.open_files,
         "sandbox.maximums.open_files", &v[7]},
        {"stack_kb", req->stack_kb, dflt.stack_kb, 64, cfg->maximums.stack_kb,
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

void limits_lower_compile(struct sbx_limits *stage, const struct job_compile_limits *req)
{
    if (req->wall_ms && req->wall_ms < stage->wall_ms)
        stage->wall_ms = req->wall_ms;
    if (req->cpu_ms && req->cpu_ms < stage->cpu_ms)
        stage->cpu_ms = req->cpu_ms;
    if (req->memory_kb && req->memory_kb < stage->memory_kb)
        stage->memory_kb = req->memory_kb;
}

void limits_compile(const struct sb_config *cfg, const struct lang_limits *l,
                    struct sbx_limits *out)
{
    struct lang_limits none = {0};
    if (!l)
        l = &none;
    out->wall_ms = l->wall_time_ms ? l->wall_time_ms : cfg->compile.wall_time_ms;
    out->cpu_ms = l->cpu_time_ms ? l->cpu_time_ms : cfg->compile.cpu_time_ms;
    out->memory_kb = (l->memory_mb ? l->memory_mb : cfg->compile.memory_mb) * 1024;
    out->disk_kb = (l->disk_mb ? l->disk_mb : cfg->compile.disk_mb) * 1024;
    out->processes = (uint32_t)(l->processes ? l->processes : cfg->compile.processes);
    out->output_bytes = (l->output_kb ? l->output_kb : cfg->compile.output_kb) * 1024;
    out->file_size_kb = cfg->compile.artifact_mb * 1024;
    out->open_files = (uint32_t)(l->open_files ? l->open_files : 1024);
    out->stack_kb = l->stack_kb ? l->stack_kb : 65536;
    out->cpu_percent = (uint32_t)cfg->security.max_cpu_percent;
}
