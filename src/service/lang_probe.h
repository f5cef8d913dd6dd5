/* The language probe: at startup each language's version command runs in a real sandbox; what fails is unavailable, with why. */
#ifndef SB_SERVICE_LANG_PROBE_H
#define SB_SERVICE_LANG_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "runner/lang.h"
#include "sandbox/sandbox.h"

struct lang_status {
    const struct lang *lang;
    bool probed;
    bool available;
    char version[64];
    char why[256];              /* when unavailable */
};

struct lang_probe {
    struct sbx_engine *engine;
    const struct sb_config *cfg;
    struct lang_status *langs;
    size_t n;
    size_t next;                /* next language to probe */
    unsigned running;
    bool ready;                 /* every language probed */
    bool stopping;
    /* A language passed (its warm pool may fill); every probe is over. */
    void (*usable)(const struct lang *l, void *arg);
    void (*done)(void *arg);
    void *arg;
};

/* One status per language of reg. Returns 0 or -1 with err. */
int lang_probe_init(struct lang_probe *p, struct sbx_engine *e, const struct sb_config *cfg,
                    const struct lang_registry *reg, struct sb_error *err);
/* Probes, at most one per CPU at a time; callbacks from the loop. */
void lang_probe_start(struct lang_probe *p);
/* Starts no more probes (running ones finish; `done` follows). */
void lang_probe_stop(struct lang_probe *p);
void lang_probe_free(struct lang_probe *p);

const struct lang_status *lang_probe_find(const struct lang_probe *p, const struct lang *l);
/* 0, or -1 with SB_E_UNKNOWN_LANGUAGE when the probe found it unusable. */
int lang_probe_check(const struct lang_probe *p, const struct lang *l, struct sb_error *err);
/* {"languages": [...], "unavailable": [...], "probing": [...]} (GET /api/languages). */
json_t *lang_probe_json(const struct lang_probe *p);

#endif
