/* Startup probe: each language's version command runs in a real sandbox; what fails is unavailable. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "runner/limits.h"
#include "server/server.h"

struct probe {
    struct server *s;
    struct lang_status *ls;
    void (*done)(struct server *);
};

/* The first "N.N[.N...]" in the text. */
static void find_version(const char *text, char *out, size_t len)
{
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > text && (isalnum((unsigned char)p[-1]) ||
                                                          p[-1] == '.')))
            continue;
        const char *e = p;
        int dots = 0;
        while (isdigit((unsigned char)*e) || (*e == '.' && isdigit((unsigned char)e[1])))
            dots += *e++ == '.';
        if (dots > 0) {
            snprintf(out, len, "%.*s", (int)(e - p), p);
            return;
        }
    }
    snprintf(out, len, "unknown");
}

static void on_probed(struct sbx *sb, void *arg)
{
    struct probe *p = arg;
    const struct sbx_result *r = sbx_result(sb);
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
    if (!ls->available)
        log_event(LOG_WARN, "language unavailable",
                  json_pack("{s:s,s:s}", "language", ls->lang->name, "reason", ls->why));
    sbx_free(sb);
    struct server *s = p->s;
    void (*done)(struct server *) = p->done;
    free(p);
    if (--s->probes_left == 0)
        done(s);
}

void languages_probe(struct server *s, void (*done)(struct server *))
{
    const struct lang *const *all = lang_all();
    size_t n = 0;
    while (all[n])
        n++;
    s->langs = calloc(n, sizeof *s->langs);
    s->nlangs = n;
    s->probes_left = (unsigned)n;
    struct sbx_limits lim;
    struct limit_request lr;
    limit_request_init(&lr);
    limits_resolve(s->cfg, &lr, "", &lim, NULL);
    lim.wall_ms = 20000;
    lim.cpu_ms = 20000;
    static const char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp",
                                      "LANG=C.UTF-8"};
    for (size_t i = 0; i < n; i++) {
        s->langs[i].lang = all[i];
        struct probe *p = calloc(1, sizeof *p);
        size_t argc = 0;
        while (all[i]->version[argc])
            argc++;
        struct sbx_spec spec = {.argv = all[i]->version, .argc = argc, .env = env, .envc = 3,
                                .limits = lim};
        struct sb_error err;
        p->s = s;
        p->ls = &s->langs[i];
        p->done = done;
        if (!sbx_start(&s->engine, &spec, on_probed, NULL, p, &err)) {
            snprintf(s->langs[i].why, sizeof s->langs[i].why, "%s", err.msg);
            free(p);
            if (--s->probes_left == 0)
                done(s);
        }
    }
}

const struct lang_status *languages_find(const struct server *s, const struct lang *l)
{
    for (size_t i = 0; i < s->nlangs; i++)
        if (s->langs[i].lang == l)
            return &s->langs[i];
    return NULL;
}
