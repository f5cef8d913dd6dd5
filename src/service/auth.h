/* API keys (stored hashed) and per-key token-bucket rate limits. */
#ifndef SB_SERVICE_AUTH_H
#define SB_SERVICE_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

struct bucket;

struct auth {
    bool enabled;
    const struct sb_api_key *keys;
    size_t nkeys;
    double rate;                /* tokens per second; 0 = no limit */
    double burst;
    struct bucket **table;
    size_t nbuckets;
    size_t used;
};

void auth_init(struct auth *a, const struct sb_server_config *cfg);
void auth_free(struct auth *a);

/* Checks a presented key (NULL or "" when none). Returns 0 with *key (NULL
 * when auth is off), or -1 with a message in *why. Every configured key is
 * compared, in constant time, whichever matches. */
int auth_check_key(const struct auth *a, const char *presented, const struct sb_api_key **key,
                   const char **why);

/* Takes one token from subject's bucket at now_ms, a monotonic clock (time
 * going back grants nothing). Returns 0, or -1 with the seconds until a
 * token is available in *retry_after. */
int auth_rate(struct auth *a, const char *subject, uint64_t now_ms, unsigned *retry_after);

#endif
