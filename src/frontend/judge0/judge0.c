/* Judge0 front end: its replies (empty 401/403/404, {"error"}), its gate (X-Auth-Token through SoulBox's), and its parameters (query and body merged). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frontend/judge0/judge0_internal.h"
#include "service/service.h"
#include "transport/http.h"

#define CORS "Access-Control-Allow-Origin: *\r\n"

void j0_reply_json(struct rest_call *rc, int status, json_t *body)
{
    rest_reply_json_as(rc, status, body, "application/json; charset=utf-8", CORS);
}

void j0_reply_error(struct rest_call *rc, int status, const char *msg)
{
    j0_reply_json(rc, status, json_pack("{s:s}", "error", msg));
}

void j0_reply_empty(struct rest_call *rc, int status)
{
    /* Rails answers a JSON client's 400/404 with a body of its own */
    const char *accept = http_header(rc->req, "accept");
    if ((status == 400 || status == 404) && accept && strstr(accept, "application/json")) {
        j0_reply_json(rc, status, json_pack("{s:i,s:s}", "status", status, "error",
                                            status == 404 ? "Not Found" : "Bad Request"));
        return;
    }
    rest_log(rc, status);
    http_respond(rc->c, status, "text/html", "", 0, CORS);
}

void j0_reply_text(struct rest_call *rc, const char *text)
{
    rest_log(rc, 200);
    http_respond(rc->c, 200, "text/plain; charset=utf-8", text, strlen(text), CORS);
}

/* The key presented Judge0's way or SoulBox's ("" if none). */
static const char *presented_key(struct rest_call *rc, char *buf, size_t len)
{
    const char *key = http_header(rc->req, "x-auth-token");
    if (key)
        return key;
    if (http_query_get(rc->req, "X-Auth-Token", buf, len) == 1)
        return buf;
    if ((key = http_header(rc->req, "x-api-key")))
        return key;
    const char *h = http_header(rc->req, "authorization");
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        for (h += 7; *h == ' ';)
            h++;
        return h;
    }
    return "";
}

int j0_enter(struct rest_call *rc, bool admin)
{
    struct service *s = rc->rest->svc;
    if (!s->cfg->compat.judge0) {
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such endpoint", NULL);
        return -1;
    }
    rc->who.frontend = "judge0";
    char buf[256];
    struct refusal ref;
    int r = gate_enter(s, &rc->who, presented_key(rc, buf, sizeof buf), &ref);
    if (r == 0 && rc->who.has_key && http_conn_set_owner(rc->c, rc->who.key_id) < 0)
        r = gate_refuse_connections(s, &rc->who, &ref);
    if (r < 0) {
        if (ref.err.code == SB_E_UNAUTHENTICATED || ref.err.code == SB_E_PERMISSION_DENIED)
            j0_reply_empty(rc, sb_code_http(ref.err.code));
        else
            rest_reply_refusal(rc, &ref);
        return -1;
    }
    if (admin && !(rc->who.has_key && rc->who.admin)) {
        j0_reply_empty(rc, 403);
        return -1;
    }
    return 0;
}

int j0_param(struct rest_call *rc, json_t *body, const char *name, char *out, size_t len)
{
    if (http_query_get(rc->req, name, out, len) == 1)
        return 1;
    json_t *v = body ? json_object_get(body, name) : NULL;
    if (!json_is_string(v))
        return 0;
    snprintf(out, len, "%s", json_string_value(v));
    return 1;
}

bool j0_flag(struct rest_call *rc, json_t *body, const char *name)
{
    char v[8];
    return j0_param(rc, body, name, v, sizeof v) == 1 && !strcmp(v, "true");
}

static int form_pair(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
    json_t *v = json_stringn(value, vlen);       /* NULL: not UTF-8 */
    if (!v || memchr(name, '\0', nlen)) {
        json_decref(v);
        return -1;
    }
    json_object_set_new(arg, name, v);           /* Rails: the last of a name wins */
    return 0;
}

/* A form body (curl -d 'language_id=71&source_code=...'), as Rails reads it:
 * every value a string (the validation casts them). */
static json_t *form_body(const struct sb_buf *b)
{
    json_t *o = json_object();
    if (http_form_each(b->data, b->len, form_pair, o) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *j0_body(struct rest_call *rc)
{
    const struct sb_buf *b = &rc->req->body;
    size_t i = 0;
    while (i < b->len && strchr(" \t\r\n", b->data[i]))
        i++;
    if (i == b->len)
        return json_object();
    /* JSON whatever the Content-Type says (curl -d sends JSON as a form), a
     * form when it says so and is not JSON */
    const char *ct = http_header(rc->req, "content-type");
    bool form = b->data[i] != '{' && ct &&
                !strncasecmp(ct, "application/x-www-form-urlencoded", 33);
    json_t *o = form ? form_body(b) : json_loadb(b->data, b->len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        j0_reply_empty(rc, 400);
        return NULL;
    }
    return o;
}

bool judge0_preflight(struct rest_call *rc)
{
    static const char *const roots[] = {"/submissions", "/languages", "/statuses", "/about",
                                        "/version", "/isolate", "/license", "/config_info",
                                        "/system_info", "/statistics", "/workers",
                                        "/authenticate", "/authorize"};
    const char *path = rc->req->path;
    bool ours = false;
    for (size_t i = 0; i < sizeof roots / sizeof *roots && !ours; i++) {
        size_t n = strlen(roots[i]);
        ours = !strncmp(path, roots[i], n) && (path[n] == '\0' || path[n] == '/');
    }
    if (!ours || !rc->rest->svc->cfg->compat.judge0)
        return false;
    const char *asked = http_header(rc->req, "access-control-request-headers");
    char extra[1024];
    snprintf(extra, sizeof extra, CORS "Access-Control-Allow-Methods: GET, POST, PUT, PATCH, "
             "DELETE, OPTIONS, HEAD\r\nAccess-Control-Max-Age: 7200\r\n%s%.512s%s",
             asked ? "Access-Control-Allow-Headers: " : "", asked ? asked : "",
             asked ? "\r\n" : "");
    rc->route = "/submissions";
    rest_log(rc, 200);
    http_respond(rc->c, 200, "text/plain", "", 0, extra);
    return true;
}
