/* What the session front ends (native REST, E2B) share about files: errno -> error code, entries as JSON. */
#ifndef SB_FRONTEND_SESSION_FILES_H
#define SB_FRONTEND_SESSION_FILES_H

#include <jansson.h>

#include "common/error.h"
#include "sandbox/sandbox.h"
#include "service/session.h"

/* The error code for a file operation's errno (ENOENT: not found, EEXIST:
 * already exists, no space: payload too large, else invalid argument). */
enum sb_code files_errno_code(int e);
/* {name, path, type, size, mode, permissions, modified_at[, symlink_target]}. */
json_t *files_entry_json(const struct sbx_entry *e, const char *path);

/* A directory listed down to `depth` levels (entries below the top that
 * vanish meanwhile are skipped), at most `max` entries. */
struct files_walk {
    struct session *s;
    unsigned depth, pending;
    size_t max;
    char **paths;                /* each entry's full path */
    struct sbx_entry *entries;   /* its entry (name, type, mode, size, mtime, target) */
    size_t n, cap;
    enum sb_code error;          /* SB_E_OK, or the top directory's error */
    char message[512];
    void (*done)(struct files_walk *w, void *arg);
    void *arg;
};

/* Starts a walk of path; done follows once from the loop (then call
 * files_walk_free). Returns the walk, or NULL with err. */
struct files_walk *files_walk(struct session *s, const char *path, unsigned depth, size_t max,
                              void (*done)(struct files_walk *w, void *arg), void *arg,
                              struct sb_error *err);
void files_walk_free(struct files_walk *w);

#endif
