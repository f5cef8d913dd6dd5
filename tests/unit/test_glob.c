/* Unit tests for src/common/glob.c: the patterns of return_files. */
#include <criterion/criterion.h>

#include "common/glob.h"

Test(glob, matches)
{
    static const struct { const char *p, *s; bool want; } t[] = {
        {"*.png", "a.png", true},          {"*.png", "d/a.png", false},
        {"out/**", "out/x/y.txt", true},   {"out/**", "out", false},
        {"**/*.png", "a.png", true},       {"**/*.png", "x/y/a.png", true},
        {"data/?.csv", "data/1.csv", true}, {"data/?.csv", "data/12.csv", false},
        {"[a-c]*", "b1", true},            {"[!a-c]*", "b1", false},
        {"**", "a/b", true},               {"a/**/b", "a/b", true},
        {"a/**/b", "a/x/y/b", true},       {"*", "a/b", false},
        {"a?c", "a/c", false},             {"report.txt", "report.txt", true},
        {"report.txt", "report.txtx", false},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        cr_assert_eq(glob_match(t[i].p, t[i].s), t[i].want, "%s vs %s", t[i].p, t[i].s);
}

Test(glob, what_a_request_may_give)
{
    cr_assert(glob_ok("out/**"));
    cr_assert(glob_ok("*.png"));
    cr_assert(!glob_ok(""));
    cr_assert(!glob_ok("/abs/*"));
    cr_assert(!glob_ok("../x"));
    cr_assert(!glob_ok("a/./b"));
    cr_assert(!glob_ok("a//b"));
    cr_assert(!glob_ok("a/[b"));
}
