/* Unit tests for src/runner/argv.c (placeholders) and the test-case output rule. */
#include <criterion/criterion.h>
#include <string.h>

#include "runner/argv.h"
#include "runner/job.h"

static const char *const exts[] = {".c", ".h2", NULL};

static char **expand(char *const *tmpl, const char *entry, const char *const *files, size_t n,
                     size_t *argc)
{
    struct argv_ctx ctx = {.entry = entry, .files = files, .nfiles = n, .source_ext = exts,
                           .memory_mb = 256};
    char **v = argv_expand(tmpl, &ctx, argc);
    cr_assert_not_null(v);
    cr_assert_null(v[*argc]);
    return v;
}

Test(argv, placeholders_inside_elements)
{
    char *tmpl[] = {"/usr/bin/java", "-Xmx{memory_mb}m", "-cp", ".", "{entry_module}",
                    "--file={entry}", "{entry_base}.class", NULL};
    const char *files[] = {"com/x/App.java"};
    size_t argc;
    char **v = expand(tmpl, "com/x/App.java", files, 1, &argc);
    const char *want[] = {"/usr/bin/java", "-Xmx256m", "-cp", ".", "com.x.App",
                          "--file=com/x/App.java", "com/x/App.class"};
    cr_assert_eq(argc, 7);
    for (size_t i = 0; i < argc; i++)
        cr_assert_str_eq(v[i], want[i]);
    argv_free(v);
}

Test(argv, sources_expand_to_one_element_per_matching_file_in_order)
{
    char *tmpl[] = {"/usr/bin/gcc", "-o", "prog", "{sources}", "-lm", NULL};
    const char *files[] = {"main.c", "util.h", "lib/a.c", "notes.txt", "b.h2", "x.cc"};
    size_t argc;
    char **v = expand(tmpl, "main.c", files, 6, &argc);
    const char *want[] = {"/usr/bin/gcc", "-o", "prog", "main.c", "lib/a.c", "b.h2", "-lm"};
    cr_assert_eq(argc, 7);
    for (size_t i = 0; i < argc; i++)
        cr_assert_str_eq(v[i], want[i]);
    argv_free(v);
}

Test(argv, no_sources_means_no_elements)
{
    char *tmpl[] = {"/bin/x", "{sources}", NULL};
    const char *files[] = {"README"};
    size_t argc;
    char **v = expand(tmpl, "README", files, 1, &argc);
    cr_assert_eq(argc, 1);
    argv_free(v);
}

Test(argv, entry_base_only_strips_an_extension_of_the_last_component)
{
    const struct { const char *entry, *base, *module; } cases[] = {
        {"main.py", "main", "main"},
        {"pkg/main.py", "pkg/main", "pkg.main"},
        {"v1.2/prog", "v1.2/prog", "v1.2.prog"},
        {".hidden", ".hidden", ".hidden"},
        {"dir/.rc", "dir/.rc", "dir..rc"},
        {"a.tar.gz", "a.tar", "a.tar"},
        {"noext", "noext", "noext"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *tmpl[] = {"{entry_base}", "{entry_module}", NULL};
        size_t argc;
        char **v = expand(tmpl, cases[i].entry, NULL, 0, &argc);
        cr_assert_str_eq(v[0], cases[i].base, "%s", cases[i].entry);
        cr_assert_str_eq(v[1], cases[i].module, "%s", cases[i].entry);
        argv_free(v);
    }
}

Test(argv, substituted_text_is_not_expanded_again)
{
    /* a file named like a placeholder stays literal */
    char *tmpl[] = {"{entry}", "{unknown}", "{entry", NULL};
    size_t argc;
    char **v = expand(tmpl, "{memory_mb}.py", NULL, 0, &argc);
    cr_assert_str_eq(v[0], "{memory_mb}.py");
    cr_assert_str_eq(v[1], "{unknown}");
    cr_assert_str_eq(v[2], "{entry");
    argv_free(v);
}

/* ---- output comparison ---- */

static bool same(const char *got, const char *want)
{
    return output_matches(got, strlen(got), want, strlen(want));
}

Test(output, equal_after_trailing_whitespace_and_newlines)
{
    cr_assert(same("3\n", "3"));
    cr_assert(same("3", "3\n\n\n"));
    cr_assert(same("a  \t\nb\r\n", "a\nb"));
    cr_assert(same("", ""));
    cr_assert(same("\n\n  \n", ""));
    cr_assert(same("x\n", "x \n \n\t\n"));
    cr_assert(output_matches(NULL, 0, "", 0));
}

Test(output, everything_else_differs)
{
    cr_assert_not(same("3\n", "4\n"));
    cr_assert_not(same(" 3", "3"));            /* leading space counts */
    cr_assert_not(same("a\n\nb", "a\nb"));     /* inner blank lines count */
    cr_assert_not(same("a b", "a  b"));        /* inner spaces count */
    cr_assert_not(same("a\nb", "a"));
    cr_assert_not(same("a", "a\nb"));
    cr_assert_not(same("", "0"));
    cr_assert_not(same("ab", "a"));
    cr_assert_not(same("A", "a"));             /* case counts */
}

Test(output, embedded_nul_bytes_are_compared)
{
    cr_assert(output_matches("a\0b\n", 4, "a\0b", 3));
    cr_assert_not(output_matches("a\0b", 3, "a\0c", 3));
}
