/* http-parser callbacks: request line, headers and body into struct http_request, with limits. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "transport/http_internal.h"

static struct http_conn *conn_of(http_parser *p)
{
    return p->data;
}

static int count_header_bytes(struct http_conn *c, size_t n)
{
    c->header_bytes += n;
    return c->header_bytes > c->srv->cfg.max_header_bytes ? -1 : 0;
}

static int on_message_begin(http_parser *p)
{
    struct http_conn *c = conn_of(p);
    http_free_request(&c->req);
    c->req.t_start_ns = util_mono_ns();
    http_set_state(c, C_HEADERS);
    c->header_bytes = 0;
    c->in_value = false;
    http_start_timer(c, c->srv->cfg.header_timeout_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = conn_of(p);
    if (count_header_bytes(c, n) < 0)
        return -1;
    return sb_buf_append(&c->req.url, at, n);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = conn_of(p);
    struct http_request *r = &c->req;
    if (count_header_bytes(c, n) < 0)
        return -1;
    if (c->in_value || r->nheaders == 0) {
        if (r->nheaders >= MAX_HEADERS)
            return -1;
        struct http_header *h = realloc(r->headers, (r->nheaders + 1) * sizeof *h);
        if (!h)
            return -1;
        r->headers = h;
        h[r->nheaders].name = calloc(1, 1);
        h[r->nheaders].value = calloc(1, 1);
        if (!h[r->nheaders].name || !h[r->nheaders].value)
            return -1;
        r->nheaders++;
        c->in_value = false;
    }
    struct http_header *h = &r->headers[r->nheaders - 1];
    size_t old = strlen(h->name);
    char *name = realloc(h->name, old + n + 1);
    if (!name)
        return -1;
    for (size_t i = 0; i < n; i++)
        name[old + i] = (char)tolower((unsigned char)at[i]);
    name[old + n] = '\0';
    h->name = name;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = conn_of(p);
    struct http_request *r = &c->req;
    if (count_header_bytes(c, n) < 0 || r->nheaders == 0)
        return -1;
    c->in_value = true;
    struct http_header *h = &r->headers[r->nheaders - 1];
    size_t old = strlen(h->value);
    char *v = realloc(h->value, old + n + 1);
    if (!v)
        return -1;
    memcpy(v + old, at, n);
    v[old + n] = '\0';
    h->value = v;
    return 0;
}

static bool request_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._:-", *s))
            return false;
    return true;
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *c = conn_of(p);
    struct http_request *r = &c->req;
    if (p->http_major != 1 || p->http_minor > 1) {
        c->version_bad = true;
        return -1;
    }
    r->method = http_method_str((enum http_method)p->method);
    r->head = p->method == HTTP_HEAD;
    r->keep_alive = http_should_keep_alive(p) != 0;
    const char *url = r->url.data ? r->url.data : "/";
    const char *q = strchr(url, '?');
    r->path = q ? strndup(url, (size_t)(q - url)) : strdup(url);
    r->query = strdup(q ? q + 1 : "");
    const char *rid = http_header(r, "x-request-id");
    if (rid && request_id_ok(rid)) {
        snprintf(r->request_id, sizeof r->request_id, "%s", rid);
    } else {
        unsigned char b[16];
        util_random(b, sizeof b);
        util_hex(b, sizeof b, r->request_id);
    }
    if (!r->path || !r->query)
        return -1;
    r->has_length = p->content_length != ULLONG_MAX && !(p->flags & F_CHUNKED);
    r->content_length = r->has_length ? p->content_length : 0;
    if (!p->upgrade && c->srv->cfg.streams_body && c->srv->cfg.streams_body(r, c->srv->arg)) {
        /* The handler sees the headers first and decides about the body. */
        r->body_pending = true;
        tcp_timer_stop(&c->base);
        http_set_state(c, C_HANDLING);
        http_parser_pause(p, 1);
        return 0;
    }
    if (p->content_length != ULLONG_MAX && p->content_length > c->srv->cfg.max_body_bytes) {
        /* Refuse before reading a byte of it. */
        http_set_state(c, C_HANDLING);
        c->close_after = true;
        return 2; /* "no body": http-parser stops here; we answer 413 */
    }
    const char *expect = http_header(r, "expect");
    if (expect && !strcasecmp(expect, "100-continue") && !p->upgrade)
        http_write_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, NULL, 0);
    http_set_state(c, C_BODY);
    http_start_timer(c, c->srv->cfg.body_timeout_ms);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = conn_of(p);
    if (c->state == C_UPLOAD)
        return http_spool_data(c, at, n);
    if (c->req.body.len + n > c->srv->cfg.max_body_bytes)
        return -1;
    http_start_timer(c, c->srv->cfg.body_timeout_ms);
    return sb_buf_append(&c->req.body, at, n);
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *c = conn_of(p);
    if (c->state == C_HANDLING)
        return 0; /* refused in on_headers_complete */
    if (c->state == C_UPLOAD) {
        http_spool_mark_complete(c);
        http_parser_pause(p, 1);
        return 0;
    }
    tcp_timer_stop(&c->base);
    http_set_state(c, C_HANDLING);
    http_parser_pause(p, 1);
    return 0;
}

const http_parser_settings http_parser_cbs = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

