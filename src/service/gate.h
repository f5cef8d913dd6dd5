/* The gate in front of the service: who is calling (auth), whether they may now (rate limits), and
 * every refusal counted and audited the same way, whichever front end refused. */
#ifndef SB_SERVICE_GATE_H
#define SB_SERVICE_GATE_H

#include <stdbool.h>

#include "common/error.h"

struct service;

/* Who is calling, as every front end tells the service. */
struct caller {
    char request_id[129];
    char client[64];           /* address */
    char key_id[65];           /* "" when auth is off (or not yet checked) */
    bool has_key;
    bool admin;                /* may see every key's executions */
    const char *frontend;      /* "rest", "websocket", "grpc", ... (static) */
};

/*
 * Every reason to refuse: X(name, metric label, audit event or NULL, error
 * code, Retry-After seconds (0: none; the rate limit computes its own)).
 * The label is soulbox_rejected_requests_total's `reason`.
 */
#define REFUSAL_MAP(X)                                                                   \
    X(UNAUTHENTICATED, "unauthenticated", "auth_failure", SB_E_UNAUTHENTICATED, 0)        \
    X(RATE_LIMITED, "rate_limited", "rate_limited", SB_E_RATE_LIMITED, 0)                 \
    X(INVALID, "invalid_request", NULL, SB_E_INVALID_ARGUMENT, 0)                         \
    X(LIMIT_ABOVE_MAX, "limit_exceeds_max", NULL, SB_E_LIMIT_EXCEEDS_MAX, 0)              \
    X(UNKNOWN_LANGUAGE, "unknown_language", NULL, SB_E_UNKNOWN_LANGUAGE, 0)               \
    X(UNSUPPORTED_MEDIA, "unsupported_media_type", NULL, SB_E_UNSUPPORTED_MEDIA, 0)       \
    X(KEY_CONNECTIONS, "too_many_connections", NULL, SB_E_UNAVAILABLE, 1)                 \
    X(QUEUE_FULL, "queue_full", NULL, SB_E_UNAVAILABLE, 1)                                \
    X(SHUTTING_DOWN, "shutting_down", NULL, SB_E_UNAVAILABLE, 1)                          \
    X(STORE_FAILED, "store_unavailable", NULL, SB_E_UNAVAILABLE, 5)

enum refusal_reason {
#define REFUSAL_X(name, label, audit, code, retry) REFUSE_##name,
    REFUSAL_MAP(REFUSAL_X)
#undef REFUSAL_X
    REFUSE__COUNT
};

struct refusal {
    enum refusal_reason reason;
    struct sb_error err;       /* code and message for the wire */
    unsigned retry_after;      /* seconds, 0: no Retry-After */
};

/* Checks the presented key (NULL: none) and fills c's key fields. Returns
 * 0, or -1 with r filled (counted and audited). */
int gate_authenticate(struct service *s, struct caller *c, const char *key, struct refusal *r);
/* Takes a token from c's bucket (its key, else its address). Returns 0, or
 * -1 with r filled (counted and audited). */
int gate_rate(struct service *s, const struct caller *c, struct refusal *r);
/* Both, for a call that needs a key and is rate limited. */
int gate_enter(struct service *s, struct caller *c, const char *key, struct refusal *r);

/* A refusal decided elsewhere (a bad request, a full queue): counts it,
 * audits it if its reason is audited, fills r. err may be NULL (the
 * reason's own message). Returns -1, so callers can return it. */
int gate_refuse(struct service *s, const struct caller *c, enum refusal_reason why,
                const struct sb_error *err, struct refusal *r);

/* The refusal a request error stands for (invalid, above the maximum, unknown language). */
enum refusal_reason gate_reason_of(const struct sb_error *err);

const char *gate_refusal_label(enum refusal_reason why);

/* A key over its connection cap (the transport said so): refused, counted. */
int gate_refuse_connections(struct service *s, const struct caller *c, struct refusal *r);

#endif
