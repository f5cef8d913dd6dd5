/* Between the parts of the session service (session.c, session_pause.c, session_store.c, session_ctx.c); not for front ends. */
#ifndef SB_SERVICE_SESSION_INTERNAL_H
#define SB_SERVICE_SESSION_INTERNAL_H

#include "service/session.h"

struct session_ctx;

/* session.c */
/* A new sandbox for s (create and resume). 0, or -1 with err. */
int session_start_sandbox(struct session *s, struct sb_error *err);
void session_audit(struct session *s, const char *event, const char *detail);
/* (Re)starts the TTL / idle timer. */
void session_arm(struct session *s);
/* A session object in the registry (create, or loaded from the data dir). */
struct session *session_alloc(struct service *svc, const struct template *t);
void session_register(struct session *s);

/* session_pause.c: the sandbox of a pausing session is gone; a resuming one is ready. */
void session_pause_sandbox_gone(struct session *s);
void session_resume_ready(struct session *s);
/* A pause or resume could not finish: its waiter learns why. */
void session_op_done(struct session *s, const struct sb_error *err);

/* session_store.c: <data_dir>/sessions/<id>.json (what it is) and <id>.tar (its files). */
void session_save(struct session *s);
void session_forget(struct session *s);
void session_snapshot_drop(struct session *s);
int session_snapshot_write(struct session *s, const void *data, size_t len,
                           struct sb_error *err);
int session_snapshot_read(struct session *s, char **data, size_t *len, struct sb_error *err);

/* Whether a command or a cell runs (then it is not idle). */
bool session_busy(const struct session *s);

/* session_ctx.c */
bool session_ctxs_busy(const struct session *s);
struct session_ctx *session_ctx_adopt(struct session *s, const char *id, const char *lang,
                                      const char *cwd);
void session_ctxs_resume(struct session *s);
const char *session_ctx_language(const struct session_ctx *c);
const char *session_ctx_cwd(const struct session_ctx *c);

#endif
