/* libpq through dlopen: cluster mode needs it, a single node never loads it. */
#include "store/pq.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct pq_api pq;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[200];

static void load(void)
{
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_error, sizeof load_error, "cannot load libpq.so.5 (Debian package "
                 "libpq5): %s", dlerror());
        return;
    }
#define PQ_RESOLVE(ret, name, args)                                                        \
    if (!(*(void **)&pq.name = dlsym(h, #name))) {                                         \
        snprintf(load_error, sizeof load_error, "libpq.so.5 has no %s", #name);            \
        return;                                                                            \
    }
    PQ_FUNCS(PQ_RESOLVE)
#undef PQ_RESOLVE
}

int pq_load(struct sb_error *err)
{
    pthread_once(&once, load);
    if (load_error[0])
        return sb_fail(err, SB_E_INTERNAL, "%s", load_error);
    return 0;
}

void pq_redact(const char *url, char *out, size_t len)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (!colon) {
        snprintf(out, len, "%s", url);
        return;
    }
    snprintf(out, len, "%.*s:***%s", (int)(colon - url), url, at);
}

/* libpq's messages span lines ("...\n\tThis probably means..."); ours are one. */
void pq_tidy(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        bool space = *r == '\n' || *r == '\t' || *r == ' ';
        if (space && (w == s || w[-1] == ' '))
            continue;
        *w++ = space ? ' ' : *r;
    }
    while (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
}

/* The server's notices ("relation ... already exists, skipping") are not
 * SoulBox's to print on stderr. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *pq_connect(const char *url, const char *app, struct sb_error *err)
{
    if (pq_load(err) < 0)
        return NULL;
    /* A URL takes options as query parameters; these bound how long a dead
     * server or a partition can hold a node. */
    char conninfo[2300];
    snprintf(conninfo, sizeof conninfo, "%s%sconnect_timeout=3&keepalives=1&keepalives_idle=5&"
             "keepalives_interval=2&keepalives_count=3&tcp_user_timeout=8000&"
             "application_name=%s", url, strchr(url, '?') ? "&" : "?", app);
    PGconn *c = pq.PQconnectdb(conninfo);
    if (!c) {
        sb_fail(err, SB_E_UNAVAILABLE, "postgres: out of memory");
        return NULL;
    }
    if (pq.PQstatus(c) != CONNECTION_OK) {
        char shown[300];
        pq_redact(url, shown, sizeof shown);
        sb_fail(err, SB_E_UNAVAILABLE, "postgres %s: %s", shown, pq.PQerrorMessage(c));
        pq_tidy(err->msg);
        pq.PQfinish(c);
        return NULL;
    }
    pq.PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

bool pq_failed(PGconn *c, const PGresult *r, struct sb_error *err, const char *what)
{
    bool gone = pq.PQstatus(c) != CONNECTION_OK;
    /* The primary message only: the full one quotes the statement. */
    const char *msg = r ? pq.PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg || !*msg)
        msg = pq.PQerrorMessage(c);
    sb_fail(err, gone ? SB_E_UNAVAILABLE : SB_E_INTERNAL, "postgres: %s: %s", what,
            msg && *msg ? msg : "no answer");
    pq_tidy(err->msg);
    return gone;
}

int pq_exec(PGconn *c, const char *sql, struct sb_error *err, const char *what)
{
    PGresult *r = pq.PQexec(c, sql);
    ExecStatusType st = r ? pq.PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pq_failed(c, r, err, what);
        pq.PQclear(r);
        return -1;
    }
    pq.PQclear(r);
    return 0;
}
