/* A blocking HTTP/1.1 client for the CLI's remote mode: one kept-alive
 * connection to one SoulBox server, API key, whole-request timeouts, retries
 * of 429/503 after Retry-After, and bodies either collected or streamed. */
#ifndef SB_CLIENT_HTTP_CLIENT_H
#define SB_CLIENT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

#define HC_DEFAULT_TIMEOUT_MS 300000
#define HC_DEFAULT_RETRIES 3
#define HC_MAX_RETRY_WAIT_MS 30000
#define HC_MAX_BODY (512u << 20) /* a collected body larger than this fails */

struct hc_client {
    char host[256];     /* without IPv6 brackets */
    char port[8];
    char prefix[512];   /* the URL's path, without a trailing '/'; "" for none */
    char host_header[300];
    char auth[640];     /* "Bearer KEY", or "" */
    int timeout_ms;     /* each request, retries' waits excluded */
    int max_retries;    /* of 429 / 503 answers */
    int fd;             /* the kept-alive connection, or -1 */
    const char *extra_headers; /* "Name: value\r\n..." sent with every request, or NULL */
};

struct hc_response {
    int status;
    char request_id[96];     /* X-Request-Id */
    char content_type[128];
    long retry_after_ms;     /* -1: no Retry-After */
    struct sb_buf body;      /* the body, unless it was streamed */
};

/* Receives a 2xx answer's body as it arrives; < 0 stops reading (the
 * connection is then closed). Error answers are always collected. */
typedef int (*hc_body_fn)(void *arg, const char *data, size_t len);

/* url: "host:port", "http://host[:port][/prefix]" ("[v6]:port" too); https
 * is refused with a clear error. api_key may be NULL or "". */
int hc_init(struct hc_client *c, const char *url, const char *api_key, struct sb_error *err);
void hc_close(struct hc_client *c);

/* One request (path relative to the URL's prefix, with its query). res is
 * filled whatever the status; -1 only when no answer came (err says why:
 * connection refused, timeout, malformed answer). */
int hc_request(struct hc_client *c, const char *method, const char *path, const char *ctype,
               const char *accept, const void *body, size_t len, hc_body_fn on_body, void *arg,
               struct hc_response *res, struct sb_error *err);
void hc_response_free(struct hc_response *r);

/* "HTTP 404 not_found: no such sandbox (request 1f2e...)" from an error answer. */
void hc_error_text(const struct hc_response *r, char *out, size_t size);

/* Appends s percent-encoded for a query value. */
int hc_urlencode(struct sb_buf *b, const char *s);

/* Retry-After's value in ms (delta seconds or an HTTP date), or -1. */
long hc_parse_retry_after(const char *v, long now_s);

#endif
