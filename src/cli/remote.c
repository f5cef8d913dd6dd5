/* What the CLI's client commands share: the client, error answers, results
 * as exit codes, and output streamed as Server-Sent Events (see remote.h). */
#include "cli/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void write_str(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return; /* our reader is gone */
        s += w;
        n -= (size_t)w;
    }
}

static void write_field(int fd, json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (json_is_string(v))
        write_str(fd, json_string_value(v), json_string_length(v));
}

/* soulbox's exit code for a result, printing what a terminal user needs (as
 * `soulbox run` does for a local one). */
int remote_report(json_t *res, bool quiet)
{
    const char *status = json_string_value(json_object_get(res, "status"));
    const char *msg = json_string_value(json_object_get(res, "message"));
    json_int_t sig = json_integer_value(json_object_get(res, "signal"));
    if (!status)
        status = "internal_error";
    if (!strcmp(status, "internal_error")) {
        if (!quiet)
            fprintf(stderr, "soulbox: internal error: %s\n", msg ? msg : "(no message)");
        return CLI_EXIT_INTERNAL;
    }
    if (!strcmp(status, "compile_error")) {
        if (!quiet) {
            json_t *c = json_object_get(res, "compile");
            write_field(2, c, "stdout");
            write_field(2, c, "stderr");
            fprintf(stderr, "soulbox: compile error: %s\n", msg ? msg : "");
        }
        return 1;
    }
    if (!quiet && strcmp(status, "ok") && strcmp(status, "runtime_error"))
        fprintf(stderr, "soulbox: %s: %s\n", status, msg ? msg : "");
    else if (!quiet && sig)
        fprintf(stderr, "soulbox: %s\n", msg ? msg : "killed by a signal");
    if (sig > 0 && sig < 128)
        return 128 + (int)sig;
    return (int)(json_integer_value(json_object_get(res, "exit_code")) & 255);
}

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
    struct remote_stream *st = arg;
    bool out = !strcmp(event, "stdout"), err = !strcmp(event, "stderr");
    if (!out && !err && strcmp(event, "exit"))
        return 0; /* started / start, and whatever comes later */
    json_t *j = json_loadb(data, len, JSON_ALLOW_NUL, NULL);
    if (!j) {
        st->bad = true;
        return -1;
    }
    if (out || err) {
        write_field(out ? 1 : 2, j, "data");
        json_decref(j);
        return 0;
    }
    json_decref(st->result);
    st->result = j;
    return 0;
}

void remote_stream_init(struct remote_stream *st)
{
    memset(st, 0, sizeof *st);
    sse_init(&st->sse, on_event, st);
}

int remote_stream_body(void *arg, const char *data, size_t len)
{
    struct remote_stream *st = arg;
    return sse_feed(&st->sse, data, len);
}

void remote_stream_free(struct remote_stream *st)
{
    json_decref(st->result);
    st->result = NULL;
    sse_free(&st->sse);
}

int remote_client(struct hc_client *c, const char *url, const char *key, uint64_t timeout_ms)
{
    struct sb_error err;
    if (!key || !*key)
        key = getenv("SOULBOX_API_KEY");
    if (hc_init(c, url, key, &err) < 0)
        return cli_usage_error("%s", err.msg);
    if (timeout_ms)
        c->timeout_ms = timeout_ms > 86400000 ? 86400000 : (int)timeout_ms;
    return 0;
}

int remote_failed(const struct hc_response *res)
{
    char text[1024];
    hc_error_text(res, text, sizeof text);
    fprintf(stderr, "soulbox: %s\n", text);
    return res->status == 400 || res->status == 422 ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
}

