/* A single run on top of the engine: create, put files, start one sole process, collect (and fetch), destroy. */
#include "sandbox/run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/glob.h"
#include "common/util.h"
#include "sandbox/sandbox_internal.h"

enum run_state {
    R_SETTING_UP,    /* pooled: the sandbox (and warm program) start */
    R_WAITING,       /* pooled: ready for a claim */
    R_RUNNING,       /* the program runs */
    R_FETCHING,      /* it ended; its artifact comes back */
    R_REPORTED,      /* `done` ran */
};

struct sbx_run {
    struct sbx *box;
    struct sbx_proc *proc;
    enum run_state state;
    sbx_run_done_cb done;
    sbx_run_output_cb output;
    sbx_run_ready_cb ready_cb;
    void *arg;
    bool pooled, warm;
    bool released;           /* sbx_run_free came */
    bool box_gone;
    bool cancelled;
    char *fetch_path;
    uint64_t fetch_max;
    struct sbx_result r;
    struct sb_error file_error;  /* a file could not be put in */
    bool file_failed;
    uint8_t *artifact;
    size_t artifact_len;
    int artifact_errno;
    /* files handed back (sbx_run_collect) */
    char **globs;
    size_t nglobs;
    uint64_t col_max_bytes, col_bytes;
    uint32_t col_max_files;
    struct sbx_collected *col;
    size_t ncol, col_cap;
    bool col_truncated;
    unsigned col_pending;
};

static void free_run(struct sbx_run *r)
{
    for (size_t i = 0; i < r->nglobs; i++)
        free(r->globs[i]);
    free(r->globs);
    sbx_collected_free(r->col, r->ncol);
    sbx_result_free(&r->r);
    free(r->artifact);
    free(r->fetch_path);
    free(r);
}

static void maybe_free(struct sbx_run *r)
{
    if (r->released && r->box_gone)
        free_run(r);
}

/* The result is final: `done`, then the sandbox goes (its teardown is off
 * the request's latency). */
static void report(struct sbx_run *r)
{
    if (r->state == R_REPORTED)
        return;
    r->state = R_REPORTED;
    r->r.t.finished = util_mono_ns();
    if (r->box)
        r->r.net_enabled = sbx_net_stats(r->box, &r->r.net);
    if (r->box)
        sbx_destroy(r->box);
    r->done(r, r->arg);
}

/* ---- the sandbox ---- */

static void box_ready(struct sbx *s, void *arg)
{
    (void)s;
    struct sbx_run *r = arg;
    if (r->pooled && !r->warm && r->state == R_SETTING_UP) {
        r->state = R_WAITING;
        if (r->ready_cb)
            r->ready_cb(r, r->arg);
    }
}

static void box_ended(struct sbx *s, void *arg)
{
    struct sbx_run *r = arg;
    if (r->state != R_REPORTED) {
        /* It ended before a program ran (pooled), or after its program
         * reported but before its artifact came: the sandbox's failure is
         * the run's. */
        if (!r->r.failed && sbx_end(s)->failed) {
            r->r.failed = true;
            r->r.error = sbx_end(s)->error;
        }
        r->r.cancelled = r->r.cancelled || r->cancelled;
        if (r->state == R_FETCHING && !r->artifact_errno && !r->artifact)
            r->artifact_errno = ECANCELED;
        r->box = NULL; /* gone: nothing to destroy */
        report(r);
    }
    sbx_free(s);
    r->box = NULL;
    r->box_gone = true; /* only now: `done` may have let the run go */
    maybe_free(r);
}

static const struct sbx_callbacks box_cb = {box_ready, box_ended};

/* ---- the program ---- */

static void on_fetched(struct sbx *s, struct sbx_file_result *fr, void *arg)
{
    (void)s;
    struct sbx_run *r = arg;
    if (fr->err) {
        r->artifact_errno = fr->err;
    } else {
        r->artifact = fr->data;
        r->artifact_len = fr->len;
        fr->data = NULL;
        if (!r->artifact && (r->artifact = malloc(1)))
            r->artifact_len = 0;
    }
    report(r);
}

/* ---- collecting files after the program ---- */

#define COLLECT_DEPTH 16
#define COLLECT_SCAN_MAX 10000

struct col_req {
    struct sbx_run *r;
    char path[4096];             /* inside the sandbox */
    unsigned depth;
};

static void collect_list(struct sbx_run *r, const char *path, unsigned depth);

static void collect_step_done(struct sbx_run *r)
{
    if (--r->col_pending == 0 && r->state == R_FETCHING)
        report(r);
}

static const char *relative(const struct sbx_run *r, const char *path)
{
    size_t n = strlen(r->box ? r->box->e->cfg.layout.workdir : "");
    return path + (n ? n + 1 : 0);
}

static void on_collected(struct sbx *s, struct sbx_file_result *fr, void *arg)
{
    (void)s;
    struct col_req *q = arg;
    struct sbx_run *r = q->r;
    if (fr->err == EFBIG) {
        r->col_truncated = true;
    } else if (!fr->err && r->ncol < r->col_max_files &&
               r->col_bytes + fr->len <= r->col_max_bytes) {
        if (r->ncol == r->col_cap) {
            size_t cap = r->col_cap ? r->col_cap * 2 : 8;
            struct sbx_collected *v = realloc(r->col, cap * sizeof *v);
            if (v) {
                r->col = v;
                r->col_cap = cap;
            }
        }
        if (r->ncol < r->col_cap) {
            struct sbx_collected *c = &r->col[r->ncol];
            c->name = strdup(relative(r, q->path));
            c->data = fr->data;
            c->len = fr->len;
            fr->data = NULL;
            if (!c->data)
                c->data = calloc(1, 1);
            if (c->name && c->data) {
                r->col_bytes += c->len;
                r->ncol++;
            } else {
                free(c->name);
                free(c->data);
            }
        }
    } else if (!fr->err) {
        r->col_truncated = true;
    }
    free(q);
    collect_step_done(r);
}

static bool wanted(const struct sbx_run *r, const char *rel)
{
    for (size_t i = 0; i < r->nglobs; i++)
        if (glob_match(r->globs[i], rel))
            return true;
    return false;
}

static void on_collect_listed(struct sbx *s, struct sbx_file_result *fr, void *arg)
{
    struct col_req *q = arg;
    struct sbx_run *r = q->r;
    for (size_t i = 0; !fr->err && i < fr->n; i++) {
        const struct sbx_entry *e = &fr->entries[i];
        char child[4096];
        if (snprintf(child, sizeof child, "%s/%s", q->path, e->name) >= (int)sizeof child)
            continue;
        if (e->type == SBX_DIR && q->depth < COLLECT_DEPTH) {
            collect_list(r, child, q->depth + 1);
        } else if (e->type == SBX_FILE && wanted(r, relative(r, child))) {
            /* symlinks are never taken: their type is SBX_SYMLINK here */
            if (r->ncol + r->col_pending >= r->col_max_files + 1 ||
                e->size > r->col_max_bytes - r->col_bytes) {
                r->col_truncated = true;
                continue;
            }
            struct col_req *f = calloc(1, sizeof *f);
            struct sb_error err;
            if (!f)
                continue;
            f->r = r;
            snprintf(f->path, sizeof f->path, "%s", child);
            if (sbx_file_read(s, child, r->col_max_bytes - r->col_bytes, on_collected, f,
                              &err) < 0) {
                free(f);
                continue;
            }
            r->col_pending++;
        }
    }
    free(q);
    collect_step_done(r);
}

static void collect_list(struct sbx_run *r, const char *path, unsigned depth)
{
    struct col_req *q = calloc(1, sizeof *q);
    struct sb_error err;
    if (!q)
        return;
    q->r = r;
    q->depth = depth;
    snprintf(q->path, sizeof q->path, "%s", path);
    if (sbx_file_list(r->box, path, COLLECT_SCAN_MAX, on_collect_listed, q, &err) < 0) {
        free(q);
        return;
    }
    r->col_pending++;
}

/* After the program: starts collecting; false when there is nothing to do. */
static bool collect_start(struct sbx_run *r)
{
    if (!r->nglobs || !r->box || r->r.failed)
        return false;
    r->state = R_FETCHING;
    r->col_pending = 1; /* held while the first listing is queued */
    collect_list(r, r->box->e->cfg.layout.workdir, 1);
    if (--r->col_pending == 0) {
        r->state = R_RUNNING;
        return false;
    }
    return true;
}

int sbx_run_collect(struct sbx_run *r, const char *const *globs, size_t n, uint64_t max_bytes,
                    uint32_t max_files, struct sb_error *err)
{
    if (!n)
        return 0;
    if (!(r->globs = calloc(n, sizeof *r->globs)))
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++, r->nglobs++)
        if (!(r->globs[i] = strdup(globs[i])))
            return sb_fail(err, SB_E_INTERNAL, "out of memory");
    r->col_max_bytes = max_bytes;
    r->col_max_files = max_files;
    return 0;
}

struct sbx_collected *sbx_run_take_collected(struct sbx_run *r, size_t *n, bool *truncated)
{
    struct sbx_collected *v = r->col;
    *n = r->ncol;
    *truncated = r->col_truncated;
    r->col = NULL;
    r->ncol = r->col_cap = 0;
    return v;
}

static void proc_exited(struct sbx_proc *p, void *arg)
{
    struct sbx_run *r = arg;
    struct sbx_result *pr = sbx_proc_result_mut(p);
    r->r = *pr;
    memset(&pr->out, 0, sizeof pr->out);
    memset(&pr->err, 0, sizeof pr->err);
    if (!r->pooled) /* a cold run starts with its sandbox */
        r->r.t.start = sbx_times(r->box)->start;
    if (r->file_failed && !r->r.failed) {
        r->r.failed = true;
        r->r.error = r->file_error;
    }
    sbx_proc_free(p);
    r->proc = NULL;
    struct sb_error err;
    if (r->fetch_path && r->r.exited && !r->r.failed && !r->r.wall_exceeded &&
        !r->r.cpu_exceeded) {
        r->state = R_FETCHING;
        if (sbx_file_read(r->box, r->fetch_path, r->fetch_max, on_fetched, r, &err) == 0)
            return;
        r->artifact_errno = err.code == SB_E_INTERNAL ? ENOMEM : EIO;
    }
    if (collect_start(r))
        return;
    report(r);
}

static void proc_output(struct sbx_proc *p, int stream, const char *data, size_t len, void *arg)
{
    (void)p;
    struct sbx_run *r = arg;
    if (r->output)
        r->output(r, stream, data, len, r->arg);
}

static void proc_warm_ready(struct sbx_proc *p, void *arg)
{
    (void)p;
    struct sbx_run *r = arg;
    if (r->state == R_SETTING_UP) {
        r->state = R_WAITING;
        if (r->ready_cb)
            r->ready_cb(r, r->arg);
    }
}

/* A warm program that ends before its claim ends its pooled run. */
static void warm_exited(struct sbx_proc *p, void *arg)
{
    struct sbx_run *r = arg;
    if (r->state == R_RUNNING) {
        proc_exited(p, arg);
        return;
    }
    r->r = *sbx_proc_result_mut(p);
    memset(&sbx_proc_result_mut(p)->out, 0, sizeof r->r.out);
    memset(&sbx_proc_result_mut(p)->err, 0, sizeof r->r.err);
    sbx_proc_free(p);
    r->proc = NULL;
    report(r);
}

static const struct sbx_proc_callbacks proc_cb = {NULL, proc_output, proc_warm_ready,
                                                  proc_exited};
static const struct sbx_proc_callbacks warm_cb = {NULL, proc_output, proc_warm_ready,
                                                  warm_exited};

static void on_file_written(struct sbx *s, struct sbx_file_result *fr, void *arg)
{
    struct sbx_run *r = arg;
    if (!fr->err || r->file_failed)
        return;
    /* The program may be starting already: it goes, the run fails. */
    r->file_failed = true;
    sb_fail(&r->file_error, SB_E_SANDBOX_SETUP, "sandbox setup: %s", fr->message);
    sbx_destroy(s);
}

/* The program's files, then the program: queued in this order. */
static int put_files(struct sbx_run *r, const struct sbx_file_in *files, size_t n,
                     struct sb_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (sbx_file_write(r->box, files[i].path, files[i].data, files[i].len,
                           files[i].mode ? files[i].mode : 0644, SBX_WRITE_EXCL,
                           on_file_written, r, err) < 0)
            return -1;
    return 0;
}

static int exec_program(struct sbx_run *r, const struct sbx_run_spec *spec, bool warm,
                        struct sb_error *err)
{
    struct sbx_exec x = {
        .argv = spec->argv, .argc = spec->argc, .env = spec->env, .envc = spec->envc,
        .limits = spec->limits, .stdin_data = spec->stdin_data, .stdin_len = spec->stdin_len,
        .interactive = spec->interactive, .sole = true, .warm = warm,
    };
    r->proc = sbx_exec(r->box, &x, warm ? &warm_cb : &proc_cb, r, err);
    return r->proc ? 0 : -1;
}

/* ---- the interface ---- */

struct sbx_run *sbx_run_start(struct sbx_engine *e, const struct sbx_run_spec *spec,
                              sbx_run_done_cb done, sbx_run_output_cb output, void *arg,
                              struct sb_error *err)
{
    struct sbx_run *r = calloc(1, sizeof *r);
    if (!r || (spec->fetch_path && !(r->fetch_path = strdup(spec->fetch_path)))) {
        free(r);
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    }
    r->done = done;
    r->output = output;
    r->arg = arg;
    r->pooled = spec->pooled;
    r->warm = spec->pooled && spec->warm;
    r->fetch_max = spec->fetch_max;
    r->r.seccomp_nr = -1;
    r->state = r->pooled ? R_SETTING_UP : R_RUNNING;
    struct sbx_spec bs = {
        .limits = spec->limits, .extra_etc = spec->extra_etc, .extra_binds = spec->extra_binds,
        .background = spec->pooled, .network = spec->network, .net_policy = spec->net,
        .isolation = spec->isolation,
    };
    if (!(r->box = sbx_create(e, &bs, &box_cb, r, err))) {
        free_run(r);
        return NULL;
    }
    struct sb_error e2;
    int rc = 0;
    if (!r->pooled)
        rc = put_files(r, spec->files, spec->nfiles, &e2) < 0 ? -1 : exec_program(r, spec, false, &e2);
    else if (r->warm)
        rc = exec_program(r, spec, true, &e2);
    if (rc < 0 && !sbx_end(r->box)->failed) {
        /* The sandbox will end (it may have failed to start already): the
         * run fails with it, reported from the loop. */
        r->r.failed = true;
        r->r.error = e2;
        sbx_destroy(r->box);
    }
    return r;
}

void sbx_run_on_ready(struct sbx_run *r, sbx_run_ready_cb ready)
{
    r->ready_cb = ready;
}

bool sbx_run_is_ready(const struct sbx_run *r)
{
    return r->state == R_WAITING && r->box && sbx_is_ready(r->box) &&
           (!r->warm || (r->proc && sbx_proc_warm_waiting(r->proc)));
}

uint64_t sbx_run_memory(const struct sbx_run *r)
{
    return r->box ? sbx_memory(r->box) : 0;
}

int sbx_run_go(struct sbx_run *r, const struct sbx_run_go *go, sbx_run_done_cb done,
               sbx_run_output_cb output, void *arg, struct sb_error *err)
{
    if (!sbx_run_is_ready(r))
        return sb_fail(err, SB_E_INTERNAL, "the pooled sandbox is not ready");
    if (sbx_set_limits(r->box, &go->limits, err) < 0)
        return -1;
    if (put_files(r, go->files, go->nfiles, err) < 0)
        return -1;
    if (go->net && sbx_net_open(r->box, go->net, err) < 0)
        return -1;
    r->state = R_RUNNING;
    r->done = done;
    r->output = output;
    r->arg = arg;
    if (r->warm) {
        struct sbx_go g = {go->input, go->input_len, go->limits, go->stdin_data, go->stdin_len,
                           go->interactive};
        return sbx_proc_go(r->proc, &g, &proc_cb, r, err);
    }
    struct sbx_run_spec spec = {
        .argv = go->argv, .argc = go->argc, .env = go->env, .envc = go->envc,
        .limits = go->limits, .stdin_data = go->stdin_data, .stdin_len = go->stdin_len,
        .interactive = go->interactive,
    };
    return exec_program(r, &spec, false, err);
}

void sbx_run_cancel(struct sbx_run *r)
{
    if (r->state == R_REPORTED)
        return;
    r->cancelled = true;
    if (r->proc)
        sbx_proc_output_resume(r->proc); /* the pipes must drain for it to end */
    if (r->box)
        sbx_destroy(r->box);
}

void sbx_run_kill(struct sbx_run *r)
{
    if (r->proc && r->state == R_RUNNING)
        sbx_proc_kill(r->proc);
}

void sbx_run_signal(struct sbx_run *r, int sig)
{
    if (r->proc && r->state == R_RUNNING)
        sbx_proc_signal(r->proc, sig);
}

int sbx_run_stdin_write(struct sbx_run *r, const void *data, size_t len)
{
    return r->proc && r->state == R_RUNNING ? sbx_proc_stdin_write(r->proc, data, len) : -1;
}

void sbx_run_stdin_close(struct sbx_run *r)
{
    if (r->proc)
        sbx_proc_stdin_close(r->proc);
}

void sbx_run_output_pause(struct sbx_run *r)
{
    if (r->proc)
        sbx_proc_output_pause(r->proc);
}

void sbx_run_output_resume(struct sbx_run *r)
{
    if (r->proc)
        sbx_proc_output_resume(r->proc);
}

const struct sbx_result *sbx_run_result(const struct sbx_run *r)
{
    return &r->r;
}

struct sbx_result *sbx_run_result_mut(struct sbx_run *r)
{
    return &r->r;
}

const uint8_t *sbx_run_artifact(const struct sbx_run *r, size_t *len, int *errnum)
{
    *len = r->artifact_len;
    *errnum = r->artifact ? 0 : r->artifact_errno ? r->artifact_errno : ENOENT;
    return r->artifact;
}

void sbx_run_free(struct sbx_run *r)
{
    if (!r)
        return;
    r->released = true;
    maybe_free(r);
}
