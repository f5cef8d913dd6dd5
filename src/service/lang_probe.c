/* Startup probe: each language's version command runs in a real sandbox; what fails is unavailable. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "runner/limits.h"
#include "sandbox/run.h"
#include "service/lang_probe.h"

struct probe {
    struct lang_probe *p;
    struct lang_status *ls;
};

static void probe_more(struct lang_probe *p);

/* The first "N.N[.N...]" in the text (also glued to a word, as in "go1.19.8"
 * or "v20.1.0"), else the first standalone whole number (Erlang reports its
 * OTP release as "25"). */
static void find_version(const char *text, char *out, size_t len)
{
    const char *number = NULL, *number_end = NULL;
    for (const char *p = text; *p; p++) {
        char prev = p > text ? p[-1] : ' ';
        if (!isdigit((unsigned char)*p) || isdigit((unsigned char)prev) || prev == '.')
            continue;
        const char *e = p;
        int dots = 0;
        while (isdigit((unsigned char)*e) || (*e == '.' && isdigit((unsigned char)e[1])))
            dots += *e++ == '.';
        if (dots > 0) {
            snprintf(out, len, "%.*s", (int)(e - p), p);
            return;
        }
        if (!number && !isalnum((unsigned char)prev) && !isalnum((unsigned char)*e))
            number = p, number_end = e;
    }
    if (number)
        snprintf(out, len, "%.*s", (int)(number_end - number), number);
    else
        snprintf(out, len, "unknown");
}

static void probed(struct lang_probe *p, struct lang_status *ls)
{
    ls->probed = true;
    if (ls->available && p->usable)
        p->usable(ls->lang, p->arg);
    if (!ls->available)
        log_event(LOG_WARN, "language unavailable",
                  json_pack("{s:s,s:s}", "language", ls->lang->name, "reason", ls->why));
}

static void on_probed(struct sbx_run *sb, void *arg)
{
    struct probe *pr = arg;
    const struct sbx_result *r = sbx_run_result(sb);
    struct lang_status *ls = pr->ls;
    if (r->failed) {
        snprintf(ls->why, sizeof ls->why, "%s", r->error.msg);
    } else if (!r->exited || r->term_signal || r->exit_code != 0) {
        snprintf(ls->why, sizeof ls->why, "version check `%s` failed (exit %d, signal %d): %.120s",
                 ls->lang->version[0], r->exit_code, r->term_signal,
                 r->err.len ? r->err.data : "");
    } else {
        struct sb_buf both = {0};
        sb_buf_append(&both, r->out.data, r->out.len);
        sb_buf_append(&both, r->err.data, r->err.len);
        find_version(both.data ? both.data : "", ls->version, sizeof ls->version);
        sb_buf_free(&both);
        ls->available = true;
    }
    sbx_run_free(sb);
    struct lang_probe *p = pr->p;
    free(pr);
    p->running--;
    probed(p, ls);
    probe_more(p);
}

/* Checks that need no sandbox: limits that fit the server, an installed binary. */
static bool precheck(struct lang_probe *p, struct lang_status *ls)
{
    const struct lang *l = ls->lang;
    struct sb_error err;
    if (limits_check_lang(p->cfg, &l->limits, &err) < 0) {
        snprintf(ls->why, sizeof ls->why, "its default %s", err.msg);
        return false;
    }
    if (access(l->version[0], X_OK) < 0) {
        char pkgs[160] = "";
        for (char **pk = l->packages; pk && *pk; pk++)
            snprintf(pkgs + strlen(pkgs), sizeof pkgs - strlen(pkgs), "%s%s", pkgs[0] ? " " : "",
                     *pk);
        snprintf(ls->why, sizeof ls->why, "not installed: %s is missing (Debian packages: %s; "
                 "scripts/setup.sh installs them)", l->version[0], pkgs);
        return false;
    }
    return true;
}

static void start_probe(struct lang_probe *p, struct lang_status *ls)
{
    static const char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp",
                                      "LANG=C.UTF-8"};
    const struct lang *l = ls->lang;
    struct sbx_limits lim;
    struct limit_request lr;
    limit_request_init(&lr);
    limits_resolve(p->cfg, NULL, &lr, "", &lim, NULL);
    lim.wall_ms = 60000;
    lim.cpu_ms = 60000;
    lim.processes = 256;
    lim.memory_kb = p->cfg->security.max_memory_mb * 1024;
    size_t argc = 0;
    while (l->version[argc])
        argc++;
    struct sbx_run_spec spec = {.argv = (const char *const *)l->version, .argc = argc, .env = env,
                            .envc = 3, .limits = lim,
                            .extra_etc = (const char *const *)l->etc,
                            .extra_binds = (const char *const *)l->binds};
    struct probe *pr = calloc(1, sizeof *pr);
    struct sb_error err;
    if (!pr) {
        snprintf(ls->why, sizeof ls->why, "out of memory");
        probed(p, ls);
        return;
    }
    pr->p = p;
    pr->ls = ls;
    p->running++;
    if (!sbx_run_start(p->engine, &spec, on_probed, NULL, pr, &err)) {
        p->running--;
        snprintf(ls->why, sizeof ls->why, "%s", err.msg);
        free(pr);
        probed(p, ls);
    }
}

/* Keeps at most one probe per CPU running, so startup does not starve the
 * executions the server already accepts. */
static void probe_more(struct lang_probe *p)
{
    unsigned max = p->engine->cg.ncpus ? p->engine->cg.ncpus : 1;
    while (!p->stopping && p->next < p->n && p->running < max) {
        struct lang_status *ls = &p->langs[p->next++];
        if (precheck(p, ls))
            start_probe(p, ls);
        else
            probed(p, ls);
    }
    if (p->running == 0 && !p->ready && (p->next == p->n || p->stopping)) {
        p->ready = true;
        size_t ok = 0;
        for (size_t i = 0; i < p->n; i++)
            ok += p->langs[i].available;
        log_event(LOG_INFO, "languages probed",
                  json_pack("{s:i,s:i}", "available", (int)ok, "unavailable", (int)(p->n - ok)));
        if (p->done)
            p->done(p->arg); /* a shutdown may have waited for the probes */
    }
}

int lang_probe_init(struct lang_probe *p, struct sbx_engine *e, const struct sb_config *cfg,
                    const struct lang_registry *reg, struct sb_error *err)
{
    memset(p, 0, sizeof *p);
    p->engine = e;
    p->cfg = cfg;
    p->n = reg->n;
    if (!(p->langs = calloc(reg->n ? reg->n : 1, sizeof *p->langs)))
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < reg->n; i++)
        p->langs[i].lang = reg->v[i];
    return 0;
}

void lang_probe_start(struct lang_probe *p)
{
    probe_more(p);
}

void lang_probe_stop(struct lang_probe *p)
{
    p->stopping = true;
    probe_more(p);
}

void lang_probe_free(struct lang_probe *p)
{
    free(p->langs);
    p->langs = NULL;
}

const struct lang_status *lang_probe_find(const struct lang_probe *p, const struct lang *l)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->langs[i].lang == l)
            return &p->langs[i];
    return NULL;
}

int lang_probe_check(const struct lang_probe *p, const struct lang *l, struct sb_error *err)
{
    const struct lang_status *ls = lang_probe_find(p, l);
    if (ls && ls->probed && !ls->available)
        return sb_fail(err, SB_E_UNKNOWN_LANGUAGE,
                       "language: '%s' is unavailable on this server: %s", l->name, ls->why);
    return 0;
}

json_t *lang_probe_json(const struct lang_probe *p)
{
    json_t *ok = json_array(), *bad = json_array(), *probing = json_array();
    for (size_t i = 0; i < p->n; i++) {
        const struct lang_status *ls = &p->langs[i];
        if (!ls->probed) {
            json_array_append_new(probing, json_string(ls->lang->name));
            continue;
        }
        if (!ls->available) {
            json_array_append_new(bad, json_pack("{s:s,s:s}", "name", ls->lang->name,
                                                 "reason", ls->why));
            continue;
        }
        json_t *aliases = json_array();
        for (char **a = ls->lang->aliases; a && *a; a++)
            json_array_append_new(aliases, json_string(*a));
        json_array_append_new(ok, json_pack("{s:s,s:o,s:s,s:b}", "name", ls->lang->name,
                                            "aliases", aliases, "version", ls->version,
                                            "compiled", ls->lang->compile != NULL));
    }
    return json_pack("{s:o,s:o,s:o}", "languages", ok, "unavailable", bad, "probing", probing);
}
