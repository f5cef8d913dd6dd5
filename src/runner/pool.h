/* Warm pools: per language, sandboxes set up before the requests that use
 * them (with the interpreter already started where the language has a warm
 * command). Each serves one execution and is destroyed. A pool keeps its
 * configured size ready, more (up to max_size) while requests arrive faster
 * than a refill takes. */
#ifndef SB_RUNNER_POOL_H
#define SB_RUNNER_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "runner/lang.h"
#include "sandbox/run.h"

struct runner;
struct pools;

struct pool_stats {
    const char *language;
    unsigned ready, target;
    uint64_t hits, misses, refills;
    double refill_seconds;     /* summed: from start to ready */
    uint64_t memory;           /* bytes the ready sandboxes use now */
    unsigned starting;         /* refills under way */
    bool network;              /* the language's pool plumbed for egress */
    bool microvm;              /* its sandboxes are microVMs */
};

/* An empty set of pools; pools_enable starts the ones the config asks for
 * as their languages prove usable. Returns 0 or -1 with err. */
int pools_open(struct pools **out, struct runner *rn, struct sb_error *err);
/* Starts filling l's pool if the config has one for it (else does nothing). */
int pools_enable(struct pools *ps, const struct lang *l, struct sb_error *err);
/* Stops refilling; ready sandboxes are destroyed. done runs when every pooled
 * sandbox is gone. */
void pools_close(struct pools *ps, void (*done)(void *arg), void *arg);

/* A ready sandbox of this language, started with go (see sbx_go), or NULL
 * (none ready, or it cannot serve go's limits: start cold). A taken sandbox
 * is replaced in the background. */
struct sbx_run *pools_claim(struct pools *ps, const struct lang *l, const struct sbx_run_go *go,
                        sbx_run_done_cb done, sbx_run_output_cb output, void *arg);

/* A job started / ended: refills wait while jobs are in flight (at most a
 * few ms), so that a refill never competes with a request for the loop or
 * the CPUs. ps may be NULL. */
void pools_job_started(struct pools *ps);
void pools_job_ended(struct pools *ps);

/* Whether l's pool (with or without network) starts its interpreter ahead
 * (its go needs `input`). A language may have one pool of each kind; a
 * claim with go->net takes from the network one. */
bool pools_warm(const struct pools *ps, const struct lang *l, bool network,
                enum sbx_isolation isolation);

/* One entry per pool; returns the count (at most max). */
size_t pools_stats(const struct pools *ps, struct pool_stats *out, size_t max);

#endif
