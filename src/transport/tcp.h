/* TCP transport base under HTTP/1.1 and HTTP/2: one listener and its
 * connections, admitted within limits, written with backpressure accounting,
 * shed when idle and room is needed, closed and freed libuv-style. */
#ifndef SB_TRANSPORT_TCP_H
#define SB_TRANSPORT_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/error.h"
#include "common/list.h"

/* Connections are counted per client key: an IPv4 address (also when it
 * arrives as an IPv4-mapped IPv6 address), or the /64 prefix of an IPv6
 * address, since one host commonly holds a whole /64 (SLAAC, privacy
 * addresses) and counting its addresses one by one would limit nobody. */
struct tcp_client_key {
    uint8_t b[16];             /* ::ffff:a.b.c.d, or the /64 followed by zeros */
};

/* The key of a peer address; 0, or -1 for a family that is not IP (all
 * such peers share the zero key). */
int tcp_client_key(const struct sockaddr *sa, struct tcp_client_key *k);
/* The key as text: "192.0.2.1", or "2001:db8::/64". */
void tcp_client_key_name(const struct tcp_client_key *k, char *out, size_t len);

struct tcp_server_cfg {
    unsigned max_connections;            /* open connections on this listener */
    unsigned max_connections_per_client; /* from one client key; 0 = no cap */
    size_t drain_mark;                   /* ops->drain once queued output is below */
};

/* Why a new connection was refused (after trying to shed an idle one). */
enum tcp_refusal {
    TCP_REFUSED_FULL,          /* max_connections open, none of them sheddable */
    TCP_REFUSED_CLIENT_FULL,   /* the client's cap reached, none of its own sheddable */
};

struct tcp_server;
struct tcp_client;

/* One connection, embedded in the protocol's connection object (which
 * tcp_conn_owner finds from it). The protocol reads these fields; only tcp.c
 * writes them. */
struct tcp_conn {
    uv_tcp_t tcp;              /* .data is this struct */
    uv_timer_t timer;          /* .data is this struct; see tcp_timer_start */
    struct tcp_server *srv;
    struct tcp_client *client; /* per-key count; NULL unless admitted under a cap */
    struct list_node node;     /* srv's idle or busy list, least recently active first */
    struct list_node client_node; /* client's idle list, while sheddable */
    int handles;               /* tcp + timer not yet closed */
    int writes;                /* uv_write requests in flight */
    int holds;                 /* tcp_conn_hold not yet released */
    size_t queued;             /* bytes written but not yet on the wire */
    uint64_t sent;             /* bytes on the wire so far (progress, for stall checks) */
    bool admitted;             /* counted as open: ops->open ran */
    bool sheddable;
    bool closing;              /* tcp_close ran */
    char peer[64];             /* the peer's address as text, "unknown" if not had */
    struct tcp_client_key key; /* what it is counted under: its address, or its owner */
    char owner[72];            /* "" until tcp_conn_set_owner */
};

/* The protocol object that embeds tcp_conn c as member `member`. */
#define tcp_conn_owner(c, type, member) ((type *)((char *)(c) - offsetof(type, member)))

/* What the protocol on top provides. Every callback runs on the loop;
 * `alloc` and `free` are required, the others optional unless noted. */
struct tcp_ops {
    /* A connection arrives: a zeroed protocol connection embedding a struct
     * tcp_conn, or NULL (out of memory: the connection is not accepted). */
    struct tcp_conn *(*alloc)(void *arg);
    /* Admitted (required): set the protocol up, start reading and say
     * whether the connection is sheddable. */
    void (*open)(struct tcp_conn *c);
    /* Refused over a limit: may queue a short answer with tcp_write; what
     * the socket takes without blocking is sent, then the connection is
     * closed (without ops->closing: it was never opened). */
    void (*refuse)(struct tcp_conn *c, enum tcp_refusal why);
    /* Chosen to make room for a new connection (it was sheddable): may
     * queue a goodbye the same way; tcp_close follows at once. */
    void (*shed)(struct tcp_conn *c);
    /* n > 0 bytes from the client. EOF or a read error closes the
     * connection instead (ops->closing). */
    void (*data)(struct tcp_conn *c, const char *buf, size_t n);
    /* The timer set with tcp_timer_start fired. */
    void (*timeout)(struct tcp_conn *c);
    /* A write finished and the queued bytes are below cfg.drain_mark. */
    void (*drain)(struct tcp_conn *c);
    /* tcp_close began on an admitted connection, exactly once: abort what
     * depends on it. No data, timeout or drain follows. */
    void (*closing)(struct tcp_conn *c);
    /* Handles closed, writes finished, holds released: free the object
     * (required). Exactly once per connection alloc returned. */
    void (*free)(struct tcp_conn *c);
};

/* Binds host (an IPv4 or IPv6 address) and port (0: any free one) and
 * starts accepting; arg goes to ops->alloc. Returns 0, or -1 with err
 * ("listen on HOST:PORT: <reason>"). */
int tcp_server_start(struct tcp_server **out, uv_loop_t *loop, const char *host, int port,
                     const struct tcp_server_cfg *cfg, const struct tcp_ops *ops, void *arg,
                     struct sb_error *err);
int tcp_server_port(const struct tcp_server *s);
/* Connections open (admitted and not closing). */
unsigned tcp_server_connections(const struct tcp_server *s);
/* Stops accepting; connections already open carry on. */
void tcp_server_stop_accepting(struct tcp_server *s);
/* Calls fn for every open connection; fn may close that one. */
void tcp_server_each(struct tcp_server *s, void (*fn)(struct tcp_conn *c, void *arg),
                     void *arg);
/* Stops accepting and closes every connection; once the listener and every
 * connection are freed, frees s and calls done(arg), exactly once (before
 * this returns if nothing was left to wait for). */
void tcp_server_close(struct tcp_server *s, void (*done)(void *arg), void *arg);

/* Copies head and body (either may be empty) into one write request and
 * queues it (libuv writes at once what the socket takes). Returns 0, or -1
 * if the connection is closing or the write could not be queued. A write
 * that fails later closes the connection. */
int tcp_write(struct tcp_conn *c, const void *head, size_t hlen, const void *body, size_t blen);
/* FIN after the queued writes; the connection stays open (reading) until
 * the protocol closes it. A failure closes it. */
void tcp_shutdown(struct tcp_conn *c);
void tcp_read_start(struct tcp_conn *c);
void tcp_read_stop(struct tcp_conn *c);
/* (Re)arms the connection's one-shot timer: ops->timeout after ms. */
void tcp_timer_start(struct tcp_conn *c, uint64_t ms);
void tcp_timer_stop(struct tcp_conn *c);

/* The protocol says whether the connection may be shed to make room: a
 * sheddable connection costs its client nothing it cannot redo (no request
 * is being handled). Either way it moves to the most recently active end,
 * as it does whenever bytes arrive; the least recently active sheddable
 * connection is the one shed. */
void tcp_conn_sheddable(struct tcp_conn *c, bool sheddable);
/* Someone outside the transport (a request handler) holds a pointer to
 * the connection: it is not freed, even once closed, until released.
 * Release may free c: do not use it afterwards. */
void tcp_conn_hold(struct tcp_conn *c);
void tcp_conn_release(struct tcp_conn *c);

/* Counts c from now on under owner (e.g. the API key a request on it
 * proved) instead of its address, so that the per-client cap limits that
 * owner from whatever addresses (behind a proxy every client has the
 * proxy's). At the owner's cap, its least recently active sheddable
 * connection is shed; with none, -1: c is then counted under nobody and
 * should be refused and closed. 0 otherwise (also when already owned). */
int tcp_conn_set_owner(struct tcp_conn *c, const char *owner);

/* Closes the connection: leaves the open count, ops->closing (if it was
 * opened), closes both handles (queued writes are cancelled); ops->free
 * follows once nothing holds it. Safe to call again. */
void tcp_close(struct tcp_conn *c);

#endif
