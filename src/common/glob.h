/* Path patterns for files handed back from a sandbox: *.png, data/?.csv, and a double star for any depth. */
#ifndef SB_COMMON_GLOB_H
#define SB_COMMON_GLOB_H

#include <stdbool.h>

/* Whether path (relative, '/'-separated) matches pattern: `*` any run of
 * characters but '/', `?` one character but '/', `**` as a whole
 * component any run of components (none included), `[abc]`/`[a-z]`/`[!a]`
 * a character class; everything else literally. */
bool glob_match(const char *pattern, const char *path);

/* A pattern a request may give: relative, 1-256 bytes, no "." or ".."
 * component, no NUL, no unterminated class. */
bool glob_ok(const char *pattern);

#endif
