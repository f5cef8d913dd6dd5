/* Unit tests for src/frontend/events.c: the streamed events, and output
 * chunks that never split a character. */
#include <criterion/criterion.h>
#include <string.h>

#include "frontend/events.h"

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

/* Feeds text to the carry in chunks of `step` bytes; returns the data of
 * every event joined (each must be valid UTF-8 by construction of jansson). */
static void feed(const char *text, size_t len, size_t step, char *out, size_t outlen)
{
    struct text_carry tc = {0};
    out[0] = '\0';
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        json_t *ev = event_output(&tc, 1, text + off, n);
        if (!ev)
            continue;
        cr_assert_str_eq(json_string_value(json_object_get(ev, "type")), "stdout");
        strncat(out, json_string_value(json_object_get(ev, "data")), outlen - strlen(out) - 1);
        json_decref(ev);
    }
    json_t *ev = event_output_flush(&tc, 1);
    if (ev) {
        strncat(out, json_string_value(json_object_get(ev, "data")), outlen - strlen(out) - 1);
        json_decref(ev);
    }
}

Test(events, characters_split_across_chunks_arrive_whole)
{
    /* 1-, 2-, 3- and 4-byte characters, cut at every position */
    const char *text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
    char out[64];
    for (size_t step = 1; step <= strlen(text); step++) {
        feed(text, strlen(text), step, out, sizeof out);
        cr_assert_str_eq(out, text, "chunks of %zu", step);
    }
}

Test(events, an_incomplete_character_is_held_back_then_its_bytes_replaced_at_the_end)
{
    struct text_carry tc = {0};
    json_t *ev = event_output(&tc, 1, "ok\xe2\x82", 4);
    char *s = dump(ev);
    cr_assert_str_eq(s, "{\"type\":\"stdout\",\"data\":\"ok\"}");
    free(s);
    cr_assert_null(event_output(&tc, 1, "", 0), "nothing new to send");
    s = dump(event_output_flush(&tc, 1));   /* each byte, as in results */
    cr_assert_str_eq(s, "{\"type\":\"stdout\",\"data\":\"\xef\xbf\xbd\xef\xbf\xbd\"}");
    free(s);
    cr_assert_null(event_output_flush(&tc, 1), "flushed once");
}

Test(events, invalid_bytes_become_the_replacement_character)
{
    char out[64];
    feed("x\xff" "y\xc3(", 5, 2, out, sizeof out);
    cr_assert_str_eq(out, "x\xef\xbf\xbdy\xef\xbf\xbd(");
}

Test(events, stdout_and_stderr_carry_separately)
{
    struct text_carry tc = {0};
    cr_assert_null(event_output(&tc, 1, "\xc3", 1));
    char *s = dump(event_output(&tc, 2, "e\xe2\x82", 3));
    cr_assert_str_eq(s, "{\"type\":\"stderr\",\"data\":\"e\"}");
    free(s);
    s = dump(event_output(&tc, 1, "\xa9", 1));
    cr_assert_str_eq(s, "{\"type\":\"stdout\",\"data\":\"\xc3\xa9\"}");
    free(s);
    s = dump(event_output(&tc, 2, "\xac", 1));
    cr_assert_str_eq(s, "{\"type\":\"stderr\",\"data\":\"\xe2\x82\xac\"}");
    free(s);
}

Test(events, utf8_prefix_stops_before_an_incomplete_sequence)
{
    cr_assert_eq(event_utf8_prefix("abc", 3), 3);
    cr_assert_eq(event_utf8_prefix("ab\xc3", 3), 2);
    cr_assert_eq(event_utf8_prefix("ab\xe2\x82", 4), 2);
    cr_assert_eq(event_utf8_prefix("\xf0\x9f\x98", 3), 0);
    cr_assert_eq(event_utf8_prefix("\xf0\x9f\x98\x80", 4), 4);
    cr_assert_eq(event_utf8_prefix("a\xff", 2), 2, "invalid is not incomplete");
    cr_assert_eq(event_utf8_prefix("", 0), 0);
}

Test(events, started_error_and_exit_have_their_shapes)
{
    char *s = dump(event_started("id-1"));
    cr_assert_str_eq(s, "{\"type\":\"started\",\"id\":\"id-1\"}");
    free(s);
    s = dump(event_error(SB_E_RATE_LIMITED, "slow down"));
    cr_assert_str_eq(s, "{\"type\":\"error\",\"error\":{\"code\":\"rate_limited\","
                        "\"message\":\"slow down\"}}");
    free(s);
    struct job_result r = {0};
    r.status = SB_ST_OK;
    r.ran = true;
    r.run.exited = true;
    sb_buf_append(&r.run.out, "hi\n", 3);
    json_t *ev = event_exit(&r, "id-2");
    cr_assert_str_eq(json_string_value(json_object_get(ev, "type")), "exit");
    cr_assert_str_eq(json_string_value(json_object_get(ev, "id")), "id-2");
    cr_assert_str_eq(json_string_value(json_object_get(ev, "stdout")), "hi\n");
    cr_assert_str_eq(json_string_value(json_object_get(ev, "status")), "ok");
    cr_assert_eq(json_integer_value(json_object_get(ev, "exit_code")), 0);
    json_decref(ev);
    job_result_free(&r);
}
