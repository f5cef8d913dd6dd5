/* `soulbox exec` / `soulbox run --remote URL`: the same run, on a server.
 * The request is POST /api/execute; output streams back as Server-Sent
 * Events and is passed through as it comes (or, with --json, the result). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/remote.h"
#include "cli/run_opts.h"
#include "client/http_client.h"
#include "common/base64.h"
#include "runner/lang.h"

static int add_limit(json_t *lim, const char *name, uint64_t v)
{
    return v == LIMIT_UNSET ? 0 : json_object_set_new(lim, name, json_integer((json_int_t)v));
}

static json_t *limits_json(const struct limit_request *l)
{
    json_t *lim = json_object();
    add_limit(lim, "wall_time_ms", l->wall_time_ms);
    add_limit(lim, "cpu_time_ms", l->cpu_time_ms);
    add_limit(lim, "memory_mb", l->memory_mb);
    add_limit(lim, "processes", l->processes);
    add_limit(lim, "output_kb", l->output_kb);
    add_limit(lim, "disk_mb", l->disk_mb);
    add_limit(lim, "file_size_kb", l->file_size_kb);
    add_limit(lim, "open_files", l->open_files);
    return lim;
}

/* The program as `code`, or (not UTF-8) as one base64 file named like FILE. */
static int add_program(json_t *req, const struct run_opts *o, const struct sb_buf *src)
{
    const char *text = src->data ? src->data : "";
    json_t *code = json_stringn(text, src->len);
    if (code)
        return json_object_set_new(req, "code", code);
    const char *base = strrchr(o->file, '/');
    char *b64 = base64_encode(text, src->len);
    if (!b64)
        return -1;
    json_t *f = json_pack("{s:s, s:s, s:s}", "name", base ? base + 1 : o->file, "content", b64,
                          "encoding", "base64");
    free(b64);
    return json_object_set_new(req, "files", json_pack("[o]", f));
}

/* The request body, or NULL after a usage error. */
static char *request_body(const struct run_opts *o, const char *lang)
{
    struct sb_buf src = {0}, in = {0};
    char *out = NULL;
    json_t *req = json_pack("{s:s}", "language", lang);
    if (o->file ? cli_read_input(o->file, &src, "FILE") < 0 : sb_buf_puts(&src, o->code) < 0)
        goto done;
    if (o->stdin_path) {
        if (cli_read_input(o->stdin_path, &in, "--stdin") < 0)
            goto done;
        json_t *s = json_stringn(in.data ? in.data : "", in.len);
        if (!s) {
            cli_usage_error("--stdin %s: not UTF-8 text (the API's stdin is a string)",
                            o->stdin_path);
            goto done;
        }
        json_object_set_new(req, "stdin", s);
    }
    if (add_program(req, o, &src) < 0) {
        cli_usage_error("out of memory");
        goto done;
    }
    if (o->nargs) {
        json_t *args = json_array();
        for (int i = 0; i < o->nargs; i++) {
            json_t *a = json_string(o->args[i]);
            if (!a) {
                cli_usage_error("argument %d is not UTF-8", i + 1);
                json_decref(args);
                goto done;
            }
            json_array_append_new(args, a);
        }
        json_object_set_new(req, "args", args);
    }
    json_t *lim = limits_json(&o->lim);
    if (json_object_size(lim))
        json_object_set_new(req, "limits", lim);
    else
        json_decref(lim);
    if (o->isolation)
        json_object_set_new(req, "isolation", json_string(o->isolation));
    if (o->network) {
        json_t *net = json_pack("{s:b}", "enabled", 1);
        if (o->nallow) {
            json_t *allow = json_array();
            for (size_t i = 0; i < o->nallow; i++)
                json_array_append_new(allow, json_string(o->allow[i]));
            json_object_set_new(net, "allow", allow);
        }
        json_object_set_new(req, "network", net);
    }
    out = json_dumps(req, JSON_COMPACT);
done:
    json_decref(req);
    sb_buf_free(&src);
    sb_buf_free(&in);
    return out;
}

int run_remote(const struct run_opts *o)
{
    const char *lang = o->lang;
    struct lang_registry reg = {0};
    struct sb_error err;
    if (!lang) { /* the extension, by the languages built in (the server's own, usually) */
        if (lang_registry_load(NULL, &reg, &err) < 0)
            return fprintf(stderr, "soulbox: %s\n", err.msg), CLI_EXIT_INTERNAL;
        const struct lang *l = lang_for_path(&reg, o->file, &err);
        if (!l) {
            lang_registry_free(&reg);
            return cli_usage_error("%s", err.msg);
        }
        lang = l->name;
    }
    struct hc_client c;
    char *body = NULL;
    int code = CLI_EXIT_USAGE;
    if (remote_client(&c, o->remote, o->api_key, o->timeout_ms) != 0 ||
        !(body = request_body(o, lang)))
        goto out;
    fflush(stdout);
    struct remote_stream st;
    remote_stream_init(&st);
    struct hc_response res;
    int rc = hc_request(&c, "POST", "/api/execute", "application/json",
                        o->json ? "application/json" : "text/event-stream", body, strlen(body),
                        o->json ? NULL : remote_stream_body, &st, &res, &err);
    if (rc < 0) {
        fprintf(stderr, "soulbox: %s: %s\n", o->remote, err.msg);
        code = CLI_EXIT_INTERNAL;
    } else if (res.status != 200) {
        code = remote_failed(&res);
    } else if (o->json) {
        const char *text = res.body.data ? res.body.data : "";
        json_t *r = json_loadb(text, res.body.len, JSON_ALLOW_NUL, NULL);
        printf("%.*s\n", (int)res.body.len, text);
        code = r ? remote_report(r, true) : CLI_EXIT_INTERNAL;
        json_decref(r);
    } else if (!st.result) {
        fprintf(stderr, "soulbox: %s: the stream ended without a result%s\n", o->remote,
                st.bad ? " (malformed event)" : "");
        code = CLI_EXIT_INTERNAL;
    } else {
        code = remote_report(st.result, false);
    }
    if (rc == 0)
        hc_response_free(&res);
    remote_stream_free(&st);
    hc_close(&c);
out:
    free(body);
    lang_registry_free(&reg);
    return code;
}
