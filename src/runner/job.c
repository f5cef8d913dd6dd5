/* Jobs: request copies, the run stage (or one sandbox per test case), verdicts and the result JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/argv.h"
#include "runner/job_internal.h"
#include "runner/limits.h"
#include "runner/pool.h"

#define MAX_ARTIFACT_FILES 10000

/* ---- request copies ---- */

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static int build_envs(struct job *j, const struct job_request *req)
{
    if (runner_lang_env(j->lang, &j->compile_env, &j->ncompile_env) < 0 ||
        runner_lang_env(j->lang, &j->run_env, &j->nrun_env) < 0)
        return -1;
    /* The request's env reaches the program, never the compiler: the
     * compile stays a function of the sources (and its cache key honest). */
    for (size_t i = 0; i < req->nenv; i++)
        if (runner_env_put(&j->run_env, &j->nrun_env, req->env[i]) < 0)
            return -1;
    if (req->nenv && !(j->req_env = calloc(req->nenv + 1, sizeof *j->req_env)))
        return -1;
    for (size_t i = 0; i < req->nenv; i++, j->nreq_env++)
        if (!(j->req_env[i] = strdup(req->env[i])))
            return -1;
    return 0;
}

static int copy_cases(struct job *j, const struct job_request *req)
{
    if (!req->ncases)
        return 0;
    j->cases = calloc(req->ncases, sizeof *j->cases);
    j->res.cases = calloc(req->ncases, sizeof *j->res.cases);
    if (!j->cases || !j->res.cases)
        return -1;
    for (size_t i = 0; i < req->ncases; i++, j->ncases++) {
        const struct job_case *c = &req->cases[i];
        j->cases[i].stdin_len = c->stdin_len;
        if (!(j->cases[i].stdin_data = dup_bytes(c->stdin_data ? c->stdin_data : "", c->stdin_len)))
            return -1;
        if (c->expected) {
            j->cases[i].expected_len = c->expected_len;
            if (!(j->cases[i].expected = dup_bytes(c->expected, c->expected_len)))
                return -1;
        }
    }
    return 0;
}

static int copy_request(struct job *j, const struct job_request *req)
{
    j->files = calloc(req->nfiles + 1, sizeof *j->files);
    j->args = calloc(req->nargs + 1, sizeof *j->args);
    j->compile_args = calloc(req->ncompile_args + 1, sizeof *j->compile_args);
    if (!j->files || !j->args || !j->compile_args)
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
    for (size_t i = 0; i < req->ncompile_args; i++, j->ncompile_args++)
        if (!(j->compile_args[i] = strdup(req->compile_args[i])))
            return -1;
    if (req->stdin_data) {
        j->has_stdin = true;
        j->stdin_len = req->stdin_len;
        if (!(j->stdin_data = dup_bytes(req->stdin_data, req->stdin_len)))
            return -1;
    }
    if (build_envs(j, req) < 0 || copy_cases(j, req) < 0)
        return -1;
    j->isolation = req->isolation;
    if (req->net_policy) {
        j->network = true;
        if (net_policy_copy(&j->net_policy, req->net_policy, NULL) < 0)
            return -1;
        j->net.policy = &j->net_policy;
        runner_net_limits(j->rn->cfg, &j->net.limits);
        snprintf(j->net_tag, sizeof j->net_tag, "%s", req->net_tag ? req->net_tag : "");
        j->net.tag = j->net_tag;
    }
    if (req->nreturn_files && !req->ncases) {
        if (!(j->return_files = calloc(req->nreturn_files + 1, sizeof *j->return_files)))
            return -1;
        for (size_t i = 0; i < req->nreturn_files; i++, j->nreturn_files++)
            if (!(j->return_files[i] = strdup(req->return_files[i])))
                return -1;
    }
    return 0;
}

static void free_copies(struct job *j)
{
    for (size_t i = 0; i < j->nfiles; i++) {
        free((char *)j->files[i].path);
        free((void *)j->files[i].data);
    }
    free(j->files);
    argv_free(j->args);
    argv_free(j->compile_args);
    argv_free(j->run_env);
    argv_free(j->req_env);
    argv_free(j->compile_env);
    argv_free(j->return_files);
    net_policy_free(&j->net_policy);
    for (size_t i = 0; i < j->ncases; i++) {
        free((char *)j->cases[i].stdin_data);
        free((char *)j->cases[i].expected);
    }
    free(j->cases);
    free(j->stdin_data);
    free(j->artifact);
    tar_free(&j->unpacked);
}

char **job_argv(const struct job *j, char *const *tmpl, size_t *argc)
{
    const char **names = calloc(j->nfiles + 1, sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; i < j->nfiles; i++)
        names[i] = j->files[i].path;
    struct argv_ctx ctx = {
        .entry = j->files[0].path, .files = names, .nfiles = j->nfiles,
        .source_ext = (const char *const *)j->lang->source_ext,
        .memory_mb = j->limits.memory_kb / 1024,
    };
    char **argv = argv_expand(tmpl, &ctx, argc);
    free(names);
    return argv;
}

/* ---- finishing ---- */

static void on_timer_closed(uv_handle_t *h);

static void not_busy(struct job *j)
{
    if (j->busy) {
        j->busy = false;
        pools_job_ended(j->rn->pools);
    }
}

void job_finish(struct job *j)
{
    not_busy(j);
    j->finished = true;
    j->cur = NULL;
    if (!uv_is_closing((uv_handle_t *)&j->timer))
        uv_close((uv_handle_t *)&j->timer, on_timer_closed);
    j->done(j, j->arg);
}

void job_engine_failed(struct job *j, const struct sb_error *err)
{
    j->res.failed = true;
    j->res.error = *err;
    j->res.status = SB_ST_INTERNAL_ERROR;
    job_finish(j);
}

/* ---- the run stage ---- */

static void on_output(struct sbx_run *s, int stream, const char *data, size_t len, void *arg)
{
    (void)s;
    struct job *j = arg;
    if (j->output && j->ncases == 0)
        j->output(j, stream, data, len, j->arg);
}

static void run_next(struct job *j);

static void on_run_done(struct sbx_run *s, void *arg)
{
    struct job *j = arg;
    j->cur = NULL;
    struct sbx_result *r = sbx_run_result_mut(s);
    if (r->failed && !j->cancelled) {
        struct sb_error e = r->error;
        sbx_run_free(s);
        job_engine_failed(j, &e);
        return;
    }
    if (j->ncases == 0) {
        stage_classify(&j->res.run, r, &j->limits);
        j->res.run.warm = j->cur_warm;
        j->res.ran = true;
        j->res.status = j->res.run.status;
        j->res.files = sbx_run_take_collected(s, &j->res.nfiles, &j->res.files_truncated);
        sbx_run_free(s);
        job_finish(j);
        return;
    }
    struct case_result *cr = &j->res.cases[j->next_case];
    const struct job_case *c = &j->cases[j->next_case];
    stage_classify(&cr->run, r, &j->limits);
    cr->run.warm = j->cur_warm;
    j->res.ncases = ++j->next_case;
    if (c->expected && cr->run.status == SB_ST_OK) {
        cr->judged = true;
        cr->accepted = output_matches(cr->run.out.data, cr->run.out.len, c->expected,
                                      c->expected_len);
    }
    sbx_run_free(s);
    if (j->cancelled || j->next_case == j->ncases) {
        j->res.ran = true;
        j->res.status = SB_ST_OK;
        job_finish(j);
        return;
    }
    run_next(j);
}

/* The run sandbox's files: the request's, without its sources when an
 * artifact replaces them, plus the artifact (or its unpacked files). */
static struct sbx_file_in *run_files(struct job *j, size_t *n)
{
    const struct lang *l = j->lang;
    struct sbx_file_in *files = calloc(j->nfiles + j->unpacked.n + 2, sizeof *files);
    if (!files)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < j->nfiles; i++) {
        bool replaced = l->artifact && !strcmp(j->files[i].path, l->artifact);
        for (size_t u = 0; u < j->unpacked.n && !replaced; u++)
            replaced = !strcmp(j->files[i].path, j->unpacked.v[u].name);
        if (!replaced)
            files[k++] = j->files[i];
    }
    if (l->artifact_tar) {
        for (size_t u = 0; u < j->unpacked.n; u++)
            files[k++] = (struct sbx_file_in){j->unpacked.v[u].name, j->unpacked.v[u].data,
                                           j->unpacked.v[u].len, j->unpacked.v[u].mode};
    } else if (j->artifact) {
        files[k++] = (struct sbx_file_in){l->artifact, j->artifact, j->artifact_len, 0755};
    }
    *n = k;
    return files;
}

static void run_next(struct job *j)
{
    size_t nrun, nfiles;
    char **run = job_argv(j, j->lang->run, &nrun);
    struct sbx_file_in *files = run_files(j, &nfiles);
    const char **argv = calloc(nrun + j->nargs + 1, sizeof *argv);
    struct sb_error err;
    if (!run || !files || !argv) {
        argv_free(run);
        free(files);
        free(argv);
        sb_fail(&err, SB_E_INTERNAL, "out of memory");
        return job_engine_failed(j, &err);
    }
    size_t argc = 0;
    for (size_t i = 0; i < nrun; i++)
        argv[argc++] = run[i];
    for (size_t i = 0; i < j->nargs; i++)
        argv[argc++] = j->args[i];
    struct sbx_run_spec spec = {
        .argv = argv, .argc = argc, .env = (const char *const *)j->run_env,
        .envc = j->nrun_env, .files = files, .nfiles = nfiles, .limits = j->limits,
        .stdin_data = j->has_stdin ? j->stdin_data : NULL, .stdin_len = j->stdin_len,
        .extra_etc = (const char *const *)j->lang->etc,
        .extra_binds = (const char *const *)j->lang->binds,
        .network = j->network, .net = j->network ? &j->net : NULL,
        .isolation = j->isolation,
    };
    job_interactive_spec(j, &spec);
    if (j->ncases) {
        spec.stdin_data = j->cases[j->next_case].stdin_data;
        spec.stdin_len = j->cases[j->next_case].stdin_len;
    }
    j->cur = job_claim_pooled(j, &spec, on_run_done, on_output);
    j->cur_warm = j->cur != NULL;
    if (!j->cur)
        j->cur = sbx_run_start(j->rn->engine, &spec, on_run_done, on_output, j, &err);
    if (j->cur && j->nreturn_files &&
        sbx_run_collect(j->cur, (const char *const *)j->return_files, j->nreturn_files,
                        JOB_RETURN_MAX_BYTES, JOB_RETURN_MAX_FILES, &err) < 0) {
        sbx_run_cancel(j->cur); /* out of memory: the run fails as cancelled */
    }
    job_interactive_started(j);
    argv_free(run);
    free(files);
    free(argv);
    if (!j->cur)
        job_engine_failed(j, &err);
}

void job_compiled(struct job *j)
{
    const struct stage_result *c = &j->res.compile;
    if (j->kill_requested && c->status == SB_ST_OK && !j->cancelled)
        return job_finish_killed(j);
    if (c->status != SB_ST_OK || j->cancelled) {
        j->res.status = SB_ST_COMPILE_ERROR;
        return job_finish(j);
    }
    if (j->compile_only) {
        j->res.status = SB_ST_OK;
        return job_finish(j);
    }
    if (j->lang->artifact_tar) {
        const char *why;
        if (tar_parse(j->artifact, j->artifact_len, MAX_ARTIFACT_FILES, &j->unpacked, &why) < 0) {
            j->res.compile.status = SB_ST_COMPILE_ERROR;
            snprintf(j->res.compile.message, sizeof j->res.compile.message, "%s", why);
            j->res.status = SB_ST_COMPILE_ERROR;
            return job_finish(j);
        }
    }
    run_next(j);
}

/* ---- starting ---- */

static void on_start(uv_timer_t *t)
{
    struct job *j = t->data;
    if (j->cancelled) {
        job_result_note(&j->res, "cancelled before it started");
        return job_finish(j);
    }
    if (j->kill_requested)
        job_finish_killed(j);
    else if (j->lang->compile)
        compile_begin(j);
    else if (j->compile_only) {
        j->res.status = SB_ST_OK;
        job_finish(j);
    } else
        run_next(j);
}

struct job *job_start(struct runner *rn, const struct job_request *req, job_done_cb done,
                      job_output_cb output, void *arg, struct sb_error *err)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j || req->nfiles == 0) {
        free(j);
        return sb_fail(err, SB_E_INTERNAL, req->nfiles ? "out of memory" : "no files"), NULL;
    }
    j->rn = rn;
    j->done = done;
    j->output = output;
    j->arg = arg;
    j->lang = req->lang;
    j->limits = req->limits;
    j->interactive = req->interactive && req->ncases == 0;
    j->compile_only = req->compile_only;
    limits_compile(rn->cfg, &req->lang->compile_limits, &j->compile_limits);
    limits_lower_compile(&j->compile_limits, &req->compile_limits);
    if (copy_request(j, req) < 0) {
        free_copies(j);
        free(j->res.cases);
        free(j);
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    }
    if (j->interactive && j->has_stdin) { /* the first thing "typed" */
        sb_buf_append(&j->early_in, j->stdin_data, j->stdin_len);
        j->has_stdin = false;
    }
    /* Start from the loop so `done` never runs inside job_start. The timer
     * is the job's own: ending from the loop later (a cancel while waiting
     * for a shared compile) needs no allocation that could fail. */
    uv_timer_init(rn->engine->loop, &j->timer);
    j->timer.data = j;
    uv_timer_start(&j->timer, on_start, 0, 0);
    j->busy = true;
    pools_job_started(rn->pools);
    return j;
}

static void on_cancelled(uv_timer_t *t)
{
    struct job *j = t->data;
    job_result_note(&j->res, "cancelled while waiting for its compile");
    job_finish(j);
}

void job_later(struct job *j, uv_timer_cb cb)
{
    uv_timer_start(&j->timer, cb, 0, 0);
}

void job_cancel(struct job *j)
{
    if (j->cancelled || j->finished)
        return;
    j->cancelled = true;
    if (j->flight) {
        /* Waiting for a shared compile: leave it, and report from the loop. */
        compile_leave(j);
        job_later(j, on_cancelled);
    } else if (j->cur) {
        sbx_run_cancel(j->cur);
    }
}

const struct job_result *job_result(const struct job *j)
{
    return &j->res;
}

void job_take_result(struct job *j, struct job_result *out)
{
    *out = j->res;
    memset(&j->res, 0, sizeof j->res);
}

static void free_job(struct job *j)
{
    free_copies(j);
    sb_buf_free(&j->early_in);
    job_result_free(&j->res);
    free(j);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct job *j = h->data;
    j->timer_closed = true;
    if (j->released)
        free_job(j);
}

void job_free(struct job *j)
{
    if (!j)
        return;
    j->released = true;
    not_busy(j);
    if (j->timer_closed)
        free_job(j);
}
