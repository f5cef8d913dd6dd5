/* Startup probe: each language's version command runs in a real sandbox; what fails is unavailable. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "runner/limits.h"
#include "service/service.h"

struct probe {
    struct server *s;
    struct lang_status *ls;
};

static void probe_more(struct server *s);

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

static void probed(struct server *s, struct lang_status *ls)
{
    ls->probed = true;
    if (ls->available)
        server_language_usable(s, ls->lang);
    if (!ls->available)
        log_event(LOG_WARN, "language unavailable",
                  json_pack("{s:s,s:s}", "language", ls->lang->name, "reason", ls->why));
}

static void on_probed(struct sbx_run *sb, void *arg)
{
    struct probe *p = arg;
    const struct sbx_result *r = sbx_run_result(sb);
    struct lang_status *ls = p->ls;
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
    struct server *s = p->s;
    free(p);
    s->probes_running--;
    probed(s, ls);
    probe_more(s);
}

/* Checks that need no sandbox: limits that fit the server, an installed binary. */
static bool precheck(struct server *s, struct lang_status *ls)
{
    const struct lang *l = ls->lang;
    struct sb_error err;
    if (limits_check_lang(s->cfg, &l->limits, &err) < 0) {
        snprintf(ls->why, sizeof ls->why, "its default %s", err.msg);
        return false;
    }
    if (access(l->version[0], X_OK) < 0) {
        char pkgs[160] = "";
        for (char **p = l->packages; p && *p; p++)
            snprintf(pkgs + strlen(pkgs), sizeof pkgs - strlen(pkgs), "%s%s", pkgs[0] ? " " : "",
                     *p);
        snprintf(ls->why, sizeof ls->why, "not installed: %s is missing (Debian packages: %s; "
                 "scripts/setup.sh installs them)", l->version[0], pkgs);
        return false;
    }
    return true;
}

static void start_probe(struct server *s, struct lang_status *ls)
{
    static const char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp",
                                      "LANG=C.UTF-8"};
    const struct lang *l = ls->lang;
    struct sbx_limits lim;
    struct limit_request lr;
    limit_request_init(&lr);
    limits_resolve(s->cfg, NULL, &lr, "", &lim, NULL);
    lim.wall_ms = 60000;
    lim.cpu_ms = 60000;
    lim.processes = 256;
    lim.memory_kb = s->cfg->security.max_memory_mb * 1024;
    size_t argc = 0;
    while (l->version[argc])
        argc++;
    struct sbx_run_spec spec = {.argv = (const char *const *)l->version, .argc = argc, .env = env,
                            .envc = 3, .limits = lim,
                            .extra_etc = (const char *const *)l->etc,
                            .extra_binds = (const char *const *)l->binds};
    struct probe *p = calloc(1, sizeof *p);
    struct sb_error err;
    if (!p) {
        snprintf(ls->why, sizeof ls->why, "out of memory");
        probed(s, ls);
        return;
    }
    p->s = s;
    p->ls = ls;
    s->probes_running++;
    if (!sbx_run_start(&s->engine, &spec, on_probed, NULL, p, &err)) {
        s->probes_running--;
        snprintf(ls->why, sizeof ls->why, "%s", err.msg);
        free(p);
        probed(s, ls);
    }
}

/* Keeps at most one probe per CPU running, so startup does not starve the
 * executions the server already accepts. */
static void probe_more(struct server *s)
{
    unsigned max = s->engine.cg.ncpus ? s->engine.cg.ncpus : 1;
    while (!s->stopping && s->probe_next < s->nlangs && s->probes_running < max) {
        struct lang_status *ls = &s->langs[s->probe_next++];
        if (precheck(s, ls))
            start_probe(s, ls);
        else
            probed(s, ls);
    }
    if (s->probes_running == 0 && !s->langs_ready &&
        (s->probe_next == s->nlangs || s->stopping)) {
        s->langs_ready = true;
        size_t ok = 0;
        for (size_t i = 0; i < s->nlangs; i++)
            ok += s->langs[i].available;
        log_event(LOG_INFO, "languages probed",
                  json_pack("{s:i,s:i}", "available", (int)ok, "unavailable", (int)(s->nlangs - ok)));
        server_execution_ended(s); /* a shutdown may have waited for the probes */
    }
}

void languages_probe(struct server *s)
{
    const struct lang_registry *reg = lang_registry_global();
    s->nlangs = reg->n;
    s->langs = calloc(reg->n ? reg->n : 1, sizeof *s->langs);
    for (size_t i = 0; i < reg->n; i++)
        s->langs[i].lang = reg->v[i];
    probe_more(s);
}

const struct lang_status *languages_find(const struct server *s, const struct lang *l)
{
    for (size_t i = 0; i < s->nlangs; i++)
        if (s->langs[i].lang == l)
            return &s->langs[i];
    return NULL;
}

int languages_check(const struct server *s, const struct lang *l, struct sb_error *err)
{
    const struct lang_status *ls = languages_find(s, l);
    if (ls && ls->probed && !ls->available)
        return sb_fail(err, SB_E_UNKNOWN_LANGUAGE,
                       "language: '%s' is unavailable on this server: %s", l->name, ls->why);
    return 0;
}

json_t *languages_json(const struct server *s)
{
    json_t *ok = json_array(), *bad = json_array(), *probing = json_array();
    for (size_t i = 0; i < s->nlangs; i++) {
        const struct lang_status *ls = &s->langs[i];
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
