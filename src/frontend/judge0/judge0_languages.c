/* Judge0's language ids mapped onto SoulBox's languages: the table, the names ("Python (3.11.2)") and GET /languages[/all|/{id}]. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/judge0/judge0_internal.h"
#include "service/service.h"

/* Listed ids: 1.13.1's for the languages SoulBox runs, then SoulBox's own
 * (200+) for those Judge0 does not have. The hosted 1.14 ids after them are
 * accepted as aliases but never listed. */
static const struct j0_lang langs[] = {
    {43, "bash", "Plain Text", "", "text.txt", false, J0_K_TEXT},
    {44, "bash", "Executable", "", "a.out", false, J0_K_BINARY},
    {45, "nasm", "Assembly", "NASM", "main.asm", true},
    {46, "bash", "Bash", "", "script.sh", false},
    {50, "c", "C", "GCC", "main.c", true},
    {51, "csharp", "C#", "", "Main.cs", true},
    {54, "cpp", "C++", "GCC", "main.cpp", true},
    {55, "commonlisp", "Common Lisp", "SBCL", "script.lisp", false},
    {56, "d", "D", "", "main.d", true},
    {57, "elixir", "Elixir", "", "script.exs", false},
    {58, "erlang", "Erlang", "OTP", "main.erl", false},
    {59, "fortran", "Fortran", "GFortran", "main.f90", true},
    {60, "go", "Go", "", "main.go", true},
    {61, "haskell", "Haskell", "GHC", "main.hs", true},
    {62, "java", "Java", "OpenJDK", "Main.java", true},
    {63, "javascript", "JavaScript", "Node.js", "script.js", false},
    {64, "lua", "Lua", "", "script.lua", false},
    {65, "ocaml", "OCaml", "", "main.ml", true},
    {67, "pascal", "Pascal", "FPC", "main.pas", true},
    {68, "php", "PHP", "", "script.php", false},
    {71, "python", "Python", "", "script.py", false},
    {72, "ruby", "Ruby", "", "script.rb", false},
    {73, "rust", "Rust", "", "main.rs", true},
    {74, "typescript", "TypeScript", "", "script.ts", true},
    {77, "cobol", "COBOL", "GnuCOBOL", "main.cob", true},
    {78, "kotlin", "Kotlin", "", "Main.kt", true},
    {80, "r", "R", "", "script.r", false},
    {81, "scala", "Scala", "", "Main.scala", true},
    {82, "sql", "SQL", "SQLite", "script.sql", false, J0_K_SQL},
    {85, "perl", "Perl", "", "script.pl", false},
    {86, "clojure", "Clojure", "", "main.clj", false},
    {J0_LANG_MULTI_FILE, "bash", "Multi-file program", "", NULL, false, J0_K_MULTI},
    {200, "ada", "Ada", "GNAT", NULL, true},
    {201, "awk", "AWK", "", NULL, false},
    {202, "crystal", "Crystal", "", NULL, true},
    {203, "forth", "Forth", "Gforth", NULL, false},
    {204, "nim", "Nim", "", NULL, true},
    {205, "pypy", "Python", "PyPy", NULL, false},
    {206, "racket", "Racket", "", NULL, false},
    {207, "scheme", "Scheme", "", NULL, false},
    {208, "tcl", "Tcl", "", NULL, false},
};
#define NLANGS (sizeof langs / sizeof *langs)

/* Hosted CE 1.14 ids -> a listed id. */
static const int aliases[][2] = {
    {91, 62}, {95, 60}, {98, 68}, {99, 80}, {101, 74}, {102, 63}, {103, 50}, {105, 54},
    {107, 60}, {108, 73}, {110, 50}, {111, 78}, {112, 81}, {113, 71},
    /* older 1.13.1 ids of the same toolchains */
    {48, 50}, {49, 50}, {52, 54}, {53, 54}, {75, 50}, {76, 54},
};

static const struct j0_lang *listed(int id)
{
    for (size_t i = 0; i < NLANGS; i++)
        if (langs[i].id == id)
            return &langs[i];
    return NULL;
}

const struct j0_lang *j0_lang_find(int id)
{
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (aliases[i][0] == id)
            return listed(aliases[i][1]);
    return listed(id);
}

bool j0_lang_archived(int id)
{
    return id >= 1 && id <= 42;
}

const struct lang *j0_lang_usable(struct service *s, const struct j0_lang *jl)
{
    const struct lang *l = lang_find(&s->registry, jl->soulbox);
    struct sb_error err;
    if (jl->kind != J0_K_LANGUAGE) {
        const struct lang *bash = lang_find(&s->registry, "bash");
        if (!bash || lang_probe_check(&s->probe, bash, &err) < 0)
            return NULL;
    }
    return l && lang_probe_check(&s->probe, l, &err) == 0 ? l : NULL;
}

/* The version number in a probe's banner: its last word that starts with a
 * digit and holds a '.' ("gcc (Debian 12.2.0-14) 12.2.0" -> "12.2.0"). */
static void version_of(const char *banner, char *out, size_t len)
{
    out[0] = '\0';
    for (const char *p = banner; *p;) {
        size_t n = strcspn(p, " \t\n(),");
        if (n && isdigit((unsigned char)*p) && memchr(p, '.', n)) {
            size_t k = strspn(p, "0123456789.");
            snprintf(out, len, "%.*s", (int)(k < n ? k : n), p);
        }
        p += n;
        p += strspn(p, " \t\n(),");
    }
    if (!out[0])
        snprintf(out, len, "%.*s", (int)strcspn(banner, "\n"), banner);
}

void j0_lang_name(struct service *s, const struct j0_lang *jl, char *buf, size_t len)
{
    const struct lang *l = lang_find(&s->registry, jl->soulbox);
    const struct lang_status *st = l ? lang_probe_find(&s->probe, l) : NULL;
    char v[64] = "";
    if (jl->kind != J0_K_LANGUAGE && jl->kind != J0_K_SQL) {   /* no version in Judge0's */
        snprintf(buf, len, "%s", jl->prefix);
        return;
    }
    if (st && st->version[0])
        version_of(st->version, v, sizeof v);
    snprintf(buf, len, "%s (%s%s%s)", jl->prefix, jl->toolchain, jl->toolchain[0] ? " " : "",
             v[0] ? v : "?");
}

/* Sorted by name, punctuation ignored first (Judge0's collation, roughly). */
static int by_name(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    for (;; x++, y++) {
        while (*x && !isalnum((unsigned char)*x))
            x++;
        while (*y && !isalnum((unsigned char)*y))
            y++;
        int d = tolower((unsigned char)*x) - tolower((unsigned char)*y);
        if (d || !*x)
            return d;
    }
}

static json_t *language_list(struct service *s, bool all)
{
    json_t *items[NLANGS];
    size_t n = 0;
    for (size_t i = 0; i < NLANGS; i++) {
        if (!j0_lang_usable(s, &langs[i]))
            continue;
        char name[128];
        j0_lang_name(s, &langs[i], name, sizeof name);
        items[n++] = all ? json_pack("{s:i,s:s,s:b}", "id", langs[i].id, "name", name,
                                     "is_archived", 0)
                         : json_pack("{s:i,s:s}", "id", langs[i].id, "name", name);
    }
    qsort(items, n, sizeof *items, by_name);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, items[i]);
    return a;
}

void judge0_languages(struct rest_call *rc)
{
    if (j0_enter(rc, false) == 0)
        j0_reply_json(rc, 200, language_list(rc->rest->svc, false));
}

void judge0_languages_all(struct rest_call *rc)
{
    if (j0_enter(rc, false) == 0)
        j0_reply_json(rc, 200, language_list(rc->rest->svc, true));
}

/* A command line for display ("/usr/bin/python3 {entry}"), or null. */
static json_t *command(char *const *argv)
{
    if (!argv)
        return json_null();
    struct sb_buf b = {0};
    for (size_t i = 0; argv[i]; i++)
        sb_buf_printf(&b, "%s%s", i ? " " : "", argv[i]);
    json_t *s = json_string(b.data ? b.data : "");
    sb_buf_free(&b);
    return s;
}

void judge0_language(struct rest_call *rc)
{
    if (j0_enter(rc, false) < 0)
        return;
    struct service *s = rc->rest->svc;
    char *end;
    long id = strtol(rc->params[0], &end, 10);
    const struct j0_lang *jl = *end ? NULL : listed((int)id);
    const struct lang *l = jl ? j0_lang_usable(s, jl) : NULL;
    if (!l) {
        j0_reply_empty(rc, 404);
        return;
    }
    char name[128];
    j0_lang_name(s, jl, name, sizeof name);
    /* the emulated ones: what Judge0 runs for them */
    static const char *const run_cmd[] = {
        [J0_K_TEXT] = "/bin/cat text.txt",
        [J0_K_BINARY] = "/bin/bash -c \"chmod +x a.out && ./a.out\"",
        [J0_K_SQL] = "/bin/cat script.sql | sqlite3 db.sqlite",
    };
    json_t *src = jl->kind == J0_K_MULTI ? json_null()
                  : json_string(jl->source_file ? jl->source_file : l->source);
    json_t *compile = jl->kind == J0_K_LANGUAGE ? command(l->compile) : json_null();
    json_t *run = jl->kind == J0_K_LANGUAGE ? command(l->run)
                  : jl->kind == J0_K_MULTI ? json_null() : json_string(run_cmd[jl->kind]);
    j0_reply_json(rc, 200, json_pack("{s:i,s:s,s:b,s:o,s:o,s:o}", "id", jl->id, "name", name,
                                     "is_archived", 0, "source_file", src, "compile_cmd",
                                     compile, "run_cmd", run));
}
