/* Unit tests for src/runner/tar.c: the artifact tar reader, fed hostile archives. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/tar.h"

/* A tiny archive writer: ustar headers with a valid checksum. */
struct ar {
    uint8_t buf[64 * 512];
    size_t len;
};

static void header(struct ar *a, const char *name, char type, const char *mode, size_t size,
                   const char *prefix)
{
    uint8_t *h = a->buf + a->len;
    memset(h, 0, 512);
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    snprintf((char *)h + 100, 8, "%s", mode);
    snprintf((char *)h + 124, 12, "%011zo", size);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    if (prefix)
        memcpy(h + 345, prefix, strlen(prefix));
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    a->len += 512;
}

static void entry(struct ar *a, const char *name, char type, const char *mode, const char *data)
{
    size_t n = data ? strlen(data) : 0;
    header(a, name, type, mode, n, NULL);
    if (n) {
        memset(a->buf + a->len, 0, (n + 511) / 512 * 512);
        memcpy(a->buf + a->len, data, n);
        a->len += (n + 511) / 512 * 512;
    }
}

static void end(struct ar *a)
{
    memset(a->buf + a->len, 0, 1024);
    a->len += 1024;
}

static const char *parse_fails(struct ar *a)
{
    struct tar_list l;
    const char *why = NULL;
    cr_assert_eq(tar_parse(a->buf, a->len, 16, &l, &why), -1);
    cr_assert_eq(l.n, 0);
    cr_assert_not_null(why);
    return why;
}

Test(tar, regular_files_and_directories)
{
    static struct ar a;
    a.len = 0;
    entry(&a, "./", '5', "0755", NULL);
    entry(&a, "./bin/", '5', "0755", NULL);
    entry(&a, "./bin/app", '0', "0700", "#!/bin/sh\necho hi\n");
    entry(&a, "data.txt", '0', "0600", "hello");
    end(&a);
    struct tar_list l;
    const char *why = NULL;
    cr_assert_eq(tar_parse(a.buf, a.len, 16, &l, &why), 0, "%s", why);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[0].name, "bin/app");
    cr_assert_eq(l.v[0].len, 18);
    cr_assert_eq(memcmp(l.v[0].data, "#!/bin/sh\necho hi\n", 18), 0);
    cr_assert_eq(l.v[0].mode, 0755);
    cr_assert_str_eq(l.v[1].name, "data.txt");
    cr_assert_eq(l.v[1].mode, 0644);
    tar_free(&l);
}

Test(tar, ustar_prefix_and_gnu_long_names)
{
    static struct ar a;
    a.len = 0;
    header(&a, "file.class", '0', "0644", 2, "com/example/deep");
    memcpy(a.buf + a.len, "ok", 2);
    memset(a.buf + a.len + 2, 0, 510);
    a.len += 512;
    char longname[300];
    memset(longname, 'x', 250);
    strcpy(longname + 250, "/y.txt");
    entry(&a, "././@LongLink", 'L', "0644", longname);
    entry(&a, "truncated-name", '0', "0644", "z");
    end(&a);
    struct tar_list l;
    const char *why = NULL;
    cr_assert_eq(tar_parse(a.buf, a.len, 16, &l, &why), 0, "%s", why);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[0].name, "com/example/deep/file.class");
    cr_assert_str_eq(l.v[1].name, longname);
    tar_free(&l);
}

Test(tar, a_later_entry_replaces_an_earlier_one)
{
    static struct ar a;
    a.len = 0;
    entry(&a, "f", '0', "0644", "one");
    entry(&a, "./f", '0', "0755", "two!");
    end(&a);
    struct tar_list l;
    const char *why = NULL;
    cr_assert_eq(tar_parse(a.buf, a.len, 16, &l, &why), 0);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.v[0].len, 4);
    cr_assert_eq(l.v[0].mode, 0755);
    tar_free(&l);
}

Test(tar, missing_end_blocks_are_accepted)
{
    static struct ar a;
    a.len = 0;
    entry(&a, "f", '0', "0644", "abc");
    struct tar_list l;
    const char *why = NULL;
    cr_assert_eq(tar_parse(a.buf, a.len, 16, &l, &why), 0);
    cr_assert_eq(l.n, 1);
    tar_free(&l);
}

Test(tar, links_devices_and_fifos_are_refused)
{
    const char types[] = {'1', '2', '3', '4', '6', 'x', 'g', 'K', 'S'};
    for (size_t i = 0; i < sizeof types; i++) {
        static struct ar a;
        a.len = 0;
        entry(&a, "ok", '0', "0644", "x");
        entry(&a, "evil", types[i], "0644", NULL);
        end(&a);
        const char *why = parse_fails(&a);
        cr_assert(strstr(why, "non-regular"), "type %c: %s", types[i], why);
    }
}

Test(tar, unsafe_names_are_refused)
{
    const char *names[] = {"/etc/passwd", "../x", "a/../../x", "a/..", "..", "a//b"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        static struct ar a;
        a.len = 0;
        entry(&a, names[i], '0', "0644", "x");
        end(&a);
        const char *why = parse_fails(&a);
        cr_assert(strstr(why, "unsafe file name"), "%s: %s", names[i], why);
    }
    static struct ar a;
    a.len = 0;
    entry(&a, "././@LongLink", 'L', "0644", "../../etc/shadow");
    entry(&a, "innocent", '0', "0644", "x");
    end(&a);
    cr_assert(strstr(parse_fails(&a), "unsafe file name"));
}

Test(tar, bad_checksum_and_headers_are_refused)
{
    static struct ar a;
    a.len = 0;
    entry(&a, "f", '0', "0644", "abc");
    end(&a);
    a.buf[0] = 'g'; /* the checksum no longer matches */
    cr_assert(strstr(parse_fails(&a), "checksum"));

    a.len = 0;
    header(&a, "f", '0', "0644", 3, NULL);
    memcpy(a.buf + 124, "99999999999", 11); /* not octal */
    memset(a.buf + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += a.buf[i];
    snprintf((char *)a.buf + 148, 8, "%06o", sum);
    end(&a);
    cr_assert(strstr(parse_fails(&a), "bad header"));
}

Test(tar, sizes_beyond_the_data_are_truncation)
{
    static struct ar a;
    a.len = 0;
    header(&a, "f", '0', "0644", 1u << 20, NULL);
    memset(a.buf + a.len, 'x', 512);
    a.len += 512;
    cr_assert(strstr(parse_fails(&a), "truncated"));
    a.len = 300; /* a header cut short */
    cr_assert(strstr(parse_fails(&a), "truncated"));
}

Test(tar, too_many_files)
{
    static struct ar a;
    a.len = 0;
    for (int i = 0; i < 17; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        entry(&a, name, '0', "0644", "x");
    }
    end(&a);
    cr_assert(strstr(parse_fails(&a), "too many files"));
}

Test(tar, bad_long_names)
{
    static struct ar a;
    a.len = 0;
    entry(&a, "././@LongLink", 'L', "0644", NULL); /* empty */
    entry(&a, "f", '0', "0644", "x");
    end(&a);
    cr_assert(strstr(parse_fails(&a), "long name"));
}

/* Every prefix and every single-byte corruption of a valid archive parses or
 * fails cleanly (run under ASan in CI). */
Test(tar, truncations_and_bit_flips_never_crash)
{
    static struct ar a, b;
    a.len = 0;
    entry(&a, "./dir/", '5', "0755", NULL);
    entry(&a, "./dir/app", '0', "0755", "binary\x7f" "ELF...");
    entry(&a, "././@LongLink", 'L', "0644", "dir/long-long-name.txt");
    entry(&a, "x", '0', "0644", "text");
    end(&a);
    for (size_t cut = 0; cut <= a.len; cut += 7) {
        struct tar_list l;
        const char *why;
        if (tar_parse(a.buf, cut, 16, &l, &why) == 0)
            tar_free(&l);
    }
    for (size_t i = 0; i < a.len; i += 3) {
        memcpy(&b, &a, sizeof a);
        b.buf[i] ^= (uint8_t)(0x5a + i);
        struct tar_list l;
        const char *why;
        if (tar_parse(b.buf, b.len, 16, &l, &why) == 0) {
            for (size_t k = 0; k < l.n; k++) {
                cr_assert(l.v[k].data >= b.buf && l.v[k].data + l.v[k].len <= b.buf + b.len);
                cr_assert_neq(l.v[k].name[0], '/');
                cr_assert_null(strstr(l.v[k].name, ".."));
            }
            tar_free(&l);
        }
    }
}
