/* Unit tests for what the session front ends parse: multipart bodies
 * (frontend/multipart.c), Connect envelopes and codes (frontend/e2b/connect.c),
 * client paths (session_path) and the embedded templates (service/template.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "frontend/e2b/connect.h"
#include "frontend/multipart.h"
#include "runner/lang.h"
#include "service/session.h"
#include "service/template.h"

/* ---- multipart ---- */

Test(multipart, boundary_from_the_content_type)
{
    char b[80];
    struct sb_error e;
    cr_assert_eq(mp_boundary("multipart/form-data; boundary=abc123", b, sizeof b, &e), 0);
    cr_assert_str_eq(b, "abc123");
    cr_assert_eq(mp_boundary("multipart/form-data; charset=x; boundary=\"q r\"", b, sizeof b, &e),
                 0);
    cr_assert_str_eq(b, "q r");
    cr_assert_eq(mp_boundary("application/json", b, sizeof b, &e), -1);
    cr_assert_eq(e.code, SB_E_UNSUPPORTED_MEDIA);
    cr_assert_eq(mp_boundary("multipart/form-data", b, sizeof b, &e), -1);
    cr_assert_eq(mp_boundary("multipart/form-data; boundary=", b, sizeof b, &e), -1);
    char longb[200] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 71);
    cr_assert_eq(mp_boundary(longb, b, sizeof b, &e), -1, "71 characters is above RFC 2046's 70");
}

static const char BODY[] =
    "preamble\r\n"
    "--XX\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"/home/user/a.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "hello\r\n--X not the end\r\n"
    "--XX\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"b\\\"q.bin\"\r\n"
    "\r\n"
    "\r\n"
    "--XX--\r\n"
    "epilogue";

Test(multipart, parts_point_into_the_body)
{
    struct mp_part p[4];
    size_t n;
    struct sb_error e;
    cr_assert_eq(mp_parse(BODY, sizeof BODY - 1, "XX", p, 4, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(p[0].name, "file");
    cr_assert_str_eq(p[0].filename, "/home/user/a.txt");
    cr_assert_eq(p[0].len, strlen("hello\r\n--X not the end"));
    cr_assert_eq(memcmp(p[0].data, "hello\r\n--X not the end", p[0].len), 0);
    cr_assert_str_eq(p[1].filename, "b\"q.bin");
    cr_assert_eq(p[1].len, 0);
}

Test(multipart, malformed_bodies_are_refused)
{
    struct mp_part p[1];
    size_t n;
    struct sb_error e;
    static const char *const bad[] = {
        "no boundary here",
        "--XX\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nno end",
        "--XX\r\nContent-Type: text/plain\r\n\r\nx\r\n--XX--",
        "--XX\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--XX--",
        "--XX junk\r\n",
        "--XX\r\nContent-Disposition: form-data; name=\"f\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(mp_parse(bad[i], strlen(bad[i]), "XX", p, 1, &n, &e), -1, "%s", bad[i]);
    cr_assert_eq(mp_parse(BODY, sizeof BODY - 1, "XX", p, 1, &n, &e), -1, "two parts, room for one");
    cr_assert(strstr(e.msg, "more than 1 parts"), "%s", e.msg);
}

/* ---- Connect envelopes ---- */

Test(connect, envelopes_round_trip)
{
    struct sb_buf b = {0};
    cr_assert_eq(connect_put(&b, 0, "{\"a\":1}", 7), 0);
    cr_assert_eq(connect_put(&b, CONNECT_FLAG_END, "{}", 2), 0);
    cr_assert_eq(b.len, 5 + 7 + 5 + 2);
    cr_assert_eq(memcmp(b.data, "\x00\x00\x00\x00\x07{\"a\":1}", 12), 0);
    size_t off = 0, len;
    uint8_t flags;
    const char *msg;
    struct sb_error e;
    cr_assert_eq(connect_next(b.data, b.len, &off, &flags, &msg, &len, &e), 1);
    cr_assert_eq(flags, 0);
    cr_assert_eq(len, 7);
    cr_assert_eq(connect_next(b.data, b.len, &off, &flags, &msg, &len, &e), 1);
    cr_assert_eq(flags, CONNECT_FLAG_END);
    cr_assert_eq(connect_next(b.data, b.len, &off, &flags, &msg, &len, &e), 0);
    sb_buf_free(&b);
}

Test(connect, bad_envelopes)
{
    size_t off, len;
    uint8_t flags;
    const char *msg;
    struct sb_error e;
    static const struct { const char *buf; size_t len; enum sb_code code; } bad[] = {
        {"\x00\x00\x00", 3, SB_E_INVALID_ARGUMENT},
        {"\x00\x00\x00\x00\x05{}", 7, SB_E_INVALID_ARGUMENT},
        {"\x01\x00\x00\x00\x02{}", 7, SB_E_INVALID_ARGUMENT},
        {"\x04\x00\x00\x00\x02{}", 7, SB_E_INVALID_ARGUMENT},
        {"\x00\x01\x00\x00\x01", 5, SB_E_PAYLOAD_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        off = 0;
        cr_assert_eq(connect_next(bad[i].buf, bad[i].len, &off, &flags, &msg, &len, &e), -1,
                     "case %zu", i);
        cr_assert_eq(e.code, bad[i].code, "case %zu", i);
    }
}

Test(connect, codes_and_statuses)
{
    cr_assert_str_eq(connect_code(SB_E_NOT_FOUND), "not_found");
    cr_assert_str_eq(connect_code(SB_E_CONFLICT), "already_exists");
    cr_assert_str_eq(connect_code(SB_E_RATE_LIMITED), "resource_exhausted");
    cr_assert_str_eq(connect_code(SB_E_SANDBOX_SETUP), "internal");
    cr_assert_eq(connect_http_status("not_found"), 404);
    cr_assert_eq(connect_http_status("already_exists"), 409);
    cr_assert_eq(connect_http_status("unimplemented"), 501);
    cr_assert_eq(connect_http_status("no such code"), 500);
}

/* ---- client paths ---- */

Test(session_path, absolute_and_clean)
{
    static const struct { const char *in, *want; } ok[] = {
        {"a.txt", "/home/user/a.txt"}, {"/tmp/x", "/tmp/x"}, {"~/d/e", "/home/user/d/e"},
        {"~", "/home/user"}, {"../../../../etc/passwd", "/etc/passwd"}, {"/..", "/"},
        {"a/./b//c/", "/home/user/a/b/c"}, {"/a/b/../../..", "/"}, {".", "/home/user"},
    };
    char out[4096];
    struct sb_error e;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        cr_assert_eq(session_path(ok[i].in, "/home/user", out, sizeof out, &e), 0, "%s",
                     ok[i].in);
        cr_assert_str_eq(out, ok[i].want, "%s", ok[i].in);
    }
    cr_assert_eq(session_path("", "/home/user", out, sizeof out, &e), -1);
    cr_assert_eq(session_path(NULL, "/home/user", out, sizeof out, &e), -1);
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(session_path(big, "/home/user", out, sizeof out, &e), -1);
}

/* ---- templates ---- */

Test(template, embedded_templates_load_and_join_their_languages)
{
    struct lang_registry reg;
    struct template_registry t;
    struct sb_error e;
    char dropped[256];
    cr_assert_eq(lang_registry_load(NULL, &reg, &e), 0, "%s", e.msg);
    cr_assert_eq(template_registry_load(&t, &reg, dropped, sizeof dropped, &e), 0, "%s", e.msg);
    cr_assert_str_eq(dropped, "");
    const struct template *ci = template_find(&t, "code-interpreter-v1");
    cr_assert_not_null(ci);
    cr_assert_str_eq(ci->name, "code-interpreter");
    cr_assert_str_eq(ci->default_context, "python");
    cr_assert_eq(ci->memory_mb, 1024);
    bool mpl = false;
    for (char **p = ci->env; *p; p++)
        mpl |= !strcmp(*p, "MPLBACKEND=Agg");
    cr_assert(mpl, "python's env joins the template");
    cr_assert_not_null(template_find(&t, "base"));
    cr_assert_not_null(template_find(&t, "node"));
    cr_assert_null(template_find(&t, "nope"));
    template_registry_free(&t);
    /* only C offered: no template has it, each is left out and named */
    char *keep[] = {"c"};
    cr_assert_eq(lang_registry_keep(&reg, keep, 1, &e), 0);
    cr_assert_eq(template_registry_load(&t, &reg, dropped, sizeof dropped, &e), 0);
    cr_assert_eq(t.n, 0);
    cr_assert(strstr(dropped, "base (none of its languages is offered)"), "%s", dropped);
    cr_assert(strstr(dropped, "code-interpreter (none"), "%s", dropped);
    template_registry_free(&t);
    lang_registry_free(&reg);
}
