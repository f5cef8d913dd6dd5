/* REST GET /api/audit: the audit log, newest first, a page at a time, filtered by event, key, status and time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/rest/rest_internal.h"
#include "service/audit.h"
#include "service/service.h"

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX 500

/* A text field as JSON: null when absent (or not UTF-8). */
static json_t *text_or_null(const char *v)
{
    json_t *j = v ? json_string(v) : NULL;
    return j ? j : json_null();
}

static json_t *record_json(const struct audit_row *a)
{
    static const char *const names[AUDIT_NFIELDS] = {
        [AUDIT_EVENT] = "event", [AUDIT_REQUEST_ID] = "request_id", [AUDIT_KEY_ID] = "key_id",
        [AUDIT_CLIENT] = "client", [AUDIT_LANGUAGE] = "language",
        [AUDIT_CODE_SHA256] = "code_sha256", [AUDIT_LIMITS] = "limits",
        [AUDIT_STATUS] = "status", [AUDIT_DETAIL] = "detail",
    };
    char t[40];
    util_iso_time(a->ts_ms, t, sizeof t);
    json_t *o = json_pack("{s:I,s:s,s:I}", "seq", (json_int_t)a->seq, "time", t, "ts_ms",
                          (json_int_t)a->ts_ms);
    for (int i = 0; o && i < AUDIT_NFIELDS; i++) {
        json_t *v = NULL;
        if (i == AUDIT_LIMITS) {
            /* limits are stored as JSON text: an object, else null */
            v = a->f[i] ? json_loads(a->f[i], 0, NULL) : NULL;
            if (!json_is_object(v)) {
                json_decref(v);
                v = json_null();
            }
        } else {
            v = text_or_null(a->f[i]);
        }
        json_object_set_new(o, names[i], v);
    }
    return o;
}

static void on_page(void *arg, int rc2, const struct sb_error *err, struct audit_row *rows,
                    size_t n, uint64_t next_cursor)
{
    struct rest_call *rc = arg;
    if (rc2 < 0) {
        rest_reply_error(rc, SB_E_UNAVAILABLE, err->msg, "Retry-After: 5\r\n");
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, record_json(&rows[i]));
        char cur[32];
        snprintf(cur, sizeof cur, "%llu", (unsigned long long)next_cursor);
        rest_reply_json(rc, 200, json_pack("{s:o,s:o}", "records", arr, "next_cursor",
                                           next_cursor ? json_string(cur) : json_null()),
                        NULL);
    }
    for (size_t i = 0; i < n; i++)
        audit_row_free(&rows[i]);
    free(rows);
    free(rc);
}

/* "since": milliseconds since the epoch, or an ISO-8601 UTC time. */
static int parse_since(const char *s, uint64_t *ms)
{
    if (s[0] >= '0' && s[0] <= '9' && !strchr(s, '-'))
        return util_parse_u64(s, ms);
    return util_parse_iso_time(s, ms);
}

/* A text parameter into out ("" when absent): 0, or -1 when malformed or empty. */
static int text_param(struct rest_call *rc, const char *name, char *out, size_t len)
{
    int got = http_query_get(rc->req, name, out, len);
    if (got == 0)
        out[0] = '\0';
    return got < 0 || (got > 0 && !out[0]) ? -1 : 0;
}

/* The query's parameters into q (its strings in bufs): NULL, or the message
 * naming the bad one. */
static const char *parse_query(struct rest_call *rc, struct audit_query *q, char bufs[4][256])
{
    char num[64];
    uint64_t limit = AUDIT_PAGE_DEFAULT, cursor = 0;
    int got = http_query_u64(rc->req, "limit", num, sizeof num, AUDIT_PAGE_MAX, &limit);
    if (got < 0 || (got > 0 && limit == 0))
        return "limit: an integer from 1 to 500";
    got = http_query_u64(rc->req, "cursor", num, sizeof num, INT64_MAX, &cursor);
    if (got < 0 || (got > 0 && cursor == 0))
        return "cursor: use next_cursor from the previous page";
    if (text_param(rc, "event", bufs[0], sizeof bufs[0]) < 0)
        return "event: an event name, e.g. execution or auth_failure";
    if (text_param(rc, "key_id", bufs[1], sizeof bufs[1]) < 0)
        return "key_id: a key's id";
    if (text_param(rc, "status", bufs[2], sizeof bufs[2]) < 0)
        return "status: a status, e.g. ok or time_limit_exceeded";
    if (text_param(rc, "since", bufs[3], sizeof bufs[3]) < 0 ||
        (bufs[3][0] && parse_since(bufs[3], &q->since_ms) < 0))
        return "since: milliseconds since the epoch or an ISO-8601 UTC time like "
               "2026-12-06T04:00:00Z";
    q->limit = (unsigned)limit;
    q->before_seq = cursor;
    q->event = bufs[0][0] ? bufs[0] : NULL;
    q->key_id = bufs[1][0] ? bufs[1] : NULL;
    q->status = bufs[2][0] ? bufs[2] : NULL;
    return NULL;
}

void rest_audit(struct rest_call *rc)
{
    struct service *s = rc->rest->svc;
    struct sb_error err;
    if (audit_may_read(s, &rc->who, &err) < 0) {
        rest_reply_sb_error(rc, &err);
        return;
    }
    struct audit_query q = {0};
    char bufs[4][256];
    const char *bad = parse_query(rc, &q, bufs);
    if (bad) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, bad, NULL);
        return;
    }
    struct rest_call *k = rest_call_keep(rc);
    if (k && audit_list(s, &k->who, &q, on_page, k, &err) < 0) {
        rest_reply_sb_error(k, &err);
        free(k);
    }
}
