/* libpq, loaded when a PostgreSQL store is configured (a SQLite-only server never maps it). */
#ifndef SB_STORE_PQ_H
#define SB_STORE_PQ_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* The database's clock in ms, so that nodes' clocks never have to agree. */
#define PG_NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

#define PQ_FUNCS(X)                                                                        \
    X(PGconn *, PQconnectdb, (const char *))                                               \
    X(ConnStatusType, PQstatus, (const PGconn *))                                          \
    X(char *, PQerrorMessage, (const PGconn *))                                            \
    X(void, PQfinish, (PGconn *))                                                          \
    X(PGresult *, PQexec, (PGconn *, const char *))                                        \
    X(PGresult *, PQexecParams, (PGconn *, const char *, int, const Oid *,                 \
                                 const char *const *, const int *, const int *, int))      \
    X(ExecStatusType, PQresultStatus, (const PGresult *))                                  \
    X(char *, PQresultErrorMessage, (const PGresult *))                                    \
    X(char *, PQresultErrorField, (const PGresult *, int))                                 \
    X(void, PQclear, (PGresult *))                                                         \
    X(int, PQntuples, (const PGresult *))                                                  \
    X(char *, PQgetvalue, (const PGresult *, int, int))                                    \
    X(int, PQgetisnull, (const PGresult *, int, int))                                      \
    X(int, PQgetlength, (const PGresult *, int, int))                                      \
    X(char *, PQcmdTuples, (PGresult *))                                                   \
    X(unsigned char *, PQunescapeBytea, (const unsigned char *, size_t *))                 \
    X(void, PQfreemem, (void *))                                                           \
    X(int, PQsocket, (const PGconn *))                                                     \
    X(int, PQconsumeInput, (PGconn *))                                                     \
    X(PGnotify *, PQnotifies, (PGconn *))                                                  \
    X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *, PQnoticeProcessor, void *))

#define PQ_DECLARE(ret, name, args) ret(*name) args;
struct pq_api {
    PQ_FUNCS(PQ_DECLARE)
};
#undef PQ_DECLARE

/* The loaded library (after pq_load succeeded once). */
extern struct pq_api pq;

/* Loads libpq.so.5 once (thread-safe). 0, or -1 with err saying which
 * package provides it. */
int pq_load(struct sb_error *err);

/* Connects to url with SoulBox's settings (connect timeout, keepalives,
 * application_name). The connection, or NULL with err (password hidden). */
PGconn *pq_connect(const char *url, const char *app, struct sb_error *err);
/* url with its password replaced by "***", for messages. */
void pq_redact(const char *url, char *out, size_t len);

/* A statement's failure as "what: message" in err; true when the cause is the
 * connection (gone, refused), not the statement. */
bool pq_failed(PGconn *c, const PGresult *r, struct sb_error *err, const char *what);

/* Makes libpq's multi-line messages one line, in place. */
void pq_tidy(char *s);

/* Runs sql (no parameters, no rows expected). 0 or -1 with err. */
int pq_exec(PGconn *c, const char *sql, struct sb_error *err, const char *what);

#endif
