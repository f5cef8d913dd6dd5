/* The options of `soulbox run` / `soulbox exec`, shared by the local and the
 * remote way of running them. */
#ifndef SB_CLI_RUN_OPTS_H
#define SB_CLI_RUN_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "runner/limits.h"

struct run_opts {
    const char *lang, *code, *file, *stdin_path, *config;
    bool json;
    bool network;
    const char *isolation; /* "namespaces" / "microvm", or NULL: the config's */
    const char *allow[64];
    size_t nallow;
    struct limit_request lim;
    char **args;
    int nargs;
    const char *remote;  /* server URL: run there (exec, run --remote) */
    const char *api_key; /* else $SOULBOX_API_KEY */
    uint64_t timeout_ms; /* 0: the client's default */
};

/* Reads FILE (or "-": stdin) whole, up to 64 MB; -1 after a usage error. */
int cli_read_input(const char *path, struct sb_buf *b, const char *what);

/* Runs o on o->remote; returns soulbox's exit code (run_remote.c). */
int run_remote(const struct run_opts *o);

#endif
