/* Subcommands of the soulbox binary. */
#ifndef SB_CLI_CLI_H
#define SB_CLI_CLI_H

/* Exit codes of soulbox itself (a run otherwise exits with the program's code). */
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_INTERNAL 125

int cmd_run(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_sandbox(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_languages(int argc, char **argv);

/* Prints "soulbox: <msg>" to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads --config PATH, or $SOULBOX_CONFIG, or /etc/soulbox/soulbox.yaml if
 * present, over the built-in defaults. Returns 0 or -1 with err set. */
struct sb_config;
struct sb_error;
int cli_load_config(const char *path, struct sb_config *cfg, struct sb_error *err);

#endif
