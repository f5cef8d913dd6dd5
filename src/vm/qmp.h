/* A blocking QMP client (QEMU's JSON control protocol) on a connected socket, for snapshots. */
#ifndef SB_VM_QMP_H
#define SB_VM_QMP_H

#include <jansson.h>

#include "common/buf.h"
#include "common/error.h"

struct qmp {
    int fd;
    struct sb_buf in;          /* bytes read, not yet a whole line */
    long long deadline_ms;     /* every call fails past it (monotonic) */
};

/* Reads the greeting and enters command mode. Takes no ownership of fd.
 * Returns 0 or -1 with err. */
int qmp_open(struct qmp *q, int fd, unsigned timeout_ms, struct sb_error *err);
void qmp_close(struct qmp *q);
/* Runs {"execute": cmd, "arguments": args} (args may be NULL; stolen).
 * Returns 0 with *ret (its "return", new reference; ret may be NULL), or -1
 * with err (QEMU's error text, or the transport's). Events are skipped. */
int qmp_exec(struct qmp *q, const char *cmd, json_t *args, json_t **ret, struct sb_error *err);
/* Hands fd to QEMU under name (getfd): "fd:name" in later commands. */
int qmp_getfd(struct qmp *q, const char *name, int fd, struct sb_error *err);
/* Waits for the event `name` whose data has "status" == status (status may
 * be NULL: any). Returns 0 or -1 with err. */
int qmp_wait_event(struct qmp *q, const char *name, const char *status, struct sb_error *err);

#endif
