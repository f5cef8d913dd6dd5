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

struct sb_config {
    char *path;                     /* file it came from, or NULL for built-ins */
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
    uint64_t uid_base;
    uint64_t uid_count;
    uint64_t max_inodes;
    char *state_dir;
    char *cgroup_root;
    char *hostname;
    char *workdir;
    struct sb_str_list system_dirs;
    struct sb_str_list etc;
    struct sb_str_list binds;
};

/* Fills c with the built-in defaults (the same values config/soulbox.yaml documents). */
int config_defaults(struct sb_config *c);

/* Loads path over the defaults. Unknown keys, wrong types and out-of-range
 * values fail with err naming the file, the key and the reason. */
int config_load(const char *path, struct sb_config *c, struct sb_error *err);

/* Checks ranges and cross-field rules of an assembled config. */
int config_validate(const struct sb_config *c, struct sb_error *err);

void config_free(struct sb_config *c);

#endif
