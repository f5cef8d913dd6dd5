/* The audit log read back over the API: for admin keys (or anyone when auth is off). */
#ifndef SB_SERVICE_AUDIT_H
#define SB_SERVICE_AUDIT_H

#include "common/error.h"
#include "service/gate.h"
#include "store/store.h"

struct service;

/* Whether `who` may read the audit log: 0, or -1 with err as below. */
int audit_may_read(const struct service *s, const struct caller *who, struct sb_error *err);
/* A page of the audit log for `who`: 0 with cb to come (from the loop), or
 * -1 with err (permission_denied: "the audit log needs an admin key") when
 * auth is on and who's key is not an admin's; nothing is queued then. */
int audit_list(struct service *s, const struct caller *who, const struct audit_query *q,
               store_audit_cb cb, void *arg, struct sb_error *err);

#endif
