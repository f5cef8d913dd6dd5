/* Unit tests for src/server/pbdesc.c: FileDescriptorSet decoding, hand-encoded and hostile. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/grpc/pbdesc.h"

/* A tiny protobuf writer. */
struct pb {
    uint8_t *b;
    size_t n, cap;
};

static void put(struct pb *w, const void *p, size_t n)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->b = realloc(w->b, w->cap);
        cr_assert_not_null(w->b);
    }
    if (n)
        memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void varint(struct pb *w, uint64_t v)
{
    do {
        uint8_t b = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
        put(w, &b, 1);
        v >>= 7;
    } while (v);
}

static void tag(struct pb *w, uint32_t num, int wt)
{
    varint(w, (uint64_t)num << 3 | (uint64_t)wt);
}

/* A length-delimited field; returns the offset of its payload in w. */
static size_t bytes(struct pb *w, uint32_t num, const void *p, size_t n)
{
    tag(w, num, 2);
    varint(w, n);
    size_t off = w->n;
    put(w, p, n);
    return off;
}

static size_t str(struct pb *w, uint32_t num, const char *s)
{
    return bytes(w, num, s, strlen(s));
}

static size_t sub(struct pb *w, uint32_t num, const struct pb *m)
{
    return bytes(w, num, m->b, m->n);
}

static void raw(struct pb *w, const char *hex)
{
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        cr_assert_eq(sscanf(hex, "%2x", &v), 1);
        uint8_t b = (uint8_t)v;
        put(w, &b, 1);
    }
}

/* One unknown field of each wire type that must be skipped: varint, i64, len, i32. */
static void unknowns(struct pb *w)
{
    tag(w, 900, 0);
    varint(w, UINT64_MAX);
    tag(w, 901, 1);
    put(w, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    str(w, 902, "\x0a\x99 not a message");
    tag(w, 903, 5);
    put(w, "\xff\xff\xff\xff", 4);
}

static void reset(struct pb *w, const char *name)
{
    w->n = 0;
    if (name)
        str(w, 1, name);
}

static void pb_free(struct pb *w)
{
    free(w->b);
    *w = (struct pb){0};
}

/* The fixture: three files.
 *   common/v1/common.proto, package common.v1: message Status { enum Code;
 *     message Detail { message Inner } }, enum Color; name and package come
 *     after the definitions they qualify.
 *   svc/v1/svc.proto, package svc.v1, depends on common and empty.proto:
 *     message RunRequest, service Runner { Run, Stop }.
 *   bare.proto, no package: message Bare, service Plain { Go }. */
static void fixture(struct pb *set, size_t off[3])
{
    struct pb inner = {0}, detail = {0}, code = {0}, field = {0}, status = {0}, color = {0};
    struct pb file = {0}, m = {0}, svc = {0};
    reset(set, NULL);
    unknowns(set);

    reset(&inner, "Inner");
    unknowns(&inner);
    reset(&detail, "Detail");
    sub(&detail, 3, &inner);
    reset(&code, "Code");
    unknowns(&code);
    reset(&field, "code"); /* a FieldDescriptorProto: not a symbol */
    reset(&status, NULL);
    sub(&status, 2, &field);
    sub(&status, 4, &code);
    sub(&status, 3, &detail);
    unknowns(&status);
    str(&status, 1, "Status");
    reset(&color, "Color");
    reset(&file, NULL);
    sub(&file, 4, &status);
    str(&file, 1, "common/v1/common.proto");
    sub(&file, 5, &color);
    unknowns(&file);
    str(&file, 2, "common.v1");
    off[0] = sub(set, 1, &file);

    reset(&file, "svc/v1/svc.proto");
    str(&file, 2, "svc.v1");
    str(&file, 3, "common/v1/common.proto");
    str(&file, 3, "google/protobuf/empty.proto");
    reset(&m, "RunRequest");
    sub(&file, 4, &m);
    reset(&svc, "Runner");
    reset(&m, "Run");
    str(&m, 2, ".svc.v1.RunRequest");
    str(&m, 3, ".common.v1.Status");
    unknowns(&m);
    sub(&svc, 2, &m);
    reset(&m, "Stop");
    sub(&svc, 2, &m);
    unknowns(&svc);
    sub(&file, 6, &svc);
    off[1] = sub(set, 1, &file);
    unknowns(set);

    reset(&file, "bare.proto");
    reset(&m, "Bare");
    sub(&file, 4, &m);
    reset(&svc, "Plain");
    reset(&m, "Go");
    sub(&svc, 2, &m);
    sub(&file, 6, &svc);
    off[2] = sub(set, 1, &file);

    struct pb *all[] = {&inner, &detail, &code, &field, &status, &color, &file, &m, &svc};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        pb_free(all[i]);
}

/* Parses an exact-size heap copy, so that any over-read is caught by ASan. */
static int parse_copy(const uint8_t *p, size_t n, struct pbdesc *d, const char **why,
                      uint8_t **copy)
{
    *copy = malloc(n ? n : 1);
    cr_assert_not_null(*copy);
    if (n)
        memcpy(*copy, p, n);
    return pbdesc_parse(*copy, n, d, why);
}

static const char *fails(const struct pb *w)
{
    struct pbdesc d;
    const char *why = NULL;
    uint8_t *copy;
    cr_assert_eq(parse_copy(w->b, w->n, &d, &why, &copy), -1);
    free(copy);
    cr_assert_not_null(why);
    cr_assert(d.nfiles == 0 && !d.files && d.nsyms == 0 && !d.syms && d.nservices == 0 &&
              !d.services);
    return why;
}

static void fails_with(const struct pb *w, const char *needle)
{
    const char *why = fails(w);
    cr_assert(strstr(why, needle), "want \"%s\", got \"%s\"", needle, why);
}

static void fails_hex(const char *hex, const char *needle)
{
    struct pb w = {0};
    raw(&w, hex);
    fails_with(&w, needle);
    pb_free(&w);
}

static void succeeds_hex(const char *hex)
{
    struct pb w = {0};
    struct pbdesc d;
    const char *why = NULL;
    uint8_t *copy;
    raw(&w, hex);
    cr_assert_eq(parse_copy(w.b, w.n, &d, &why, &copy), 0, "%s: %s", hex, why);
    pbdesc_free(&d);
    free(copy);
    pb_free(&w);
}

Test(pbdesc, files_packages_and_dependencies)
{
    struct pb set = {0};
    size_t off[3];
    fixture(&set, off);
    struct pbdesc d;
    const char *why = NULL;
    cr_assert_eq(pbdesc_parse(set.b, set.n, &d, &why), 0, "%s", why);
    cr_assert_eq(d.nfiles, 3);
    const char *names[] = {"common/v1/common.proto", "svc/v1/svc.proto", "bare.proto"};
    const char *pkgs[] = {"common.v1", "svc.v1", ""};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_str_eq(d.files[i].name, names[i]);
        cr_assert_str_eq(d.files[i].package, pkgs[i]);
        cr_assert_eq(d.files[i].data, set.b + off[i]);
        cr_assert_eq(pbdesc_file_by_name(&d, names[i]), &d.files[i]);
    }
    cr_assert_eq(d.files[2].data + d.files[2].len, set.b + set.n);
    cr_assert_null(d.files[0].deps[0]);
    cr_assert_str_eq(d.files[1].deps[0], "common/v1/common.proto");
    cr_assert_str_eq(d.files[1].deps[1], "google/protobuf/empty.proto");
    cr_assert_null(d.files[1].deps[2]);
    cr_assert_null(pbdesc_file_by_name(&d, "google/protobuf/empty.proto"));
    cr_assert_null(pbdesc_file_by_name(&d, ""));
    cr_assert_null(pbdesc_file_by_name(&d, NULL));
    pbdesc_free(&d);
    pb_free(&set);
}

Test(pbdesc, symbols_and_services)
{
    struct pb set = {0};
    size_t off[3];
    fixture(&set, off);
    struct pbdesc d;
    const char *why = NULL;
    cr_assert_eq(pbdesc_parse(set.b, set.n, &d, &why), 0, "%s", why);
    const struct {
        const char *sym;
        int file;
    } cases[] = {
        {"common.v1.Status", 0},
        {".common.v1.Status", 0},
        {"common.v1.Status.Code", 0},
        {"common.v1.Status.Detail", 0},
        {".common.v1.Status.Detail.Inner", 0},
        {"common.v1.Color", 0},
        {"svc.v1.RunRequest", 1},
        {"svc.v1.Runner", 1},
        {"svc.v1.Runner.Run", 1},
        {".svc.v1.Runner.Stop", 1},
        {"Bare", 2},
        {".Plain", 2},
        {"Plain.Go", 2},
        {"common.v1.Status.code", -1}, /* a field */
        {"common.v1", -1},             /* a package */
        {"common.v1.Inner", -1},
        {"Status", -1},
        {"svc.v1.Run", -1},
        {"..common.v1.Status", -1},
        {"common.v1.Status.", -1},
        {"", -1},
        {".", -1},
        {NULL, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct pbdesc_file *f = pbdesc_file_by_symbol(&d, cases[i].sym);
        if (cases[i].file < 0)
            cr_assert_null(f, "%s", cases[i].sym);
        else
            cr_assert_eq(f, &d.files[cases[i].file], "%s", cases[i].sym);
    }
    cr_assert_eq(d.nsyms, 12);
    const char **svc;
    cr_assert_eq(pbdesc_services(&d, &svc), 2);
    cr_assert_str_eq(svc[0], "svc.v1.Runner");
    cr_assert_str_eq(svc[1], "Plain");
    pbdesc_free(&d);
    cr_assert_eq(d.nfiles, 0);
    pbdesc_free(&d); /* idempotent */
    pb_free(&set);
}

Test(pbdesc, empty_input_and_last_value_wins)
{
    struct pbdesc d;
    const char *why = NULL;
    cr_assert_eq(pbdesc_parse(NULL, 0, &d, &why), 0);
    cr_assert_eq(d.nfiles, 0);
    cr_assert_null(pbdesc_file_by_symbol(&d, "x"));
    const char **svc;
    cr_assert_eq(pbdesc_services(&d, &svc), 0);
    pbdesc_free(&d);
    cr_assert_eq(pbdesc_parse(NULL, 4, &d, &why), -1);

    struct pb set = {0}, file = {0}, m = {0};
    reset(&m, "Old");
    str(&m, 1, "New");
    reset(&file, "old.proto");
    str(&file, 2, "p");
    sub(&file, 4, &m);
    str(&file, 1, "new.proto");
    str(&file, 2, "q");
    sub(&set, 1, &file);
    cr_assert_eq(pbdesc_parse(set.b, set.n, &d, &why), 0, "%s", why);
    cr_assert_str_eq(d.files[0].name, "new.proto");
    cr_assert_str_eq(d.files[0].package, "q");
    cr_assert_not_null(pbdesc_file_by_symbol(&d, "q.New"));
    cr_assert_null(pbdesc_file_by_symbol(&d, "q.Old"));
    cr_assert_null(pbdesc_file_by_symbol(&d, "p.New"));
    pbdesc_free(&d);
    pb_free(&set);
    pb_free(&file);
    pb_free(&m);
}

Test(pbdesc, malformed_wire_data_is_refused)
{
    fails_hex("88", "truncated");                     /* tag varint cut short */
    fails_hex("28ffff", "truncated");                 /* value varint cut short */
    fails_hex("0a03", "truncated");                   /* no payload */
    fails_hex("0a050a0161", "truncated");             /* length beyond the buffer */
    fails_hex("0a030a05611204626364651a00", "truncated"); /* beyond its parent, not the buffer */
    fails_hex("0affffffffffffffffff01", "truncated"); /* length 2^64-1 */
    fails_hex("0aff", "truncated");
    fails_hex("09010203", "truncated");               /* i64 cut short */
    fails_hex("2d0102", "truncated");                 /* i32 cut short */
    fails_hex("13", "groups");                        /* start group */
    fails_hex("14", "groups");                        /* end group */
    fails_hex("0a040a016113", "groups");           
    fails_hex("0a030a016113", "groups");              /* a group inside a file */
    fails_hex("0a090a0161220410012b00", "groups");      /* ... inside a message */
    fails_hex("0e00", "wire type");
    fails_hex("0f00", "wire type");
    fails_hex("0200", "field number");                /* field 0 */
    fails_hex("8280808010" "00", "field number");     /* tag beyond 32 bits */
    fails_hex("28" "8080808080808080808000", "overlong"); /* 11 bytes */
    fails_hex("28" "ffffffffffffffffff02", "overlong");   /* 10 bytes, bit 64 set */
    fails_hex("88808080808080808080" "00", "overlong");
    succeeds_hex("28" "ffffffffffffffffff01");            /* UINT64_MAX is fine */
    succeeds_hex("28" "8000");                            /* non-minimal but legal */
    fails_hex("0801", "wrong wire type");             /* file as a varint */
    fails_hex("0a020801", "wrong wire type");         /* file name as a varint */
    fails_hex("0a05" "0a0161" "2001", "wrong wire type"); /* message as a varint */
    fails_hex("0a07" "0a0161" "22020801", "wrong wire type"); /* message name as a varint */
    fails_hex("0a0a" "0a0161" "32050a01531001", "wrong wire type"); /* method as a varint */
}

static void one_file(struct pb *set, const char *name, const char *pkg, const char *msg)
{
    struct pb file = {0}, m = {0};
    reset(&file, name);
    if (pkg)
        str(&file, 2, pkg);
    if (msg) {
        reset(&m, msg);
        sub(&file, 4, &m);
    }
    sub(set, 1, &file);
    pb_free(&file);
    pb_free(&m);
}

static void bad_name(const char *name, const char *pkg, const char *msg)
{
    struct pb set = {0};
    one_file(&set, name, pkg, msg);
    fails_with(&set, "name");
    pb_free(&set);
}

static void good_name(const char *name, const char *pkg, const char *msg)
{
    struct pb set = {0};
    struct pbdesc d;
    const char *why = NULL;
    one_file(&set, name, pkg, msg);
    cr_assert_eq(pbdesc_parse(set.b, set.n, &d, &why), 0, "%s %s %s: %s", name, pkg, msg, why);
    pbdesc_free(&d);
    pb_free(&set);
}

Test(pbdesc, bad_names_are_refused)
{
    bad_name("a\nb.proto", NULL, NULL);
    bad_name("a\x7f.proto", NULL, NULL);
    bad_name("\xc0\x80.proto", NULL, NULL);       /* overlong NUL */
    bad_name("\x80.proto", NULL, NULL);           /* stray continuation */
    bad_name("\xed\xa0\x80.proto", NULL, NULL);   /* surrogate */
    bad_name("\xf4\x90\x80\x80.proto", NULL, NULL); /* beyond U+10FFFF */
    bad_name("\xc2\x85.proto", NULL, NULL);       /* C1 control */
    bad_name("a.proto\xe2\x82", NULL, NULL);      /* cut short */
    bad_name("", NULL, NULL);
    bad_name("a.proto", ".p", NULL);
    bad_name("a.proto", "p.", NULL);
    bad_name("a.proto", "p..q", NULL);
    bad_name("a.proto", "p\tq", NULL);
    bad_name("a.proto", "p", "");
    bad_name("a.proto", "p", "A.B");
    bad_name("a.proto", "p", "A\x01");
    good_name("na\xc3\xafve/\xe2\x82\xac.proto", "p.q.r", "M\xc3\xa9");
    good_name("a.proto", "", "M");

    struct pb set = {0}, file = {0}, m = {0};
    bytes(&file, 1, "a\0b", 3);
    sub(&set, 1, &file);
    fails_with(&set, "name");
    reset(&set, NULL);
    reset(&file, NULL);
    str(&file, 2, "p");
    sub(&set, 1, &file);
    fails_with(&set, "without a name");
    reset(&set, NULL);
    reset(&file, "a.proto");
    str(&m, 2, "no name");
    sub(&file, 4, &m);
    sub(&set, 1, &file);
    fails_with(&set, "name");
    pb_free(&set);
    pb_free(&file);
    pb_free(&m);
}

Test(pbdesc, long_names_are_bounded)
{
    char name[PBDESC_MAX_NAME + 2];
    memset(name, 'a', sizeof name);
    name[PBDESC_MAX_NAME] = '\0';
    good_name(name, name, NULL);
    good_name("a.proto", NULL, name);
    name[PBDESC_MAX_NAME] = 'a';
    name[PBDESC_MAX_NAME + 1] = '\0';
    bad_name(name, NULL, NULL);
    bad_name("a.proto", name, NULL);
    bad_name("a.proto", NULL, name);
    name[PBDESC_MAX_NAME - 1] = '\0';
    bad_name("a.proto", "p", name); /* fine alone, too long once qualified */
}

Test(pbdesc, duplicates_are_refused)
{
    struct pb set = {0};
    one_file(&set, "a.proto", "p", "M");
    one_file(&set, "b.proto", "p", "M");
    fails_with(&set, "symbol twice");
    reset(&set, NULL);
    one_file(&set, "a.proto", "p", "M");
    one_file(&set, "a.proto", "q", "M");
    fails_with(&set, "file twice");
    reset(&set, NULL);
    struct pb file = {0}, m = {0};
    reset(&file, "a.proto");
    reset(&m, "X");
    sub(&file, 4, &m);
    sub(&file, 6, &m); /* a service of the same name */
    sub(&set, 1, &file);
    fails_with(&set, "symbol twice");
    pb_free(&set);
    pb_free(&file);
    pb_free(&m);
}

/* A file with one top-level message nested depth levels deep. */
static void nested(struct pb *set, int depth)
{
    struct pb a = {0}, b = {0}, file = {0};
    reset(&a, "A");
    for (int i = 1; i < depth; i++) {
        reset(&b, "A");
        sub(&b, 3, &a);
        struct pb t = a;
        a = b;
        b = t;
    }
    reset(&file, "deep.proto");
    sub(&file, 4, &a);
    reset(set, NULL);
    sub(set, 1, &file);
    pb_free(&a);
    pb_free(&b);
    pb_free(&file);
}

Test(pbdesc, nesting_is_bounded)
{
    struct pb set = {0};
    struct pbdesc d;
    const char *why = NULL;
    nested(&set, PBDESC_MAX_DEPTH);
    cr_assert_eq(pbdesc_parse(set.b, set.n, &d, &why), 0, "%s", why);
    cr_assert_eq(d.nsyms, PBDESC_MAX_DEPTH);
    char sym[2 * PBDESC_MAX_DEPTH];
    for (int i = 0; i < PBDESC_MAX_DEPTH; i++)
        memcpy(sym + 2 * i, "A.", 2);
    sym[2 * PBDESC_MAX_DEPTH - 1] = '\0';
    cr_assert_not_null(pbdesc_file_by_symbol(&d, sym));
    pbdesc_free(&d);
    nested(&set, PBDESC_MAX_DEPTH + 1);
    fails_with(&set, "deeply");
    nested(&set, 1000);
    fails_with(&set, "deeply");
    pb_free(&set);
}

Test(pbdesc, counts_and_size_are_bounded)
{
    struct pb set = {0}, file = {0};
    char name[32];
    for (int i = 0; i <= PBDESC_MAX_FILES; i++) {
        snprintf(name, sizeof name, "f%d.proto", i);
        one_file(&set, name, NULL, NULL);
    }
    fails_with(&set, "too many files");

    reset(&set, NULL);
    reset(&file, "a.proto");
    for (int i = 0; i <= PBDESC_MAX_DEPS; i++)
        str(&file, 3, "dep.proto");
    sub(&set, 1, &file);
    fails_with(&set, "too many dependencies");

    reset(&set, NULL);
    reset(&file, "a.proto");
    for (int i = 0; i <= PBDESC_MAX_SYMBOLS; i++) {
        struct pb e = {0};
        snprintf(name, sizeof name, "E%d", i);
        reset(&e, name);
        sub(&file, 5, &e);
        pb_free(&e);
    }
    sub(&set, 1, &file);
    fails_with(&set, "too many symbols");

    uint8_t *big = calloc(1, PBDESC_MAX_INPUT + 1);
    cr_assert_not_null(big);
    struct pbdesc d;
    const char *why = NULL;
    cr_assert_eq(pbdesc_parse(big, PBDESC_MAX_INPUT + 1, &d, &why), -1);
    cr_assert(strstr(why, "too large"));
    free(big);
    pb_free(&set);
    pb_free(&file);
}

/* Whatever a successful parse returns must be consistent and inside buf. */
static void check_sane(const struct pbdesc *d, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < d->nfiles; i++) {
        const struct pbdesc_file *f = &d->files[i];
        cr_assert(f->data >= buf && f->len <= len && f->data - buf <= (ptrdiff_t)(len - f->len));
        cr_assert(f->name && f->name[0] && f->package && f->deps);
        for (char **p = f->deps; *p; p++)
            cr_assert(strlen(*p) <= PBDESC_MAX_NAME);
        cr_assert_eq(pbdesc_file_by_name(d, f->name), f);
    }
    for (size_t i = 0; i < d->nsyms; i++) {
        cr_assert_lt(d->syms[i].file, d->nfiles);
        cr_assert_eq(pbdesc_file_by_symbol(d, d->syms[i].name), &d->files[d->syms[i].file]);
    }
    for (size_t i = 0; i < d->nservices; i++)
        cr_assert_not_null(pbdesc_file_by_symbol(d, d->services[i]));
}

static int try_parse(const uint8_t *p, size_t n)
{
    struct pbdesc d;
    const char *why = NULL;
    uint8_t *copy;
    int rc = parse_copy(p, n, &d, &why, &copy);
    if (rc == 0)
        check_sane(&d, copy, n);
    else
        cr_assert(why && d.nfiles == 0 && !d.files && !d.syms && !d.services);
    pbdesc_free(&d);
    free(copy);
    return rc;
}

Test(pbdesc, truncated_and_corrupted_sets_never_crash)
{
    struct pb set = {0};
    size_t off[3];
    fixture(&set, off);
    cr_assert_eq(try_parse(set.b, set.n), 0);
    size_t ok = 0;
    for (size_t n = 0; n < set.n; n++)
        ok += try_parse(set.b, n) == 0;
    cr_assert_lt(ok, set.n); /* most cuts land inside a field */
    uint8_t *m = malloc(set.n);
    cr_assert_not_null(m);
    for (size_t i = 0; i < set.n; i++)
        for (unsigned x = 1; x < 256; x++) {
            memcpy(m, set.b, set.n);
            m[i] ^= (uint8_t)x;
            try_parse(m, set.n);
        }
    free(m);
    pb_free(&set);
}
