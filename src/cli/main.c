/* soulbox: one binary, subcommands (run; serve and more as they land). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "vm/guest.h"

#define SOULBOX_VERSION "0.1.0"

static const char usage[] =
    "usage: soulbox <command> [options]\n"
    "\n"
    "commands:\n"
    "  run       run one program in a fresh sandbox (soulbox run --help)\n"
    "  exec      run one program on a SoulBox server (soulbox exec --help)\n"
    "  sandbox   sessions on a server: create, exec, cp, ls, kill (soulbox sandbox --help)\n"
    "  serve     serve the HTTP API (soulbox serve --help)\n"
    "  audit     print the audit log (soulbox audit --help)\n"
    "  languages list the languages this configuration offers\n"
    "  routes    list the HTTP routes this build serves\n"
    "  version   print the version\n";

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("soulbox: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

int cli_load_config(const char *path, struct sb_config *cfg, struct sb_error *err)
{
    if (config_defaults(cfg) < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    if (!path)
        path = getenv("SOULBOX_CONFIG");
    if (!path && access("/etc/soulbox/soulbox.yaml", F_OK) == 0)
        path = "/etc/soulbox/soulbox.yaml";
    if (!path)
        return config_validate(cfg, err);
    return config_load(path, cfg, err);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "exec"))
        return cmd_exec(argc - 1, argv + 1);
    if (!strcmp(cmd, "sandbox"))
        return cmd_sandbox(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "audit"))
        return cmd_audit(argc - 1, argv + 1);
    if (!strcmp(cmd, "languages"))
        return cmd_languages(argc - 1, argv + 1);
    if (!strcmp(cmd, "vm-agent")) /* pid 1 of a microVM guest (src/vm/guest.c) */
        return vm_guest_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "routes"))
        return cmd_routes(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("soulbox %s\n", SOULBOX_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage, stdout);
        return 0;
    }
    return cli_usage_error("unknown command '%s' (try 'soulbox help')", cmd);
}
