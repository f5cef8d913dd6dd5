/* Fuzz target `names`: file-name validation (plan_relpath_ok, plan_path_ok),
 * the artifact tar reader (tar_parse: archives come out of a sandbox, so are
 * untrusted) and the zip reader (zip_read: Judge0's additional_files, from
 * clients). Whatever is accepted must hold the documented promises: tar
 * names pass plan_relpath_ok and point into the archive; zip names are
 * relative without "." or ".." components, unique, within the bounds; and
 * form bodies (http_form_each: Judge0's form submissions), whose pairs must
 * be NUL-terminated and no longer than their encoding. (The plan and the
 * agent's messages are the `agent` target's.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/zip.h"
#include "fuzz_common.h"
#include "runner/tar.h"
#include "transport/http.h"
#include "sandbox/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARTIFACT_FILES 10000 /* as src/runner/job.c */

static bool inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;
    return q >= buf && q <= buf + len && n <= (size_t)(buf + len - q);
}

static void check_names(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    bool rel = plan_relpath_ok(s), abs = plan_path_ok(s);
    size_t n = strlen(s);
    if (rel && abs)
        abort(); /* one starts with '/', the other must not */
    if (rel || abs) {
        /* the promises: no "." or ".." component, no empty one, bounded */
        if (n == 0 || n >= PLAN_MAX_PATH || (rel && s[0] == '/') || (abs && s[0] != '/'))
            abort();
        if (n > 1 && s[n - 1] == '/')
            abort();
        if (strstr(s, "//") || strstr(s, "/./") || strstr(s, "/../") ||
            (n >= 2 && !strcmp(s + n - 2, "/.")) || (n >= 3 && !strcmp(s + n - 3, "/..")) ||
            !strcmp(s, ".") || !strcmp(s, "..") || !strncmp(s, "./", 2) || !strncmp(s, "../", 3))
            abort();
    }
    free(s);
}

static void check_tar(const uint8_t *data, size_t size)
{
    struct tar_list l;
    const char *why = NULL;
    if (tar_parse(data, size, MAX_ARTIFACT_FILES, &l, &why) < 0) {
        if (!why || l.n || l.v)
            abort();
        fuzz_touch(why);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        if (!plan_relpath_ok(l.v[i].name) || !inside(l.v[i].data, l.v[i].len, data, size))
            abort();
        if (l.v[i].mode != 0755 && l.v[i].mode != 0644)
            abort();
        for (size_t j = 0; j < i; j++)
            if (!strcmp(l.v[i].name, l.v[j].name))
                abort(); /* a later entry replaces an earlier one */
    }
    tar_free(&l);
}

#define ZIP_MAX_FILES 64
#define ZIP_MAX_BYTES (1u << 20)

static bool zip_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n && s[0] != '/' && s[n - 1] != '/' && !strstr(s, "//") && strcmp(s, ".") &&
           strcmp(s, "..") && strncmp(s, "./", 2) && strncmp(s, "../", 3) && !strstr(s, "/./") &&
           !strstr(s, "/../") && !(n >= 2 && !strcmp(s + n - 2, "/.")) &&
           !(n >= 3 && !strcmp(s + n - 3, "/.."));
}

static void check_zip(const uint8_t *data, size_t size)
{
    struct zip_list l;
    const char *why = NULL;
    if (zip_read(data, size, ZIP_MAX_FILES, ZIP_MAX_BYTES, &l, &why) < 0) {
        if (!why || l.n || l.v)
            abort();
        fuzz_touch(why);
        return;
    }
    size_t total = 0;
    if (l.n > ZIP_MAX_FILES)
        abort();
    for (size_t i = 0; i < l.n; i++) {
        if (!zip_name_ok(l.v[i].name) || !l.v[i].data)
            abort();
        total += l.v[i].len;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(l.v[i].name, l.v[j].name))
                abort(); /* the first of a name is kept */
    }
    if (total > ZIP_MAX_BYTES)
        abort();
    zip_free(&l);
}

struct form_check {
    size_t len, pairs;
};

static int on_pair(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct form_check *c = arg;
    if (name[nlen] != '\0' || value[vlen] != '\0' || nlen + vlen > c->len)
        abort();
    c->pairs++;
    return 0;
}

static void check_form(const uint8_t *data, size_t size)
{
    struct form_check c = {size, 0};
    if (http_form_each((const char *)data, size, on_pair, &c) == 0 &&
        c.pairs > size / 2 + 1)
        abort();          /* a pair takes at least one byte or one '&' */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libFuzzer's data is an exact-size heap copy: a read past it is caught */
    check_names(data, size);
    check_tar(data, size);
    check_zip(data, size);
    check_form(data, size);
    return 0;
}
