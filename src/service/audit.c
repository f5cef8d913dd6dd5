/* The audit log read back over the API: who may, then a page from the store. */
#include "service/audit.h"

#include "service/service.h"

int audit_may_read(const struct service *s, const struct caller *who, struct sb_error *err)
{
    if (s->auth.enabled && !who->admin)
        return sb_fail(err, SB_E_PERMISSION_DENIED, "the audit log needs an admin key");
    return 0;
}

int audit_list(struct service *s, const struct caller *who, const struct audit_query *q,
               store_audit_cb cb, void *arg, struct sb_error *err)
{
    if (audit_may_read(s, who, err) < 0)
        return -1;
    store_audit_list(s->store, q, cb, arg);
    return 0;
}
