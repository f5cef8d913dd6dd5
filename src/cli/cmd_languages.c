/* soulbox languages: the languages this configuration offers and whether their
 * runtime is installed (the server also probes each one in a sandbox). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "runner/lang.h"

static const char usage[] =
    "usage: soulbox languages [--json] [--config PATH]\n"
    "\n"
    "One line per language: name, aliases, compiled or interpreted, and whether\n"
    "its runtime is installed (else the Debian packages scripts/setup.sh installs).\n"
    "--json prints one JSON object per line.\n";

static json_t *str_array(char **v)
{
    json_t *a = json_array();
    for (; v && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

static void print_text(const struct lang *l, int installed)
{
    char aliases[200] = "";
    for (char **a = l->aliases; *a; a++)
        snprintf(aliases + strlen(aliases), sizeof aliases - strlen(aliases), "%s%s",
                 aliases[0] ? "," : "", *a);
    char pkgs[300] = "";
    for (char **p = l->packages; *p; p++)
        snprintf(pkgs + strlen(pkgs), sizeof pkgs - strlen(pkgs), " %s", *p);
    printf("%-12s %-18s %-11s %s%s\n", l->name, aliases[0] ? aliases : "-",
           l->compile ? "compiled" : "interpreted", installed ? "installed" : "missing:",
           installed ? "" : pkgs);
}

int cmd_languages(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"config", required_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *config = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
        } else if (c == 'C') {
            config = optarg;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        } else {
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("languages: unexpected argument '%s'", argv[optind]);
    struct sb_config cfg;
    struct sb_error err;
    struct lang_registry reg = {0};
    int rc = CLI_EXIT_USAGE;
    if (cli_load_config(config, &cfg, &err) < 0 ||
        lang_registry_open(cfg.languages_dir, cfg.languages.v, cfg.languages.n, &reg,
                           &err) < 0) {
        fprintf(stderr, "soulbox: %s\n", err.msg);
        goto out;
    }
    for (size_t i = 0; i < reg.n; i++) {
        const struct lang *l = reg.v[i];
        int installed = access(l->version[0], X_OK) == 0;
        if (!json) {
            print_text(l, installed);
            continue;
        }
        json_t *o = json_pack("{s:s,s:o,s:b,s:b,s:o,s:s}", "name", l->name, "aliases",
                              str_array(l->aliases), "compiled", l->compile != NULL,
                              "installed", installed, "packages", str_array(l->packages),
                              "file", l->file);
        char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (line)
            puts(line);
        free(line);
        json_decref(o);
    }
    rc = 0;
out:
    lang_registry_free(&reg);
    config_free(&cfg);
    return rc;
}
