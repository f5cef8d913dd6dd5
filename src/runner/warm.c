/* The run stage on a pooled sandbox: what the pool needs to know about the
 * run (and, for a warm interpreter, the program it should run). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "runner/job_internal.h"
#include "runner/pool.h"

/* A request variable that changes how the interpreter starts runs cold. */
static bool env_allows_warm(const struct job *j)
{
    char **prefixes = j->lang->warm_cold_env;
    for (size_t i = 0; prefixes && i < j->nreq_env; i++)
        for (char **p = prefixes; *p; p++)
            if (!strncmp(j->req_env[i], *p, strlen(*p)))
                return false;
    return true;
}

/* {"argv": [...], "env": [...]}: what the warm interpreter reads from fd 3. */
static char *warm_input(const struct sbx_run_spec *spec, size_t *len)
{
    json_t *argv = json_array(), *env = json_array();
    for (size_t i = 0; i < spec->argc; i++)
        json_array_append_new(argv, json_string(spec->argv[i]));
    for (size_t i = 0; i < spec->envc; i++)
        json_array_append_new(env, json_string(spec->env[i]));
    json_t *o = json_pack("{s:o,s:o}", "argv", argv, "env", env);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text)
        *len = strlen(text);
    return text;
}

struct sbx_run *job_claim_pooled(struct job *j, const struct sbx_run_spec *spec, sbx_run_done_cb done,
                             sbx_run_output_cb output)
{
    struct pools *ps = j->rn->pools;
    if (!ps)
        return NULL;
    bool warm = pools_warm(ps, j->lang, j->network, j->isolation);
    if (warm && !env_allows_warm(j))
        return NULL;
    struct sbx_run_go go = {
        .argv = spec->argv, .argc = spec->argc, .env = spec->env, .envc = spec->envc,
        .files = spec->files, .nfiles = spec->nfiles, .stdin_data = spec->stdin_data,
        .stdin_len = spec->stdin_len, .interactive = spec->interactive, .limits = spec->limits,
        .net = j->network ? &j->net : NULL, .isolation = j->isolation,
    };
    char *input = NULL;
    if (warm) {
        /* strings that are not UTF-8 cannot be handed over in JSON: run cold */
        if (!(input = warm_input(spec, &go.input_len)))
            return NULL;
        go.input = input;
    }
    struct sbx_run *s = pools_claim(ps, j->lang, &go, done, output, j);
    free(input);
    return s;
}
