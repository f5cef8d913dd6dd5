/* Compile cache: "<dir>/<key>" = magic | sha256(content) | length | content. */
#include "runner/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"

#define MAGIC "SBCACHE1"
#define HEADER (8 + 32 + 8)

struct entry {
    char key[65];
    uint64_t size;
    uint64_t used;       /* last use, for LRU */
};

struct compile_cache {
    uv_loop_t *loop;
    char dir[512];
    uint64_t max_bytes;
    uint64_t bytes;
    struct entry *v;
    size_t n, cap;
    uint64_t clock;      /* logical time for LRU order */
    struct cache_stats st;
    unsigned busy;       /* work requests in flight */
    bool closing;
};

struct work {
    uv_work_t w;
    struct compile_cache *c;
    char key[65];
    uint8_t *data;
    size_t len;
    cache_get_cb cb;
    void *arg;
    bool corrupt;
};

static struct entry *find(struct compile_cache *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].key, key))
            return &c->v[i];
    return NULL;
}

static void forget(struct compile_cache *c, struct entry *e)
{
    c->bytes -= e->size;
    *e = c->v[--c->n];
}

static void remember(struct compile_cache *c, const char *key, uint64_t size)
{
    struct entry *e = find(c, key);
    if (e) {
        c->bytes -= e->size;
    } else {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 64;
            struct entry *v = realloc(c->v, cap * sizeof *v);
            if (!v)
                return;
            c->v = v;
            c->cap = cap;
        }
        e = &c->v[c->n++];
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    e->size = size;
    e->used = ++c->clock;
    c->bytes += size;
}

static void path_of(const struct compile_cache *c, const char *key, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", c->dir, key);
}

static bool key_ok(const char *key)
{
    return strlen(key) == 64 && strspn(key, "0123456789abcdef") == 64;
}

/* ---- reading ---- */

static void read_work(uv_work_t *w)
{
    struct work *k = w->data;
    char path[600];
    path_of(k->c, k->key, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    struct stat st;
    uint8_t head[HEADER];
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < HEADER ||
        pread(fd, head, HEADER, 0) != HEADER || memcmp(head, MAGIC, 8)) {
        close(fd);
        k->corrupt = true;
        return;
    }
    uint64_t len;
    memcpy(&len, head + 40, 8);
    if (len != (uint64_t)st.st_size - HEADER || !(k->data = malloc(len ? len : 1))) {
        close(fd);
        k->corrupt = true;
        return;
    }
    size_t got = 0;
    ssize_t r;
    while (got < len && (r = pread(fd, k->data + got, len - got, HEADER + (off_t)got)) > 0)
        got += (size_t)r;
    close(fd);
    uint8_t digest[32];
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, k->data, got);
    sha256_final(&h, digest);
    if (got != len || memcmp(digest, head + 8, 32)) {
        free(k->data);
        k->data = NULL;
        k->corrupt = true; /* tampered with or truncated: never used */
        return;
    }
    k->len = len;
    /* Freshen the mtime so a restart rebuilds the LRU order roughly right. */
    utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
}

static void read_done(uv_work_t *w, int status)
{
    struct work *k = w->data;
    struct compile_cache *c = k->c;
    c->busy--;
    if (status < 0 || !k->data) {
        free(k->data);
        k->data = NULL;
    }
    if (k->corrupt) {
        char path[600];
        path_of(c, k->key, path, sizeof path);
        unlink(path);
        struct entry *e = find(c, k->key);
        if (e)
            forget(c, e);
        log_event(LOG_WARN, "compile cache entry failed verification; removed",
                  json_pack("{s:s}", "key", k->key));
    }
    if (k->data) {
        c->st.hits++;
        remember(c, k->key, k->len + HEADER);
    } else {
        c->st.misses++;
    }
    k->cb(k->arg, k->data, k->len);
    free(k);
    if (c->closing && c->busy == 0)
        cache_close(c);
}

void cache_get(struct compile_cache *c, const char *key, cache_get_cb cb, void *arg)
{
    struct work *k = calloc(1, sizeof *k);
    if (!k || !key_ok(key)) {
        free(k);
        cb(arg, NULL, 0);
        return;
    }
    k->c = c;
    snprintf(k->key, sizeof k->key, "%s", key);
    k->cb = cb;
    k->arg = arg;
    k->w.data = k;
    c->busy++;
    if (uv_queue_work(c->loop, &k->w, read_work, read_done) < 0) {
        c->busy--;
        free(k);
        cb(arg, NULL, 0);
    }
}

/* ---- writing ---- */

static void write_work(uv_work_t *w)
{
    struct work *k = w->data;
    char path[600], tmp[640];
    path_of(k->c, k->key, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%d.%p.tmp", path, (int)getpid(), (void *)k);
    uint8_t head[HEADER];
    memcpy(head, MAGIC, 8);
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, k->data, k->len);
    sha256_final(&h, head + 8);
    uint64_t len = k->len;
    memcpy(head + 40, &len, 8);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        k->corrupt = true;
        return;
    }
    bool ok = write(fd, head, HEADER) == HEADER;
    for (size_t off = 0; ok && off < k->len;) {
        ssize_t n = write(fd, k->data + off, k->len - off);
        ok = n > 0;
        off += ok ? (size_t)n : 0;
    }
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        k->corrupt = true; /* disk full or the like: simply not cached */
    }
}

static void evict(struct compile_cache *c)
{
    while (c->bytes > c->max_bytes && c->n > 0) {
        size_t oldest = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->v[i].used < c->v[oldest].used)
                oldest = i;
        char path[600];
        path_of(c, c->v[oldest].key, path, sizeof path);
        unlink(path);
        forget(c, &c->v[oldest]);
        c->st.evictions++;
    }
}

static void write_done(uv_work_t *w, int status)
{
    struct work *k = w->data;
    struct compile_cache *c = k->c;
    c->busy--;
    if (status == 0 && !k->corrupt) {
        remember(c, k->key, k->len + HEADER);
        evict(c);
    }
    free(k->data);
    free(k);
    if (c->closing && c->busy == 0)
        cache_close(c);
}

void cache_put(struct compile_cache *c, const char *key, const uint8_t *data, size_t len)
{
    if (!key_ok(key) || len + HEADER > c->max_bytes)
        return;
    struct work *k = calloc(1, sizeof *k);
    if (!k || !(k->data = malloc(len ? len : 1))) {
        free(k);
        return;
    }
    memcpy(k->data, data, len);
    k->len = len;
    k->c = c;
    snprintf(k->key, sizeof k->key, "%s", key);
    k->w.data = k;
    c->busy++;
    if (uv_queue_work(c->loop, &k->w, write_work, write_done) < 0) {
        c->busy--;
        free(k->data);
        free(k);
    }
}

/* ---- opening ---- */

static int scan(struct compile_cache *c)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return -errno;
    struct dirent *e;
    struct { char key[65]; uint64_t size, mtime; } *found = NULL;
    size_t n = 0, cap = 0;
    while ((e = readdir(d))) {
        struct stat st;
        if (strlen(e->d_name) > 64 && strstr(e->d_name, ".tmp")) {
            unlinkat(dirfd(d), e->d_name, 0); /* a write interrupted by a crash */
            continue;
        }
        if (!key_ok(e->d_name) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            void *v = realloc(found, cap * sizeof *found);
            if (!v)
                break;
            found = v;
        }
        snprintf(found[n].key, 65, "%s", e->d_name);
        found[n].size = (uint64_t)st.st_size;
        found[n++].mtime = (uint64_t)st.st_mtime;
    }
    closedir(d);
    /* Oldest first, so LRU order survives a restart. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && found[j].mtime < found[j - 1].mtime; j--) {
            __typeof__(*found) t = found[j];
            found[j] = found[j - 1];
            found[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        remember(c, found[i].key, found[i].size);
    free(found);
    evict(c);
    return 0;
}

int cache_open(struct compile_cache **out, uv_loop_t *loop, const char *dir, uint64_t max_bytes,
               struct sb_error *err)
{
    struct compile_cache *c = calloc(1, sizeof *c);
    if (!c)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    c->loop = loop;
    c->max_bytes = max_bytes;
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(tmp, 0755);
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
        free(c);
        return sb_fail_errno(err, SB_E_CONFIG, errno, "mkdir %s", dir);
    }
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077)) {
        free(c);
        return sb_fail(err, SB_E_CONFIG, "compile cache %s must be a directory owned by root "
                       "with mode 0700 (no sandbox may write there)", dir);
    }
    int rc = scan(c);
    if (rc < 0) {
        free(c);
        return sb_fail_errno(err, SB_E_CONFIG, -rc, "opendir %s", dir);
    }
    *out = c;
    return 0;
}

void cache_close(struct compile_cache *c)
{
    if (!c)
        return;
    if (c->busy) {
        c->closing = true; /* freed when the last work request returns */
        return;
    }
    free(c->v);
    free(c);
}

void cache_stats(const struct compile_cache *c, struct cache_stats *st)
{
    *st = c->st;
    st->entries = c->n;
    st->bytes = c->bytes;
}
