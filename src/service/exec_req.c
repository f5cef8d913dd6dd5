/* Execution requests: their names and their release; the job view the runner takes. */
#include "service/exec_req.h"

#include <stdlib.h>
#include <string.h>

const char *exec_req_kind_name(enum req_kind kind)
{
    switch (kind) {
    case REQ_SYNC:        return "sync";
    case REQ_ASYNC:       return "async";
    case REQ_STREAM:      return "stream";
    case REQ_INTERACTIVE: return "interactive";
    }
    return "sync";
}

void exec_req_free(struct exec_req *r)
{
    for (size_t i = 0; i < r->nfiles; i++) {
        free((char *)r->files[i].name);
        free((char *)r->files[i].data);
    }
    free(r->files);
    for (size_t i = 0; i < r->nargs; i++)
        free(r->args[i]);
    free(r->args);
    for (size_t i = 0; i < r->ncompile_args; i++)
        free(r->compile_args[i]);
    free(r->compile_args);
    for (size_t i = 0; i < r->nenv; i++)
        free(r->env[i]);
    free(r->env);
    free(r->stdin_data);
    for (size_t i = 0; i < r->ncases; i++) {
        free((char *)r->cases[i].stdin_data);
        free((char *)r->cases[i].expected);
    }
    free(r->cases);
    for (size_t i = 0; i < r->nreturn_files; i++)
        free(r->return_files[i]);
    free(r->return_files);
    free(r->callback_url);
    free(r->limits_json);
    json_decref(r->source);
    r->source = NULL;
    if (r->net_policy)
        net_policy_free(r->net_policy);
    free(r->net_policy);
    memset(r, 0, sizeof *r);
}

void exec_req_job(const struct exec_req *r, struct job_request *jr)
{
    memset(jr, 0, sizeof *jr);
    jr->lang = r->lang;
    jr->files = r->files;
    jr->nfiles = r->nfiles;
    jr->stdin_data = r->stdin_data;
    jr->stdin_len = r->stdin_len;
    jr->args = (const char *const *)r->args;
    jr->nargs = r->nargs;
    jr->compile_args = (const char *const *)r->compile_args;
    jr->ncompile_args = r->ncompile_args;
    jr->compile_limits = r->compile_limits;
    jr->env = (const char *const *)r->env;
    jr->nenv = r->nenv;
    jr->limits = r->limits;
    jr->cases = r->cases;
    jr->ncases = r->ncases;
    jr->interactive = r->interactive;
    jr->return_files = (const char *const *)r->return_files;
    jr->nreturn_files = r->nreturn_files;
    jr->net_policy = r->net_policy;
    jr->isolation = r->isolation;
}
