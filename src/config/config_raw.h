/* Internals of config loading shared by config.c (defaults, merge, load) and config_schema.c (the YAML schema): the raw tree libcyaml fills. */
#ifndef SB_CONFIG_CONFIG_RAW_H
#define SB_CONFIG_CONFIG_RAW_H

#include <cyaml/cyaml.h>

/* ---- raw tree: every scalar is a pointer, NULL when the key is absent ---- */

struct raw_limits {
    char *wall_time_ms, *cpu_time_ms, *memory_mb, *disk_mb, *processes, *output_kb,
        *file_size_kb, *open_files, *stack_kb;
};

struct raw_security {
    char *enable_network;
    char *max_memory_mb, *max_cpu_percent, *max_disk_mb, *execution_timeout;
    char **allowed_syscalls;
    unsigned allowed_syscalls_count;
};

struct raw_compile {
    char *wall_time_ms, *cpu_time_ms, *memory_mb, *processes, *output_kb, *disk_mb,
        *artifact_mb;
};

struct raw_rootfs {
    char **system;
    unsigned system_count;
    char **etc;
    unsigned etc_count;
    char **binds;
    unsigned binds_count;
};

struct raw_pool {
    char *language;
    char *size, *max_size, *network, *isolation;
    char **preload;
    unsigned preload_count;
};

struct raw_network {
    char **allow;
    unsigned allow_count;
    char **deny;
    unsigned deny_count;
    char **dns;
    unsigned dns_count;
    char *bandwidth_up_kbit, *bandwidth_down_kbit, *max_connections, *max_total_mb,
        *connect_timeout_ms;
};

struct raw_microvm {
    char *enabled, *accel, *qemu, *virtiofsd, *kernel, *overhead_mb, *tb_mb, *vmm_overhead_mb,
        *hang_timeout_ms, *snapshot;
};

struct raw_sandbox {
    struct raw_microvm *microvm;
    char *isolation;
    struct raw_security *security;
    struct raw_network *network;
    struct raw_limits *defaults;
    struct raw_limits *maximums;
    struct raw_compile *compile;
    struct raw_rootfs *rootfs;
    char *uid_base, *uid_count, *max_inodes;
    char *state_dir, *cgroup_root, *hostname, *workdir, *languages_dir, *compile_cache_dir;
    char *compile_cache_mb, *pool_memory_mb, *pool_idle_ms;
    char *cgroup_favordynmods;
    char **languages;
    unsigned languages_count;
    struct raw_pool *pools;
    unsigned pools_count;
};

struct raw_key {
    char *id;
    char *sha256;
    char *role;
};

struct raw_auth {
    char *enabled;
    struct raw_key *keys;
    unsigned keys_count;
};

struct raw_rate {
    char *requests_per_second, *burst;
};

struct raw_callbacks {
    char *allow_private;
    char *timeout_ms, *max_attempts;
};

struct raw_server {
    char *listen, *data_dir, *log_level, *audit_log, *store;
    char *port, *grpc_port, *max_concurrent, *max_queue, *max_connections,
        *max_connections_per_client, *max_body_kb,
        *max_header_kb, *header_timeout_ms, *body_timeout_ms, *idle_timeout_ms,
        *shutdown_grace_ms, *max_files, *max_args, *max_test_cases, *max_shares;
    char *allow_unauthenticated_remote, *metrics_public, *ui;
    struct raw_auth *auth;
    struct raw_rate *rate_limit;
    struct raw_callbacks *callbacks;
};

struct raw_sessions {
    char *enabled, *default_ttl_ms, *max_ttl_ms, *idle_timeout_ms, *max_sessions, *max_per_key,
        *max_memory_mb_per_key, *memory_mb, *disk_mb, *processes, *output_mb, *max_output_mb,
        *max_contexts, *max_commands, *max_output_held_mb;
};

struct raw_functions {
    char *enabled, *max_functions, *max_versions, *max_instances, *max_instances_total,
        *max_queue, *idle_timeout_ms, *log_entries;
};

struct raw_compat {
    char *e2b;
    char *piston;
    char *judge0;
};

struct raw_cluster {
    char *node_name, *advertise_url, *heartbeat_ms, *node_timeout_ms;
};

struct raw_top {
    struct raw_server *server;
    struct raw_sandbox *sandbox;
    struct raw_sessions *sessions;
    struct raw_functions *functions;
    struct raw_compat *compat;
    struct raw_cluster *cluster;
};

/* The whole file's schema: a struct raw_top. */
extern const cyaml_schema_value_t config_top_schema;

#endif
