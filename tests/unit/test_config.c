/* Unit tests for src/config/config.c: defaults, YAML loading, units and validation messages. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

static char dir[64];
static char file[128];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/sbx-config-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/soulbox.yaml", dir);
}

static void remove_dir(void)
{
    unlink(file);
    rmdir(dir);
}

TestSuite(config, .init = make_dir, .fini = remove_dir);

static void write_file(const char *yaml)
{
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs(yaml, f);
    cr_assert_eq(fclose(f), 0);
}

/* Loads yaml over the defaults; returns config_load's result. c must be freed. */
static int load(const char *yaml, struct sb_config *c, struct sb_error *e)
{
    write_file(yaml);
    cr_assert_eq(config_defaults(c), 0);
    memset(e, 0, sizeof *e);
    return config_load(file, c, e);
}

/* Asserts that yaml is rejected with "<file>: <where>" followed by rest
 * (exact) or, when rest is NULL, by anything mentioning needle: that form is
 * for libcyaml's own wording, which may change between its versions. */
static void reject(const char *yaml, const char *where, const char *rest, const char *needle)
{
    struct sb_config c;
    struct sb_error e;
    char prefix[700];
    cr_assert_eq(load(yaml, &c, &e), -1, "accepted:\n%s", yaml);
    cr_assert_eq(e.code, SB_E_CONFIG, "%s", e.msg);
    snprintf(prefix, sizeof prefix, "%s: %s%s", file, where, rest ? rest : "");
    if (rest) {
        cr_assert_str_eq(e.msg, prefix);
    } else {
        cr_assert_eq(strncmp(e.msg, prefix, strlen(prefix)), 0, "'%s' is not '%s...'", e.msg,
                     prefix);
        cr_assert_not_null(strstr(e.msg + strlen(prefix), needle), "'%s' lacks '%s'", e.msg,
                           needle);
    }
    config_free(&c);
}
#define expect_reject(yaml, want) reject(yaml, "", want, NULL)
#define expect_reject_at(yaml, where, needle) reject(yaml, where, NULL, needle)

Test(config, defaults_validate_and_match_the_documented_values)
{
    struct sb_config c;
    struct sb_error e = {0};
    cr_assert_eq(config_defaults(&c), 0);
    cr_assert_eq(config_validate(&c, &e), 0, "%s", e.msg);
    cr_assert_null(c.path);
    cr_assert_not(c.security.enable_network);
    cr_assert_eq(c.security.max_memory_mb, 2048);
    cr_assert_eq(c.defaults.memory_mb, 256);
    cr_assert_eq(c.uid_base, 2100000000);
    cr_assert_str_eq(c.workdir, "/workspace");
    cr_assert_eq(c.system_dirs.n, 5);
    cr_assert_eq(c.etc.n, 10);
    cr_assert_eq(c.security.allowed_syscalls.n, 0);
    cr_assert_eq(c.server.max_connections, 4096);
    cr_assert_eq(c.server.max_connections_per_client, 256);
    cr_assert(c.cgroup_favordynmods);
    config_free(&c);
}

Test(config, shipped_file_equals_the_built_in_defaults)
{
    struct sb_config d, c;
    struct sb_error e = {0};
    cr_assert_eq(config_defaults(&d), 0);
    cr_assert_eq(config_defaults(&c), 0);
    /* make unit runs from the repository root. */
    cr_assert_eq(config_load("config/soulbox.yaml", &c, &e), 0, "%s", e.msg);
    cr_assert_eq(c.security.enable_network, d.security.enable_network);
    cr_assert_eq(c.microvm.snapshot, d.microvm.snapshot);
    cr_assert(d.microvm.snapshot);
    cr_assert_eq(memcmp(&c.security.max_memory_mb, &d.security.max_memory_mb,
                        4 * sizeof(uint64_t)), 0, "security");
    cr_assert_eq(memcmp(&c.defaults, &d.defaults, sizeof d.defaults), 0, "defaults");
    cr_assert_eq(memcmp(&c.maximums, &d.maximums, sizeof d.maximums), 0, "maximums");
    cr_assert_eq(memcmp(&c.compile, &d.compile, sizeof d.compile), 0, "compile");
    cr_assert_eq(c.uid_base, d.uid_base);
    cr_assert_eq(c.uid_count, d.uid_count);
    cr_assert_eq(c.max_inodes, d.max_inodes);
    cr_assert_eq(c.cgroup_favordynmods, d.cgroup_favordynmods);
    cr_assert_eq(c.pool_idle_ms, d.pool_idle_ms);
    cr_assert_str_eq(c.state_dir, d.state_dir);
    cr_assert_str_eq(c.cgroup_root, d.cgroup_root);
    cr_assert_str_eq(c.hostname, d.hostname);
    cr_assert_str_eq(c.workdir, d.workdir);
    cr_assert_str_eq(c.languages_dir, d.languages_dir);
    cr_assert_str_eq(c.compile_cache_dir, d.compile_cache_dir);
    cr_assert_eq(c.compile_cache_mb, d.compile_cache_mb);
    cr_assert_eq(c.server.max_test_cases, d.server.max_test_cases);
    cr_assert_eq(c.server.max_connections, d.server.max_connections);
    cr_assert_eq(c.server.max_connections_per_client, d.server.max_connections_per_client);
    cr_assert_eq(c.languages.n, 0);
    cr_assert_eq(c.pool_memory_mb, d.pool_memory_mb);
    cr_assert_eq(c.n_pools, d.n_pools);
    for (size_t i = 0; i < d.n_pools; i++) {
        cr_assert_str_eq(c.pools[i].language, d.pools[i].language);
        cr_assert_eq(c.pools[i].size, d.pools[i].size);
        cr_assert_eq(c.pools[i].preload.n, 0);
    }
    const struct sb_str_list *a[] = {&c.system_dirs, &c.etc, &c.binds, &c.security.allowed_syscalls};
    const struct sb_str_list *b[] = {&d.system_dirs, &d.etc, &d.binds, &d.security.allowed_syscalls};
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(a[k]->n, b[k]->n, "list %d", k);
        for (size_t i = 0; i < a[k]->n; i++)
            cr_assert_str_eq(a[k]->v[i], b[k]->v[i]);
    }
    config_free(&c);
    config_free(&d);
}

Test(config, empty_file_keeps_defaults_and_records_the_path)
{
    struct sb_config c;
    struct sb_error e;
    cr_assert_eq(load("", &c, &e), 0, "%s", e.msg);
    cr_assert_str_eq(c.path, file);
    cr_assert_eq(c.security.max_memory_mb, 2048);
    config_free(&c);
}

Test(config, valid_override_applies_and_keeps_the_rest)
{
    struct sb_config c;
    struct sb_error e;
    int rc = load("sandbox:\n"
                  "  security:\n"
                  "    max_memory_mb: 4096\n"
                  "    allowed_syscalls: [read, write, exit_group]\n"
                  "  defaults:\n"
                  "    memory_mb: \"512\"\n"
                  "  maximums:\n"
                  "    processes: 2048\n"
                  "  compile:\n"
                  "    artifact_mb: 64\n"
                  "  rootfs:\n"
                  "    system: [/usr]\n"
                  "    etc: [ssl]\n"
                  "    binds: [/opt/tools]\n"
                  "  uid_count: 100\n"
                  "  hostname: judge-1\n"
                  "  workdir: /box\n",
                  &c, &e);
    cr_assert_eq(rc, 0, "%s", e.msg);
    cr_assert_eq(c.security.max_memory_mb, 4096);
    cr_assert_eq(c.security.allowed_syscalls.n, 3);
    cr_assert_str_eq(c.security.allowed_syscalls.v[2], "exit_group");
    cr_assert_eq(c.defaults.memory_mb, 512);
    cr_assert_eq(c.maximums.processes, 2048);
    cr_assert_eq(c.compile.artifact_mb, 64);
    cr_assert_eq(c.system_dirs.n, 1);
    cr_assert_str_eq(c.system_dirs.v[0], "/usr");
    cr_assert_eq(c.etc.n, 1);
    cr_assert_str_eq(c.etc.v[0], "ssl");
    cr_assert_eq(c.binds.n, 1);
    cr_assert_str_eq(c.binds.v[0], "/opt/tools");
    cr_assert_eq(c.uid_count, 100);
    cr_assert_str_eq(c.hostname, "judge-1");
    cr_assert_str_eq(c.workdir, "/box");
    /* untouched keys keep their defaults */
    cr_assert_eq(c.security.max_disk_mb, 1024);
    cr_assert_eq(c.defaults.cpu_time_ms, 10000);
    cr_assert_eq(c.compile.memory_mb, 1024);
    cr_assert_eq(c.uid_base, 2100000000);
    cr_assert_str_eq(c.state_dir, "/run/soulbox");
    config_free(&c);
}

Test(config, unknown_keys_are_rejected_naming_file_and_key)
{
    expect_reject_at("sandbox:\n  security:\n    max_memory_mb: 4096\n    frobnicate: 1\n",
                     "sandbox.security: ", "frobnicate");
    expect_reject_at("sandbox:\n  bogus_key: 1\n", "sandbox: ", "bogus_key");
    expect_reject_at("top_level_typo: 1\n", "", "top_level_typo");
    /* The memory/disk/wall ceilings are in `security`; here they would do nothing. */
    expect_reject_at("sandbox:\n  maximums:\n    memory_mb: 4096\n", "sandbox.maximums: ",
                     "memory_mb");
    expect_reject_at("sandbox:\n  maximums:\n    wall_time_ms: 1\n", "sandbox.maximums: ",
                     "wall_time_ms");
}

Test(config, wrong_types_are_rejected)
{
    expect_reject("sandbox:\n  uid_count: hello\n",
                  "sandbox.uid_count: 'hello' is not a plain decimal integer");
    expect_reject_at("sandbox:\n  compile:\n    memory_mb: [1]\n",
                     "sandbox.compile.memory_mb: ", "SEQUENCE");
    expect_reject_at("sandbox:\n  rootfs:\n    etc: ssl\n", "sandbox.rootfs.etc: ", "SEQUENCE");
    /* libcyaml alone reads any word but a few false ones as true. */
    expect_reject("sandbox:\n  security:\n    enable_network: maybe\n",
                  "sandbox.security.enable_network: 'maybe' is not true or false");
    expect_reject("sandbox:\n  security:\n    enable_network: flase\n",
                  "sandbox.security.enable_network: 'flase' is not true or false");
    expect_reject("sandbox:\n  pools:\n    - {language: python, size: 4, max_size: 2}\n",
                  "sandbox.pools[0].max_size: 2 is out of range [size (4), 64]");
    expect_reject("sandbox:\n  cgroup_favordynmods: yes-please\n",
                  "sandbox.cgroup_favordynmods: 'yes-please' is not true or false");
    expect_reject("sandbox:\n  microvm:\n    snapshot: sometimes\n",
                  "sandbox.microvm.snapshot: 'sometimes' is not true or false");
}

Test(config, counts_must_be_plain_decimals)
{
    /* libcyaml alone would load these as -5 wrapped, 1, 512, 1 and 16. */
    static const char *bad[] = {"-5", "1e4", "512M", "1.5", "0x10", "+7", "010",
                                "-18446744073709551615", "18446744073709551616",
                                /* a count takes no unit */
                                "64s", "1K", "64 KB"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char yaml[200], want[200];
        snprintf(yaml, sizeof yaml, "sandbox:\n  defaults:\n    processes: %s\n", bad[i]);
        snprintf(want, sizeof want,
                 "sandbox.defaults.processes: '%s' is not a plain decimal integer", bad[i]);
        expect_reject(yaml, want);
    }
}

#define DURATION "a duration (e.g. 500ms, 30s, 2m, 1h)"
#define SIZE "a size (e.g. 512KB, 256MB, 2GB)"

/* Every duration and size key, given with a unit, lands in the key's unit. */
Test(config, every_duration_and_size_key_takes_units)
{
#define AT(member) offsetof(struct sb_config, member)
    static const struct { const char *yaml; size_t at; uint64_t want; } k[] = {
        {"server:\n  max_body_kb: 16MB\n", AT(server.max_body_kb), 16384},
        {"server:\n  max_header_kb: 1 MiB\n", AT(server.max_header_kb), 1024},
        {"server:\n  header_timeout_ms: 10s\n", AT(server.header_timeout_ms), 10000},
        {"server:\n  body_timeout_ms: 1m\n", AT(server.body_timeout_ms), 60000},
        {"server:\n  idle_timeout_ms: 1h\n", AT(server.idle_timeout_ms), 3600000},
        {"server:\n  shutdown_grace_ms: 500ms\n", AT(server.shutdown_grace_ms), 500},
        {"server:\n  callbacks:\n    timeout_ms: 2 s\n", AT(server.callback_timeout_ms), 2000},
        {"sandbox:\n  security:\n    max_memory_mb: 4GB\n", AT(security.max_memory_mb), 4096},
        {"sandbox:\n  security:\n    max_disk_mb: 2g\n", AT(security.max_disk_mb), 2048},
        {"sandbox:\n  security:\n    execution_timeout: 30s\n",
         AT(security.execution_timeout), 30},
        {"sandbox:\n  security:\n    execution_timeout: 2m\n",
         AT(security.execution_timeout), 120},
        {"sandbox:\n  security:\n    execution_timeout: 1h\n",
         AT(security.execution_timeout), 3600},
        {"sandbox:\n  security:\n    execution_timeout: 45000ms\n",
         AT(security.execution_timeout), 45},
        {"sandbox:\n  defaults:\n    wall_time_ms: 1m\n", AT(defaults.wall_time_ms), 60000},
        {"sandbox:\n  defaults:\n    cpu_time_ms: 2500ms\n", AT(defaults.cpu_time_ms), 2500},
        {"sandbox:\n  defaults:\n    memory_mb: 1GB\n", AT(defaults.memory_mb), 1024},
        {"sandbox:\n  defaults:\n    disk_mb: 65536KB\n", AT(defaults.disk_mb), 64},
        {"sandbox:\n  defaults:\n    output_kb: 1MB\n", AT(defaults.output_kb), 1024},
        {"sandbox:\n  defaults:\n    file_size_kb: 64M\n", AT(defaults.file_size_kb), 65536},
        {"sandbox:\n  defaults:\n    stack_kb: 8388608B\n", AT(defaults.stack_kb), 8192},
        {"sandbox:\n  maximums:\n    cpu_time_ms: 2m\n", AT(maximums.cpu_time_ms), 120000},
        {"sandbox:\n  maximums:\n    output_kb: 64MB\n", AT(maximums.output_kb), 65536},
        {"sandbox:\n  maximums:\n    file_size_kb: 1GB\n", AT(maximums.file_size_kb), 1048576},
        {"sandbox:\n  maximums:\n    stack_kb: 1gib\n", AT(maximums.stack_kb), 1048576},
        {"sandbox:\n  compile:\n    wall_time_ms: 30s\n", AT(compile.wall_time_ms), 30000},
        {"sandbox:\n  compile:\n    cpu_time_ms: 1m\n", AT(compile.cpu_time_ms), 60000},
        {"sandbox:\n  compile:\n    memory_mb: 1GB\n", AT(compile.memory_mb), 1024},
        {"sandbox:\n  compile:\n    output_kb: 2MB\n", AT(compile.output_kb), 2048},
        {"sandbox:\n  compile:\n    disk_mb: 256MB\n", AT(compile.disk_mb), 256},
        {"sandbox:\n  compile:\n    artifact_mb: 1G\n", AT(compile.artifact_mb), 1024},
        {"sandbox:\n  compile_cache_mb: 2GB\n", AT(compile_cache_mb), 2048},
        {"sandbox:\n  pool_memory_mb: 512MB\n", AT(pool_memory_mb), 512},
        /* a bare number keeps the key's unit */
        {"sandbox:\n  security:\n    execution_timeout: 30\n",
         AT(security.execution_timeout), 30},
        {"server:\n  header_timeout_ms: 10000\n", AT(server.header_timeout_ms), 10000},
        {"server:\n  max_body_kb: 16384\n", AT(server.max_body_kb), 16384},
        {"sandbox:\n  defaults:\n    memory_mb: 1024\n", AT(defaults.memory_mb), 1024},
    };
#undef AT
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        struct sb_config c;
        struct sb_error e;
        cr_assert_eq(load(k[i].yaml, &c, &e), 0, "%s%s", k[i].yaml, e.msg);
        uint64_t got;
        memcpy(&got, (const char *)&c + k[i].at, sizeof got);
        cr_assert_eq(got, k[i].want, "%s-> %llu, want %llu", k[i].yaml,
                     (unsigned long long)got, (unsigned long long)k[i].want);
        config_free(&c);
    }
}

/* The brief's own security example, as printed there. */
Test(config, the_briefs_security_block_loads)
{
    struct sb_config c;
    struct sb_error e;
    cr_assert_eq(load("sandbox:\n"
                      "  security:\n"
                      "    enable_network: false\n"
                      "    max_memory_mb: 512\n"
                      "    max_cpu_percent: 50\n"
                      "    max_disk_mb: 100\n"
                      "    execution_timeout: 30s\n"
                      "    allowed_syscalls:\n"
                      "      - read\n"
                      "      - write\n"
                      "      - open\n"
                      "      - close\n", &c, &e), 0, "%s", e.msg);
    cr_assert_eq(c.security.execution_timeout, 30);
    cr_assert_eq(c.security.max_memory_mb, 512);
    cr_assert_eq(c.security.max_disk_mb, 100);
    cr_assert_eq(c.security.allowed_syscalls.n, 4);
    /* the built-in defaults sit under the lowered ceilings: nothing is clamped */
    cr_assert_eq(c.defaults.memory_mb, 256);
    cr_assert_eq(c.defaults.disk_mb, 64);
    cr_assert_eq(c.defaults.wall_time_ms, 10000);
    config_free(&c);
}

Test(config, units_must_convert_exactly)
{
    expect_reject("sandbox:\n  security:\n    execution_timeout: 1500ms\n",
                  "sandbox.security.execution_timeout: '1500ms' is not a whole number of "
                  "seconds");
    expect_reject("sandbox:\n  compile:\n    artifact_mb: 1536KB\n",
                  "sandbox.compile.artifact_mb: '1536KB' is not a whole number of MB");
    expect_reject("sandbox:\n  defaults:\n    memory_mb: 1000000B\n",
                  "sandbox.defaults.memory_mb: '1000000B' is not a whole number of MB");
    expect_reject("server:\n  max_body_kb: 1000B\n",
                  "server.max_body_kb: '1000B' is not a whole number of KB");
}

Test(config, units_that_overflow_are_rejected)
{
    expect_reject("sandbox:\n  defaults:\n    wall_time_ms: 18446744073709552s\n",
                  "sandbox.defaults.wall_time_ms: '18446744073709552s' is not a duration that "
                  "fits in 64 bits");
    expect_reject("sandbox:\n  defaults:\n    wall_time_ms: 18446744073709551616\n",
                  "sandbox.defaults.wall_time_ms: '18446744073709551616' is not a duration "
                  "that fits in 64 bits");
    expect_reject("server:\n  max_body_kb: 17592186044416GB\n",
                  "server.max_body_kb: '17592186044416GB' is not a size that fits in 64 bits");
    /* Converted values that fit are checked against the key's range as before. */
    expect_reject("sandbox:\n  security:\n    execution_timeout: 25h\n",
                  "sandbox.security.execution_timeout: 90000 is out of range [1, 86400]");
    expect_reject("server:\n  max_body_kb: 2GB\n",
                  "server.max_body_kb: 2097152 is out of range [1, 1048576]");
    expect_reject("server:\n  header_timeout_ms: 50ms\n",
                  "server.header_timeout_ms: 50 is out of range [100, 3600000]");
}

Test(config, connection_limits_have_ranges)
{
    expect_reject("server:\n  max_connections_per_client: 0\n",
                  "server.max_connections_per_client: 0 is out of range [1, 1000000]");
    expect_reject("server:\n  max_connections_per_client: 1000001\n",
                  "server.max_connections_per_client: 1000001 is out of range [1, 1000000]");
    expect_reject("server:\n  max_connections_per_client: 10s\n",
                  "server.max_connections_per_client: '10s' is not a plain decimal integer");
    struct sb_config c;
    struct sb_error e = {0};
    cr_assert_eq(load("server:\n  max_connections: 8\n  max_connections_per_client: 100\n",
                      &c, &e), 0, "%s", e.msg);
    cr_assert_eq(c.server.max_connections, 8);
    cr_assert_eq(c.server.max_connections_per_client, 100);
    config_free(&c);
}

Test(config, bad_durations_and_sizes_name_the_key)
{
    static const char *dur[] = {"-5", "1e4", "1.5s", "-1s", "1e3ms", "30sec", "0x10",
                                "+7", "010", "30  s", "30S", "1d", "1h30m", "30us", "512M"};
    for (size_t i = 0; i < sizeof dur / sizeof *dur; i++) {
        char yaml[200], want[200];
        snprintf(yaml, sizeof yaml, "sandbox:\n  defaults:\n    wall_time_ms: \"%s\"\n", dur[i]);
        snprintf(want, sizeof want, "sandbox.defaults.wall_time_ms: '%s' is not " DURATION,
                 dur[i]);
        expect_reject(yaml, want);
        snprintf(yaml, sizeof yaml, "sandbox:\n  security:\n    execution_timeout: \"%s\"\n",
                 dur[i]);
        snprintf(want, sizeof want, "sandbox.security.execution_timeout: '%s' is not " DURATION,
                 dur[i]);
        expect_reject(yaml, want);
    }
    static const char *size[] = {"-5", "1e4", "1.5GB", "-1KB", "1TB", "16 MBs", "16  MB",
                                 "16MB/s", "0x10", "010", "1kbit", "30s"};
    for (size_t i = 0; i < sizeof size / sizeof *size; i++) {
        char yaml[200], want[200];
        snprintf(yaml, sizeof yaml, "server:\n  max_body_kb: \"%s\"\n", size[i]);
        snprintf(want, sizeof want, "server.max_body_kb: '%s' is not " SIZE, size[i]);
        expect_reject(yaml, want);
        snprintf(yaml, sizeof yaml, "sandbox:\n  compile:\n    memory_mb: \"%s\"\n", size[i]);
        snprintf(want, sizeof want, "sandbox.compile.memory_mb: '%s' is not " SIZE, size[i]);
        expect_reject(yaml, want);
    }
}

/* Every numeric key of the file, with the kind its text is read as: a key
 * added to the schema belongs here too. "1x" fits no kind, so the message
 * shows which one the key declares. */
Test(config, every_numeric_key_declares_its_kind)
{
#define COUNT "a plain decimal integer"
    static const struct { const char *section, *key, *what; } k[] = {
        {"server", "port", COUNT}, {"server", "grpc_port", COUNT},
        {"server", "max_concurrent", COUNT}, {"server", "max_queue", COUNT},
        {"server", "max_connections", COUNT},
        {"server", "max_connections_per_client", COUNT}, {"server", "max_body_kb", SIZE},
        {"server", "max_header_kb", SIZE}, {"server", "header_timeout_ms", DURATION},
        {"server", "body_timeout_ms", DURATION}, {"server", "idle_timeout_ms", DURATION},
        {"server", "shutdown_grace_ms", DURATION}, {"server", "max_files", COUNT},
        {"server", "max_args", COUNT}, {"server", "max_test_cases", COUNT},
        {"server.rate_limit", "requests_per_second", COUNT},
        {"server.rate_limit", "burst", COUNT},
        {"server.callbacks", "timeout_ms", DURATION},
        {"server.callbacks", "max_attempts", COUNT},
        {"sandbox.security", "max_memory_mb", SIZE},
        {"sandbox.security", "max_cpu_percent", COUNT},
        {"sandbox.security", "max_disk_mb", SIZE},
        {"sandbox.security", "execution_timeout", DURATION},
        {"sandbox.defaults", "wall_time_ms", DURATION},
        {"sandbox.defaults", "cpu_time_ms", DURATION},
        {"sandbox.defaults", "memory_mb", SIZE}, {"sandbox.defaults", "disk_mb", SIZE},
        {"sandbox.defaults", "processes", COUNT}, {"sandbox.defaults", "output_kb", SIZE},
        {"sandbox.defaults", "file_size_kb", SIZE}, {"sandbox.defaults", "open_files", COUNT},
        {"sandbox.defaults", "stack_kb", SIZE},
        {"sandbox.maximums", "cpu_time_ms", DURATION},
        {"sandbox.maximums", "processes", COUNT}, {"sandbox.maximums", "output_kb", SIZE},
        {"sandbox.maximums", "file_size_kb", SIZE}, {"sandbox.maximums", "open_files", COUNT},
        {"sandbox.maximums", "stack_kb", SIZE},
        {"sandbox.compile", "wall_time_ms", DURATION},
        {"sandbox.compile", "cpu_time_ms", DURATION}, {"sandbox.compile", "memory_mb", SIZE},
        {"sandbox.compile", "processes", COUNT}, {"sandbox.compile", "output_kb", SIZE},
        {"sandbox.compile", "disk_mb", SIZE}, {"sandbox.compile", "artifact_mb", SIZE},
        {"sandbox", "uid_base", COUNT}, {"sandbox", "uid_count", COUNT},
        {"sandbox", "max_inodes", COUNT}, {"sandbox", "compile_cache_mb", SIZE},
        {"sandbox", "pool_memory_mb", SIZE},
    };
#undef COUNT
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        char yaml[200], want[200];
        const char *dot = strchr(k[i].section, '.');
        if (dot)
            snprintf(yaml, sizeof yaml, "%.*s:\n  %s:\n    %s: 1x\n", (int)(dot - k[i].section),
                     k[i].section, dot + 1, k[i].key);
        else
            snprintf(yaml, sizeof yaml, "%s:\n  %s: 1x\n", k[i].section, k[i].key);
        snprintf(want, sizeof want, "%s.%s: '1x' is not %s", k[i].section, k[i].key, k[i].what);
        expect_reject(yaml, want);
    }
}

Test(config, counts_refuse_units_everywhere)
{
    static const struct { const char *yaml, *want; } k[] = {
        {"server:\n  port: 8080s\n", "server.port: '8080s' is not a plain decimal integer"},
        {"server:\n  max_concurrent: 1K\n",
         "server.max_concurrent: '1K' is not a plain decimal integer"},
        {"server:\n  rate_limit:\n    burst: 10s\n",
         "server.rate_limit.burst: '10s' is not a plain decimal integer"},
        {"server:\n  callbacks:\n    max_attempts: 5s\n",
         "server.callbacks.max_attempts: '5s' is not a plain decimal integer"},
        {"sandbox:\n  security:\n    max_cpu_percent: 50%\n",
         "sandbox.security.max_cpu_percent: '50%' is not a plain decimal integer"},
        {"sandbox:\n  maximums:\n    open_files: 4K\n",
         "sandbox.maximums.open_files: '4K' is not a plain decimal integer"},
        {"sandbox:\n  uid_count: 64K\n", "sandbox.uid_count: '64K' is not a plain decimal integer"},
        {"sandbox:\n  max_inodes: 16K\n",
         "sandbox.max_inodes: '16K' is not a plain decimal integer"},
        {"sandbox:\n  pools:\n    - {language: python, size: 2K}\n",
         "sandbox.pools[].size: '2K' is not a plain decimal integer"},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++)
        expect_reject(k[i].yaml, k[i].want);
}

/* libcyaml loads `[]` like an absent key: an empty list must not silently
 * keep the non-empty defaults. */
Test(config, empty_rootfs_lists_are_rejected)
{
    expect_reject_at("sandbox:\n  rootfs:\n    etc: []\n", "sandbox.rootfs.etc: ", "min");
    expect_reject_at("sandbox:\n  rootfs:\n    system: []\n", "sandbox.rootfs.system: ", "min");
    /* Lists whose default is empty may be written empty. */
    struct sb_config c;
    struct sb_error e;
    cr_assert_eq(load("sandbox:\n  security:\n    allowed_syscalls: []\n"
                      "  rootfs:\n    binds: []\n", &c, &e), 0, "%s", e.msg);
    cr_assert_eq(c.binds.n, 0);
    cr_assert_eq(c.security.allowed_syscalls.n, 0);
    config_free(&c);
}

Test(config, out_of_range_messages)
{
    expect_reject("sandbox:\n  security:\n    max_memory_mb: 4\n",
                  "sandbox.security.max_memory_mb: 4 is out of range [8, 1048576]");
    expect_reject("sandbox:\n  security:\n    execution_timeout: 0\n",
                  "sandbox.security.execution_timeout: 0 is out of range [1, 86400]");
    expect_reject("sandbox:\n  uid_base: 0\n",
                  "sandbox.uid_base: 0 is out of range [10000, 2147483647]");
    expect_reject("sandbox:\n  uid_count: 18446744073709551615\n",
                  "sandbox.uid_count: 18446744073709551615 is out of range [1, 1000000]");
}

/* Every range, both sides: one below the minimum and one above the maximum
 * (maxima of defaults.* are the default ceilings they depend on). */
Test(config, every_range_is_enforced_on_both_sides)
{
    static const struct { const char *section, *key; unsigned long long min, max; } r[] = {
        {"security", "max_memory_mb", 8, 1048576}, {"security", "max_cpu_percent", 1, 25600},
        {"security", "max_disk_mb", 1, 1048576}, {"security", "execution_timeout", 1, 86400},
        {"maximums", "cpu_time_ms", 1, 86400000}, {"maximums", "processes", 1, 65536},
        {"maximums", "output_kb", 1, 1048576}, {"maximums", "file_size_kb", 1, 1073741824},
        {"maximums", "open_files", 8, 1048576}, {"maximums", "stack_kb", 64, 1073741824},
        {"defaults", "wall_time_ms", 1, 60000}, {"defaults", "cpu_time_ms", 1, 60000},
        {"defaults", "memory_mb", 8, 2048}, {"defaults", "disk_mb", 1, 1024},
        {"defaults", "processes", 1, 1024}, {"defaults", "output_kb", 1, 65536},
        {"defaults", "file_size_kb", 1, 1048576}, {"defaults", "open_files", 8, 4096},
        {"defaults", "stack_kb", 64, 1048576},
        {"compile", "wall_time_ms", 100, 3600000}, {"compile", "cpu_time_ms", 100, 3600000},
        {"compile", "memory_mb", 64, 1048576}, {"compile", "processes", 4, 65536},
        {"compile", "output_kb", 1, 1048576}, {"compile", "disk_mb", 16, 1048576},
        {"compile", "artifact_mb", 1, 4096},
        {NULL, "uid_base", 10000, 2147483647}, {NULL, "uid_count", 1, 1000000},
        {NULL, "max_inodes", 64, 16777216},
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        unsigned long long v[2] = {r[i].min - 1, r[i].max + 1};
        for (int k = 0; k < 2; k++) {
            char yaml[200], want[200], key[64];
            if (r[i].section) {
                snprintf(yaml, sizeof yaml, "sandbox:\n  %s:\n    %s: %llu\n", r[i].section,
                         r[i].key, v[k]);
                snprintf(key, sizeof key, "sandbox.%s.%s", r[i].section, r[i].key);
            } else {
                snprintf(yaml, sizeof yaml, "sandbox:\n  %s: %llu\n", r[i].key, v[k]);
                snprintf(key, sizeof key, "sandbox.%s", r[i].key);
            }
            snprintf(want, sizeof want, "%s: %llu is out of range [%llu, %llu]", key, v[k],
                     r[i].min, r[i].max);
            expect_reject(yaml, want);
        }
    }
}

Test(config, defaults_above_their_ceiling_are_rejected)
{
    expect_reject("sandbox:\n  defaults:\n    memory_mb: 4096\n",
                  "sandbox.defaults.memory_mb: 4096 is out of range [8, 2048]");
    expect_reject("sandbox:\n  security:\n    execution_timeout: 5\n",
                  "sandbox.defaults.wall_time_ms: 10000 is out of range [1, 5000]");
    expect_reject("sandbox:\n  maximums:\n    processes: 32\n",
                  "sandbox.defaults.processes: 64 is out of range [1, 32]");
    /* Raising the ceiling in the same file makes the default valid. */
    struct sb_config c;
    struct sb_error e;
    cr_assert_eq(load("sandbox:\n  security:\n    max_memory_mb: 8192\n"
                      "  defaults:\n    memory_mb: 4096\n", &c, &e), 0, "%s", e.msg);
    cr_assert_eq(c.defaults.memory_mb, 4096);
    config_free(&c);
}

Test(config, uid_range_must_stay_below_2_31)
{
    expect_reject("sandbox:\n  uid_base: 2147483000\n  uid_count: 1000\n",
                  "sandbox.uid_base + uid_count must stay below 2^31");
    struct sb_config c;
    struct sb_error e;
    cr_assert_eq(load("sandbox:\n  uid_base: 2147482648\n  uid_count: 1000\n", &c, &e), 0,
                 "%s", e.msg);
    config_free(&c);
}

Test(config, network_section)
{
    struct sb_config c;
    struct sb_error e;
    cr_assert_eq(load("sandbox:\n  security:\n    enable_network: true\n  network:\n"
                      "    allow: [\"203.0.113.0/24:443\", \"*.example.com\", pypi.org]\n"
                      "    deny: [203.0.113.9]\n    dns: [\"192.0.2.53\", \"[2001:db8::53]:5353\"]\n"
                      "    bandwidth_up_kbit: 800\n    bandwidth_down_kbit: 8000\n"
                      "    max_connections: 16\n    max_total_mb: 100\n", &c, &e), 0, "%s", e.msg);
    cr_assert(c.security.enable_network);
    cr_assert_eq(c.network.allow.n, 3);
    cr_assert_str_eq(c.network.allow.v[1], "*.example.com");
    cr_assert_eq(c.network.deny.n, 1);
    cr_assert_eq(c.network.dns.n, 2);
    cr_assert_eq(c.network.bandwidth_up_kbit, 800);
    cr_assert_eq(c.network.bandwidth_down_kbit, 8000);
    cr_assert_eq(c.network.max_connections, 16);
    cr_assert_eq(c.network.max_total_mb, 100);
    cr_assert_eq(c.network.connect_timeout_ms, 10000);
    config_free(&c);
    /* a bad entry is an error even with network off */
    expect_reject("sandbox:\n  network:\n    allow: [\"192.0.2.1/24\"]\n",
                  "sandbox.network.allow: \"192.0.2.1/24\": host bits set beyond the /24 prefix");
    expect_reject("sandbox:\n  network:\n    dns: [\"resolver.example\"]\n",
                  "sandbox.network.dns: \"resolver.example\": not an IP address");
    expect_reject("sandbox:\n  network:\n    connect_timeout_ms: 5\n",
                  "sandbox.network.connect_timeout_ms: 5 is out of range [100, 600000]");
    /* a pool plumbed for network: only with network on, one per language */
    expect_reject("sandbox:\n  pools:\n    - {language: python, size: 1, network: true}\n",
                  "sandbox.pools[0].network: true needs sandbox.security.enable_network: true");
    expect_reject("sandbox:\n  security:\n    enable_network: true\n  pools:\n"
                  "    - {language: python, size: 1, network: true}\n"
                  "    - {language: python, size: 2, network: true}\n",
                  "sandbox.pools: python (network: true) appears twice");
    cr_assert_eq(load("sandbox:\n  security:\n    enable_network: true\n  pools:\n"
                      "    - {language: python, size: 1}\n"
                      "    - {language: python, size: 1, network: true}\n", &c, &e), 0, "%s", e.msg);
    cr_assert_eq(c.n_pools, 2);
    cr_assert_not(c.pools[0].network);
    cr_assert(c.pools[1].network);
    config_free(&c);
}

Test(config, allowed_syscalls_are_checked)
{
    expect_reject("sandbox:\n  security:\n    allowed_syscalls: [read, frobnicate]\n",
                  "sandbox.security.allowed_syscalls: unknown syscall 'frobnicate'");
    expect_reject("sandbox:\n  security:\n    allowed_syscalls: [read, ptrace]\n",
                  "sandbox.security.allowed_syscalls: syscall 'ptrace' is always denied by "
                  "SoulBox");
    expect_reject("sandbox:\n  security:\n    allowed_syscalls: [reboot]\n",
                  "sandbox.security.allowed_syscalls: syscall 'reboot' is always denied by "
                  "SoulBox");
}

Test(config, paths_are_checked)
{
    expect_reject("sandbox:\n  workdir: /etc\n", "sandbox.workdir: /etc is reserved");
    expect_reject("sandbox:\n  workdir: /tmp\n", "sandbox.workdir: /tmp is reserved");
    expect_reject("sandbox:\n  workdir: /usr\n", "sandbox.workdir: /usr is reserved");
    expect_reject("sandbox:\n  workdir: work\n",
                  "sandbox.workdir: must be an absolute normalised path");
    expect_reject("sandbox:\n  workdir: /a/../b\n",
                  "sandbox.workdir: must be an absolute normalised path");
    expect_reject("sandbox:\n  rootfs:\n    etc: [ssl/certs]\n",
                  "sandbox.rootfs.etc: 'ssl/certs' must be a name directly under /etc");
    expect_reject("sandbox:\n  rootfs:\n    etc: [../shadow]\n",
                  "sandbox.rootfs.etc: '../shadow' must be a name directly under /etc");
    expect_reject("sandbox:\n  rootfs:\n    system: [/usr, /]\n",
                  "sandbox.rootfs.system: '/' is not an absolute normalised path");
    expect_reject("sandbox:\n  rootfs:\n    binds: [opt]\n",
                  "sandbox.rootfs.binds: 'opt' is not an absolute normalised path");
    expect_reject("sandbox:\n  state_dir: /\n",
                  "sandbox.state_dir: must be an absolute normalised path");
    expect_reject("sandbox:\n  cgroup_root: ../escape\n",
                  "sandbox.cgroup_root: must be a relative path without '..'");
    expect_reject("sandbox:\n  hostname: Judge\n", "sandbox.hostname: only a-z, 0-9 and '-'");
}

Test(config, unreadable_and_malformed_files)
{
    struct sb_config c;
    struct sb_error e = {0};
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nope.yaml", dir);
    cr_assert_eq(config_defaults(&c), 0);
    cr_assert_eq(config_load(missing, &c, &e), -1);
    char want[200];
    snprintf(want, sizeof want, "%s: cannot open the file", missing);
    cr_assert_str_eq(e.msg, want);
    config_free(&c);
    expect_reject_at("sandbox: [1, 2\n", "", "");
}

Test(config, validate_names_the_built_in_config)
{
    struct sb_config c;
    struct sb_error e = {0};
    cr_assert_eq(config_defaults(&c), 0);
    c.security.max_memory_mb = 4;
    cr_assert_eq(config_validate(&c, &e), -1);
    cr_assert_str_eq(e.msg, "built-in config: sandbox.security.max_memory_mb: 4 is out of "
                            "range [8, 1048576]");
    config_free(&c);
}

/* mallinfo2 counts chunks parked in glibc's per-thread cache as in use, so
 * whether a free lands there or in a bin would move the count: the binary
 * runs itself again with that cache off, and the count is exact. */
__attribute__((constructor)) static void no_tcache(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    if (getenv("GLIBC_TUNABLES"))
        return;
    setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
    execv("/proc/self/exe", argv);
}

/* Loads, rejections and frees leave the heap as they found it. Measured with
 * mallinfo2 in the normal build (a sanitizer build also checks with LSan). */
Test(config, load_and_free_leave_no_leak)
{
    static const char *const yamls[] = {
        "sandbox:\n  security:\n    allowed_syscalls: [read, write]\n"
        "  rootfs:\n    system: [/usr, /opt]\n    etc: [ssl]\n    binds: [/srv]\n"
        "  hostname: leak-test\n  workdir: /box\n  state_dir: /run/x\n",
        "sandbox:\n  security:\n    frobnicate: 1\n",
        "sandbox:\n  defaults:\n    memory_mb: 1e4\n  rootfs:\n    etc: [a, b]\n",
        "sandbox:\n  rootfs:\n    etc: [a/b]\n",
        "sandbox: [1, 2\n",
    };
    for (int round = 0; round < 2; round++) {
        size_t before = mallinfo2().uordblks;
        for (int n = 0; n < 20; n++)
            for (size_t i = 0; i < sizeof yamls / sizeof *yamls; i++) {
                struct sb_config c;
                struct sb_error e;
                load(yamls[i], &c, &e);
                config_free(&c);
            }
        size_t after = mallinfo2().uordblks;
        /* Round 0 warms up stdio and libyaml; round 1 must balance exactly. */
        if (round == 1)
            cr_assert_eq(after, before, "leaked %zd bytes", (ssize_t)(after - before));
    }
}

Test(config, pools_are_validated_and_replace_the_defaults)
{
    struct sb_config c;
    struct sb_error e;
    cr_assert_eq(load("sandbox:\n  pools:\n    - {language: python, size: 3, preload: [numpy]}\n"
                      "  pool_memory_mb: 256\n", &c, &e), 0, "%s", e.msg);
    cr_assert_eq(c.n_pools, 1);
    cr_assert_str_eq(c.pools[0].language, "python");
    cr_assert_eq(c.pools[0].size, 3);
    cr_assert_str_eq(c.pools[0].preload.v[0], "numpy");
    cr_assert_eq(c.pool_memory_mb, 256);
    config_free(&c);
    const struct { const char *yaml, *needle; } bad[] = {
        {"sandbox:\n  pools:\n    - {language: python, size: 33}\n", "size: 33 is out of range"},
        {"sandbox:\n  pools:\n    - {language: python}\n    - {language: python}\n",
         "python appears twice"},
        {"sandbox:\n  pools:\n    - {language: python, preload: [\"os; import x\"]}\n",
         "is not a module name"},
        {"sandbox:\n  pools:\n    - {language: python, size: two}\n", "size"},
        {"sandbox:\n  pools:\n    - {size: 1}\n", "language"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(load(bad[i].yaml, &c, &e), -1, "%s", bad[i].yaml);
        config_free(&c);
        cr_assert(strstr(e.msg, bad[i].needle), "%s: %s", bad[i].needle, e.msg);
    }
}

Test(config, env_keys_are_users_until_named_admins)
{
    struct sb_config c;
    struct sb_error e = {0};
    cr_assert_eq(config_defaults(&c), 0);
    /* Fresh memory is not zero (perturbed here, 0xbe under ASan, where UBSan
     * also refuses to load a bool that is neither 0 nor 1). */
    mallopt(M_PERTURB, 0x41);
    cr_assert_eq(config_add_env_keys(&c, "alice:a1,bob:b2,carol:c3", &e), 0, "%s", e.msg);
    mallopt(M_PERTURB, 0);
    cr_assert_eq(c.server.n_keys, 3);
    cr_assert(c.server.auth_enabled);
    for (size_t i = 0; i < 3; i++)
        cr_assert_not(c.server.keys[i].admin, "%s", c.server.keys[i].id);
    cr_assert_eq(config_add_env_admins(&c, "bob", &e), 0, "%s", e.msg);
    cr_assert_not(c.server.keys[0].admin);
    cr_assert(c.server.keys[1].admin);
    cr_assert_not(c.server.keys[2].admin);
    cr_assert_eq(config_add_env_admins(&c, "dave", &e), -1);
    cr_assert_str_eq(e.msg, "SOULBOX_ADMIN_KEYS: 'dave' is not the id of an API key");
    cr_assert_eq(config_add_env_keys(&c, "nosecret", &e), -1);
    cr_assert_str_eq(e.msg, "SOULBOX_API_KEYS: entries must be id:secret");
    config_free(&c);
}
