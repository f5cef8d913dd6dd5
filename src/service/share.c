/* Share links: a POST /api/shares body validated by the execute request's rules, normalized, stored with a copy of a finished execution's result, read back by id. */
#include "service/share.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/util.h"
#include "frontend/request.h"
#include "service/execution.h"
#include "service/result_json.h"
#include "service/service.h"

#define SHARE_ID_BYTES 16      /* 128 bits: 22 characters of url-safe base64 */

/* ---- the request ---- */

void share_req_free(struct share_req *r)
{
    json_decref(r->doc);
    memset(r, 0, sizeof *r);
}

/* files as the execute request took them, each with its encoding spelled out. */
static json_t *normal_files(json_t *files)
{
    json_t *out = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        const char *enc = json_string_value(json_object_get(f, "encoding"));
        json_array_append_new(out, json_pack("{s:O,s:O,s:s}", "name", json_object_get(f, "name"),
                                             "content", json_object_get(f, "content"),
                                             "encoding", enc && !strcmp(enc, "base64")
                                                             ? "base64" : "utf8"));
    }
    return out;
}

/* The field's value as given, or null. */
static json_t *given(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return v ? json_incref(v) : json_null();
}

static json_t *normal_doc(json_t *body, const struct lang *lang)
{
    json_t *doc = json_pack("{s:s}", "language", lang->name);
    json_t *code = json_object_get(body, "code");
    if (code)
        json_object_set(doc, "code", code);
    else
        json_object_set_new(doc, "files", normal_files(json_object_get(body, "files")));
    static const char *const rest[] = {"stdin", "args", "limits", "test_cases"};
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++)
        json_object_set_new(doc, rest[i], given(body, rest[i]));
    return doc;
}

static int parse_execution_id(json_t *v, struct share_req *out, struct sb_error *err)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "execution_id: must be a string");
    if (!util_uuid_canonical(json_string_value(v), out->execution_id))
        return sb_fail(err, SB_E_NOT_FOUND, "execution_id: no such execution");
    return 0;
}

int share_req_parse(json_t *body, const struct sb_config *cfg, const struct lang_registry *langs,
                    struct share_req *out, struct sb_error *err)
{
    static const char *const keys[] = {"language", "code", "files", "stdin", "args", "limits",
                                       "test_cases", "execution_id"};
    memset(out, 0, sizeof *out);
    if (!json_is_object(body))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "body: must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        size_t i = 0;
        while (i < sizeof keys / sizeof *keys && strcmp(keys[i], key))
            i++;
        if (i == sizeof keys / sizeof *keys)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: unknown field", key);
    }
    /* the program is checked as POST /api/execute would check it */
    json_t *prog = json_copy(body);
    if (!prog)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    json_object_del(prog, "execution_id");
    struct exec_req er;
    int rc = exec_req_from_json(prog, cfg, langs, REQ_SYNC, &er, err);
    json_decref(prog);
    if (rc < 0)
        return -1;
    snprintf(out->language, sizeof out->language, "%s", er.lang->name);
    snprintf(out->code_sha256, sizeof out->code_sha256, "%s", er.code_sha256);
    out->doc = normal_doc(body, er.lang);
    exec_req_free(&er);
    if (!out->doc)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    if (parse_execution_id(json_object_get(body, "execution_id"), out, err) < 0) {
        share_req_free(out);
        return -1;
    }
    return 0;
}

bool share_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < 22 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
            return false;
    return true;
}

/* ---- making one ---- */

struct making {
    struct service *svc;
    struct caller who;
    struct share_req req;
    share_made_cb cb;
    void *arg;
    char id[64];
    uint64_t created_ms;
};

static void made(struct making *m, int rc, const struct sb_error *err)
{
    m->cb(m->arg, rc, err, m->id, m->created_ms);
    share_req_free(&m->req);
    free(m);
}

static void fail(struct making *m, enum sb_code code, const char *msg)
{
    struct sb_error err;
    sb_fail(&err, code, "%s", msg);
    made(m, -1, &err);
}

/* 128 random bits as url-safe base64 without padding. */
static int new_id(char *out, size_t len)
{
    unsigned char raw[SHARE_ID_BYTES];
    if (util_random(raw, sizeof raw) < 0)
        return -1;
    char *b = base64_encode(raw, sizeof raw);
    if (!b)
        return -1;
    size_t n = 0;
    for (char *p = b; *p && *p != '=' && n + 1 < len; p++)
        out[n++] = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    out[n] = '\0';
    free(b);
    return 0;
}

static void on_stored(void *arg, int rc, const struct sb_error *err)
{
    struct making *m = arg;
    if (rc < 0) {
        fail(m, SB_E_UNAVAILABLE, err->msg);
        return;
    }
    struct audit_record a = {
        .ts_ms = m->created_ms, .event = "share_created", .request_id = m->who.request_id,
        .key_id = m->who.has_key ? m->who.key_id : NULL, .client = m->who.client,
        .language = m->req.language, .code_sha256 = m->req.code_sha256, .detail = m->id,
    };
    store_audit(m->svc->store, &a);
    made(m, 0, NULL);
}

static void store_it(struct making *m)
{
    char *doc = json_dumps(m->req.doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!doc || new_id(m->id, sizeof m->id) < 0) {
        free(doc);
        fail(m, SB_E_INTERNAL, "share: out of memory or randomness");
        return;
    }
    m->created_ms = util_now_ms();
    store_share_put(m->svc->store, m->id, m->who.has_key ? m->who.key_id : NULL, doc,
                    m->created_ms, m->svc->cfg->server.max_shares, on_stored, m);
    free(doc);
}

static void on_execution(void *arg, int rc, const struct sb_error *err, struct exec_row *row)
{
    struct making *m = arg;
    if (rc < 0)
        fail(m, SB_E_UNAVAILABLE, err->msg);
    else if (!row)
        fail(m, SB_E_NOT_FOUND, "execution_id: no such execution");
    else if (!row->has_result)
        fail(m, SB_E_CONFLICT, "execution_id: the execution has not finished yet (share it "
             "once it has)");
    else {
        json_object_set_new(m->req.doc, "result", result_json_execution(row));
        store_it(m);
    }
    if (row) {
        exec_row_free(row);
        free(row);
    }
}

void share_create(struct service *s, const struct caller *who, struct share_req *req,
                  share_made_cb cb, void *arg)
{
    struct making *m = calloc(1, sizeof *m);
    if (!m) {
        struct sb_error err;
        sb_fail(&err, SB_E_INTERNAL, "out of memory");
        share_req_free(req);
        cb(arg, -1, &err, NULL, 0);
        return;
    }
    *m = (struct making){.svc = s, .who = *who, .req = *req, .cb = cb, .arg = arg};
    memset(req, 0, sizeof *req);
    if (!m->req.execution_id[0]) {
        json_object_set_new(m->req.doc, "result", json_null());
        store_it(m);
        return;
    }
    execution_lookup(s, m->req.execution_id, &m->who, on_execution, m);
}

/* ---- reading one ---- */

struct reading {
    share_read_cb cb;
    void *arg;
};

static json_t *share_json(const struct share_row *row)
{
    json_t *doc = json_loads(row->doc, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    char created[40];
    util_iso_time(row->created_ms, created, sizeof created);
    json_t *o = json_pack("{s:s,s:s}", "id", row->id, "created", created);
    json_object_update(o, doc);
    json_decref(doc);
    return o;
}

static void on_share(void *arg, int rc, const struct sb_error *err, struct share_row *row)
{
    struct reading *r = arg;
    json_t *o = row ? share_json(row) : NULL;
    if (rc < 0) {
        r->cb(r->arg, -1, err, NULL);
    } else if (row && !o) {
        struct sb_error e;
        sb_fail(&e, SB_E_INTERNAL, "share %s: its stored document is not a JSON object", row->id);
        r->cb(r->arg, -1, &e, NULL);
    } else {
        r->cb(r->arg, 0, NULL, o);
    }
    if (row) {
        share_row_free(row);
        free(row);
    }
    free(r);
}

void share_read(struct service *s, const char *id, share_read_cb cb, void *arg)
{
    struct reading *r = malloc(sizeof *r);
    if (!r) {
        struct sb_error err;
        sb_fail(&err, SB_E_INTERNAL, "out of memory");
        cb(arg, -1, &err, NULL);
        return;
    }
    *r = (struct reading){cb, arg};
    store_share_get(s->store, id, on_share, r);
}
