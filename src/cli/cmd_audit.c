/* `soulbox audit`: prints the audit log from the data dir's store. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "config/config.h"
#include "store/store.h"
#include "store/store_pg.h"

static const char audit_usage[] =
    "usage: soulbox audit [--since TIME] [--json] [--data-dir DIR] [--config PATH]\n"
    "                     [--store sqlite|postgres://...]\n"
    "\n"
    "Reads the store the config names (server.store; SOULBOX_STORE or --store\n"
    "override it): in cluster mode every node's records, each with its node.\n"
    "TIME is ISO 8601 (2026-11-27 or 2026-11-27T10:00:00Z) or an age such as 30m, 2h, 7d.\n"
    "--json prints one JSON object per line.\n";

/* "90s", "30m", "2h", "7d" ago, or an ISO 8601 time. */
static int parse_since(const char *s, uint64_t *ms)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (end != s && end[0] && !end[1] && isdigit((unsigned char)*s)) {
        uint64_t unit = end[0] == 's' ? 1000 : end[0] == 'm' ? 60000
                      : end[0] == 'h' ? 3600000 : end[0] == 'd' ? 86400000 : 0;
        if (unit) {
            uint64_t now = util_now_ms(), back = n * unit;
            *ms = back > now ? 0 : now - back;
            return 0;
        }
    }
    return util_parse_iso_time(s, ms);
}

static const char *str_or(json_t *o, const char *k, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : dflt;
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, 0, 's'}, {"json", no_argument, 0, 'j'},
        {"data-dir", required_argument, 0, 'd'}, {"config", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'}, {"store", required_argument, 0, 'S'}, {0, 0, 0, 0},
    };
    const char *config = NULL, *data_dir = NULL, *store = getenv("SOULBOX_STORE");
    uint64_t since = 0;
    bool as_json = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (parse_since(optarg, &since) < 0)
                return cli_usage_error("--since: '%s' is not a time or an age like 2h", optarg);
            break;
        case 'j': as_json = true; break;
        case 'd': data_dir = optarg; break;
        case 'c': config = optarg; break;
        case 'S': store = optarg; break;
        case 'h': fputs(audit_usage, stdout); return 0;
        default: return cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    struct sb_config cfg;
    struct sb_error err;
    if (cli_load_config(config, &cfg, &err) < 0) {
        fprintf(stderr, "soulbox: %s\n", err.msg);
        config_free(&cfg);
        return CLI_EXIT_USAGE;
    }
    if (!store || !*store)
        store = cfg.server.store;
    json_t *rows = strcmp(store, "sqlite")
                       ? store_pg_read_audit(store, since, &err)
                       : store_read_audit(data_dir ? data_dir : cfg.server.data_dir, since, &err);
    config_free(&cfg);
    if (!rows) {
        fprintf(stderr, "soulbox: %s\n", err.msg);
        return 1;
    }
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (as_json) {
            char *line = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (line)
                puts(line);
            free(line);
            continue;
        }
        printf("%s %-15s %-22s %-8s key=%s client=%s request=%s%s%s\n", str_or(r, "ts", "-"),
               str_or(r, "event", "-"), str_or(r, "status", "-"), str_or(r, "language", "-"),
               str_or(r, "key_id", "-"), str_or(r, "client", "-"), str_or(r, "request_id", "-"),
               json_object_get(r, "detail") && !json_is_null(json_object_get(r, "detail"))
                   ? " " : "",
               str_or(r, "detail", ""));
    }
    json_decref(rows);
    return 0;
}
