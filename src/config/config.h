/* SoulBox configuration: YAML file (libcyaml) -> validated values with documented defaults. */
#ifndef SB_CONFIG_CONFIG_H
#define SB_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Limits of one run, in the API's units. */
struct sb_limits {
    uint64_t wall_time_ms;
    uint64_t cpu_time_ms;
    uint64_t memory_mb;
    uint64_t disk_mb;
    uint64_t processes;
    uint64_t output_kb;
    uint64_t file_size_kb;
    uint64_t open_files;
    uint64_t stack_kb;
};

struct sb_str_list {
    char **v;
    size_t n;
};

struct sb_api_key {
    char *id;                       /* shown in logs and the audit, never the secret */
    char sha256[65];                /* hex SHA-256 of the secret */
    bool admin;                     /* role admin: sees every key's executions */
};

struct sb_server_config {
    char *listen;                   /* address to bind */
    uint64_t port;
    uint64_t grpc_port;
    char *data_dir;                 /* SQLite store, sessions, compile cache index */
    char *store;                    /* "sqlite", or postgres://... (cluster mode) */
    uint64_t max_concurrent;        /* sandboxes running at once */
    uint64_t max_queue;             /* executions waiting for a slot; more -> 503 */
    uint64_t max_connections;       /* per port; when full, idle ones are shed */
    uint64_t max_connections_per_client; /* per IPv4 address or IPv6 /64, per port */
    uint64_t max_body_kb;
    uint64_t max_header_kb;
    uint64_t header_timeout_ms;     /* request line + headers must arrive within */
    uint64_t body_timeout_ms;       /* longest silence while a body arrives */
    uint64_t idle_timeout_ms;       /* keep-alive connection with no request */
    uint64_t shutdown_grace_ms;     /* in-flight runs get this long on SIGTERM */
    uint64_t max_files;             /* files per request */
    uint64_t max_test_cases;        /* test cases per request */
    uint64_t max_shares;            /* share links kept (the oldest go beyond it) */
    uint64_t max_args;              /* args and env entries per request */
    char *log_level;
    bool allow_unauthenticated_remote;
    bool auth_enabled;
    struct sb_api_key *keys;
    size_t n_keys;
    uint64_t rate_per_second;       /* per API key (or client address); 0 = off */
    uint64_t rate_burst;
    bool metrics_public;
    bool ui;                   /* the web UI at / (ui/) */
    char *audit_log;                /* also append audit records here ("" = off) */
    bool callbacks_allow_private;   /* loopback/private/link-local destinations */
    uint64_t callback_timeout_ms;
    uint64_t callback_attempts;
};

/* A warm pool: ready sandboxes of one language (a started interpreter for
 * languages that have one), each used once. */
struct sb_pool_cfg {
    char *language;
    uint64_t size;                  /* kept ready at least (the floor) */
    uint64_t max_size;              /* it may grow to this under load (0: max(size, 8)) */
    struct sb_str_list preload;     /* modules the warm interpreter imports first */
    bool network;                   /* plumbed for egress: serves network requests only */
    bool microvm;                   /* isolation: microvm (booted guests) */
};

/* Egress of sandboxes that ask for it (docs/network.md). */
struct sb_net_cfg {
    struct sb_str_list allow, deny;  /* entries (net/policy.h) */
    struct sb_str_list dns;          /* upstream resolvers; empty: /etc/resolv.conf's */
    uint64_t bandwidth_up_kbit;      /* per sandbox, kilobits/s; 0: unlimited */
    uint64_t bandwidth_down_kbit;
    uint64_t max_connections;        /* at once, per sandbox; 0: unlimited */
    uint64_t max_total_mb;           /* sent + received per sandbox; 0: unlimited */
    uint64_t connect_timeout_ms;
};

/* Sessions: long-lived sandboxes owned by one API key (docs/sessions.md). */
struct sb_sessions_cfg {
    bool enabled;
    uint64_t default_ttl_ms;        /* a session's life when it names none */
    uint64_t max_ttl_ms;            /* the longest a session may be given (create or extend) */
    uint64_t idle_timeout_ms;       /* ended after this long without a request (0: never) */
    uint64_t max_sessions;          /* live sessions on this server */
    uint64_t max_per_key;           /* live sessions per API key (or client without auth) */
    uint64_t max_memory_mb_per_key; /* their memory limits added up */
    uint64_t memory_mb;             /* a session's memory when it names none */
    uint64_t disk_mb;               /* its /tmp + working dir */
    uint64_t processes;             /* tasks at once */
    uint64_t output_mb;             /* output of all its commands and cells together */
    uint64_t max_output_mb;         /* ceiling of a request's output_mb */
    uint64_t max_contexts;          /* code contexts per session */
    uint64_t max_commands;          /* commands kept per session (running + finished) */
    uint64_t max_output_held_mb;    /* commands' output the server keeps, all sessions together */
};

/* Serverless functions (docs/functions.md). */
struct sb_functions_cfg {
    bool enabled;
    uint64_t max_functions;         /* deployed on this server (the cluster, with PostgreSQL) */
    uint64_t max_versions;          /* kept per function; older unaliased ones are pruned */
    uint64_t max_instances;         /* ceiling of a function's max_instances */
    uint64_t max_instances_total;   /* warm instances (reuse) of all functions on this node */
    uint64_t max_queue;             /* invocations waiting per version */
    uint64_t idle_timeout_ms;       /* an instance above min_instances idle this long ends */
    uint64_t log_entries;           /* invocations remembered per function (logs) */
};

struct sb_config {
    char *path;                     /* file it came from, or NULL for built-ins */
    struct sb_server_config server;
    struct sb_sessions_cfg sessions;
    struct sb_functions_cfg functions;
    struct {
        bool e2b;                   /* the E2B SDK wire protocol on the main port */
        bool piston;                /* Piston v2's API (/api/v2/...) on the main port */
        bool judge0;                /* Judge0 CE 1.13.x (/submissions, ...) on the main port */
    } compat;
    struct {
        char *node_name;            /* shown in the node list ("": the host's name) */
        char *advertise_url;        /* how other nodes reach this one's REST API
                                       ("": http://<listen or host name>:<port>) */
        uint64_t heartbeat_ms;      /* how often a node says it is alive */
        uint64_t node_timeout_ms;   /* silent this long: the node is lost */
    } cluster;
    struct {
        bool enable_network;
        uint64_t max_memory_mb;     /* ceiling of limits.memory_mb */
        uint64_t max_cpu_percent;   /* CPU quota of every sandbox, 100 = one core */
        uint64_t max_disk_mb;       /* ceiling of limits.disk_mb */
        uint64_t execution_timeout; /* seconds; ceiling of limits.wall_time_ms */
        struct sb_str_list allowed_syscalls;
    } security;
    struct sb_limits defaults;      /* applied when a request names no value */
    struct sb_limits maximums;      /* request ceilings (memory, disk, wall from security) */
    struct {
        uint64_t wall_time_ms;
        uint64_t cpu_time_ms;
        uint64_t memory_mb;
        uint64_t processes;
        uint64_t output_kb;
        uint64_t disk_mb;
        uint64_t artifact_mb;       /* largest compiled artifact accepted */
    } compile;
    char *languages_dir;            /* "" = the languages built into the binary */
    struct sb_str_list languages;   /* names to offer; empty = every language found */
    char *compile_cache_dir;
    uint64_t compile_cache_mb;      /* 0 = no compile cache */
    struct sb_pool_cfg *pools;      /* by language; languages not offered are skipped */
    size_t n_pools;
    uint64_t pool_memory_mb;        /* all pooled sandboxes together */
    uint64_t pool_idle_ms;          /* a grown pool shrinks after this long without requests */
    uint64_t uid_base;
    uint64_t uid_count;
    uint64_t max_inodes;
    bool cgroup_favordynmods;  /* remount cgroup2 with favordynmods (fast attaches) */
    char *state_dir;
    char *cgroup_root;
    char *hostname;
    char *workdir;
    struct sb_str_list system_dirs;
    struct sb_str_list etc;
    struct sb_str_list binds;
    struct sb_net_cfg network;      /* egress, with security.enable_network */
    char *isolation;                /* requests' default: "namespaces" or "microvm" */
    struct {
        bool enabled;               /* requests may ask for "isolation": "microvm" */
        char *accel;                /* "auto", "kvm" or "tcg" */
        char *qemu, *virtiofsd;
        char *kernel;               /* "" = the newest Debian cloud kernel */
        uint64_t overhead_mb;       /* guest RAM beyond the sandbox's memory limit */
        uint64_t tb_mb;             /* TCG code cache */
        uint64_t vmm_overhead_mb;   /* QEMU's cgroup beyond the guest's RAM */
        uint64_t hang_timeout_ms;   /* a guest silent this long (pinged each second) is killed */
        bool snapshot;              /* start VMs from snapshots of booted guests */
    } microvm;
};

/* Fills c with the built-in defaults (the same values config/soulbox.yaml documents). */
int config_defaults(struct sb_config *c);

/* Loads path over the defaults. Unknown keys, wrong types and out-of-range
 * values fail with err naming the file, the key and the reason. */
int config_load(const char *path, struct sb_config *c, struct sb_error *err);

/* Adds keys from "id:secret,id2:secret2" (SOULBOX_API_KEYS), hashing each
 * secret; turns auth on. Returns 0 or -1 with err naming the bad entry. */
int config_add_env_keys(struct sb_config *c, const char *spec, struct sb_error *err);
/* Gives the admin role to the keys named in "id,id2" (SOULBOX_ADMIN_KEYS).
 * Returns 0 or -1 with err naming an id that is no key. */
int config_add_env_admins(struct sb_config *c, const char *spec, struct sb_error *err);

/* Checks ranges and cross-field rules of an assembled config. */
int config_validate(const struct sb_config *c, struct sb_error *err);

void config_free(struct sb_config *c);

#endif
