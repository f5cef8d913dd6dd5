/* The config file's YAML schema for libcyaml: every key of every section, each scalar read as text (ranges and units are checked when merged, config.c). */
#include "config/config_raw.h"

#define OPT (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)
/* Numbers and booleans are read as strings and parsed here: libcyaml 1.3's
 * integer reader ignores what follows the digits and wraps negatives ("1e4"
 * loaded as 1, "512M" as 512, "-18446744073709551615" as 1) and its boolean
 * reader takes anything but a few false words as true ("maybe", "flase").
 * Reading strings also lets durations and sizes carry units ("30s", "16MB"):
 * each number's kind (enum num_kind) is named where it is merged. */
#define U64(key, type, member) CYAML_FIELD_STRING_PTR(key, OPT, type, member, 1, 64)
#define BOOL(key, type, member) CYAML_FIELD_STRING_PTR(key, OPT, type, member, 1, 64)

static const cyaml_schema_value_t str_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, 4095),
};

#define LIMIT_FIELDS(type)                                                       \
    U64("wall_time_ms", type, wall_time_ms), U64("cpu_time_ms", type, cpu_time_ms), \
    U64("memory_mb", type, memory_mb), U64("disk_mb", type, disk_mb),             \
    U64("processes", type, processes), U64("output_kb", type, output_kb),         \
    U64("file_size_kb", type, file_size_kb), U64("open_files", type, open_files), \
    U64("stack_kb", type, stack_kb), CYAML_FIELD_END

static const cyaml_schema_field_t limits_fields[] = {LIMIT_FIELDS(struct raw_limits)};

/* The memory, disk and wall ceilings live in `security`; accepting them here
 * too would silently ignore a ceiling the operator believes is set. */
static const cyaml_schema_field_t maximums_fields[] = {
    U64("cpu_time_ms", struct raw_limits, cpu_time_ms),
    U64("processes", struct raw_limits, processes),
    U64("output_kb", struct raw_limits, output_kb),
    U64("file_size_kb", struct raw_limits, file_size_kb),
    U64("open_files", struct raw_limits, open_files),
    U64("stack_kb", struct raw_limits, stack_kb),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t security_fields[] = {
    BOOL("enable_network", struct raw_security, enable_network),
    U64("max_memory_mb", struct raw_security, max_memory_mb),
    U64("max_cpu_percent", struct raw_security, max_cpu_percent),
    U64("max_disk_mb", struct raw_security, max_disk_mb),
    U64("execution_timeout", struct raw_security, execution_timeout),
    CYAML_FIELD_SEQUENCE("allowed_syscalls", OPT, struct raw_security, allowed_syscalls,
                         &str_entry, 0, 1024),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t network_fields[] = {
    CYAML_FIELD_SEQUENCE("allow", OPT, struct raw_network, allow, &str_entry, 0, 1024),
    CYAML_FIELD_SEQUENCE("deny", OPT, struct raw_network, deny, &str_entry, 0, 1024),
    CYAML_FIELD_SEQUENCE("dns", OPT, struct raw_network, dns, &str_entry, 0, 4),
    U64("bandwidth_up_kbit", struct raw_network, bandwidth_up_kbit),
    U64("bandwidth_down_kbit", struct raw_network, bandwidth_down_kbit),
    U64("max_connections", struct raw_network, max_connections),
    U64("max_total_mb", struct raw_network, max_total_mb),
    U64("connect_timeout_ms", struct raw_network, connect_timeout_ms),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t microvm_fields[] = {
    BOOL("enabled", struct raw_microvm, enabled),
    CYAML_FIELD_STRING_PTR("accel", OPT, struct raw_microvm, accel, 1, 16),
    CYAML_FIELD_STRING_PTR("qemu", OPT, struct raw_microvm, qemu, 1, 200),
    CYAML_FIELD_STRING_PTR("virtiofsd", OPT, struct raw_microvm, virtiofsd, 1, 200),
    CYAML_FIELD_STRING_PTR("kernel", OPT, struct raw_microvm, kernel, 0, 200),
    U64("overhead_mb", struct raw_microvm, overhead_mb),
    U64("tb_mb", struct raw_microvm, tb_mb),
    U64("vmm_overhead_mb", struct raw_microvm, vmm_overhead_mb),
    U64("hang_timeout_ms", struct raw_microvm, hang_timeout_ms),
    BOOL("snapshot", struct raw_microvm, snapshot),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t compile_fields[] = {
    U64("wall_time_ms", struct raw_compile, wall_time_ms),
    U64("cpu_time_ms", struct raw_compile, cpu_time_ms),
    U64("memory_mb", struct raw_compile, memory_mb),
    U64("processes", struct raw_compile, processes),
    U64("output_kb", struct raw_compile, output_kb),
    U64("disk_mb", struct raw_compile, disk_mb),
    U64("artifact_mb", struct raw_compile, artifact_mb),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t rootfs_fields[] = {
    /* At least one entry: libcyaml loads `[]` exactly like an absent key, so an
     * empty list would silently keep the non-empty defaults. */
    CYAML_FIELD_SEQUENCE("system", OPT, struct raw_rootfs, system, &str_entry, 1, 64),
    CYAML_FIELD_SEQUENCE("etc", OPT, struct raw_rootfs, etc, &str_entry, 1, 64),
    CYAML_FIELD_SEQUENCE("binds", OPT, struct raw_rootfs, binds, &str_entry, 0, 64),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t pool_fields[] = {
    CYAML_FIELD_STRING_PTR("language", CYAML_FLAG_POINTER, struct raw_pool, language, 1, 32),
    U64("size", struct raw_pool, size),
    U64("max_size", struct raw_pool, max_size),
    BOOL("network", struct raw_pool, network),
    CYAML_FIELD_STRING_PTR("isolation", OPT, struct raw_pool, isolation, 1, 32),
    CYAML_FIELD_SEQUENCE("preload", OPT, struct raw_pool, preload, &str_entry, 0, 64),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t pool_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_pool, pool_fields),
};

static const cyaml_schema_field_t sandbox_fields[] = {
    CYAML_FIELD_MAPPING_PTR("microvm", OPT, struct raw_sandbox, microvm, microvm_fields),
    CYAML_FIELD_STRING_PTR("isolation", OPT, struct raw_sandbox, isolation, 1, 32),
    CYAML_FIELD_MAPPING_PTR("security", OPT, struct raw_sandbox, security, security_fields),
    CYAML_FIELD_MAPPING_PTR("network", OPT, struct raw_sandbox, network, network_fields),
    CYAML_FIELD_MAPPING_PTR("defaults", OPT, struct raw_sandbox, defaults, limits_fields),
    CYAML_FIELD_MAPPING_PTR("maximums", OPT, struct raw_sandbox, maximums, maximums_fields),
    CYAML_FIELD_MAPPING_PTR("compile", OPT, struct raw_sandbox, compile, compile_fields),
    CYAML_FIELD_MAPPING_PTR("rootfs", OPT, struct raw_sandbox, rootfs, rootfs_fields),
    U64("uid_base", struct raw_sandbox, uid_base),
    U64("uid_count", struct raw_sandbox, uid_count),
    U64("max_inodes", struct raw_sandbox, max_inodes),
    BOOL("cgroup_favordynmods", struct raw_sandbox, cgroup_favordynmods),
    CYAML_FIELD_STRING_PTR("state_dir", OPT, struct raw_sandbox, state_dir, 1, 200),
    CYAML_FIELD_STRING_PTR("cgroup_root", OPT, struct raw_sandbox, cgroup_root, 1, 200),
    CYAML_FIELD_STRING_PTR("hostname", OPT, struct raw_sandbox, hostname, 1, 63),
    CYAML_FIELD_STRING_PTR("workdir", OPT, struct raw_sandbox, workdir, 2, 200),
    CYAML_FIELD_STRING_PTR("languages_dir", OPT, struct raw_sandbox, languages_dir, 0, 1024),
    CYAML_FIELD_STRING_PTR("compile_cache_dir", OPT, struct raw_sandbox, compile_cache_dir, 2,
                           1024),
    U64("compile_cache_mb", struct raw_sandbox, compile_cache_mb),
    CYAML_FIELD_SEQUENCE("languages", OPT, struct raw_sandbox, languages, &str_entry, 0, 256),
    CYAML_FIELD_SEQUENCE("pools", OPT, struct raw_sandbox, pools, &pool_entry, 0, 64),
    U64("pool_memory_mb", struct raw_sandbox, pool_memory_mb),
    U64("pool_idle_ms", struct raw_sandbox, pool_idle_ms),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t key_fields[] = {
    CYAML_FIELD_STRING_PTR("id", CYAML_FLAG_POINTER, struct raw_key, id, 1, 64),
    CYAML_FIELD_STRING_PTR("sha256", CYAML_FLAG_POINTER, struct raw_key, sha256, 64, 64),
    CYAML_FIELD_STRING_PTR("role", OPT, struct raw_key, role, 1, 16),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t key_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_key, key_fields),
};

static const cyaml_schema_field_t auth_fields[] = {
    BOOL("enabled", struct raw_auth, enabled),
    CYAML_FIELD_SEQUENCE("keys", OPT, struct raw_auth, keys, &key_entry, 0, 1024),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t rate_fields[] = {
    U64("requests_per_second", struct raw_rate, requests_per_second),
    U64("burst", struct raw_rate, burst),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t callback_fields[] = {
    BOOL("allow_private", struct raw_callbacks, allow_private),
    U64("timeout_ms", struct raw_callbacks, timeout_ms),
    U64("max_attempts", struct raw_callbacks, max_attempts),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t server_fields[] = {
    CYAML_FIELD_STRING_PTR("listen", OPT, struct raw_server, listen, 1, 64),
    U64("port", struct raw_server, port),
    U64("grpc_port", struct raw_server, grpc_port),
    CYAML_FIELD_STRING_PTR("data_dir", OPT, struct raw_server, data_dir, 1, 1024),
    CYAML_FIELD_STRING_PTR("store", OPT, struct raw_server, store, 1, 2048),
    U64("max_concurrent", struct raw_server, max_concurrent),
    U64("max_queue", struct raw_server, max_queue),
    U64("max_connections", struct raw_server, max_connections),
    U64("max_connections_per_client", struct raw_server, max_connections_per_client),
    U64("max_body_kb", struct raw_server, max_body_kb),
    U64("max_header_kb", struct raw_server, max_header_kb),
    U64("header_timeout_ms", struct raw_server, header_timeout_ms),
    U64("body_timeout_ms", struct raw_server, body_timeout_ms),
    U64("idle_timeout_ms", struct raw_server, idle_timeout_ms),
    U64("shutdown_grace_ms", struct raw_server, shutdown_grace_ms),
    U64("max_files", struct raw_server, max_files),
    U64("max_args", struct raw_server, max_args),
    U64("max_test_cases", struct raw_server, max_test_cases),
    U64("max_shares", struct raw_server, max_shares),
    CYAML_FIELD_STRING_PTR("log_level", OPT, struct raw_server, log_level, 1, 16),
    BOOL("allow_unauthenticated_remote", struct raw_server, allow_unauthenticated_remote),
    BOOL("metrics_public", struct raw_server, metrics_public),
    BOOL("ui", struct raw_server, ui),
    CYAML_FIELD_STRING_PTR("audit_log", OPT, struct raw_server, audit_log, 0, 1024),
    CYAML_FIELD_MAPPING_PTR("auth", OPT, struct raw_server, auth, auth_fields),
    CYAML_FIELD_MAPPING_PTR("rate_limit", OPT, struct raw_server, rate_limit, rate_fields),
    CYAML_FIELD_MAPPING_PTR("callbacks", OPT, struct raw_server, callbacks, callback_fields),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t sessions_fields[] = {
    BOOL("enabled", struct raw_sessions, enabled),
    U64("default_ttl_ms", struct raw_sessions, default_ttl_ms),
    U64("max_ttl_ms", struct raw_sessions, max_ttl_ms),
    U64("idle_timeout_ms", struct raw_sessions, idle_timeout_ms),
    U64("max_sessions", struct raw_sessions, max_sessions),
    U64("max_per_key", struct raw_sessions, max_per_key),
    U64("max_memory_mb_per_key", struct raw_sessions, max_memory_mb_per_key),
    U64("memory_mb", struct raw_sessions, memory_mb),
    U64("disk_mb", struct raw_sessions, disk_mb),
    U64("processes", struct raw_sessions, processes),
    U64("output_mb", struct raw_sessions, output_mb),
    U64("max_output_mb", struct raw_sessions, max_output_mb),
    U64("max_contexts", struct raw_sessions, max_contexts),
    U64("max_commands", struct raw_sessions, max_commands),
    U64("max_output_held_mb", struct raw_sessions, max_output_held_mb),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t compat_fields[] = {
    BOOL("e2b", struct raw_compat, e2b),
    BOOL("piston", struct raw_compat, piston),
    BOOL("judge0", struct raw_compat, judge0),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t cluster_fields[] = {
    CYAML_FIELD_STRING_PTR("node_name", OPT, struct raw_cluster, node_name, 0, 63),
    CYAML_FIELD_STRING_PTR("advertise_url", OPT, struct raw_cluster, advertise_url, 0, 255),
    U64("heartbeat_ms", struct raw_cluster, heartbeat_ms),
    U64("node_timeout_ms", struct raw_cluster, node_timeout_ms),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t functions_fields[] = {
    BOOL("enabled", struct raw_functions, enabled),
    U64("max_functions", struct raw_functions, max_functions),
    U64("max_versions", struct raw_functions, max_versions),
    U64("max_instances", struct raw_functions, max_instances),
    U64("max_instances_total", struct raw_functions, max_instances_total),
    U64("max_queue", struct raw_functions, max_queue),
    U64("idle_timeout_ms", struct raw_functions, idle_timeout_ms),
    U64("log_entries", struct raw_functions, log_entries),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t top_fields[] = {
    CYAML_FIELD_MAPPING_PTR("server", OPT, struct raw_top, server, server_fields),
    CYAML_FIELD_MAPPING_PTR("sandbox", OPT, struct raw_top, sandbox, sandbox_fields),
    CYAML_FIELD_MAPPING_PTR("sessions", OPT, struct raw_top, sessions, sessions_fields),
    CYAML_FIELD_MAPPING_PTR("functions", OPT, struct raw_top, functions, functions_fields),
    CYAML_FIELD_MAPPING_PTR("compat", OPT, struct raw_top, compat, compat_fields),
    CYAML_FIELD_MAPPING_PTR("cluster", OPT, struct raw_top, cluster, cluster_fields),
    CYAML_FIELD_END,
};

const cyaml_schema_value_t config_top_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_top, top_fields),
};
