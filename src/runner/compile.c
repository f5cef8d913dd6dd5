/* Compile stage: content-addressed cache, one compile for identical concurrent requests, artifact fetch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sha256.h"
#include "common/util.h"
#include "runner/argv.h"
#include "runner/job_internal.h"

/* Everything identical requests share: one cache lookup, at most one compile. */
struct flight {
    struct runner *rn;
    char key[65];
    struct job *waiters;       /* subscribers; the first one's inputs start the compile */
    struct sbx_run *sbx;           /* the compile sandbox, once started */
    struct sbx_limits limits;
    struct flight *next;
};

/* ---- the cache key ---- */

static void hash_str(struct sha256 *h, const char *s)
{
    sha256_update(h, s, strlen(s) + 1);
}

/* sha256 over the language, its compile command and compiler identity, the
 * compile environment and every file (name and content), in order. The
 * compiler's identity (device, inode, size, mtime of its binary) changes
 * when the package is upgraded, so stale artifacts are never reused. */
static void compute_key(const struct job *j, char out[65])
{
    const struct lang *l = j->lang;
    struct sha256 h;
    sha256_init(&h);
    hash_str(&h, "soulbox-compile-v1");
    hash_str(&h, l->name);
    /* a microVM's compile runs in a microVM: its artifacts are its own */
    if (j->isolation == SBX_ISO_MICROVM)
        hash_str(&h, "isolation=microvm");
    for (char **a = l->compile; *a; a++)
        hash_str(&h, *a);
    struct stat st;
    memset(&st, 0, sizeof st);
    stat(l->version[0], &st);
    uint64_t id[5] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
                      (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec};
    sha256_update(&h, id, sizeof id);
    for (size_t i = 0; i < j->ncompile_env; i++)
        hash_str(&h, j->compile_env[i]);
    uint64_t n = j->ncompile_args;
    sha256_update(&h, &n, sizeof n);
    for (size_t i = 0; i < j->ncompile_args; i++)
        hash_str(&h, j->compile_args[i]);
    n = j->nfiles;
    sha256_update(&h, &n, sizeof n);
    for (size_t i = 0; i < j->nfiles; i++) {
        hash_str(&h, j->files[i].path);
        uint64_t len = j->files[i].len;
        sha256_update(&h, &len, sizeof len);
        sha256_update(&h, j->files[i].data, j->files[i].len);
    }
    uint8_t d[32];
    sha256_final(&h, d);
    util_hex(d, 32, out);
}

/* ---- flights ---- */

/* One under way for the same artifact and under the same limits (a request
 * may lower its compile stage's: it waits for a compile under its own). */
static struct flight *find_flight(struct runner *rn, const char *key,
                                  const struct sbx_limits *lim)
{
    for (struct flight *f = rn->flights; f; f = f->next)
        if (!strcmp(f->key, key) && f->limits.wall_ms == lim->wall_ms &&
            f->limits.cpu_ms == lim->cpu_ms && f->limits.memory_kb == lim->memory_kb)
            return f;
    return NULL;
}

static void unlink_flight(struct flight *f)
{
    struct flight **p = &f->rn->flights;
    while (*p && *p != f)
        p = &(*p)->next;
    if (*p)
        *p = f->next;
}

static void copy_stage(struct stage_result *dst, const struct stage_result *src)
{
    *dst = *src;
    memset(&dst->out, 0, sizeof dst->out);
    memset(&dst->err, 0, sizeof dst->err);
    sb_buf_append(&dst->out, src->out.data, src->out.len);
    sb_buf_append(&dst->err, src->err.data, src->err.len);
}

/* Hands the outcome to every subscriber. compile: the stage that ran (NULL on
 * a cache hit); artifact: NULL when the compile failed. */
static void deliver(struct flight *f, const struct stage_result *compile, const uint8_t *artifact,
                    size_t len, const struct sb_error *engine_err)
{
    unlink_flight(f);
    struct job *w = f->waiters;
    bool first = true;
    while (w) {
        struct job *next = w->next_waiter;
        w->flight = NULL;
        w->next_waiter = NULL;
        w->res.has_compile = true;
        /* Only the job that started the compile waited for it: the others
         * (and cache hits) skipped the stage. */
        w->res.compile_cached = compile == NULL || !first;
        if (compile)
            copy_stage(&w->res.compile, compile);
        else
            w->res.compile.status = SB_ST_OK;
        if (engine_err) {
            job_engine_failed(w, engine_err);
        } else if (artifact && (w->artifact = malloc(len ? len : 1))) {
            memcpy(w->artifact, artifact, len);
            w->artifact_len = len;
            job_compiled(w);
        } else if (artifact) {
            struct sb_error e;
            sb_fail(&e, SB_E_INTERNAL, "out of memory");
            job_engine_failed(w, &e);
        } else {
            job_compiled(w);
        }
        first = false;
        w = next;
    }
    free(f);
}

static void on_compiled(struct sbx_run *s, void *arg)
{
    struct flight *f = arg;
    f->sbx = NULL;
    struct sbx_result *r = sbx_run_result_mut(s);
    if (!f->waiters) { /* everyone left: nothing to report */
        unlink_flight(f);
        sbx_run_free(s);
        free(f);
        return;
    }
    if (r->failed && !r->cancelled) {
        struct sb_error e = r->error;
        sbx_run_free(s);
        deliver(f, NULL, NULL, 0, &e);
        return;
    }
    struct stage_result st;
    stage_classify(&st, r, &f->limits);
    size_t len = 0;
    int artifact_errno;
    const uint8_t *artifact = sbx_run_artifact(s, &len, &artifact_errno);
    if (st.status == SB_ST_OK && artifact) {
        if (f->rn->cache)
            cache_put(f->rn->cache, f->key, artifact, len);
    } else if (st.status == SB_ST_OK) {
        st.status = SB_ST_COMPILE_ERROR;
        snprintf(st.message, sizeof st.message, "the compiler left no %s (%s)",
                 f->waiters->lang->artifact,
                 artifact_errno == EFBIG ? "larger than the artifact limit" : "missing");
    } else {
        artifact = NULL;
        char why[sizeof st.message];
        snprintf(why, sizeof why, "%s", st.message);
        snprintf(st.message, sizeof st.message, "compilation failed: %s", why);
        /* The compiler refusing the program is a compile error; a limit the
         * compile broke keeps its own status in `compile` (the request's
         * status is compile_error either way). */
        if (st.status == SB_ST_RUNTIME_ERROR)
            st.status = SB_ST_COMPILE_ERROR;
    }
    deliver(f, &st, artifact, len, NULL);
    stage_free(&st);
    sbx_run_free(s);
}

/* The language's compile command with the request's compile_args inserted
 * before the first element naming the sources ({sources}, {entry...}), else
 * at the end: the compiler's own options come first, so the request's win.
 * Every element before that one expands to exactly one argument. */
static char **compile_argv(const struct job *j, size_t *argc)
{
    char *const *tmpl = j->lang->compile;
    size_t k = 0, n;
    while (tmpl[k] && strcmp(tmpl[k], "{sources}") && !strstr(tmpl[k], "{entry"))
        k++;
    char **argv = job_argv(j, tmpl, &n);
    char **out = argv ? calloc(n + j->ncompile_args + 1, sizeof *out) : NULL;
    if (!out) {
        argv_free(argv);
        return NULL;
    }
    memcpy(out, argv, k * sizeof *out);         /* the strings move into out */
    memcpy(out + k + j->ncompile_args, argv + k, (n - k) * sizeof *out);
    free(argv);
    for (size_t i = 0; i < j->ncompile_args; i++)
        if (!(out[k + i] = strdup(j->compile_args[i]))) {
            for (size_t m = 0; m < n + j->ncompile_args; m++)
                free(out[m]);
            free(out);
            return NULL;
        }
    *argc = n + j->ncompile_args;
    return out;
}

static void start_compile(struct flight *f)
{
    struct job *j = f->waiters;
    const struct lang *l = j->lang;
    size_t argc;
    char **argv = compile_argv(j, &argc);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", f->rn->cfg->workdir, l->artifact);
    struct sb_error err;
    if (!argv) {
        sb_fail(&err, SB_E_INTERNAL, "out of memory");
        deliver(f, NULL, NULL, 0, &err);
        return;
    }
    struct sbx_run_spec spec = {
        .argv = (const char *const *)argv, .argc = argc,
        .env = (const char *const *)j->compile_env, .envc = j->ncompile_env,
        .files = j->files, .nfiles = j->nfiles, .limits = f->limits,
        .fetch_path = path, .fetch_max = f->limits.file_size_kb * 1024,
        .extra_etc = (const char *const *)l->etc, .extra_binds = (const char *const *)l->binds,
        .isolation = j->isolation,
    };
    f->sbx = sbx_run_start(f->rn->engine, &spec, on_compiled, NULL, f, &err);
    argv_free(argv);
    if (!f->sbx)
        deliver(f, NULL, NULL, 0, &err);
}

static void on_cache(void *arg, uint8_t *data, size_t len)
{
    struct flight *f = arg;
    if (!f->waiters) {
        unlink_flight(f);
        free(data);
        free(f);
        return;
    }
    if (data) {
        deliver(f, NULL, data, len, NULL);
        free(data);
        return;
    }
    start_compile(f);
}

void compile_begin(struct job *j)
{
    struct runner *rn = j->rn;
    char key[65];
    compute_key(j, key);
    struct flight *f = find_flight(rn, key, &j->compile_limits);
    if (f) {
        /* An identical compile is already under way: wait for it. */
        struct job **p = &f->waiters;
        while (*p)
            p = &(*p)->next_waiter;
        *p = j;
        j->flight = f;
        return;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        struct sb_error e;
        sb_fail(&e, SB_E_INTERNAL, "out of memory");
        job_engine_failed(j, &e);
        return;
    }
    f->rn = rn;
    f->limits = j->compile_limits;
    memcpy(f->key, key, sizeof key);
    f->waiters = j;
    f->next = rn->flights;
    rn->flights = f;
    j->flight = f;
    if (rn->cache)
        cache_get(rn->cache, key, on_cache, f);
    else
        start_compile(f);
}

void compile_leave(struct job *j)
{
    struct flight *f = j->flight;
    if (!f)
        return;
    struct job **p = &f->waiters;
    while (*p && *p != j)
        p = &(*p)->next_waiter;
    if (*p)
        *p = j->next_waiter;
    j->flight = NULL;
    j->next_waiter = NULL;
    /* Nobody else wants it: stop the compiler (the callback frees the flight). */
    if (!f->waiters && f->sbx)
        sbx_run_cancel(f->sbx);
}
