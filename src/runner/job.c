/* Job stages: compile in one sandbox, hand the artifact to a fresh sandbox, run. */
#include "runner/job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/limits.h"

void runner_engine_cfg(const struct sb_config *cfg, struct sbx_engine_cfg *out)
{
    memset(out, 0, sizeof *out);
    out->state_dir = cfg->state_dir;
    out->cgroup_root = cfg->cgroup_root;
    out->uid_base = (uint32_t)cfg->uid_base;
    out->uid_count = (uint32_t)cfg->uid_count;
    out->allowed_syscalls = (const char *const *)cfg->security.allowed_syscalls.v;
    out->n_allowed_syscalls = cfg->security.allowed_syscalls.n;
    out->layout.system = (const char *const *)cfg->system_dirs.v;
    out->layout.n_system = cfg->system_dirs.n;
    out->layout.etc = (const char *const *)cfg->etc.v;
    out->layout.n_etc = cfg->etc.n;
    out->layout.binds = (const char *const *)cfg->binds.v;
    out->layout.n_binds = cfg->binds.n;
    out->layout.hostname = cfg->hostname;
    out->layout.workdir = cfg->workdir;
    out->layout.inodes = cfg->max_inodes;
}

static const char *const base_env[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8",
    "USER=sandbox", "LOGNAME=sandbox",
};

struct job {
    struct runner *rn;
    job_done_cb done;
    job_output_cb output;
    void *arg;
    const struct lang *lang;
    /* owned copies of the request */
    struct sbx_file *files;
    size_t nfiles;
    char *stdin_data;
    size_t stdin_len;
    bool has_stdin;
    char **args;
    size_t nargs;
    char **env;               /* merged: base, language, request */
    size_t nenv;
    struct sbx_limits limits, compile_limits;
    uint8_t *artifact;
    size_t artifact_len;
    struct sbx *cur;
    bool cancelled;
    struct job_result res;
};

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* Appends KEY=VALUE, replacing an earlier entry with the same key. */
static int env_put(struct job *j, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; i < j->nenv; i++) {
        if (!strncmp(j->env[i], kv, klen) && j->env[i][klen] == '=') {
            char *d = strdup(kv);
            if (!d)
                return -1;
            free(j->env[i]);
            j->env[i] = d;
            return 0;
        }
    }
    char **v = realloc(j->env, (j->nenv + 1) * sizeof *v);
    if (!v)
        return -1;
    j->env = v;
    if (!(j->env[j->nenv] = strdup(kv)))
        return -1;
    j->nenv++;
    return 0;
}

static int copy_request(struct job *j, const struct job_request *req)
{
    j->files = calloc(req->nfiles + 1, sizeof *j->files);
    j->args = calloc(req->nargs + 1, sizeof *j->args);
    if (!j->files || !j->args)
        return -1;
    for (size_t i = 0; i < req->nfiles; i++, j->nfiles++) {
        j->files[i].path = strdup(req->files[i].name);
        j->files[i].data = dup_bytes(req->files[i].data, req->files[i].len);
        j->files[i].len = req->files[i].len;
        j->files[i].mode = 0644;
        if (!j->files[i].path || !j->files[i].data)
            return -1;
    }
    for (size_t i = 0; i < req->nargs; i++, j->nargs++)
        if (!(j->args[i] = strdup(req->args[i])))
            return -1;
    if (req->stdin_data) {
        j->has_stdin = true;
        j->stdin_len = req->stdin_len;
        if (!(j->stdin_data = dup_bytes(req->stdin_data, req->stdin_len)))
            return -1;
    }
    for (size_t i = 0; i < sizeof base_env / sizeof *base_env; i++)
        if (env_put(j, base_env[i]) < 0)
            return -1;
    for (const char *const *e = j->lang->env; e && *e; e++)
        if (env_put(j, *e) < 0)
            return -1;
    for (size_t i = 0; i < req->nenv; i++)
        if (env_put(j, req->env[i]) < 0)
            return -1;
    return 0;
}

static void finish(struct job *j)
{
    j->cur = NULL;
    j->done(j, j->arg);
}

static void engine_failed(struct job *j, struct sbx *s)
{
    j->res.failed = true;
    j->res.error = sbx_result(s)->error;
    j->res.status = SB_ST_INTERNAL_ERROR;
    sbx_free(s);
    finish(j);
}

static void on_output(struct sbx *s, int stream, const char *data, size_t len, void *arg)
{
    (void)s;
    struct job *j = arg;
    if (j->output)
        j->output(j, stream, data, len, j->arg);
}

static void on_run_done(struct sbx *s, void *arg)
{
    struct job *j = arg;
    struct sbx_result *r = sbx_result_mut(s);
    if (r->failed && !j->cancelled)
        return engine_failed(j, s);
    stage_classify(&j->res.run, r, &j->limits);
    j->res.ran = true;
    j->res.status = j->res.run.status;
    sbx_free(s);
    finish(j);
}

static void start_stage(struct job *j, const struct sbx_spec *spec, sbx_done_cb done,
                        bool stream)
{
    struct sb_error err;
    j->cur = sbx_start(j->rn->engine, spec, done, stream ? on_output : NULL, j, &err);
    if (!j->cur) {
        j->res.failed = true;
        j->res.error = err;
        j->res.status = SB_ST_INTERNAL_ERROR;
        finish(j);
    }
}

/* argv[i], with "{entry}" standing for the entry file. */
static const char *arg_of(const struct job *j, const char *a)
{
    return strcmp(a, "{entry}") ? a : j->files[0].path;
}

static void start_run(struct job *j)
{
    const struct lang *l = j->lang;
    size_t nrun = 0;
    while (l->run[nrun])
        nrun++;
    const char **argv = calloc(nrun + j->nargs + 1, sizeof *argv);
    struct sbx_file *files = calloc(j->nfiles + 1, sizeof *files);
    if (!argv || !files) {
        free(argv);
        free(files);
        j->res.failed = true;
        sb_fail(&j->res.error, SB_E_INTERNAL, "out of memory");
        return finish(j);
    }
    size_t argc = 0, nfiles = 0;
    for (size_t i = 0; i < nrun; i++)
        argv[argc++] = arg_of(j, l->run[i]);
    for (size_t i = 0; i < j->nargs; i++)
        argv[argc++] = j->args[i];
    for (size_t i = 0; i < j->nfiles; i++)
        if (!l->artifact || strcmp(j->files[i].path, l->artifact))
            files[nfiles++] = j->files[i];
    if (j->artifact)
        files[nfiles++] = (struct sbx_file){l->artifact, j->artifact, j->artifact_len, 0755};
    struct sbx_spec spec = {
        .argv = argv, .argc = argc, .env = (const char *const *)j->env, .envc = j->nenv,
        .files = files, .nfiles = nfiles, .limits = j->limits,
        .stdin_data = j->has_stdin ? j->stdin_data : NULL, .stdin_len = j->stdin_len,
    };
    start_stage(j, &spec, on_run_done, true);
    free(argv);
    free(files);
}

static void on_compile_done(struct sbx *s, void *arg)
{
    struct job *j = arg;
    struct sbx_result *r = sbx_result_mut(s);
    if (r->failed && !j->cancelled)
        return engine_failed(j, s);
    j->res.has_compile = true;
    stage_classify(&j->res.compile, r, &j->compile_limits);
    struct stage_result *c = &j->res.compile;
    if (c->status == SB_ST_OK && r->artifact) {
        j->artifact = r->artifact;
        j->artifact_len = r->artifact_len;
        r->artifact = NULL;
    } else if (c->status == SB_ST_OK) {
        c->status = SB_ST_COMPILE_ERROR;
        snprintf(c->message, sizeof c->message, "the compiler left no %s (%s)",
                 j->lang->artifact, r->artifact_errno == EFBIG ? "too large" : "missing");
    } else {
        char why[sizeof c->message];
        snprintf(why, sizeof why, "%s", c->message);
        snprintf(c->message, sizeof c->message, "compilation failed: %s", why);
        c->status = SB_ST_COMPILE_ERROR;
    }
    sbx_free(s);
    if (c->status != SB_ST_OK || j->cancelled) {
        j->res.status = SB_ST_COMPILE_ERROR;
        return finish(j);
    }
    start_run(j);
}

static void start_compile(struct job *j)
{
    const struct lang *l = j->lang;
    size_t argc = 0;
    while (l->compile[argc])
        argc++;
    const char **argv = calloc(argc + 1, sizeof *argv);
    if (!argv) {
        j->res.failed = true;
        sb_fail(&j->res.error, SB_E_INTERNAL, "out of memory");
        return finish(j);
    }
    for (size_t i = 0; i < argc; i++)
        argv[i] = arg_of(j, l->compile[i]);
    struct sbx_spec spec = {
        .argv = argv, .argc = argc, .env = (const char *const *)j->env, .envc = j->nenv,
        .files = j->files, .nfiles = j->nfiles, .limits = j->compile_limits,
        .fetch_path = NULL, .fetch_max = j->compile_limits.file_size_kb * 1024,
    };
    char path[512];
    snprintf(path, sizeof path, "%s/%s", j->rn->cfg->workdir, l->artifact);
    spec.fetch_path = path;
    start_stage(j, &spec, on_compile_done, false);
    free(argv);
}

static void free_copies(struct job *j)
{
    for (size_t i = 0; i < j->nfiles; i++) {
        free((char *)j->files[i].path);
        free((void *)j->files[i].data);
    }
    free(j->files);
    for (size_t i = 0; i < j->nargs; i++)
        free(j->args[i]);
    free(j->args);
    for (size_t i = 0; i < j->nenv; i++)
        free(j->env[i]);
    free(j->env);
    free(j->stdin_data);
    free(j->artifact);
}

static void on_start(uv_timer_t *t)
{
    struct job *j = t->data;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    if (j->lang->compile)
        start_compile(j);
    else
        start_run(j);
}

struct job *job_start(struct runner *rn, const struct job_request *req, job_done_cb done,
                      job_output_cb output, void *arg, struct sb_error *err)
{
    struct job *j = calloc(1, sizeof *j);
    uv_timer_t *t = malloc(sizeof *t);
    if (!j || !t) {
        free(j);
        free(t);
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    }
    j->rn = rn;
    j->done = done;
    j->output = output;
    j->arg = arg;
    j->lang = req->lang;
    j->limits = req->limits;
    limits_compile(rn->cfg, &j->compile_limits);
    if (copy_request(j, req) < 0) {
        free_copies(j);
        free(j);
        free(t);
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    }
    /* Start from the loop so `done` never runs inside job_start. */
    uv_timer_init(rn->engine->loop, t);
    t->data = j;
    uv_timer_start(t, on_start, 0, 0);
    return j;
}

void job_cancel(struct job *j)
{
    j->cancelled = true;
    if (j->cur)
        sbx_cancel(j->cur);
}

const struct job_result *job_result(const struct job *j)
{
    return &j->res;
}

void job_free(struct job *j)
{
    if (!j)
        return;
    free_copies(j);
    if (j->res.has_compile)
        stage_free(&j->res.compile);
    if (j->res.ran)
        stage_free(&j->res.run);
    free(j);
}

json_t *job_result_json(const struct job_result *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (r->failed) {
        json_object_set_new(o, "status", json_string("internal_error"));
        json_object_set_new(o, "message", json_string(r->error.msg));
        return o;
    }
    if (r->ran) {
        stage_to_json(&r->run, o);
    } else {
        json_object_set_new(o, "stdout", json_string(""));
        json_object_set_new(o, "stderr", json_string(""));
        json_object_set_new(o, "exit_code", json_null());
        json_object_set_new(o, "execution_time", json_string("0ms"));
        json_object_set_new(o, "status", json_string(sb_status_name(r->status)));
        json_object_set_new(o, "signal", json_null());
        json_object_set_new(o, "wall_time_ms", json_integer(0));
        json_object_set_new(o, "cpu_time_ms", json_integer(0));
        json_object_set_new(o, "memory_kb", json_integer(0));
        json_object_set_new(o, "truncated", json_false());
        if (r->has_compile && r->compile.message[0])
            json_object_set_new(o, "message", json_string(r->compile.message));
    }
    if (r->has_compile) {
        json_t *c = json_object();
        stage_to_json(&r->compile, c);
        /* compile_output: what a user reads first when a build fails. */
        struct sb_buf both = {0};
        sb_buf_append(&both, r->compile.out.data, r->compile.out.len);
        sb_buf_append(&both, r->compile.err.data, r->compile.err.len);
        json_object_set_new(o, "compile_output", json_bytes(both.data, both.len, NULL));
        sb_buf_free(&both);
        json_object_set_new(o, "compile", c);
    }
    return o;
}
