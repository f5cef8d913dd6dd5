/* Warm pools: refilled while the runner is quiet, sized to the observed
 * demand, within a memory budget, with a back-off when a language's
 * sandboxes keep failing. */
#include "runner/pool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/argv.h"
#include "runner/runner.h"
#include "runner/limits.h"

#define MAX_BACKOFF_MS 60000
/* A refill waits until no job is in flight, but no longer than this. */
#define MAX_DEFER_MS 50
/* Default ceiling of a pool's growth (config: max_size). */
#define DEFAULT_MAX 8

struct pooled {
    struct sbx_run *s;
    struct pool *p;
    uint64_t t0;               /* refill start */
    bool ready;
    bool trimmed;              /* cancelled: the pool shrank */
    struct pooled *next;
};

struct pool {
    struct pools *ps;
    const struct lang *lang;
    bool network;              /* plumbed for egress (network requests only) */
    enum sbx_isolation isolation;
    unsigned base, max;        /* the configured size and the growth ceiling */
    uint64_t last_arrival;     /* ns: the last request for this language */
    double gap_ms;             /* moving average of the time between requests */
    double refill_ms;          /* moving average of a refill's duration */
    unsigned empty_misses;     /* requests that found it empty since it was last idle */
    char **argv, **env;        /* the warm program (argv NULL: no program until GO) */
    size_t argc, envc;
    struct sbx_limits lim;     /* the language's defaults: what it is built with */
    struct pooled *list;       /* starting and ready */
    unsigned starting, nready;
    uint64_t hits, misses, refills, refill_ns, memory_each;
    uint64_t backoff_ms;
    uv_timer_t retry;
    bool retry_on;
};

struct pools {
    struct runner *rn;
    struct pool *v;
    size_t n;
    uint64_t budget;           /* bytes */
    uint64_t idle_ns;          /* without a request for this long, a grown pool shrinks */
    unsigned busy;             /* jobs in flight: refills wait for 0 */
    unsigned parallel;         /* refills at once per language */
    uv_timer_t kick;           /* the next deferred refill / shrink */
    uint64_t kick_due;         /* ns, 0: not armed */
    unsigned alive;            /* pooled sandboxes not yet finished */
    bool closing;
    unsigned timers_open;
    void (*closed)(void *);
    void *closed_arg;
};

static void refill(struct pool *p);
static void want_refill(struct pools *ps);

/* ---- bookkeeping ---- */

/* A moving average: recent samples weigh most (0 = no sample yet). */
static double average(double avg, double sample)
{
    return avg ? 0.7 * avg + 0.3 * sample : sample;
}

static uint64_t pools_memory(const struct pools *ps)
{
    uint64_t m = 0;
    for (size_t i = 0; i < ps->n; i++)
        for (struct pooled *q = ps->v[i].list; q; q = q->next)
            m += q->ready ? sbx_run_memory(q->s) : ps->v[i].memory_each;
    return m;
}

static void unlink_pooled(struct pooled *q)
{
    struct pooled **pp = &q->p->list;
    while (*pp && *pp != q)
        pp = &(*pp)->next;
    if (*pp)
        *pp = q->next;
}

static void maybe_closed(struct pools *ps)
{
    if (ps->closing && ps->alive == 0 && ps->timers_open == 0 && ps->closed) {
        void (*done)(void *) = ps->closed;
        void *arg = ps->closed_arg;
        ps->closed = NULL;
        for (size_t i = 0; i < ps->n; i++) {
            argv_free(ps->v[i].argv);
            argv_free(ps->v[i].env);
        }
        free(ps->v);
        free(ps);
        done(arg);
    }
}

/* ---- sandbox callbacks ---- */

static void on_retry(uv_timer_t *t)
{
    struct pool *p = t->data;
    p->retry_on = false;
    refill(p);
}

/* A pooled sandbox ended before anyone claimed it (or its claim failed). */
static void on_pooled_done(struct sbx_run *s, void *arg)
{
    struct pooled *q = arg;
    struct pool *p = q->p;
    struct pools *ps = p->ps;
    const struct sbx_result *r = sbx_run_result(s);
    if (!q->ready)
        p->starting--;
    else
        p->nready--;
    unlink_pooled(q);
    if (!ps->closing && !r->cancelled) {
        /* It died on its own: a broken runtime must not spin the refill. */
        log_event(LOG_WARN, "pooled sandbox ended while waiting",
                  json_pack("{s:s,s:s}", "language", p->lang->name, "error",
                            r->failed ? r->error.msg : "its program exited"));
        p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : 1000;
        if (p->backoff_ms > MAX_BACKOFF_MS)
            p->backoff_ms = MAX_BACKOFF_MS;
        if (!p->retry_on) {
            p->retry_on = true;
            uv_timer_start(&p->retry, on_retry, p->backoff_ms, 0);
        }
    }
    sbx_run_free(s);
    free(q);
    ps->alive--;
    if (!ps->closing && !p->retry_on)
        want_refill(ps);
    maybe_closed(ps);
}

static void on_pooled_ready(struct sbx_run *s, void *arg)
{
    (void)s;
    struct pooled *q = arg;
    struct pool *p = q->p;
    q->ready = true;
    p->starting--;
    p->nready++;
    p->refills++;
    uint64_t took = util_mono_ns() - q->t0;
    p->refill_ns += took;
    p->refill_ms = average(p->refill_ms, (double)took / 1e6);
    p->memory_each = sbx_run_memory(q->s);
    p->backoff_ms = 0;
    want_refill(p->ps);
}

/* ---- refilling ---- */

static void start_one(struct pool *p)
{
    struct pools *ps = p->ps;
    struct pooled *q = calloc(1, sizeof *q);
    if (!q)
        return;
    q->p = p;
    q->t0 = util_mono_ns();
    struct sbx_run_spec spec = {
        .argv = (const char *const *)p->argv, .argc = p->argc,
        .env = (const char *const *)p->env, .envc = p->envc, .limits = p->lim,
        .extra_etc = (const char *const *)p->lang->etc,
        .extra_binds = (const char *const *)p->lang->binds,
        .pooled = true, .warm = p->argv != NULL, .network = p->network,
        .isolation = p->isolation,
    };
    struct sb_error err;
    q->s = sbx_run_start(ps->rn->engine, &spec, on_pooled_done, NULL, q, &err);
    if (!q->s) {
        free(q);
        return;
    }
    sbx_run_on_ready(q->s, on_pooled_ready);
    q->next = p->list;
    p->list = q;
    p->starting++;
    ps->alive++;
}

/* How many it should keep: its size, or more while requests arrive faster
 * than one refill takes (the requests expected during a refill, plus one). */
static unsigned pool_target(const struct pool *p, uint64_t now)
{
    if (!p->last_arrival || now - p->last_arrival > p->ps->idle_ns)
        return p->base;
    double need = p->base;
    if (p->gap_ms > 0 && p->refill_ms > 0)
        need = ceil(p->refill_ms / p->gap_ms) + 1;
    /* while the averages settle, each request that found it empty asks for one more */
    if (need < p->base + p->empty_misses)
        need = p->base + p->empty_misses;
    unsigned t = need > p->max ? p->max : (unsigned)need;
    return t < p->base ? p->base : t;
}

/* Starts refills up to the target, a few at a time, within the memory budget. */
static void refill(struct pool *p)
{
    struct pools *ps = p->ps;
    unsigned target = pool_target(p, util_mono_ns());
    while (!ps->closing && !p->retry_on && p->starting < ps->parallel &&
           p->nready + p->starting < target) {
        uint64_t each = p->memory_each ? p->memory_each : 16u << 20;
        if (pools_memory(ps) + each > ps->budget)
            return;
        unsigned before = p->starting;
        start_one(p);
        if (p->starting == before)
            return; /* could not start one: the next event retries */
    }
}

/* Ready sandboxes beyond a shrunk target go (the oldest stay). */
static void trim(struct pool *p)
{
    unsigned target = pool_target(p, util_mono_ns());
    unsigned keep = p->nready;
    for (struct pooled *q = p->list; q; q = q->next)
        keep -= q->ready && q->trimmed;
    for (struct pooled *q = p->list; q && keep > target; q = q->next)
        if (q->ready && !q->trimmed) {
            q->trimmed = true;
            keep--;
            sbx_run_cancel(q->s); /* on_pooled_done unlists it */
        }
}

static void on_kick(uv_timer_t *t);

static void schedule(struct pools *ps, uint64_t ms)
{
    uint64_t due = util_mono_ns() + ms * 1000000ull;
    if (ps->closing || (ps->kick_due && ps->kick_due <= due))
        return;
    ps->kick_due = due;
    uv_timer_start(&ps->kick, on_kick, ms, 0);
}

static void on_kick(uv_timer_t *t)
{
    struct pools *ps = t->data;
    ps->kick_due = 0;
    uint64_t now = util_mono_ns();
    bool grown = false;
    for (size_t i = 0; i < ps->n; i++) {
        struct pool *p = &ps->v[i];
        trim(p);
        refill(p);
        grown |= pool_target(p, now) > p->base;
    }
    if (grown) /* look again when it may shrink */
        schedule(ps, ps->idle_ns / 1000000u + 1);
}

/* A refill is due: now if no job is in flight (from the loop, after the
 * answer that freed it was written), else when the last one ends, or after
 * MAX_DEFER_MS at the latest. Refills run at the lowest CPU weight and spawn
 * on a thread, so a deferred one disturbs a long program very little. */
static void want_refill(struct pools *ps)
{
    schedule(ps, ps->busy ? MAX_DEFER_MS : 0);
}

void pools_job_started(struct pools *ps)
{
    if (ps)
        ps->busy++;
}

void pools_job_ended(struct pools *ps)
{
    if (ps && ps->busy && --ps->busy == 0)
        schedule(ps, 0);
}

/* ---- claiming ---- */

/* A request for the language, served or not: the demand the size follows. */
static void note_arrival(struct pool *p)
{
    uint64_t now = util_mono_ns();
    if (p->last_arrival && now - p->last_arrival < p->ps->idle_ns) {
        p->gap_ms = average(p->gap_ms, (double)(now - p->last_arrival) / 1e6);
    } else {
        p->gap_ms = 0; /* the first after a quiet spell says nothing of the rate */
        p->empty_misses = 0;
    }
    p->last_arrival = now;
}

struct sbx_run *pools_claim(struct pools *ps, const struct lang *l, const struct sbx_run_go *go,
                        sbx_run_done_cb done, sbx_run_output_cb output, void *arg)
{
    struct pool *p = NULL;
    for (size_t i = 0; ps && i < ps->n && !p; i++)
        if (ps->v[i].lang == l && ps->v[i].network == (go->net != NULL) &&
            ps->v[i].isolation == go->isolation)
            p = &ps->v[i];
    if (!p || ps->closing)
        return NULL;
    note_arrival(p);
    struct pooled *q = p->list;
    while (q && !(q->ready && !q->trimmed && sbx_run_is_ready(q->s)))
        q = q->next;
    struct sb_error err;
    if (!q || go->limits.disk_kb != p->lim.disk_kb) {
        p->misses++;
        if (!q && p->empty_misses < p->max) {
            p->empty_misses++;
            want_refill(ps);
        }
        return NULL;
    }
    if (sbx_run_go(q->s, go, done, output, arg, &err) < 0) {
        /* It cannot serve these limits: it goes, the request runs cold. */
        p->misses++;
        sbx_run_cancel(q->s);
        return NULL;
    }
    /* The sandbox belongs to the claimer now. */
    struct sbx_run *s = q->s;
    unlink_pooled(q);
    free(q);
    p->nready--;
    p->hits++;
    ps->alive--;
    want_refill(ps);
    maybe_closed(ps);
    return s;
}

bool pools_warm(const struct pools *ps, const struct lang *l, bool network,
                enum sbx_isolation isolation)
{
    for (size_t i = 0; ps && i < ps->n; i++)
        if (ps->v[i].lang == l && ps->v[i].network == network &&
            ps->v[i].isolation == isolation)
            return ps->v[i].argv != NULL;
    return false;
}

/* ---- opening and closing ---- */

/* The warm program's argv (warm.run + the preload modules) and env. */
static int pool_program(struct pool *p, const struct sb_pool_cfg *pc)
{
    if (runner_lang_env(p->lang, &p->env, &p->envc) < 0)
        return -1;
    if (!p->lang->warm_run)
        return 0;
    size_t n = 0;
    while (p->lang->warm_run[n])
        n++;
    if (!(p->argv = calloc(n + pc->preload.n + 1, sizeof *p->argv)))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(p->argv[p->argc++] = strdup(p->lang->warm_run[i])))
            return -1;
    for (size_t i = 0; i < pc->preload.n; i++)
        if (!(p->argv[p->argc++] = strdup(pc->preload.v[i])))
            return -1;
    return 0;
}

static int pool_init(struct pools *ps, struct pool *p, const struct lang *l,
                     const struct sb_pool_cfg *pc, struct sb_error *err)
{
    p->ps = ps;
    p->lang = l;
    p->base = (unsigned)pc->size;
    p->max = pc->max_size ? (unsigned)pc->max_size
                          : (p->base > DEFAULT_MAX ? p->base : DEFAULT_MAX);
    struct limit_request none;
    limit_request_init(&none);
    const struct sb_config *cfg = ps->rn->cfg;
    if (limits_resolve(cfg, &l->limits, &none, "limits.", &p->lim, err) < 0)
        return -1;
    /* A warm program's rlimits can only be lowered at the claim (it runs as
     * the sandbox uid): start it with the ceilings, plus a minute of CPU for
     * its own start-up. The cgroup limits are set to the request's then too. */
    p->lim.cpu_ms = cfg->maximums.cpu_time_ms + 60000;
    p->lim.file_size_kb = cfg->maximums.file_size_kb;
    p->lim.open_files = cfg->maximums.open_files;
    p->lim.stack_kb = cfg->maximums.stack_kb;
    p->lim.processes = (uint32_t)cfg->maximums.processes;
    uv_timer_init(ps->rn->engine->loop, &p->retry);
    p->retry.data = p;
    ps->timers_open++;
    if (pool_program(p, pc) < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    return 0;
}

int pools_open(struct pools **out, struct runner *rn, struct sb_error *err)
{
    const struct sb_config *cfg = rn->cfg;
    struct pools *ps = calloc(1, sizeof *ps);
    if (!ps || !(ps->v = calloc(cfg->n_pools ? cfg->n_pools : 1, sizeof *ps->v))) {
        free(ps);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    ps->rn = rn;
    ps->budget = cfg->pool_memory_mb << 20;
    ps->idle_ns = cfg->pool_idle_ms * 1000000ull;
    ps->parallel = rn->engine->cg.ncpus ? rn->engine->cg.ncpus : 1;
    uv_timer_init(rn->engine->loop, &ps->kick);
    ps->kick.data = ps;
    ps->timers_open++;
    *out = ps;
    return 0;
}

int pools_enable(struct pools *ps, const struct lang *l, struct sb_error *err)
{
    const struct sb_config *cfg = ps->rn->cfg;
    if (ps->closing)
        return 0;
    for (size_t i = 0; i < ps->n; i++)
        if (ps->v[i].lang == l)
            return 0;
    /* its pools: without network, and plumbed for it (at most one each) */
    for (size_t i = 0; i < cfg->n_pools; i++) {
        if (strcmp(cfg->pools[i].language, l->name) || !cfg->pools[i].size)
            continue;
        struct pool *p = &ps->v[ps->n++];
        if (pool_init(ps, p, l, &cfg->pools[i], err) < 0) {
            p->base = p->max = 0; /* kept (its timer is open) but never filled */
            return -1;
        }
        p->network = cfg->pools[i].network;
        p->isolation = cfg->pools[i].microvm ? SBX_ISO_MICROVM : SBX_ISO_NAMESPACES;
        refill(p);
    }
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct pool *p = h->data;
    p->ps->timers_open--;
    maybe_closed(p->ps);
}

static void on_kick_closed(uv_handle_t *h)
{
    struct pools *ps = h->data;
    ps->timers_open--;
    maybe_closed(ps);
}

void pools_close(struct pools *ps, void (*done)(void *), void *arg)
{
    ps->closing = true;
    ps->closed = done;
    ps->closed_arg = arg;
    if (!uv_is_closing((uv_handle_t *)&ps->kick))
        uv_close((uv_handle_t *)&ps->kick, on_kick_closed);
    for (size_t i = 0; i < ps->n; i++) {
        struct pool *p = &ps->v[i];
        if (!uv_is_closing((uv_handle_t *)&p->retry))
            uv_close((uv_handle_t *)&p->retry, on_timer_closed);
        for (struct pooled *q = p->list; q; q = q->next)
            sbx_run_cancel(q->s);
    }
    maybe_closed(ps);
}

size_t pools_stats(const struct pools *ps, struct pool_stats *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; ps && i < ps->n && n < max; i++, n++) {
        const struct pool *p = &ps->v[i];
        uint64_t mem = 0;
        for (struct pooled *q = p->list; q; q = q->next)
            mem += q->ready ? sbx_run_memory(q->s) : 0;
        out[n] = (struct pool_stats){p->lang->name, p->nready, pool_target(p, util_mono_ns()),
                                     p->hits, p->misses, p->refills,
                                     (double)p->refill_ns / 1e9, mem, p->starting,
                                     p->network, p->isolation == SBX_ISO_MICROVM};
    }
    return n;
}
