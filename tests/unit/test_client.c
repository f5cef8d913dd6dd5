/* Unit tests for src/client/: the CLI's URL parsing, Retry-After, query
 * encoding and Server-Sent Events parser, and lang_for_path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "client/http_client.h"
#include "client/sse.h"
#include "runner/lang.h"

Test(client_url, host_port_means_http)
{
    struct hc_client c;
    struct sb_error err;
    cr_assert_eq(hc_init(&c, "localhost:8080", NULL, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.host, "localhost");
    cr_assert_str_eq(c.port, "8080");
    cr_assert_str_eq(c.prefix, "");
    cr_assert_str_eq(c.host_header, "localhost:8080");
    cr_assert_str_eq(c.auth, "");
    cr_assert_eq(c.fd, -1);
}

Test(client_url, scheme_prefix_ipv6_and_default_port)
{
    struct hc_client c;
    struct sb_error err;
    cr_assert_eq(hc_init(&c, "http://example.org/soulbox/", "k1", &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.host, "example.org");
    cr_assert_str_eq(c.port, "80");
    cr_assert_str_eq(c.prefix, "/soulbox");
    cr_assert_str_eq(c.auth, "Bearer k1");
    cr_assert_eq(hc_init(&c, "http://[::1]:9000", NULL, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.host, "::1");
    cr_assert_str_eq(c.port, "9000");
    cr_assert_str_eq(c.host_header, "[::1]:9000");
}

Test(client_url, bad_ones_are_refused_with_a_reason)
{
    struct hc_client c;
    struct sb_error err;
    const char *bad[] = {"", "https://x:1", "ftp://x", "x:0", "x:65536", "x:12a", ":80",
                         "[::1", "[::1]x", "http://x/a b", "x:/", "http://x/?q"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(hc_init(&c, bad[i], NULL, &err), -1, "%s accepted", bad[i]);
    hc_init(&c, "https://x:1", NULL, &err);
    cr_assert(strstr(err.msg, "https is not supported"), "%s", err.msg);
    cr_assert_eq(hc_init(&c, "x:1", "a\r\nX-Evil: 1", &err), -1);
}

Test(client, retry_after_seconds_and_dates)
{
    cr_assert_eq(hc_parse_retry_after("3", 0), 3000);
    cr_assert_eq(hc_parse_retry_after(" 0", 0), 0);
    cr_assert_eq(hc_parse_retry_after("-1", 0), -1);
    cr_assert_eq(hc_parse_retry_after("1x", 0), -1);
    cr_assert_eq(hc_parse_retry_after("999999", 0), -1);
    /* 2026-12-05 12:00:00 UTC = 1796472000 */
    cr_assert_eq(hc_parse_retry_after("Sat, 05 Dec 2026 12:00:05 GMT", 1796472000L), 5000);
    cr_assert_eq(hc_parse_retry_after("Sat, 05 Dec 2026 11:00:00 GMT", 1796472000L), 0);
    cr_assert_eq(hc_parse_retry_after("tomorrow", 0), -1);
}

Test(client, urlencode_keeps_paths_readable)
{
    struct sb_buf b = {0};
    cr_assert_eq(hc_urlencode(&b, "/home/user/a b&c=d%é.txt"), 0);
    cr_assert_str_eq(b.data, "/home/user/a%20b%26c%3Dd%25%C3%A9.txt");
    sb_buf_free(&b);
}

struct got {
    char events[8][32];
    char data[8][64];
    int n, stop_at;
};

static int collect(void *arg, const char *event, const char *data, size_t len)
{
    struct got *g = arg;
    cr_assert_eq(strlen(data), len);
    snprintf(g->events[g->n], sizeof g->events[0], "%s", event);
    snprintf(g->data[g->n], sizeof g->data[0], "%s", data);
    g->n++;
    return g->n == g->stop_at ? -1 : 0;
}

Test(sse, events_split_anywhere_are_parsed_whole)
{
    const char *stream = ": keep-alive\n\nevent: started\ndata: {\"id\":1}\n\n"
                         "event:stdout\r\ndata: a\r\ndata: b\r\n\r\n"
                         "data: plain\rid: 7\rretry: 10\r\revent: exit\ndata:\n\n";
    size_t n = strlen(stream);
    for (size_t split = 0; split <= n; split++) {
        struct got g = {.stop_at = -1};
        struct sse_parser p;
        sse_init(&p, collect, &g);
        cr_assert_eq(sse_feed(&p, stream, split), 0);
        cr_assert_eq(sse_feed(&p, stream + split, n - split), 0);
        cr_assert_eq(g.n, 4, "split %zu: %d events", split, g.n);
        cr_assert_str_eq(g.events[0], "started");
        cr_assert_str_eq(g.data[0], "{\"id\":1}");
        cr_assert_str_eq(g.events[1], "stdout");
        cr_assert_str_eq(g.data[1], "a\nb");
        cr_assert_str_eq(g.events[2], "message");
        cr_assert_str_eq(g.data[2], "plain");
        cr_assert_str_eq(g.events[3], "exit");
        cr_assert_str_eq(g.data[3], "");
        sse_free(&p);
    }
}

Test(sse, a_callback_stops_the_stream)
{
    struct got g = {.stop_at = 1};
    struct sse_parser p;
    sse_init(&p, collect, &g);
    cr_assert_eq(sse_feed(&p, "data: 1\n\ndata: 2\n\n", 18), -1);
    cr_assert_eq(g.n, 1);
    sse_free(&p);
}

Test(sse, an_event_without_data_is_not_dispatched)
{
    struct got g = {.stop_at = -1};
    struct sse_parser p;
    sse_init(&p, collect, &g);
    const char *s = "event: x\n\nevent: y\ndata: z\n\n";
    cr_assert_eq(sse_feed(&p, s, strlen(s)), 0);
    cr_assert_eq(g.n, 1);
    cr_assert_str_eq(g.events[0], "y");
    sse_free(&p);
}

Test(lang_infer, extensions_name_the_language)
{
    struct lang_registry reg = {0};
    struct sb_error err;
    cr_assert_eq(lang_registry_load(NULL, &reg, &err), 0, "%s", err.msg);
    const struct { const char *path, *lang; } cases[] = {
        {"a.py", "python"}, {"/x/y/main.c", "c"}, {"p.cc", "cpp"}, {"s.ts", "typescript"},
        {"m.mjs", "javascript"}, {"x.R", "r"}, {"q.r", "r"}, {"f.fs", "forth"},
        {"Main.java", "java"}, {"dir.d/x.sh", "bash"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct lang *l = lang_for_path(&reg, cases[i].path, &err);
        cr_assert_not_null(l, "%s: %s", cases[i].path, err.msg);
        cr_assert_str_eq(l->name, cases[i].lang, "%s", cases[i].path);
    }
    cr_assert_null(lang_for_path(&reg, "Makefile", &err));
    cr_assert(strstr(err.msg, "no extension"), "%s", err.msg);
    cr_assert_null(lang_for_path(&reg, ".bashrc", &err));
    cr_assert_null(lang_for_path(&reg, "x.d/", &err));
    cr_assert_null(lang_for_path(&reg, "notes.txt", &err));
    cr_assert(strstr(err.msg, "no language takes '.txt' files"), "%s", err.msg);
    lang_registry_free(&reg);
}
