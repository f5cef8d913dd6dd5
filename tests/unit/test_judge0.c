/* Unit tests for src/frontend/judge0/: Judge0's output comparison, number, time and base64 formats, and its language table. */
#include <criterion/criterion.h>
#include <string.h>

#include "frontend/judge0/judge0_internal.h"

static bool match(const char *got, const char *want)
{
    return j0_output_matches(got, strlen(got), want, strlen(want));
}

Test(judge0, output_comparison_follows_the_spec_table)
{
    cr_assert(match("3\n", "3"));
    cr_assert(match("3", "3\n"));
    cr_assert(match("3 \n", "3"));
    cr_assert(match("a \nb\n", "a\nb"));
    cr_assert(match("3\r\n", "3"));
    cr_assert(match("7\n", "7   \n\n"));
    cr_assert(!match(" 3\n", "3"));
    cr_assert(!match("a\n\nb", "a\nb"));
    cr_assert(!match("7\n", "8"));
    cr_assert(match("", "  \n"));
}

Test(judge0, seconds_keep_one_decimal)
{
    char b[32];
    j0_seconds(5, b, sizeof b);
    cr_assert_str_eq(b, "5.0");
    j0_seconds(0.058, b, sizeof b);
    cr_assert_str_eq(b, "0.058");
    j0_seconds(0.01, b, sizeof b);
    cr_assert_str_eq(b, "0.01");
    j0_seconds(2.5, b, sizeof b);
    cr_assert_str_eq(b, "2.5");
    j0_seconds(0, b, sizeof b);
    cr_assert_str_eq(b, "0.0");
}

Test(judge0, timestamps_have_milliseconds_and_z)
{
    char b[40];
    j0_timestamp(1786054414454ull, b, sizeof b);
    cr_assert_str_eq(b, "2026-08-06T22:13:34.454Z");
}

Test(judge0, base64_is_mime_style)
{
    json_t *s = j0_b64_mime("hello, Judge0\n", 14);
    cr_assert_str_eq(json_string_value(s), "aGVsbG8sIEp1ZGdlMAo=\n");
    json_decref(s);
    char x[71];
    memset(x, 'x', 70);
    x[70] = '\n';
    s = j0_b64_mime(x, 71);
    const char *v = json_string_value(s);
    cr_assert_eq(v[60], '\n');
    cr_assert_eq(v[strlen(v) - 1], '\n');
    json_decref(s);
}

Test(judge0, base64_input_is_lenient)
{
    struct sb_buf b = {0};
    j0_b64_lenient("cHJp\nbnQo*MSk", 13, &b);      /* newline and junk skipped, no padding */
    cr_assert_eq(b.len, 8);
    cr_assert(!memcmp(b.data, "print(1)", 8));
    sb_buf_free(&b);
}

Test(judge0, language_ids_and_aliases)
{
    cr_assert_str_eq(j0_lang_find(71)->soulbox, "python");
    cr_assert_str_eq(j0_lang_find(113)->soulbox, "python");
    cr_assert_str_eq(j0_lang_find(105)->soulbox, "cpp");
    cr_assert_str_eq(j0_lang_find(62)->source_file, "Main.java");
    cr_assert_null(j0_lang_find(4));
    cr_assert(j0_lang_archived(4));
    cr_assert(!j0_lang_archived(71));
    cr_assert_null(j0_lang_find(150000));
}

Test(judge0, status_names)
{
    cr_assert_str_eq(j0_status_name(3), "Accepted");
    cr_assert_str_eq(j0_status_name(11), "Runtime Error (NZEC)");
    cr_assert_str_eq(j0_status_name(14), "Exec Format Error");
}
