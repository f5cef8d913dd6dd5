/* Unit tests for src/runner/limits.c: request limits against the config's defaults and ceilings. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "runner/limits.h"

static struct sb_config cfg;

static void setup(void)
{
    cr_assert_eq(config_defaults(&cfg), 0);
}

static void teardown(void)
{
    config_free(&cfg);
}

TestSuite(limits, .init = setup, .fini = teardown);

/* Request fields by name, in limits_resolve's order, with the config key of
 * their ceiling and their minimum. */
static const struct {
    const char *name;
    size_t off;
    uint64_t min;
    const char *max_key;
} fields[] = {
    {"wall_time_ms", offsetof(struct limit_request, wall_time_ms), 1,
     "sandbox.security.execution_timeout"},
    {"cpu_time_ms", offsetof(struct limit_request, cpu_time_ms), 1,
     "sandbox.maximums.cpu_time_ms"},
    {"memory_mb", offsetof(struct limit_request, memory_mb), 8, "sandbox.security.max_memory_mb"},
    {"disk_mb", offsetof(struct limit_request, disk_mb), 1, "sandbox.security.max_disk_mb"},
    {"processes", offsetof(struct limit_request, processes), 1, "sandbox.maximums.processes"},
    {"output_kb", offsetof(struct limit_request, output_kb), 1, "sandbox.maximums.output_kb"},
    {"file_size_kb", offsetof(struct limit_request, file_size_kb), 1,
     "sandbox.maximums.file_size_kb"},
    {"open_files", offsetof(struct limit_request, open_files), 8, "sandbox.maximums.open_files"},
    {"stack_kb", offsetof(struct limit_request, stack_kb), 64, "sandbox.maximums.stack_kb"},
};
#define N_FIELDS (sizeof fields / sizeof *fields)

static uint64_t *req_field(struct limit_request *r, size_t i)
{
    return (uint64_t *)((char *)r + fields[i].off);
}

/* The default config's ceiling of field i. */
static uint64_t default_max(size_t i)
{
    const uint64_t max[] = {60000, 60000, 2048, 1024, 1024, 65536, 1048576, 4096, 1048576};
    return max[i];
}

Test(limits, init_marks_every_field_unset)
{
    struct limit_request r;
    memset(&r, 0, sizeof r);
    limit_request_init(&r);
    for (size_t i = 0; i < N_FIELDS; i++)
        cr_assert_eq(*req_field(&r, i), LIMIT_UNSET, "%s", fields[i].name);
    cr_assert_eq(sizeof r, N_FIELDS * sizeof(uint64_t), "a request field has no test row");
}

Test(limits, unset_fields_take_the_defaults_in_sandbox_units)
{
    struct limit_request r;
    struct sbx_limits out;
    struct sb_error e = {0};
    limit_request_init(&r);
    cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), 0, "%s", e.msg);
    cr_assert_eq(out.wall_ms, 10000);
    cr_assert_eq(out.cpu_ms, 10000);
    cr_assert_eq(out.memory_kb, 256 * 1024);
    cr_assert_eq(out.disk_kb, 64 * 1024);
    cr_assert_eq(out.processes, 64);
    cr_assert_eq(out.output_bytes, 1024 * 1024);
    cr_assert_eq(out.file_size_kb, 65536);
    cr_assert_eq(out.open_files, 256);
    cr_assert_eq(out.stack_kb, 65536);
    cr_assert_eq(out.cpu_percent, 100);
}

Test(limits, defaults_follow_the_config)
{
    struct limit_request r;
    struct sbx_limits out;
    struct sb_error e = {0};
    cfg.defaults.memory_mb = 100;
    cfg.defaults.output_kb = 7;
    cfg.security.max_cpu_percent = 250;
    limit_request_init(&r);
    cr_assert_eq(limits_resolve(&cfg, NULL, &r, "", &out, &e), 0, "%s", e.msg);
    cr_assert_eq(out.memory_kb, 100 * 1024);
    cr_assert_eq(out.output_bytes, 7 * 1024);
    cr_assert_eq(out.cpu_percent, 250);
}

Test(limits, requested_values_are_converted_exactly)
{
    struct limit_request r;
    struct sbx_limits out;
    struct sb_error e = {0};
    limit_request_init(&r);
    r.wall_time_ms = 1500;
    r.cpu_time_ms = 700;
    r.memory_mb = 100;
    r.disk_mb = 10;
    r.processes = 3;
    r.output_kb = 5;
    r.file_size_kb = 9;
    r.open_files = 16;
    r.stack_kb = 128;
    cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), 0, "%s", e.msg);
    cr_assert_eq(out.wall_ms, 1500);
    cr_assert_eq(out.cpu_ms, 700);
    cr_assert_eq(out.memory_kb, 102400);
    cr_assert_eq(out.disk_kb, 10240);
    cr_assert_eq(out.processes, 3);
    cr_assert_eq(out.output_bytes, 5120);
    cr_assert_eq(out.file_size_kb, 9);
    cr_assert_eq(out.open_files, 16);
    cr_assert_eq(out.stack_kb, 128);
}

Test(limits, minimum_and_maximum_are_both_allowed)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        uint64_t v[2] = {fields[i].min, default_max(i)};
        for (int k = 0; k < 2; k++) {
            struct limit_request r;
            struct sbx_limits out;
            struct sb_error e = {0};
            limit_request_init(&r);
            *req_field(&r, i) = v[k];
            cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), 0, "%s=%llu: %s",
                         fields[i].name, (unsigned long long)v[k], e.msg);
        }
    }
}

Test(limits, above_the_ceiling_is_an_error_naming_field_and_config_key)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        struct limit_request r;
        struct sbx_limits out;
        struct sb_error e = {0};
        char want[300];
        uint64_t v = default_max(i) + 1;
        limit_request_init(&r);
        *req_field(&r, i) = v;
        cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), -1, "%s", fields[i].name);
        cr_assert_eq(e.code, SB_E_LIMIT_EXCEEDS_MAX);
        snprintf(want, sizeof want, "limits.%s: %llu is above the maximum %llu (%s)",
                 fields[i].name, (unsigned long long)v, (unsigned long long)default_max(i),
                 fields[i].max_key);
        cr_assert_str_eq(e.msg, want);
    }
}

Test(limits, memory_example_with_and_without_prefix)
{
    struct limit_request r;
    struct sbx_limits out;
    struct sb_error e = {0};
    limit_request_init(&r);
    r.memory_mb = 4096;
    cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), -1);
    cr_assert_eq(e.code, SB_E_LIMIT_EXCEEDS_MAX);
    cr_assert_str_eq(e.msg, "limits.memory_mb: 4096 is above the maximum 2048 "
                            "(sandbox.security.max_memory_mb)");
    cr_assert_eq(limits_resolve(&cfg, NULL, &r, "", &out, &e), -1);
    cr_assert_str_eq(e.msg, "memory_mb: 4096 is above the maximum 2048 "
                            "(sandbox.security.max_memory_mb)");
    /* The ceiling comes from the config, not a constant. */
    cfg.security.max_memory_mb = 4096;
    cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), 0, "%s", e.msg);
    cr_assert_eq(out.memory_kb, 4096 * 1024);
}

Test(limits, wall_ceiling_is_execution_timeout_in_ms)
{
    struct limit_request r;
    struct sbx_limits out;
    struct sb_error e = {0};
    cfg.security.execution_timeout = 5;
    limit_request_init(&r);
    r.wall_time_ms = 5001;
    cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), -1);
    cr_assert_str_eq(e.msg, "limits.wall_time_ms: 5001 is above the maximum 5000 "
                            "(sandbox.security.execution_timeout)");
    r.wall_time_ms = 5000;
    cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), 0, "%s", e.msg);
    cr_assert_eq(out.wall_ms, 5000);
}

Test(limits, below_the_minimum_is_an_invalid_argument)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        struct limit_request r;
        struct sbx_limits out;
        struct sb_error e = {0};
        char want[200];
        uint64_t v = fields[i].min - 1;
        limit_request_init(&r);
        *req_field(&r, i) = v;
        cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), -1, "%s", fields[i].name);
        cr_assert_eq(e.code, SB_E_INVALID_ARGUMENT);
        snprintf(want, sizeof want, "limits.%s: %llu is below the minimum %llu", fields[i].name,
                 (unsigned long long)v, (unsigned long long)fields[i].min);
        cr_assert_str_eq(e.msg, want);
    }
}

Test(limits, huge_request_is_refused_not_clamped)
{
    struct limit_request r;
    struct sbx_limits out;
    struct sb_error e = {0};
    limit_request_init(&r);
    r.memory_mb = LIMIT_UNSET - 1; /* would overflow memory_mb * 1024 */
    cr_assert_eq(limits_resolve(&cfg, NULL, &r, "limits.", &out, &e), -1);
    cr_assert_eq(e.code, SB_E_LIMIT_EXCEEDS_MAX);
}

Test(limits, compile_stage_uses_the_compile_section)
{
    struct sbx_limits out;
    memset(&out, 0xa5, sizeof out);
    limits_compile(&cfg, NULL, &out);
    cr_assert_eq(out.wall_ms, 30000);
    cr_assert_eq(out.cpu_ms, 30000);
    cr_assert_eq(out.memory_kb, 1024 * 1024);
    cr_assert_eq(out.disk_kb, 256 * 1024);
    cr_assert_eq(out.processes, 128);
    cr_assert_eq(out.output_bytes, 1024 * 1024);
    cr_assert_eq(out.file_size_kb, 128 * 1024, "largest file = the artifact ceiling");
    cr_assert_eq(out.open_files, 1024);
    cr_assert_eq(out.stack_kb, 65536);
    cr_assert_eq(out.cpu_percent, 100);

    cfg.compile.wall_time_ms = 1234;
    cfg.compile.memory_mb = 64;
    cfg.compile.disk_mb = 16;
    cfg.compile.artifact_mb = 2;
    cfg.compile.processes = 4;
    cfg.security.max_cpu_percent = 300;
    limits_compile(&cfg, NULL, &out);
    cr_assert_eq(out.wall_ms, 1234);
    cr_assert_eq(out.memory_kb, 64 * 1024);
    cr_assert_eq(out.disk_kb, 16 * 1024);
    cr_assert_eq(out.file_size_kb, 2048);
    cr_assert_eq(out.processes, 4);
    cr_assert_eq(out.cpu_percent, 300);
    /* The run defaults do not leak into the compile stage. */
    cr_assert_neq(out.memory_kb, cfg.defaults.memory_mb * 1024);
}

Test(limits, language_defaults_replace_the_config_defaults)
{
    struct lang_limits jvm = {.memory_mb = 1024, .processes = 64};
    struct limit_request r;
    struct sbx_limits out;
    struct sb_error e = {0};
    limit_request_init(&r);
    cr_assert_eq(limits_resolve(&cfg, &jvm, &r, "limits.", &out, &e), 0, "%s", e.msg);
    cr_assert_eq(out.memory_kb, 1024 * 1024);
    cr_assert_eq(out.processes, 64);
    cr_assert_eq(out.wall_ms, cfg.defaults.wall_time_ms); /* not overridden */
    /* a request still lowers or raises them within the maximums */
    r.memory_mb = 300;
    cr_assert_eq(limits_resolve(&cfg, &jvm, &r, "limits.", &out, &e), 0, "%s", e.msg);
    cr_assert_eq(out.memory_kb, 300 * 1024);
    r.memory_mb = 4096;
    cr_assert_eq(limits_resolve(&cfg, &jvm, &r, "limits.", &out, &e), -1);
}

Test(limits, a_language_whose_defaults_exceed_the_maximums_is_refused)
{
    struct lang_limits big = {.memory_mb = 1536};
    struct sb_error e = {0};
    cr_assert_eq(limits_check_lang(&cfg, &big, &e), 0, "%s", e.msg);
    cfg.security.max_memory_mb = 1024;
    cr_assert_eq(limits_check_lang(&cfg, &big, &e), -1);
    cr_assert_str_eq(e.msg, "limits.memory_mb: 1536 is above the maximum 1024 "
                            "(sandbox.security.max_memory_mb)");
    struct lang_limits none = {0};
    cr_assert_eq(limits_check_lang(&cfg, &none, &e), 0, "%s", e.msg);
}

Test(limits, language_compile_limits_override_the_compile_section)
{
    struct lang_limits ghc = {.memory_mb = 2048, .wall_time_ms = 60000, .processes = 256};
    struct sbx_limits out;
    limits_compile(&cfg, &ghc, &out);
    cr_assert_eq(out.memory_kb, 2048 * 1024);
    cr_assert_eq(out.wall_ms, 60000);
    cr_assert_eq(out.processes, 256);
    cr_assert_eq(out.cpu_ms, cfg.compile.cpu_time_ms);
    cr_assert_eq(out.file_size_kb, cfg.compile.artifact_mb * 1024);
}
