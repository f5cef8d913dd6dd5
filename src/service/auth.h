/* API keys (stored hashed) and per-key token-bucket rate limits. */
#ifndef SB_SERVER_AUTH_H
#define SB_SERVER_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "transport/http.h"

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

/* Finds the caller's key from "Authorization: Bearer KEY" or "X-API-Key: KEY".
 * Returns 0 with *key_id (NULL when auth is off), or -1 with a message in *why. */
int auth_check(const struct auth *a, const struct http_request *req, const char **key_id,
               const char **why);

/* The same for a key given another way (a WebSocket "auth" message). */
int auth_check_key(const struct auth *a, const char *key, const char **key_id, const char **why);
/* Whether the request carries Authorization or X-API-Key at all. */
bool auth_presented(const struct http_request *req);

/* Takes one token from subject's bucket. Returns 0, or -1 with the seconds
 * until a token is available in *retry_after. */
int auth_rate(struct auth *a, const char *subject, uint64_t now_ms, unsigned *retry_after);

#endif
