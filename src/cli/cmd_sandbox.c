/* `soulbox sandbox ...`: sessions on a SoulBox server, from the shell. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/remote.h"
#include "cli/run_opts.h"
#include "common/base64.h"

static const char sandbox_usage[] =
    "usage: soulbox sandbox [--server URL] [--api-key KEY] COMMAND ...\n"
    "\n"
    "Sessions (long-lived sandboxes) on a SoulBox server ($SOULBOX_URL,\n"
    "$SOULBOX_API_KEY by default):\n"
    "\n"
    "  create [--template NAME] [--timeout SEC] [--env K=V]... [--isolation KIND]\n"
    "         [--json]         make one (KIND: namespaces or microvm); prints its id\n"
    "                          (or all of it as JSON)\n"
    "  ls                      the sessions: id, template, state, isolation, seconds left\n"
    "  ls ID[:DIR] [--depth N] the files in DIR (default /home/user)\n"
    "  exec [--cwd DIR] [--env K=V]... [--timeout SEC] [--stdin FILE] ID -- CMD...\n"
    "                          run a command, output as it comes; exits with its\n"
    "                          exit code. One CMD word is a shell line (bash -c);\n"
    "                          several are the program and its arguments\n"
    "  cp SRC DST              copy a file in or out: one side is ID:PATH, the\n"
    "                          other a local path (- for stdin / stdout)\n"
    "  kill ID...              end sessions now\n";

struct sb_ctx {
    struct hc_client c;
    const char *url;
};

static int request(struct sb_ctx *x, const char *method, const char *path, const char *ctype,
                   const char *body, size_t len, struct hc_response *res)
{
    struct sb_error err;
    if (hc_request(&x->c, method, path, ctype, "application/json", body, len, NULL, NULL, res,
                   &err) < 0) {
        fprintf(stderr, "soulbox: %s: %s\n", x->url, err.msg);
        return -1;
    }
    if (res->status / 100 != 2) {
        remote_failed(res);
        hc_response_free(res);
        return -1;
    }
    return 0;
}

static json_t *request_json(struct sb_ctx *x, const char *method, const char *path, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct hc_response res;
    json_t *out = NULL;
    if (request(x, method, path, s ? "application/json" : NULL, s, s ? strlen(s) : 0, &res) == 0) {
        out = res.body.len ? json_loadb(res.body.data, res.body.len, 0, NULL) : json_object();
        if (!out)
            fprintf(stderr, "soulbox: %s %s: the answer is not JSON\n", method, path);
        hc_response_free(&res);
    }
    free(s);
    return out;
}

/* "K=V" into obj; a usage error otherwise. */
static int add_env(json_t *obj, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return cli_usage_error("--env %s: expected NAME=VALUE", kv);
    char name[256];
    size_t n = (size_t)(eq - kv);
    if (n >= sizeof name)
        return cli_usage_error("--env: name too long");
    memcpy(name, kv, n);
    name[n] = '\0';
    json_object_set_new(obj, name, json_string(eq + 1));
    return 0;
}

static int parse_secs(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || v > 1e7)
        return cli_usage_error("%s: '%s' is not a positive number of seconds", opt, s);
    *out = v;
    return 0;
}

static int do_create(struct sb_ctx *x, int argc, char **argv)
{
    static const struct option opts[] = {
        {"template", required_argument, 0, 't'}, {"timeout", required_argument, 0, 'T'},
        {"env", required_argument, 0, 'e'}, {"json", no_argument, 0, 'j'},
        {"isolation", required_argument, 0, 'i'}, {0, 0, 0, 0},
    };
    json_t *body = json_object(), *env = json_object();
    bool as_json = false;
    int c, rc = CLI_EXIT_USAGE;
    double secs;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 't')
            json_object_set_new(body, "template", json_string(optarg));
        else if (c == 'T') {
            if (parse_secs("--timeout", optarg, &secs))
                goto out;
            json_object_set_new(body, "timeout_s", json_integer((json_int_t)(secs + 0.999)));
        } else if (c == 'e') {
            if (add_env(env, optarg))
                goto out;
        } else if (c == 'j') {
            as_json = true;
        } else if (c == 'i') {
            if (strcmp(optarg, "namespaces") && strcmp(optarg, "microvm")) {
                cli_usage_error("--isolation: '%s' is not namespaces or microvm", optarg);
                goto out;
            }
            json_object_set_new(body, "isolation", json_string(optarg));
        } else {
            cli_usage_error("create: unknown or incomplete option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        cli_usage_error("create: unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (json_object_size(env))
        json_object_set(body, "env", env);
    json_t *s = request_json(x, "POST", "/api/sandboxes", body);
    rc = CLI_EXIT_INTERNAL;
    if (s) {
        if (as_json) {
            char *t = json_dumps(s, JSON_COMPACT);
            printf("%s\n", t ? t : "");
            free(t);
        } else {
            printf("%s\n", json_string_value(json_object_get(s, "id")));
        }
        json_decref(s);
        rc = 0;
    }
out:
    json_decref(env);
    json_decref(body);
    return rc;
}

/* Splits "ID:PATH" (PATH may be empty); false when there is no ':'. */
static bool split_target(const char *s, char *id, size_t idsize, const char **path)
{
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    if (n == 0 || n >= idsize)
        return false;
    memcpy(id, s, n);
    id[n] = '\0';
    *path = colon ? colon + 1 : NULL;
    return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static void url_path(struct sb_buf *b, const char *id, const char *rest, const char *path)
{
    sb_buf_printf(b, "/api/sandboxes/%s%s", id, rest);
    if (path) {
        sb_buf_puts(b, "?path=");
        hc_urlencode(b, path);
    }
}

static int list_sessions(struct sb_ctx *x)
{
    json_t *r = request_json(x, "GET", "/api/sandboxes?limit=1000", NULL);
    if (!r)
        return CLI_EXIT_INTERNAL;
    size_t i;
    json_t *s;
    printf("%-22s %-18s %-9s %-10s %s\n", "ID", "TEMPLATE", "STATE", "ISOLATION",
           "SECONDS LEFT");
    json_array_foreach(json_object_get(r, "sandboxes"), i, s)
        printf("%-22s %-18s %-9s %-10s %lld\n", json_string_value(json_object_get(s, "id")),
               json_string_value(json_object_get(s, "template")),
               json_string_value(json_object_get(s, "state")),
               json_string_value(json_object_get(s, "isolation")),
               (long long)json_integer_value(json_object_get(s, "timeout_s")));
    json_decref(r);
    return 0;
}

static int do_ls(struct sb_ctx *x, int argc, char **argv)
{
    static const struct option opts[] = {{"depth", required_argument, 0, 'd'}, {0, 0, 0, 0}};
    long depth = 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        char *end;
        if (c != 'd' || (depth = strtol(optarg, &end, 10), *end || depth < 1 || depth > 16))
            return cli_usage_error("ls: --depth takes 1 to 16");
    }
    if (optind == argc)
        return list_sessions(x);
    if (optind + 1 != argc)
        return cli_usage_error("ls: one ID[:DIR] at most");
    char id[64];
    const char *path;
    if (!split_target(argv[optind], id, sizeof id, &path))
        return cli_usage_error("ls: '%s' is not ID or ID:DIR", argv[optind]);
    struct sb_buf p = {0};
    url_path(&p, id, "/files/list", path && *path ? path : "/home/user");
    sb_buf_printf(&p, "&depth=%ld", depth);
    json_t *r = request_json(x, "GET", p.data, NULL);
    sb_buf_free(&p);
    if (!r)
        return CLI_EXIT_INTERNAL;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r, "entries"), i, e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        printf("%s %10lld %s %s%s\n", json_string_value(json_object_get(e, "permissions")),
               (long long)json_integer_value(json_object_get(e, "size")),
               json_string_value(json_object_get(e, "modified_at")),
               json_string_value(json_object_get(e, "path")),
               type && !strcmp(type, "dir") ? "/" : "");
    }
    json_decref(r);
    return 0;
}

/* ---- exec ---- */

static int exec_opts(json_t *body, int argc, char **argv)
{
    static const struct option opts[] = {
        {"cwd", required_argument, 0, 'c'}, {"env", required_argument, 0, 'e'},
        {"timeout", required_argument, 0, 'T'}, {"stdin", required_argument, 0, 'i'},
        {0, 0, 0, 0},
    };
    json_t *env = json_object();
    int c;
    double secs;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'c') {
            json_object_set_new(body, "cwd", json_string(optarg));
        } else if (c == 'e') {
            if (add_env(env, optarg))
                goto bad;
        } else if (c == 'T') {
            if (parse_secs("--timeout", optarg, &secs))
                goto bad;
            json_object_set_new(body, "timeout_ms", json_integer((json_int_t)(secs * 1000)));
        } else if (c == 'i') {
            struct sb_buf in = {0};
            if (cli_read_input(optarg, &in, "--stdin") < 0)
                goto bad;
            char *b64 = base64_encode(in.data ? in.data : "", in.len);
            sb_buf_free(&in);
            json_object_set_new(body, "stdin_base64", json_string(b64 ? b64 : ""));
            free(b64);
        } else {
            cli_usage_error("exec: unknown or incomplete option '%s'", argv[optind - 1]);
            goto bad;
        }
    }
    if (json_object_size(env))
        json_object_set(body, "env", env);
    json_decref(env);
    return 0;
bad:
    json_decref(env);
    return -1;
}

static int do_exec(struct sb_ctx *x, int argc, char **argv)
{
    json_t *body = json_object();
    int rc = CLI_EXIT_USAGE;
    if (exec_opts(body, argc, argv) < 0)
        goto out;
    char id[64];
    const char *path;
    if (optind >= argc || !split_target(argv[optind], id, sizeof id, &path) || path) {
        cli_usage_error("exec: a session ID is required (soulbox sandbox --help)");
        goto out;
    }
    optind++;
    if (optind < argc && !strcmp(argv[optind], "--"))
        optind++;
    if (optind >= argc) {
        cli_usage_error("exec: no command");
        goto out;
    }
    if (argc - optind == 1) {
        json_object_set_new(body, "cmd", json_string(argv[optind]));
    } else {
        json_t *a = json_array();
        for (int i = optind; i < argc; i++)
            json_array_append_new(a, json_string(argv[i]));
        json_object_set_new(body, "argv", a);
    }
    char *s = json_dumps(body, JSON_COMPACT);
    struct sb_buf p = {0};
    url_path(&p, id, "/commands", NULL);
    struct remote_stream st;
    remote_stream_init(&st);
    struct hc_response res;
    struct sb_error err;
    fflush(stdout);
    if (hc_request(&x->c, "POST", p.data, "application/json", "text/event-stream", s,
                   s ? strlen(s) : 0, remote_stream_body, &st, &res, &err) < 0) {
        fprintf(stderr, "soulbox: %s: %s\n", x->url, err.msg);
        rc = CLI_EXIT_INTERNAL;
    } else {
        if (res.status / 100 != 2)
            rc = remote_failed(&res);
        else if (!st.result)
            fprintf(stderr, "soulbox: the command's stream ended without its result\n"),
                rc = CLI_EXIT_INTERNAL;
        else
            rc = remote_report(st.result, false);
        hc_response_free(&res);
    }
    remote_stream_free(&st);
    sb_buf_free(&p);
    free(s);
out:
    json_decref(body);
    return rc;
}

/* ---- cp ---- */

static int write_file(const char *path, const char *data, size_t len)
{
    int fd = strcmp(path, "-") ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
    if (fd < 0)
        return fprintf(stderr, "soulbox: %s: %s\n", path, strerror(errno)), CLI_EXIT_INTERNAL;
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "soulbox: write %s: %s\n", path, strerror(errno));
            if (fd != 1)
                close(fd);
            return CLI_EXIT_INTERNAL;
        }
        data += w;
        len -= (size_t)w;
    }
    if (fd != 1 && close(fd) < 0)
        return fprintf(stderr, "soulbox: %s: %s\n", path, strerror(errno)), CLI_EXIT_INTERNAL;
    return 0;
}

static int do_cp(struct sb_ctx *x, int argc, char **argv)
{
    if (argc != 3)
        return cli_usage_error("cp: SRC DST (one of them ID:PATH)");
    char id[64];
    const char *rpath;
    bool in = strcmp(argv[2], "-") && split_target(argv[2], id, sizeof id, &rpath) && rpath;
    bool out = !in && strcmp(argv[1], "-") && split_target(argv[1], id, sizeof id, &rpath) &&
               rpath;
    if (!in && !out)
        return cli_usage_error("cp: one of SRC and DST must be ID:PATH");
    if (!*rpath)
        return cli_usage_error("cp: %s: no path after the ':'", in ? argv[2] : argv[1]);
    struct sb_buf p = {0};
    struct hc_response res;
    int rc = CLI_EXIT_INTERNAL;
    if (in) {
        struct sb_buf data = {0};
        const char *local = argv[1];
        const char *base = strrchr(local, '/');
        /* "ID:dir/" names a directory: the file keeps its name in it */
        size_t n = strlen(rpath);
        struct sb_buf target = {0};
        sb_buf_puts(&target, rpath);
        if (rpath[n - 1] == '/' && strcmp(local, "-"))
            sb_buf_puts(&target, base ? base + 1 : local);
        if (cli_read_input(local, &data, "SRC") < 0) {
            sb_buf_free(&target);
            return CLI_EXIT_USAGE;
        }
        url_path(&p, id, "/files", target.data);
        if (request(x, "PUT", p.data, "application/octet-stream", data.data ? data.data : "",
                    data.len, &res) == 0) {
            hc_response_free(&res);
            rc = 0;
        }
        sb_buf_free(&target);
        sb_buf_free(&data);
    } else {
        url_path(&p, id, "/files", rpath);
        if (request(x, "GET", p.data, NULL, NULL, 0, &res) == 0) {
            rc = write_file(argv[2], res.body.data ? res.body.data : "", res.body.len);
            hc_response_free(&res);
        }
    }
    sb_buf_free(&p);
    return rc;
}

static int do_kill(struct sb_ctx *x, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("kill: which session? (soulbox sandbox ls)");
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        char id[64];
        const char *path;
        if (!split_target(argv[i], id, sizeof id, &path) || path) {
            rc = cli_usage_error("kill: '%s' is not a session id", argv[i]);
            continue;
        }
        struct sb_buf p = {0};
        struct hc_response res;
        url_path(&p, id, "", NULL);
        if (request(x, "DELETE", p.data, NULL, NULL, 0, &res) == 0)
            hc_response_free(&res);
        else
            rc = CLI_EXIT_INTERNAL;
        sb_buf_free(&p);
    }
    return rc;
}

int cmd_sandbox(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, 0, 's'}, {"api-key", required_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *url = getenv("SOULBOX_URL"), *key = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 's': url = optarg; break;
        case 'k': key = optarg; break;
        case 'h': fputs(sandbox_usage, stdout); return 0;
        default: return cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        fputs(sandbox_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[optind];
    int (*fn)(struct sb_ctx *, int, char **) =
        !strcmp(sub, "create") ? do_create : !strcmp(sub, "ls") ? do_ls
        : !strcmp(sub, "exec") ? do_exec : !strcmp(sub, "cp") ? do_cp
        : !strcmp(sub, "kill") ? do_kill : NULL;
    if (!fn)
        return cli_usage_error("sandbox: unknown command '%s' (soulbox sandbox --help)", sub);
    if (!url || !*url)
        return cli_usage_error("sandbox: --server URL or $SOULBOX_URL is required");
    struct sb_ctx x = {.url = url};
    int rc = remote_client(&x.c, url, key, 0);
    if (rc)
        return rc;
    rc = fn(&x, argc - optind, argv + optind);
    hc_close(&x.c);
    return rc;
}
