/* `soulbox serve`: the HTTP service. Flags override the config file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "config/config.h"
#include "server/server.h"

static const char serve_usage[] =
    "usage: soulbox serve [--config PATH] [--listen ADDR] [--port N] [--grpc-port N]\n"
    "                     [--data-dir DIR] [--store sqlite|postgres://...]\n"
    "                     [--log-format text|json]\n"
    "\n"
    "Serves the REST API (default 127.0.0.1:8080) until SIGTERM or SIGINT, then\n"
    "finishes or cancels in-flight runs within server.shutdown_grace_ms and exits 0.\n"
    "API keys may also come from SOULBOX_API_KEYS=id:secret,id2:secret2, and\n"
    "SOULBOX_ADMIN_KEYS=id,... gives keys the admin role (every key's executions).\n"
    "SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE=true|false overrides\n"
    "server.allow_unauthenticated_remote (a container's way to opt in).\n"
    "Logs go to stderr: one readable line per event on a terminal, else (or with\n"
    "--log-format json) one JSON object per line. The first says where it serves.\n"
    "--store postgres://user:password@host/db (or server.store) is cluster mode:\n"
    "every node given the same database shares executions, queue and audit\n"
    "(docs/cluster.md); SOULBOX_STORE does the same from the environment, and\n"
    "SOULBOX_ADVERTISE_URL sets cluster.advertise_url (http://pod-ip:8080).\n";

static int port_arg(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < 1 || v > 65535)
        return cli_usage_error("%s: '%s' is not a port number", opt, s);
    *out = (uint64_t)v;
    return 0;
}

static int set_str(char **dst, const char *s)
{
    char *d = strdup(s);
    if (!d)
        return -1;
    free(*dst);
    *dst = d;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"listen", required_argument, 0, 'l'},
        {"port", required_argument, 0, 'p'}, {"grpc-port", required_argument, 0, 'g'},
        {"data-dir", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'},
        {"log-format", required_argument, 0, 'f'}, {"store", required_argument, 0, 's'},
        {0, 0, 0, 0},
    };
    const char *config = NULL, *listen = NULL, *data_dir = NULL, *store = getenv("SOULBOX_STORE");
    uint64_t port = 0, grpc_port = 0;
    int c, format = isatty(2) ? LOG_FORMAT_TEXT : LOG_FORMAT_JSON;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'l': listen = optarg; break;
        case 'd': data_dir = optarg; break;
        case 's': store = optarg; break;
        case 'p': if (port_arg("--port", optarg, &port)) return CLI_EXIT_USAGE; break;
        case 'g': if (port_arg("--grpc-port", optarg, &grpc_port)) return CLI_EXIT_USAGE; break;
        case 'h': fputs(serve_usage, stdout); return 0;
        case 'f':
            if ((format = log_parse_format(optarg)) < 0)
                return cli_usage_error("--log-format: 'text' or 'json', not '%s'", optarg);
            break;
        default: return cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    struct sb_config cfg;
    struct sb_error err;
    int rc = CLI_EXIT_USAGE;
    if (cli_load_config(config, &cfg, &err) < 0)
        goto bad;
    const char *keys = getenv("SOULBOX_API_KEYS");
    if (keys && *keys && config_add_env_keys(&cfg, keys, &err) < 0)
        goto bad;
    const char *admins = getenv("SOULBOX_ADMIN_KEYS");
    if (admins && *admins && config_add_env_admins(&cfg, admins, &err) < 0)
        goto bad;
    const char *open_remote = getenv("SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE");
    if (open_remote && *open_remote) {
        if (strcmp(open_remote, "true") && strcmp(open_remote, "false")) {
            sb_fail(&err, SB_E_CONFIG, "SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE: '%s' is not true "
                    "or false", open_remote);
            goto bad;
        }
        cfg.server.allow_unauthenticated_remote = !strcmp(open_remote, "true");
    }
    if ((listen && set_str(&cfg.server.listen, listen) < 0) ||
        (data_dir && set_str(&cfg.server.data_dir, data_dir) < 0) ||
        (store && *store && set_str(&cfg.server.store, store) < 0) ||
        (getenv("SOULBOX_ADVERTISE_URL") && *getenv("SOULBOX_ADVERTISE_URL") &&
         set_str(&cfg.cluster.advertise_url, getenv("SOULBOX_ADVERTISE_URL")) < 0)) {
        sb_fail(&err, SB_E_INTERNAL, "out of memory");
        goto bad;
    }
    if (port)
        cfg.server.port = port;
    if (grpc_port)
        cfg.server.grpc_port = grpc_port;
    if (config_validate(&cfg, &err) < 0)
        goto bad;
    log_set_format((enum log_format)format);
    rc = server_run(&cfg);
    config_free(&cfg);
    return rc;
bad:
    fprintf(stderr, "soulbox: %s\n", err.msg);
    config_free(&cfg);
    return rc;
}

int cmd_routes(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    server_print_routes();
    return 0;
}
