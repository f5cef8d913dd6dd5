/* Compile cache: content-addressed artifacts on disk, verified by hash, LRU-bounded. */
#ifndef SB_RUNNER_CACHE_H
#define SB_RUNNER_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"

struct compile_cache;

/* Opens (creating, mode 0700, root-owned) dir; max_bytes bounds the total.
 * Returns 0 or -1 with err. */
int cache_open(struct compile_cache **out, uv_loop_t *loop, const char *dir, uint64_t max_bytes,
               struct sb_error *err);
void cache_close(struct compile_cache *c);

/* data: malloc'd artifact (caller frees) or NULL on a miss or a corrupt entry. */
typedef void (*cache_get_cb)(void *arg, uint8_t *data, size_t len);

/* Looks key (64 hex) up off the loop thread; the content is re-hashed and
 * compared before cb sees it. cb runs on the loop. */
void cache_get(struct compile_cache *c, const char *key, cache_get_cb cb, void *arg);
/* Stores a copy of data under key (atomically), then evicts least recently
 * used entries beyond the bound. */
void cache_put(struct compile_cache *c, const char *key, const uint8_t *data, size_t len);

struct cache_stats {
    uint64_t entries, bytes, hits, misses, evictions;
};
void cache_stats(const struct compile_cache *c, struct cache_stats *st);

#endif
