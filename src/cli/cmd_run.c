/* `soulbox run`: one program, one fresh sandbox, exact limits; output passes through or as JSON. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "common/log.h"
#include "frontend/request.h"
#include "cli/cli.h"
#include "cli/run_opts.h"
#include "service/result_json.h"
#include "common/buf.h"
#include "common/util.h"
#include "config/config.h"
#include "runner/job.h"
#include "runner/limits.h"
#include "sandbox/sandbox.h"

#define MAX_INPUT_BYTES (64u << 20)

static const char run_usage[] =
    "usage: soulbox run [options] [-l LANG] (FILE | -c CODE) [--] [ARGS...]\n"
    "       soulbox exec [--server URL] [options] [-l LANG] (FILE | -c CODE) [--] [ARGS...]\n"
    "(options come before FILE: what follows it is the program's arguments)\n"
    "\n"
    "Runs one program in a fresh, single-use sandbox and exits with its exit code\n"
    "(128+N when killed by signal N). A limit breach prints one line to stderr.\n"
    "`run` runs it on this machine; `exec` (or `run --remote URL`) on a SoulBox\n"
    "server, with the same options, output streamed as it is produced.\n"
    "\n"
    "  -l, --language LANG     a language name or alias (soulbox languages lists them);\n"
    "                          without it, FILE's extension tells (.py: python)\n"
    "  -c, --code CODE         program text instead of FILE\n"
    "      --stdin FILE        program's standard input (- for soulbox's own; default: empty)\n"
    "      --time-limit SEC    wall-clock limit (decimals allowed)\n"
    "      --cpu-time SEC      CPU time limit over all processes\n"
    "      --memory MB         memory limit (no swap)\n"
    "      --processes N       processes and threads\n"
    "      --output-limit KB   stdout + stderr kept; more kills the program\n"
    "      --disk MB           size of /tmp + /workspace together\n"
    "      --file-size KB      largest file the program may write\n"
    "      --open-files N      open file descriptors\n"
    "      --isolation KIND    namespaces (the default) or microvm: a VM with its own\n"
    "                          kernel per run (QEMU; sandbox.microvm in the config)\n"
    "      --network           network access: what the config's sandbox.network allows\n"
    "                          (needs sandbox.security.enable_network)\n"
    "      --allow ENTRY       only this much of it (repeatable; implies --network):\n"
    "                          CIDR, IP, host or *.suffix, each with an optional :port\n"
    "      --json              print the result as JSON instead of passing output through\n"
    "      --config PATH       configuration file (default: $SOULBOX_CONFIG,\n"
    "                          /etc/soulbox/soulbox.yaml, or built-in defaults)\n"
    "      --server URL        exec: the server (default: $SOULBOX_URL), http://host:port\n"
    "      --remote URL        run there instead of here (run --remote URL = exec --server URL)\n"
    "      --api-key KEY       the server's API key (default: $SOULBOX_API_KEY)\n"
    "      --timeout SEC       exec: give up waiting for the server after this long (300)\n"
    "  -h, --help              this help\n";


enum { O_STDIN = 256, O_TIME, O_CPU, O_MEM, O_PROCS, O_OUT, O_DISK, O_FSIZE, O_NOFILE,
       O_JSON, O_CONFIG, O_NETWORK, O_ALLOW, O_REMOTE, O_KEY, O_TIMEOUT, O_ISOLATION };

/* "1.5" seconds -> 1500 ms; positive and finite only. */
static int parse_seconds(const char *opt, const char *s, uint64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e7)
        return cli_usage_error("%s: '%s' is not a positive number of seconds", opt, s);
    *ms = (uint64_t)llround(v * 1000.0);
    if (*ms == 0)
        *ms = 1;
    return 0;
}

static int parse_count(const char *opt, const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return cli_usage_error("%s: '%s' is not a positive integer", opt, s);
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end || x == 0 || x >= LIMIT_UNSET)
        return cli_usage_error("%s: '%s' is not a positive integer", opt, s);
    *v = x;
    return 0;
}

static int parse_opt(struct run_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'l': o->lang = arg; return 0;
    case 'c': o->code = arg; return 0;
    case O_STDIN: o->stdin_path = arg; return 0;
    case O_TIME: return parse_seconds("--time-limit", arg, &o->lim.wall_time_ms) ? -1 : 0;
    case O_CPU: return parse_seconds("--cpu-time", arg, &o->lim.cpu_time_ms) ? -1 : 0;
    case O_MEM: return parse_count("--memory", arg, &o->lim.memory_mb) ? -1 : 0;
    case O_PROCS: return parse_count("--processes", arg, &o->lim.processes) ? -1 : 0;
    case O_OUT: return parse_count("--output-limit", arg, &o->lim.output_kb) ? -1 : 0;
    case O_DISK: return parse_count("--disk", arg, &o->lim.disk_mb) ? -1 : 0;
    case O_FSIZE: return parse_count("--file-size", arg, &o->lim.file_size_kb) ? -1 : 0;
    case O_NOFILE: return parse_count("--open-files", arg, &o->lim.open_files) ? -1 : 0;
    case O_JSON: o->json = true; return 0;
    case O_CONFIG: o->config = arg; return 0;
    case O_NETWORK: o->network = true; return 0;
    case O_ISOLATION:
        if (strcmp(arg, "namespaces") && strcmp(arg, "microvm"))
            return cli_usage_error("--isolation: '%s' is not namespaces or microvm", arg), -1;
        o->isolation = arg;
        return 0;
    case O_REMOTE: o->remote = arg; return 0;
    case O_KEY: o->api_key = arg; return 0;
    case O_TIMEOUT: return parse_seconds("--timeout", arg, &o->timeout_ms) ? -1 : 0;
    case O_ALLOW:
        if (o->nallow == sizeof o->allow / sizeof *o->allow)
            return cli_usage_error("--allow: at most 64 entries"), -1;
        o->allow[o->nallow++] = arg;
        o->network = true;
        return 0;
    }
    return -1;
}

/* Returns 0, 1 for --help, or -1 after printing a usage error. */
static int parse_args(int argc, char **argv, struct run_opts *o, bool exec)
{
    static const struct option longopts[] = {
        {"language", required_argument, 0, 'l'}, {"code", required_argument, 0, 'c'},
        {"stdin", required_argument, 0, O_STDIN}, {"time-limit", required_argument, 0, O_TIME},
        {"cpu-time", required_argument, 0, O_CPU}, {"memory", required_argument, 0, O_MEM},
        {"processes", required_argument, 0, O_PROCS},
        {"output-limit", required_argument, 0, O_OUT}, {"disk", required_argument, 0, O_DISK},
        {"file-size", required_argument, 0, O_FSIZE},
        {"open-files", required_argument, 0, O_NOFILE}, {"json", no_argument, 0, O_JSON},
        {"config", required_argument, 0, O_CONFIG}, {"help", no_argument, 0, 'h'},
        {"network", no_argument, 0, O_NETWORK}, {"allow", required_argument, 0, O_ALLOW},
        {"isolation", required_argument, 0, O_ISOLATION},
        {"remote", required_argument, 0, O_REMOTE}, {"server", required_argument, 0, O_REMOTE},
        {"api-key", required_argument, 0, O_KEY}, {"timeout", required_argument, 0, O_TIMEOUT},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    limit_request_init(&o->lim);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+l:c:h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c == '?' || c == ':') {
            if (optopt && optopt < 256 && optopt != '?')
                cli_usage_error("option -%c: %s", optopt,
                                strchr("lc", optopt) ? "needs a value" : "unknown option");
            else
                cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
            return -1;
        }
        if (parse_opt(o, c, optarg) < 0)
            return -1;
    }
    if (exec && !o->remote)
        o->remote = getenv("SOULBOX_URL");
    if (exec && (!o->remote || !*o->remote))
        return cli_usage_error("exec: --server URL or $SOULBOX_URL is required"), -1;
    if (o->remote && o->config)
        return cli_usage_error("--config is for runs on this machine, not on a server"), -1;
    if (!o->remote && (o->api_key || o->timeout_ms))
        return cli_usage_error("%s is for runs on a server (--remote URL)",
                               o->api_key ? "--api-key" : "--timeout"), -1;
    if (!o->lang && o->code)
        return cli_usage_error("-l LANG is required with -c (try 'soulbox run --help')"), -1;
    if (!o->code) {
        if (optind >= argc)
            return cli_usage_error(o->lang ? "a FILE or -c CODE is required"
                                           : "a FILE (its extension tells the language) or "
                                             "-l LANG -c CODE is required (try 'soulbox run "
                                             "--help')"), -1;
        o->file = argv[optind++];
        if (optind < argc && !strcmp(argv[optind], "--"))
            optind++;
    }
    o->args = argv + optind;
    o->nargs = argc - optind;
    return 0;
}

int cli_read_input(const char *path, struct sb_buf *b, const char *what)
{
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
    if (fd < 0)
        return cli_usage_error("%s %s: %s", what, path, strerror(errno)), -1;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return cli_usage_error("%s %s: is a directory", what, path), -1;
    }
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        if (b->len + (size_t)n > MAX_INPUT_BYTES) {
            close(fd);
            return cli_usage_error("%s %s: larger than %u MB", what, path, MAX_INPUT_BYTES >> 20), -1;
        }
        sb_buf_append(b, chunk, (size_t)n);
    }
    int e = errno;
    close(fd);
    if (n < 0)
        return cli_usage_error("%s %s: %s", what, path, strerror(e)), -1;
    if (b->oom)
        return cli_usage_error("out of memory reading %s", path), -1;
    return 0;
}

/* ---- running ---- */

struct run_state {
    struct run_opts *o;
    struct job *job;
    struct sbx_engine *engine;
    uv_signal_t sigint, sigterm;
    int caught;
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* our reader is gone; the program still runs to its end */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void on_output(struct job *j, int stream, const char *data, size_t len, void *arg)
{
    (void)j;
    struct run_state *rs = arg;
    if (!rs->o->json)
        write_all(stream == 1 ? 1 : 2, data, len);
}

static void on_done(struct job *j, void *arg)
{
    (void)j;
    struct run_state *rs = arg;
    uv_close((uv_handle_t *)&rs->sigint, NULL);
    uv_close((uv_handle_t *)&rs->sigterm, NULL);
    /* while the sandbox is torn down: cgroups left by crashed runs */
    struct sb_error err;
    if (sbx_engine_cleanup_stale(rs->engine, &err) < 0)
        fprintf(stderr, "soulbox: warning: %s\n", err.msg);
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct run_state *rs = h->data;
    rs->caught = sig;
    job_cancel(rs->job);
}

/* SOULBOX_TRACE=1: where the time of a run went, in ms from soulbox's start. */
static void trace(const struct stage_result *st, uint64_t t_main, uint64_t t_engine)
{
    const struct { const char *name; uint64_t t; } p[] = {
        {"engine", t_engine}, {"launch", st->t_start}, {"spawned", st->t_spawned},
        {"attached", st->t_attached}, {"ready", st->t_ready}, {"started", st->t_started},
        {"exited", st->t_exited}, {"reaped", st->t_reaped}, {"finished", st->t_finished},
    };
    fprintf(stderr, "soulbox: trace");
    for (size_t i = 0; i < sizeof p / sizeof *p; i++)
        if (p[i].t)
            fprintf(stderr, " %s=%.2f", p[i].name, (double)(p[i].t - t_main) / 1e6);
    fprintf(stderr, " exit=%.2f\n", (double)(util_mono_ns() - t_main) / 1e6);
}

/* Maps the result to soulbox's exit code, printing what a terminal user needs. */
static int report(const struct job_result *r, const struct run_opts *o, int caught)
{
    if (o->json) {
        json_t *j = result_json(r);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(j);
    }
    if (r->failed) {
        if (!o->json)
            fprintf(stderr, "soulbox: internal error: %s\n", r->error.msg);
        return CLI_EXIT_INTERNAL;
    }
    if (r->status == SB_ST_COMPILE_ERROR) {
        if (!o->json) {
            write_all(2, r->compile.out.data, r->compile.out.len);
            write_all(2, r->compile.err.data, r->compile.err.len);
            fprintf(stderr, "soulbox: compile error: %s\n", r->compile.message);
        }
        return caught ? 128 + caught : 1;
    }
    const struct stage_result *st = &r->run;
    if (caught)
        return 128 + caught;
    if (!o->json && st->status != SB_ST_OK && st->status != SB_ST_RUNTIME_ERROR)
        fprintf(stderr, "soulbox: %s: %s\n", sb_status_name(st->status), st->message);
    else if (!o->json && st->signal)
        fprintf(stderr, "soulbox: %s\n", st->message);
    if (st->signal)
        return 128 + st->signal;
    return st->exit_code;
}

/* A refused connection of the program, on stderr (no store here). */
static void cli_net_audit(void *arg, const char *tag, const char *event, const char *detail)
{
    (void)arg;
    (void)tag;
    fprintf(stderr, "soulbox: %s: %s\n", event, detail);
}

static int execute(struct run_opts *o, struct sb_config *cfg, const struct lang *lang,
                   struct job_request *req)
{
    uint64_t t_main = util_mono_ns();
    /* stderr is the program's: only SoulBox's warnings and errors join it
     * (not, say, the first engine start's cgroup2 remount notice) */
    log_set_level(LOG_WARN);
    uv_loop_t *loop = uv_default_loop();
    struct sbx_engine engine;
    struct sb_error err;
    struct sbx_engine_cfg ecfg;
    runner_engine_cfg(cfg, &ecfg);
    ecfg.spawn_on_loop = true; /* one sandbox: nothing else waits on the loop */
    ecfg.defer_stale_cleanup = true;
    ecfg.vm.snapshot = false; /* one VM: saving a snapshot would only cost a boot more */
    if (sbx_engine_init(&engine, loop, &ecfg, &err) < 0) {
        fprintf(stderr, "soulbox: %s\n", err.msg);
        return CLI_EXIT_INTERNAL;
    }
    (void)lang;
    if (req->net_policy) {
        if (runner_net_start(cfg, cli_net_audit, NULL, &ecfg.net, &err) < 0) {
            fprintf(stderr, "soulbox: %s\n", err.msg);
            sbx_engine_close(&engine);
            return CLI_EXIT_INTERNAL;
        }
        engine.cfg.net = ecfg.net;
    }
    uint64_t t_engine = util_mono_ns();
    struct runner rn = {&engine, cfg, NULL, NULL};
    if (cfg->compile_cache_mb && lang->compile &&
        cache_open(&rn.cache, loop, cfg->compile_cache_dir, cfg->compile_cache_mb << 20, &err) < 0) {
        fprintf(stderr, "soulbox: %s\n", err.msg);
        sbx_engine_close(&engine);
        return CLI_EXIT_INTERNAL;
    }
    struct run_state rs = {.o = o, .engine = &engine};
    uv_signal_init(loop, &rs.sigint);
    uv_signal_init(loop, &rs.sigterm);
    rs.sigint.data = rs.sigterm.data = &rs;
    uv_signal_start(&rs.sigint, on_signal, SIGINT);
    uv_signal_start(&rs.sigterm, on_signal, SIGTERM);
    rs.job = job_start(&rn, req, on_done, on_output, &rs, &err);
    if (!rs.job) {
        fprintf(stderr, "soulbox: %s\n", err.msg);
        sbx_engine_close(&engine);
        return CLI_EXIT_INTERNAL;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    cache_close(rn.cache);
    uv_run(loop, UV_RUN_DEFAULT); /* the cache's last write, if any */
    const struct job_result *res = job_result(rs.job);
    if (getenv("SOULBOX_TRACE") && res->ran)
        trace(&res->run, t_main, t_engine);
    int code = report(res, o, rs.caught);
    job_free(rs.job);
    sbx_engine_close(&engine);
    net_engine_stop(ecfg.net);
    uv_loop_close(loop);
    return code;
}

static int run_or_exec(int argc, char **argv, bool exec)
{
    struct run_opts o;
    int rc = parse_args(argc, argv, &o, exec);
    if (rc != 0) {
        if (rc == 1)
            fputs(run_usage, stdout);
        return rc == 1 ? 0 : CLI_EXIT_USAGE;
    }
    if (o.remote)
        return run_remote(&o);
    struct sb_config cfg;
    struct sb_error err;
    if (cli_load_config(o.config, &cfg, &err) < 0) {
        fprintf(stderr, "soulbox: %s\n", err.msg);
        config_free(&cfg);
        return CLI_EXIT_USAGE;
    }
    struct lang_registry reg = {0};
    if ((o.lang ? lang_registry_open_for(cfg.languages_dir, o.lang, cfg.languages.v,
                                         cfg.languages.n, &reg, &err)
                : lang_registry_open(cfg.languages_dir, cfg.languages.v, cfg.languages.n, &reg,
                                     &err)) < 0) {
        fprintf(stderr, "soulbox: %s\n", err.msg);
        config_free(&cfg);
        return CLI_EXIT_USAGE;
    }
    const struct lang *lang = o.lang ? lang_find(&reg, o.lang) : lang_for_path(&reg, o.file, &err);
    if (!lang && !o.lang) {
        cli_usage_error("%s", err.msg);
        lang_registry_free(&reg);
        config_free(&cfg);
        return CLI_EXIT_USAGE;
    }
    struct job_request req = {.lang = lang};
    struct sb_buf src = {0}, in = {0};
    struct net_policy net = {0};
    int code = CLI_EXIT_USAGE;
    if (!lang) {
        cli_usage_error("unknown language '%s' (soulbox languages lists them)", o.lang);
        goto out;
    }
    if (limits_resolve(&cfg, &lang->limits, &o.lim, "", &req.limits, &err) < 0) {
        cli_usage_error("%s", err.msg);
        goto out;
    }
    if (o.file ? cli_read_input(o.file, &src, "FILE") < 0 : sb_buf_puts(&src, o.code) < 0)
        goto out;
    if (o.stdin_path && cli_read_input(o.stdin_path, &in, "--stdin") < 0)
        goto out;
    struct job_file f = {lang->source, src.data ? src.data : "", src.len};
    req.files = &f;
    req.nfiles = 1;
    req.stdin_data = o.stdin_path ? (in.data ? in.data : "") : NULL;
    req.stdin_len = in.len;
    req.args = (const char *const *)o.args;
    req.nargs = (size_t)o.nargs;
    json_t *iso = o.isolation ? json_string(o.isolation) : NULL;
    int iso_rc = request_isolation(iso, &cfg, &req.isolation, &err);
    json_decref(iso);
    if (iso_rc < 0) {
        cli_usage_error("--%s", err.msg);
        goto out;
    }
    if (o.network) {
        if (!cfg.security.enable_network) {
            cli_usage_error("--network: the configuration does not allow network access "
                            "(sandbox.security.enable_network is false)");
            goto out;
        }
        if (runner_net_narrow(&cfg, o.allow, o.nallow, &net, &err) < 0) {
            cli_usage_error("%s", err.msg);
            goto out;
        }
        req.net_policy = &net;
        req.net_tag = "cli";
    }
    fflush(stdout);
    code = execute(&o, &cfg, lang, &req);
out:
    net_policy_free(&net);
    sb_buf_free(&src);
    sb_buf_free(&in);
    lang_registry_free(&reg);
    config_free(&cfg);
    return code;
}

int cmd_run(int argc, char **argv)
{
    return run_or_exec(argc, argv, false);
}

int cmd_exec(int argc, char **argv)
{
    return run_or_exec(argc, argv, true);
}
