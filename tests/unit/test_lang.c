/* Unit tests for src/runner/lang.c: the language registry and its validation. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/lang.h"

#define GOOD                                             \
    "name: toy\n"                                        \
    "aliases: [toy2]\n"                                  \
    "packages: [toy-lang, libtoy1.0+dfsg]\n"             \
    "version: [/usr/bin/toy, --version]\n"               \
    "source: main.toy\n"                                 \
    "source_ext: [.toy]\n"                               \
    "compile: [/usr/bin/toyc, -o, prog, \"{sources}\"]\n" \
    "artifact: prog\n"                                   \
    "run: [./prog]\n"                                    \
    "env: [TOYHOME=/tmp]\n"                              \
    "etc: [toy]\n"                                       \
    "limits:\n  memory_mb: 768\n  processes: 64\n"       \
    "compile_limits:\n  wall_time_ms: 60000\n"           \
    "test:\n  program: hello\n  compile_error: oops\n  fail_exit_code: \"1\"\n"

static char dir[] = "/tmp/soulbox-lang-XXXXXX";

static void setup(void)
{
    strcpy(dir, "/tmp/soulbox-lang-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(lang, .init = setup, .fini = teardown);

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *load_fails(void)
{
    static struct sb_error err;
    struct lang_registry reg;
    cr_assert_eq(lang_registry_load(dir, &reg, &err), -1);
    cr_assert_eq(reg.n, 0);
    cr_assert_eq(err.code, SB_E_CONFIG, "%s", err.msg);
    return err.msg;
}

/* GOOD with one line replaced (or removed when repl is ""). */
static void put_variant(const char *key, const char *repl)
{
    char text[2048] = "";
    const char *p = GOOD;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p) + 1;
        if (!strncmp(p, key, strlen(key)) && p[strlen(key)] == ':') {
            strcat(text, repl);
            p += n;
            while (*p == ' ') /* and the replaced key's nested lines */
                p = strchr(p, '\n') + 1;
            continue;
        }
        strncat(text, p, n);
        p += n;
    }
    put("toy.yaml", text);
}

Test(lang, a_full_language_file)
{
    put("toy.yaml", GOOD);
    put("README.md", "not yaml, ignored");
    struct lang_registry reg;
    struct sb_error err;
    cr_assert_eq(lang_registry_load(dir, &reg, &err), 0, "%s", err.msg);
    cr_assert_eq(reg.n, 1);
    const struct lang *l = lang_find(&reg, "toy2");
    cr_assert_not_null(l);
    cr_assert_eq(l, lang_find(&reg, "toy"));
    cr_assert_null(lang_find(&reg, "Toy"));
    cr_assert_str_eq(l->packages[1], "libtoy1.0+dfsg");
    cr_assert_str_eq(l->compile[3], "{sources}");
    cr_assert_str_eq(l->run[0], "./prog");
    cr_assert_eq(l->limits.memory_mb, 768);
    cr_assert_eq(l->limits.processes, 64);
    cr_assert_eq(l->limits.wall_time_ms, 0);
    cr_assert_eq(l->compile_limits.wall_time_ms, 60000);
    cr_assert_eq(l->test_fail_exit_code, 1);
    cr_assert_null(l->binds[0]);
    lang_registry_free(&reg);
}

Test(lang, invalid_fields_name_the_file_and_the_field)
{
    const struct { const char *key, *line, *needle; } cases[] = {
        {"name", "name: Toy\n", "name: 'Toy'"},
        {"name", "", "name"},
        {"aliases", "aliases: [\"a b\"]\n", "aliases[0]"},
        {"packages", "packages: [\"x; rm -rf /\"]\n", "not a Debian package name"},
        {"version", "version: [toy]\n", "version[0]: 'toy' must be an absolute path"},
        {"version", "version: []\n", "version"},
        {"source", "source: ../main.toy\n", "source: '../main.toy'"},
        {"source", "source: dir/main.toy\n", "plain file name"},
        {"compile", "compile: [toyc]\n", "compile[0]"},
        {"artifact", "", "artifact: required with compile"},
        {"artifact", "artifact: /tmp/prog\n", "artifact: '/tmp/prog'"},
        {"run", "run: [../prog]\n", "run[0]"},
        {"run", "run: [./../prog]\n", "run[0]"},
        {"env", "env: [NOEQUALS]\n", "env[0]"},
        {"env", "env: [=x]\n", "env[0]"},
        {"etc", "etc: [../shadow]\n", "etc[0]"},
        {"etc", "etc: [ssl/certs]\n", "directly under /etc"},
        {"source_ext", "source_ext: [toy]\n", "source_ext[0]"},
        {"limits", "limits:\n  memory_mb: lots\n", "limits.memory_mb: 'lots'"},
        {"limits", "limits:\n  memory_mb: 0\n", "positive"},
        {"limits", "limits:\n  memroy_mb: 5\n", "memroy_mb"},
        {"test", "test:\n  program: x\n", "test.compile_error: required"},
        {"test", "test:\n  program: x\n  compile_error: y\n  fail_exit_code: \"0\"\n",
         "fail_exit_code"},
        {"test", "", "test"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        put_variant(cases[i].key, cases[i].line);
        const char *msg = load_fails();
        cr_assert(strstr(msg, "toy.yaml: "), "%s", msg);
        cr_assert(strstr(msg, cases[i].needle), "case %zu: want '%s' in: %s", i,
                  cases[i].needle, msg);
    }
}

Test(lang, unknown_keys_are_errors)
{
    put("toy.yaml", GOOD "colour: blue\n");
    cr_assert(strstr(load_fails(), "colour"));
}

Test(lang, binds_must_be_absolute_and_not_root)
{
    put("toy.yaml", GOOD "binds: [/]\n");
    cr_assert(strstr(load_fails(), "binds[0]"));
    put("toy.yaml", GOOD "binds: [usr/lib]\n");
    cr_assert(strstr(load_fails(), "binds[0]"));
}

Test(lang, duplicate_names_and_aliases)
{
    put("a.yaml", GOOD);
    char other[2048];
    snprintf(other, sizeof other, "%s", GOOD);
    memcpy(strstr(other, "name: toy"), "name: zzz", 9);
    put("b.yaml", other); /* alias toy2 again */
    const char *msg = load_fails();
    cr_assert(strstr(msg, "b.yaml: name or alias 'toy2' is already used by"), "%s", msg);
}

Test(lang, yaml_aliases_and_empty_dirs_are_refused)
{
    cr_assert(strstr(load_fails(), "no *.yaml files"));
    put("toy.yaml", "name: &n toy\n" GOOD);
    load_fails();
}

Test(lang, keep_selects_by_name)
{
    put("toy.yaml", GOOD);
    char other[2048];
    snprintf(other, sizeof other, "%s", GOOD);
    memcpy(strstr(other, "name: toy"), "name: zzz", 9);
    memcpy(strstr(other, "aliases: [toy2]"), "aliases: [zz2]", 14);
    memmove(strstr(other, "aliases: [zz2]") + 14, strstr(other, "aliases: [zz2]") + 15,
            strlen(strstr(other, "aliases: [zz2]") + 15) + 1);
    put("zzz.yaml", other);
    struct lang_registry reg;
    struct sb_error err;
    cr_assert_eq(lang_registry_load(dir, &reg, &err), 0, "%s", err.msg);
    cr_assert_eq(reg.n, 2);
    char *alias[] = {"toy2"};
    cr_assert_eq(lang_registry_keep(&reg, alias, 1, &err), -1);
    cr_assert(strstr(err.msg, "no language named 'toy2'"));
    char *names[] = {"zzz"};
    cr_assert_eq(lang_registry_keep(&reg, names, 1, &err), 0);
    cr_assert_eq(reg.n, 1);
    cr_assert_null(lang_find(&reg, "toy"));
    cr_assert_not_null(lang_find(&reg, "zz2"));
    lang_registry_free(&reg);
}

/* The files embedded in the binary are the ones in languages/, all valid. */
Test(lang, embedded_bundle_matches_the_languages_dir)
{
    struct lang_registry a, b;
    struct sb_error err;
    cr_assert_eq(lang_registry_load(NULL, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(lang_registry_load("languages", &b, &err), 0, "%s", err.msg);
    cr_assert_eq(a.n, b.n);
    cr_assert_geq(a.n, 25);
    for (size_t i = 0; i < a.n; i++) {
        cr_assert_str_eq(a.v[i]->name, b.v[i]->name);
        cr_assert(strstr(a.v[i]->file, "(embedded)"));
    }
    lang_registry_free(&a);
    lang_registry_free(&b);
}
