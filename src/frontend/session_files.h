/* What the session front ends (native REST, E2B) share about files: errno -> error code, entries as JSON. */
#ifndef SB_FRONTEND_SESSION_FILES_H
#define SB_FRONTEND_SESSION_FILES_H

#include <jansson.h>

#include "common/error.h"
#include "sandbox/sandbox.h"

/* The error code for a file operation's errno (ENOENT: not found, EEXIST:
 * already exists, no space: payload too large, else invalid argument). */
enum sb_code files_errno_code(int e);
/* {name, path, type, size, mode, permissions, modified_at[, symlink_target]}. */
json_t *files_entry_json(const struct sbx_entry *e, const char *path);

#endif
