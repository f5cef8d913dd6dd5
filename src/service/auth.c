/* Key checks in constant time, and token buckets keyed by API key or client address. */
#include "service/auth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"

#define MAX_BUCKETS 65536

struct bucket {
    struct bucket *next;
    double tokens;
    uint64_t last_ms;
    char subject[];
};

void auth_init(struct auth *a, const struct sb_server_config *cfg)
{
    memset(a, 0, sizeof *a);
    a->enabled = cfg->auth_enabled;
    a->keys = cfg->keys;
    a->nkeys = cfg->n_keys;
    a->rate = (double)cfg->rate_per_second;
    a->burst = (double)cfg->rate_burst;
    a->nbuckets = 1024;
    a->table = calloc(a->nbuckets, sizeof *a->table);
}

void auth_free(struct auth *a)
{
    for (size_t i = 0; a->table && i < a->nbuckets; i++)
        while (a->table[i]) {
            struct bucket *b = a->table[i];
            a->table[i] = b->next;
            free(b);
        }
    free(a->table);
    memset(a, 0, sizeof *a);
}

static bool same_hash(const char *a, const char *b)
{
    unsigned char d = 0;
    for (int i = 0; i < 64; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int auth_check_key(const struct auth *a, const char *presented, const struct sb_api_key **key,
                   const char **why)
{
    *key = NULL;
    if (!a->enabled)
        return 0;
    if (!presented || !*presented) {
        *why = "an API key is required (Authorization: Bearer <key> or X-API-Key)";
        return -1;
    }
    char hex[65];
    sha256_hex(presented, strlen(presented), hex);
    const struct sb_api_key *found = NULL;
    /* Compare against every key so the time taken does not tell which matched. */
    for (size_t i = 0; i < a->nkeys; i++)
        if (same_hash(hex, a->keys[i].sha256) && !found)
            found = &a->keys[i];
    if (!found) {
        *why = "the API key is not valid";
        return -1;
    }
    *key = found;
    return 0;
}

/* What a bucket gains by now_ms (a clock that went back gives nothing). */
static double refill(const struct auth *a, const struct bucket *b, uint64_t now_ms)
{
    double t = b->tokens;
    if (now_ms > b->last_ms)
        t += a->rate * (double)(now_ms - b->last_ms) / 1000.0;
    return t > a->burst ? a->burst : t;
}

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Buckets that have refilled completely carry no state: drop them. */
static void sweep(struct auth *a, uint64_t now_ms)
{
    for (size_t i = 0; i < a->nbuckets; i++) {
        struct bucket **p = &a->table[i];
        while (*p) {
            struct bucket *b = *p;
            if (refill(a, b, now_ms) >= a->burst) {
                *p = b->next;
                free(b);
                a->used--;
            } else {
                p = &b->next;
            }
        }
    }
}

int auth_rate(struct auth *a, const char *subject, uint64_t now_ms, unsigned *retry_after)
{
    if (a->rate <= 0 || !a->table)
        return 0;
    size_t i = hash_str(subject) % a->nbuckets;
    struct bucket *b = a->table[i];
    while (b && strcmp(b->subject, subject))
        b = b->next;
    if (!b) {
        if (a->used >= MAX_BUCKETS)
            sweep(a, now_ms);
        size_t n = strlen(subject) + 1;
        b = malloc(sizeof *b + n);
        if (!b)
            return 0; /* fail open on memory exhaustion rather than refuse everyone */
        memcpy(b->subject, subject, n);
        b->tokens = a->burst;
        b->last_ms = now_ms;
        b->next = a->table[i];
        a->table[i] = b;
        a->used++;
    }
    b->tokens = refill(a, b, now_ms);
    if (now_ms > b->last_ms)
        b->last_ms = now_ms;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    *retry_after = (unsigned)ceil((1.0 - b->tokens) / a->rate);
    if (*retry_after == 0)
        *retry_after = 1;
    return -1;
}
