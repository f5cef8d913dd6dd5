/* HTTP/1.1 server on the TCP transport base: keep-alive, pipelining, chunked
 * bodies, size limits, timeouts, upgrades. */
#ifndef SB_TRANSPORT_HTTP_H
#define SB_TRANSPORT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/error.h"

struct http_header {
    char *name;            /* lower-cased */
    char *value;
};

struct http_request {
    const char *method;    /* "GET", "POST", ... */
    struct sb_buf url;
    char *path;            /* url up to '?' */
    char *query;           /* after '?', or "" */
    struct http_header *headers;
    size_t nheaders;
    struct sb_buf body;
    /* The route takes its body as a stream (http_server_cfg.streams_body):
     * the handler runs once the headers are in, and either takes the body
     * with http_body_spool or answers without it (the connection then
     * closes, the body unread). */
    bool body_pending;
    bool has_length;       /* Content-Length given (else chunked or none) */
    uint64_t content_length;
    bool keep_alive;
    bool head;             /* HEAD: answer without a body */
    char request_id[129];  /* the client's X-Request-Id if sane, else generated */
    char peer[64];         /* client address */
    uint64_t t_start_ns;
};

struct http_server_cfg {
    size_t max_header_bytes;
    size_t max_body_bytes;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t idle_timeout_ms;
    /* Beyond either limit a new connection first sheds the least recently
     * active idle or incomplete connection (the client's own, at its cap);
     * if there is none it gets 503 with Retry-After: 1 and is closed. */
    unsigned max_connections;
    unsigned max_connections_per_client;    /* 0: no cap */
    /* Which requests take their body as a stream (uploads that may be
     * larger than max_body_bytes), from their headers; NULL: none. arg is
     * the handler's. */
    bool (*streams_body)(const struct http_request *req, void *arg);
    const char *spool_dir;   /* where streamed bodies are spooled ("/tmp" if NULL) */
};

struct http_conn;
struct http_server;

/* Called once per complete request. The handler answers with http_respond
 * (now or later, from the loop) or, for a streamed answer, http_stream_*. */
typedef void (*http_handler)(struct http_conn *c, struct http_request *req, void *arg);

/* Binds host:port and starts accepting. Returns 0 or -1 with err. Idle
 * connections (waiting for a request, or for the rest of its headers) may
 * be shed to make room; never one whose request is being handled. */
int http_server_start(struct http_server **out, uv_loop_t *loop, const char *host, int port,
                      const struct http_server_cfg *cfg, http_handler handler, void *arg,
                      struct sb_error *err);
/* Stops accepting; connections already open carry on. */
void http_server_stop_accepting(struct http_server *s);
unsigned http_server_connections(const struct http_server *s);
/* Closes every connection (handlers still holding one get aborts) and frees
 * the server once all are gone; then calls done. */
void http_server_close(struct http_server *s, void (*done)(void *arg), void *arg);
int http_server_port(const struct http_server *s);

/* Value of a header by lower-case name, or NULL. */
const char *http_header(const struct http_request *req, const char *lname);

/* Each name=value pair of an application/x-www-form-urlencoded text (a
 * query string or a form body), both percent-decoded with '+' as a space
 * (NUL bytes allowed: lengths are given; the strings are NUL-terminated
 * too). cb returning -1 stops. 0, or -1 when a pair is malformed or cb
 * stopped. */
typedef int (*http_form_cb)(void *arg, const char *name, size_t nlen, const char *value,
                            size_t vlen);
int http_form_each(const char *s, size_t len, http_form_cb cb, void *arg);
/* The query parameter `name` (percent-decoded, '+' as a space) into out.
 * Returns 1, 0 when absent, -1 when malformed, too long or holding a NUL. */
int http_query_get(const struct http_request *req, const char *name, char *out, size_t len);
/* The same as a decimal integer no larger than max: 1, 0 when absent, -1
 * when it is not one (buf is scratch space). */
int http_query_u64(const struct http_request *req, const char *name, char *buf, size_t len,
                   uint64_t max, uint64_t *out);

/* Sends a whole response. extra_headers: zero or more "Name: value\r\n" lines.
 * After this the request and its connection belong to the HTTP layer again. */
void http_respond(struct http_conn *c, int status, const char *content_type, const char *body,
                  size_t len, const char *extra_headers);
/* {"error": {"code": ..., "message": ...}} with the code's HTTP status. */
void http_respond_error(struct http_conn *c, enum sb_code code, const char *message,
                        const char *extra_headers);

/* Streaming (chunked transfer encoding): start, any number of writes, end. */
void http_stream_start(struct http_conn *c, int status, const char *content_type,
                       const char *extra_headers);
/* Returns bytes queued on the socket (for backpressure), or -1 if the client is gone. */
ssize_t http_stream_write(struct http_conn *c, const char *data, size_t len);
void http_stream_end(struct http_conn *c);

/* A streamed body (req->body_pending), spooled to an unnamed file as it
 * arrives (never whole in memory; the client is held back while the disk
 * catches up), at most max bytes. cb follows exactly once, from the loop:
 * with the file (fd, yours to close, read it from offset 0) and its size,
 * or with err (too large, stalled past body_timeout_ms, malformed, the
 * client gone, the disk failing); either way the handler then answers as
 * usual. Returns 0, or -1 with err (too large by its Content-Length, no file
 * could be made) and cb never follows: answer with err. */
typedef void (*http_body_cb)(struct http_conn *c, int fd, uint64_t size,
                             const struct sb_error *err, void *arg);
int http_body_spool(struct http_conn *c, uint64_t max, http_body_cb cb, void *arg,
                    struct sb_error *err);

/* Counts the connection under owner (the API key its request proved)
 * instead of its address, for the per-client cap (tcp_conn_set_owner).
 * Returns -1 when the owner has too many connections open: refuse the
 * request; the connection closes after that answer. */
int http_conn_set_owner(struct http_conn *c, const char *owner);

/* Called if the client goes away before the response is complete: cancel the
 * work. The handler must still call http_respond/http_stream_end (ignored). */
void http_conn_on_abort(struct http_conn *c, void (*cb)(void *arg), void *arg);
/* Called when queued output drains below the backpressure mark (streaming). */
void http_conn_on_drain(struct http_conn *c, void (*cb)(void *arg), void *arg);
bool http_conn_aborted(const struct http_conn *c);
/* Response bytes handed to the socket and not yet written. */
size_t http_conn_queued(const struct http_conn *c);

/* Upgraded connections (WebSocket): raw bytes both ways. */
struct http_raw_ops {
    void (*data)(void *arg, const char *buf, size_t len);  /* bytes from the client */
    void (*drain)(void *arg);   /* queued output fell below the backpressure mark */
    void (*closed)(void *arg);  /* the connection is gone: exactly once, then never used */
};

/* Answers 101 Switching Protocols (plus extra_headers, "Name: value\r\n" lines)
 * and hands the connection to ops. The request is freed: copy what you need
 * first. Bytes the client sent after the request reach ops->data before this
 * returns. */
void http_upgrade(struct http_conn *c, const char *extra_headers, const struct http_raw_ops *ops,
                  void *arg);
/* Queues bytes; returns the bytes now queued on the socket, or -1 if it is gone. */
ssize_t http_raw_write(struct http_conn *c, const void *data, size_t len);
size_t http_raw_queued(const struct http_conn *c);
/* Stops or restarts reading from the client. */
void http_raw_reading(struct http_conn *c, bool on);
/* Sends what is queued, then FIN, then closes; ops->closed follows. */
void http_raw_close(struct http_conn *c);

#endif
