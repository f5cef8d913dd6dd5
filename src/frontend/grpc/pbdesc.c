/* Hand-written protobuf wire decoding of a FileDescriptorSet: files, dependencies and symbol index. */
#include "frontend/grpc/pbdesc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Field numbers from google/protobuf/descriptor.proto. */
enum {
    SET_FILE = 1,
    FILE_NAME = 1, FILE_PACKAGE = 2, FILE_DEPENDENCY = 3,
    FILE_MESSAGE = 4, FILE_ENUM = 5, FILE_SERVICE = 6,
    MSG_NAME = 1, MSG_NESTED = 3, MSG_ENUM = 4,
    SVC_METHOD = 2,
};

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

static const char E_TRUNC[] = "descriptor set is truncated";
static const char E_NAME[] = "descriptor set has an empty, overlong or unprintable name";
static const char E_OOM[] = "out of memory";

struct span {
    const uint8_t *p;
    size_t n;
};

struct field {
    uint32_t num;
    int wt;
    uint64_t v;    /* WT_VARINT */
    struct span s; /* WT_LEN, WT_I64, WT_I32 */
};

struct ctx {
    struct pbdesc *d;
    const char *why;
    size_t filecap, symcap, svccap, depcap, ndeps;
};

static int fail(struct ctx *c, const char *why)
{
    c->why = why;
    return -1;
}

/* Room for need elements of size bytes: the (possibly moved) array, or NULL. */
static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return v;
    size_t nc = *cap ? *cap : 8;
    while (nc < need)
        nc *= 2;
    if (nc > SIZE_MAX / size)
        return NULL;
    void *p = realloc(v, nc * size);
    if (p)
        *cap = nc;
    return p;
}

/* Wire format */

static int varint(struct ctx *c, struct span *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (r->n == 0)
            return fail(c, E_TRUNC);
        uint8_t b = *r->p++;
        r->n--;
        if (i == 9 && b > 1) /* an 11th byte, or bits beyond 64 */
            return fail(c, "descriptor set has an overlong varint");
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return fail(c, "descriptor set has an overlong varint"); /* not reached */
}

static int take(struct ctx *c, struct span *r, uint64_t n, struct span *out)
{
    if (n > r->n)
        return fail(c, E_TRUNC);
    *out = (struct span){r->p, (size_t)n};
    r->p += n;
    r->n -= n;
    return 0;
}

/* The next field of a message body: 1 with *f filled, 0 at its end, -1 on error. */
static int next_field(struct ctx *c, struct span *r, struct field *f)
{
    if (r->n == 0)
        return 0;
    uint64_t tag, len;
    if (varint(c, r, &tag) < 0)
        return -1;
    if (tag > UINT32_MAX || tag >> 3 == 0)
        return fail(c, "descriptor set has an invalid field number");
    f->num = (uint32_t)(tag >> 3);
    f->wt = (int)(tag & 7);
    switch (f->wt) {
    case WT_VARINT:
        return varint(c, r, &f->v) < 0 ? -1 : 1;
    case WT_I64:
        return take(c, r, 8, &f->s) < 0 ? -1 : 1;
    case WT_LEN:
        if (varint(c, r, &len) < 0 || take(c, r, len, &f->s) < 0)
            return -1;
        return 1;
    case WT_I32:
        return take(c, r, 4, &f->s) < 0 ? -1 : 1;
    case WT_SGROUP:
    case WT_EGROUP:
        return fail(c, "descriptor set uses groups");
    default:
        return fail(c, "descriptor set has an invalid wire type");
    }
}

static int want_len(struct ctx *c, const struct field *f)
{
    if (f->wt != WT_LEN)
        return fail(c, "descriptor set has a field of the wrong wire type");
    return 0;
}

/* Names */

/* Printable UTF-8: no control characters (so no NUL), overlong forms or surrogates. */
static int printable_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (b < 0x80) {
            if (b < 0x20 || b == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((b & 0xe0) == 0xc0)
            k = 1, cp = b & 0x1f, min = 0x80;
        else if ((b & 0xf0) == 0xe0)
            k = 2, cp = b & 0x0f, min = 0x800;
        else if ((b & 0xf8) == 0xf0)
            k = 3, cp = b & 0x07, min = 0x10000;
        else
            return 0;
        if (k >= n - i)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if (cp < min || cp < 0xa0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

enum name_kind { NAME_FILE, NAME_PACKAGE, NAME_IDENT };

/* Identifiers hold no '.', and a package no empty component, so that
 * fully-qualified names are unambiguous. */
static int name_ok(struct span s, enum name_kind kind)
{
    if (s.n > PBDESC_MAX_NAME || !printable_utf8(s.p, s.n))
        return 0;
    if (kind == NAME_PACKAGE) {
        for (size_t i = 0; i < s.n; i++)
            if (s.p[i] == '.' && (i == 0 || i == s.n - 1 || s.p[i - 1] == '.'))
                return 0;
        return 1;
    }
    if (s.n == 0)
        return 0;
    return kind != NAME_IDENT || !memchr(s.p, '.', s.n);
}

/* Replaces *dst with a copy of s (protobuf: the last value of a field wins). */
static int set_string(struct ctx *c, char **dst, struct span s, enum name_kind kind)
{
    if (!name_ok(s, kind))
        return fail(c, E_NAME);
    char *v = strndup((const char *)s.p, s.n);
    if (!v)
        return fail(c, E_OOM);
    free(*dst);
    *dst = v;
    return 0;
}

/* The last name (field 1) of a message body; empty when absent. */
static int name_of(struct ctx *c, struct span body, struct span *name)
{
    struct field f;
    int rc;
    *name = (struct span){(const uint8_t *)"", 0};
    while ((rc = next_field(c, &body, &f)) > 0) {
        if (f.num != MSG_NAME)
            continue;
        if (want_len(c, &f) < 0)
            return -1;
        *name = f.s;
    }
    return rc;
}

/* Symbols */

/* Records prefix.name (just name under an empty prefix) for the file being
 * walked; *full gets the stored string, which lives as long as d. */
static int add_symbol(struct ctx *c, const char *prefix, struct span name, const char **full)
{
    struct pbdesc *d = c->d;
    size_t plen = strlen(prefix);
    if (!name_ok(name, NAME_IDENT) || (plen ? plen + 1 : 0) + name.n > PBDESC_MAX_NAME)
        return fail(c, E_NAME);
    if (d->nsyms >= PBDESC_MAX_SYMBOLS)
        return fail(c, "descriptor set defines too many symbols");
    struct pbdesc_symbol *v = grow(d->syms, &c->symcap, d->nsyms + 1, sizeof *v);
    char *s = malloc(plen + 1 + name.n + 1);
    if (v)
        d->syms = v;
    if (!v || !s) {
        free(s);
        return fail(c, E_OOM);
    }
    char *w = s;
    if (plen) {
        memcpy(w, prefix, plen);
        w += plen;
        *w++ = '.';
    }
    memcpy(w, name.p, name.n);
    w[name.n] = '\0';
    d->syms[d->nsyms++] = (struct pbdesc_symbol){s, d->nfiles - 1};
    *full = s;
    return 0;
}

static int walk_enum(struct ctx *c, const char *prefix, struct span body)
{
    struct span name;
    const char *full;
    if (name_of(c, body, &name) < 0 || add_symbol(c, prefix, name, &full) < 0)
        return -1;
    return 0;
}

static int walk_message(struct ctx *c, const char *prefix, struct span body, int depth)
{
    if (depth > PBDESC_MAX_DEPTH)
        return fail(c, "descriptor set nests messages too deeply");
    struct span name;
    const char *full;
    if (name_of(c, body, &name) < 0 || add_symbol(c, prefix, name, &full) < 0)
        return -1;
    struct field f;
    int rc;
    while ((rc = next_field(c, &body, &f)) > 0) {
        if (f.num != MSG_NESTED && f.num != MSG_ENUM)
            continue;
        if (want_len(c, &f) < 0)
            return -1;
        if (f.num == MSG_NESTED)
            rc = walk_message(c, full, f.s, depth + 1);
        else
            rc = walk_enum(c, full, f.s);
        if (rc < 0)
            return -1;
    }
    return rc;
}

static int walk_service(struct ctx *c, const char *prefix, struct span body)
{
    struct pbdesc *d = c->d;
    struct span name;
    const char *full, *method;
    if (name_of(c, body, &name) < 0 || add_symbol(c, prefix, name, &full) < 0)
        return -1;
    const char **v = grow(d->services, &c->svccap, d->nservices + 1, sizeof *v);
    if (!v)
        return fail(c, E_OOM);
    d->services = v;
    d->services[d->nservices++] = full;
    struct field f;
    int rc;
    while ((rc = next_field(c, &body, &f)) > 0) {
        if (f.num != SVC_METHOD)
            continue;
        if (want_len(c, &f) < 0 || name_of(c, f.s, &name) < 0 ||
            add_symbol(c, full, name, &method) < 0)
            return -1;
    }
    return rc;
}

/* Files */

static int add_dep(struct ctx *c, struct pbdesc_file *file, struct span s)
{
    if (c->ndeps >= PBDESC_MAX_DEPS)
        return fail(c, "descriptor set file has too many dependencies");
    char **v = grow(file->deps, &c->depcap, c->ndeps + 2, sizeof *v);
    if (!v)
        return fail(c, E_OOM);
    file->deps = v;
    file->deps[c->ndeps] = NULL;
    if (set_string(c, &file->deps[c->ndeps], s, NAME_FILE) < 0)
        return -1;
    file->deps[++c->ndeps] = NULL;
    return 0;
}

/* First pass over a FileDescriptorProto: name, package and dependencies, which
 * may come in any order relative to the definitions they qualify. */
static int file_header(struct ctx *c, struct pbdesc_file *file, struct span body)
{
    struct field f;
    int rc;
    while ((rc = next_field(c, &body, &f)) > 0) {
        if (f.num < FILE_NAME || f.num > FILE_SERVICE)
            continue;
        if (want_len(c, &f) < 0)
            return -1;
        if (f.num == FILE_NAME)
            rc = set_string(c, &file->name, f.s, NAME_FILE);
        else if (f.num == FILE_PACKAGE)
            rc = set_string(c, &file->package, f.s, NAME_PACKAGE);
        else if (f.num == FILE_DEPENDENCY)
            rc = add_dep(c, file, f.s);
        if (rc < 0)
            return -1;
    }
    if (rc == 0 && !file->name)
        return fail(c, "descriptor set has a file without a name");
    return rc;
}

static int parse_file(struct ctx *c, struct span body)
{
    struct pbdesc *d = c->d;
    if (d->nfiles >= PBDESC_MAX_FILES)
        return fail(c, "descriptor set holds too many files");
    struct pbdesc_file *v = grow(d->files, &c->filecap, d->nfiles + 1, sizeof *v);
    if (!v)
        return fail(c, E_OOM);
    d->files = v;
    struct pbdesc_file *file = &d->files[d->nfiles++];
    *file = (struct pbdesc_file){.data = body.p, .len = body.n};
    c->ndeps = 0;
    file->deps = calloc(1, sizeof *file->deps);
    file->package = strdup("");
    if (!file->deps || !file->package)
        return fail(c, E_OOM);
    c->depcap = 1;
    if (file_header(c, file, body) < 0)
        return -1;
    const char *pkg = file->package;
    struct field f;
    int rc;
    /* Second pass: file_header has checked that fields 4-6 are length-delimited. */
    while ((rc = next_field(c, &body, &f)) > 0) {
        if (f.num == FILE_MESSAGE)
            rc = walk_message(c, pkg, f.s, 1);
        else if (f.num == FILE_ENUM)
            rc = walk_enum(c, pkg, f.s);
        else if (f.num == FILE_SERVICE)
            rc = walk_service(c, pkg, f.s);
        if (rc < 0)
            return -1;
    }
    return rc;
}

static int cmp_sym(const void *a, const void *b)
{
    return strcmp(((const struct pbdesc_symbol *)a)->name, ((const struct pbdesc_symbol *)b)->name);
}

/* Sorts the symbol index; protoc would never emit a name twice, so a set that does is refused. */
static int index_symbols(struct ctx *c)
{
    struct pbdesc *d = c->d;
    if (d->nsyms)
        qsort(d->syms, d->nsyms, sizeof *d->syms, cmp_sym);
    for (size_t i = 1; i < d->nsyms; i++)
        if (!strcmp(d->syms[i - 1].name, d->syms[i].name))
            return fail(c, "descriptor set defines a symbol twice");
    for (size_t i = 0; i < d->nfiles; i++)
        for (size_t j = i + 1; j < d->nfiles; j++)
            if (!strcmp(d->files[i].name, d->files[j].name))
                return fail(c, "descriptor set holds a file twice");
    return 0;
}

int pbdesc_parse(const uint8_t *buf, size_t len, struct pbdesc *out, const char **why)
{
    struct ctx c = {.d = out};
    memset(out, 0, sizeof *out);
    if (len > PBDESC_MAX_INPUT) {
        *why = "descriptor set is too large";
        return -1;
    }
    if (!buf && len) {
        *why = E_TRUNC;
        return -1;
    }
    struct span r = {buf ? buf : (const uint8_t *)"", len};
    struct field f;
    int rc;
    while ((rc = next_field(&c, &r, &f)) > 0) {
        if (f.num != SET_FILE)
            continue;
        if (want_len(&c, &f) < 0 || parse_file(&c, f.s) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        rc = index_symbols(&c);
    if (rc < 0) {
        *why = c.why;
        pbdesc_free(out);
        return -1;
    }
    return 0;
}

void pbdesc_free(struct pbdesc *d)
{
    for (size_t i = 0; i < d->nfiles; i++) {
        struct pbdesc_file *f = &d->files[i];
        for (size_t j = 0; f->deps && f->deps[j]; j++)
            free(f->deps[j]);
        free(f->deps);
        free(f->name);
        free(f->package);
    }
    free(d->files);
    for (size_t i = 0; i < d->nsyms; i++)
        free(d->syms[i].name);
    free(d->syms);
    free(d->services);
    memset(d, 0, sizeof *d);
}

const struct pbdesc_file *pbdesc_file_by_name(const struct pbdesc *d, const char *name)
{
    for (size_t i = 0; name && i < d->nfiles; i++)
        if (!strcmp(d->files[i].name, name))
            return &d->files[i];
    return NULL;
}

const struct pbdesc_file *pbdesc_file_by_symbol(const struct pbdesc *d, const char *symbol)
{
    if (!symbol || !d->nsyms)
        return NULL;
    if (symbol[0] == '.')
        symbol++;
    struct pbdesc_symbol key = {(char *)symbol, 0};
    const struct pbdesc_symbol *s = bsearch(&key, d->syms, d->nsyms, sizeof key, cmp_sym);
    return s ? &d->files[s->file] : NULL;
}

size_t pbdesc_services(const struct pbdesc *d, const char ***names)
{
    *names = d->services;
    return d->nservices;
}
