/* Unit tests for src/common/buf.c: the growable byte buffer. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

Test(buf, starts_empty_and_append_terminates)
{
    struct sb_buf b = {0};
    cr_assert_eq(sb_buf_append(&b, "abc", 3), 0);
    cr_assert_eq(b.len, 3);
    cr_assert_str_eq(b.data, "abc");
    cr_assert_geq(b.cap, 4);
    cr_assert_not(b.oom);
    cr_assert_eq(sb_buf_puts(&b, "def"), 0);
    cr_assert_eq(b.len, 6);
    cr_assert_str_eq(b.data, "abcdef");
    sb_buf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
}

Test(buf, empty_append_allocates_an_empty_string)
{
    struct sb_buf b = {0};
    cr_assert_eq(sb_buf_append(&b, NULL, 0), 0);
    cr_assert_not_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.data, "");
    sb_buf_free(&b);
}

Test(buf, printf_formats_and_appends)
{
    struct sb_buf b = {0};
    cr_assert_eq(sb_buf_printf(&b, "%d-%s", 42, "x"), 0);
    cr_assert_eq(sb_buf_printf(&b, "|%05u|", 7u), 0);
    cr_assert_str_eq(b.data, "42-x|00007|");
    cr_assert_eq(b.len, strlen("42-x|00007|"));
    /* Larger than the first allocation: must grow, not truncate. */
    char big[300];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(sb_buf_printf(&b, "[%s]", big), 0);
    cr_assert_eq(b.len, 11 + 2 + 299);
    cr_assert_eq(b.data[11], '[');
    cr_assert_eq(b.data[11 + 1 + 298], 'z');
    cr_assert_eq(b.data[b.len - 1], ']');
    cr_assert_eq(b.data[b.len], '\0');
    sb_buf_free(&b);
}

Test(buf, embedded_nuls_are_kept)
{
    struct sb_buf b = {0};
    static const char bin[] = {'a', '\0', 'b', '\0', '\0', 'c'};
    cr_assert_eq(sb_buf_append(&b, bin, sizeof bin), 0);
    cr_assert_eq(sb_buf_append(&b, bin, sizeof bin), 0);
    cr_assert_eq(b.len, 12);
    cr_assert_eq(memcmp(b.data, bin, 6), 0);
    cr_assert_eq(memcmp(b.data + 6, bin, 6), 0);
    cr_assert_eq(b.data[12], '\0');
    cr_assert_eq(sb_buf_printf(&b, "%c", '\0'), 0);
    cr_assert_eq(b.len, 13);
    cr_assert_eq(b.data[12], '\0');
    sb_buf_free(&b);
}

Test(buf, steal_hands_over_data_and_empties)
{
    struct sb_buf b = {0};
    sb_buf_puts(&b, "hello");
    size_t len = 0;
    char *p = sb_buf_steal(&b, &len);
    cr_assert_eq(len, 5);
    cr_assert_str_eq(p, "hello");
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
    /* The buffer is reusable and independent of the stolen memory. */
    sb_buf_puts(&b, "again");
    cr_assert_str_eq(p, "hello");
    cr_assert_str_eq(b.data, "again");
    free(p);
    sb_buf_free(&b);
}

Test(buf, steal_of_empty_buffer_gives_empty_string)
{
    struct sb_buf b = {0};
    size_t len = 123;
    char *p = sb_buf_steal(&b, &len);
    cr_assert_not_null(p);
    cr_assert_eq(len, 0);
    cr_assert_str_eq(p, "");
    free(p);
    p = sb_buf_steal(&b, NULL);
    cr_assert_not_null(p);
    free(p);
}

Test(buf, reset_keeps_capacity)
{
    struct sb_buf b = {0};
    for (int i = 0; i < 100; i++)
        sb_buf_puts(&b, "0123456789");
    size_t cap = b.cap;
    char *data = b.data;
    sb_buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, cap);
    cr_assert_eq(b.data, data);
    cr_assert_str_eq(b.data, "");
    sb_buf_puts(&b, "x");
    cr_assert_str_eq(b.data, "x");
    cr_assert_eq(b.data, data, "reset then a small append must not reallocate");
    sb_buf_free(&b);
    sb_buf_reset(&b); /* on a freed buffer: no crash */
    cr_assert_null(b.data);
}

Test(buf, reserve_makes_room_without_changing_len)
{
    struct sb_buf b = {0};
    sb_buf_puts(&b, "ab");
    cr_assert_eq(sb_buf_reserve(&b, 1000), 0);
    cr_assert_eq(b.len, 2);
    cr_assert_geq(b.cap, 1003);
    cr_assert_str_eq(b.data, "ab");
    char *data = b.data;
    for (int i = 0; i < 1000; i++)
        sb_buf_append(&b, "c", 1);
    cr_assert_eq(b.data, data, "appends within the reservation must not reallocate");
    cr_assert_eq(b.len, 1002);
    sb_buf_free(&b);
}

Test(buf, growth_over_many_appends)
{
    struct sb_buf b = {0};
    const size_t rounds = 100000;
    for (size_t i = 0; i < rounds; i++) {
        char rec[8];
        memcpy(rec, "rec", 3);
        rec[3] = (char)('0' + i % 10);
        memcpy(rec + 4, &(uint32_t){(uint32_t)i}, 4);
        cr_assert_eq(sb_buf_append(&b, rec, sizeof rec), 0);
    }
    cr_assert_eq(b.len, rounds * 8);
    cr_assert_geq(b.cap, b.len + 1);
    cr_assert_eq(b.data[b.len], '\0');
    for (size_t i = 0; i < rounds; i++) {
        const char *rec = b.data + i * 8;
        uint32_t v;
        memcpy(&v, rec + 4, 4);
        cr_assert(rec[0] == 'r' && rec[3] == (char)('0' + i % 10) && v == i, "record %zu", i);
    }
    sb_buf_free(&b);
}

Test(buf, impossible_size_sets_oom_until_reset)
{
    struct sb_buf b = {0};
    sb_buf_puts(&b, "keep");
    cr_assert_eq(sb_buf_reserve(&b, SIZE_MAX - 2), -1);
    cr_assert(b.oom);
    cr_assert_eq(sb_buf_append(&b, "x", 1), -1, "an oom buffer refuses appends");
    cr_assert_eq(sb_buf_printf(&b, "%d", 1), -1);
    cr_assert_eq(b.len, 4);
    cr_assert_str_eq(b.data, "keep");
    sb_buf_reset(&b);
    cr_assert_not(b.oom);
    cr_assert_eq(sb_buf_puts(&b, "ok"), 0);
    cr_assert_str_eq(b.data, "ok");
    sb_buf_free(&b);
}
