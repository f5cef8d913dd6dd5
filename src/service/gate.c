/* The gate: authentication, rate limits and refusals, counted and audited once for every front end. */
#include "service/gate.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "service/service.h"

static const struct {
    const char *label;
    const char *audit;
    enum sb_code code;
    unsigned retry;
} refusals[] = {
#define REFUSAL_X(name, label, audit, code, retry) [REFUSE_##name] = {label, audit, code, retry},
    REFUSAL_MAP(REFUSAL_X)
#undef REFUSAL_X
};

const char *gate_refusal_label(enum refusal_reason why)
{
    return (unsigned)why < REFUSE__COUNT ? refusals[why].label : "other";
}

enum refusal_reason gate_reason_of(const struct sb_error *err)
{
    switch (err->code) {
    case SB_E_LIMIT_EXCEEDS_MAX: return REFUSE_LIMIT_ABOVE_MAX;
    case SB_E_UNKNOWN_LANGUAGE:  return REFUSE_UNKNOWN_LANGUAGE;
    case SB_E_UNSUPPORTED_MEDIA: return REFUSE_UNSUPPORTED_MEDIA;
    default:                     return REFUSE_INVALID;
    }
}

int gate_refuse(struct service *s, const struct caller *c, enum refusal_reason why,
                const struct sb_error *err, struct refusal *r)
{
    r->reason = why;
    r->retry_after = refusals[why].retry;
    if (err)
        r->err = *err;
    else
        sb_fail(&r->err, refusals[why].code, "%s", refusals[why].label);
    r->err.code = refusals[why].code;
    metrics_rejected(&s->metrics, refusals[why].label);
    if (refusals[why].audit) {
        struct audit_record a = {
            .ts_ms = util_now_ms(), .event = refusals[why].audit, .request_id = c->request_id,
            .key_id = c->has_key ? c->key_id : NULL, .client = c->client, .detail = r->err.msg,
        };
        store_audit(s->store, &a);
    }
    return -1;
}

int gate_authenticate(struct service *s, struct caller *c, const char *key, struct refusal *r)
{
    const struct sb_api_key *k;
    const char *why;
    if (auth_check_key(&s->auth, key, &k, &why) < 0) {
        struct sb_error e;
        sb_fail(&e, SB_E_UNAUTHENTICATED, "%s", why);
        return gate_refuse(s, c, REFUSE_UNAUTHENTICATED, &e, r);
    }
    c->has_key = k != NULL;
    c->admin = k && k->admin;
    snprintf(c->key_id, sizeof c->key_id, "%s", k ? k->id : "");
    return 0;
}

int gate_refuse_connections(struct service *s, const struct caller *c, struct refusal *r)
{
    struct sb_error e;
    sb_fail(&e, SB_E_UNAVAILABLE, "too many connections for API key '%s'", c->key_id);
    return gate_refuse(s, c, REFUSE_KEY_CONNECTIONS, &e, r);
}

int gate_rate(struct service *s, const struct caller *c, struct refusal *r)
{
    unsigned retry;
    if (auth_rate(&s->auth, c->has_key ? c->key_id : c->client, util_mono_ns() / 1000000u, &retry) == 0)
        return 0;
    struct sb_error e;
    sb_fail(&e, SB_E_RATE_LIMITED, "rate limit exceeded; retry in %u s", retry);
    gate_refuse(s, c, REFUSE_RATE_LIMITED, &e, r);
    r->retry_after = retry;
    return -1;
}

int gate_enter(struct service *s, struct caller *c, const char *key, struct refusal *r)
{
    if (gate_authenticate(s, c, key, r) < 0)
        return -1;
    return gate_rate(s, c, r);
}
