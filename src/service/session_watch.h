/* Watching a session's directory: created, modified, removed, renamed, as they happen. */
#ifndef SB_SERVICE_SESSION_WATCH_H
#define SB_SERVICE_SESSION_WATCH_H

#include <stdbool.h>

#include "service/session.h"

/* Someone following a watch: ready once (the watch is in place), then its
 * events (path absolute inside the sandbox), then end (the directory went,
 * the session ended, or the watch failed: why). */
struct watch_watcher {
    void (*ready)(struct watch_watcher *w);
    void (*event)(struct watch_watcher *w, const char *type, const char *path, bool dir);
    void (*end)(struct watch_watcher *w, const char *why);
    void *arg;
};

struct session_watch;

/* Watches path (recursive: and everything below, new directories too). A
 * watcher inside the sandbox does it with the session user's rights.
 * NULL with err. */
struct session_watch *session_watch_start(struct session *s, const char *path, bool recursive,
                                          struct watch_watcher *w, struct sb_error *err);
/* The client is gone: no more callbacks; the watcher inside stops. */
void session_watch_stop(struct session_watch *sw);

#endif
