/* Internals of the HTTP/1.1 server shared by http.c (connections, responses,
 * upgrades) and http_parse.c (http-parser callbacks). */
#ifndef SB_TRANSPORT_HTTP_INTERNAL_H
#define SB_TRANSPORT_HTTP_INTERNAL_H

#include <http_parser.h>

#include "transport/http.h"
#include "transport/tcp.h"

#define MAX_HEADERS 100
#define MAX_PIPELINED (1u << 20)
#define DRAIN_MARK (256u << 10)
#define LINGER_MS 2000
#define LINGER_BYTES (4u << 20)

/* A connection's states; http_set_state makes every change (see there). */
enum conn_state {
    C_IDLE,        /* waiting for a request (keep-alive): sheddable */
    C_HEADERS,     /* request line / headers arriving: sheddable */
    C_BODY,        /* body arriving */
    C_HANDLING,    /* the handler owns the request (and holds the connection) */
    C_UPLOAD,      /* the handler took the body as a stream: it is being spooled */
    C_STREAMING,   /* chunked response in progress (the handler holds it) */
    C_RAW,         /* upgraded (WebSocket): raw bytes both ways */
    C_CLOSING,     /* answered, lingering until the client closes: sheddable */
};

struct http_server {
    struct tcp_server *tcp;
    struct http_server_cfg cfg;
    http_handler handler;
    void *arg;
    void (*closed)(void *);
    void *closed_arg;
};

struct http_conn {
    struct tcp_conn base;
    struct http_server *srv;
    http_parser parser;
    struct http_request req;
    enum conn_state state;
    size_t header_bytes;
    bool in_value;          /* last header callback was a value */
    bool aborted;           /* the client went away mid-request */
    bool close_after;       /* close once the current response is written */
    bool flushing;          /* C_CLOSING with output still queued at the last check */
    uint64_t flush_mark;    /* base.sent at that check */
    uint64_t flush_stall_ms;/* how long no byte of it has gone out */
    bool parsing;           /* http_parse_more is running (further up the stack) */
    struct http_spool *spool; /* C_UPLOAD (http_body.c) */
    /* C_RAW: the protocol that took the connection over */
    const struct http_raw_ops *raw;
    void *raw_arg;
    bool version_bad;
    struct sb_buf pending;  /* bytes read but not parsed (pipelining) */
    void (*on_abort)(void *);
    void *abort_arg;
    void (*on_drain)(void *);
    void *drain_arg;
};

/* http.c */
/* Moves c to state `to`: tells the transport whether c may be shed, and
 * takes (entering C_HANDLING/C_STREAMING) or gives back the handler's hold.
 * Giving it back frees c if the connection is closed already: the caller
 * must not use c after leaving those states for C_CLOSING. */
void http_set_state(struct http_conn *c, enum conn_state to);
int http_write_raw(struct http_conn *c, const char *head, size_t hlen, const char *body,
                   size_t blen);
void http_start_timer(struct http_conn *c, uint64_t ms);
void http_free_request(struct http_request *r);

/* Parses what is pending; dispatches complete requests. */
void http_parse_more(struct http_conn *c);

/* http_body.c: the body of a C_UPLOAD request, spooled to a file. */
/* Body bytes: 0, or -1 when they cannot be taken (the spool says why). */
int http_spool_data(struct http_conn *c, const char *at, size_t n);
/* The whole body arrived (the parser is paused until it is written). */
void http_spool_mark_complete(struct http_conn *c);
/* It arrived and is still being written: nothing more to parse yet. */
bool http_spool_waiting(const struct http_conn *c);
/* Writes what is collected; once all is written the handler hears. */
void http_spool_pump(struct http_conn *c);
/* Ends the upload with an error (kept if one is recorded already): the
 * handler hears once writes in flight end. May free c. */
void http_spool_fail(struct http_conn *c, enum sb_code code, const char *why);
/* The error recorded so far, or NULL. */
const char *http_spool_error(const struct http_conn *c, enum sb_code *code);

/* http_parse.c */
extern const http_parser_settings http_parser_cbs;

#endif
