/* Expands a language's compile/run argv for one request ({entry}, {sources}, ...). */
#ifndef SB_RUNNER_ARGV_H
#define SB_RUNNER_ARGV_H

#include <stddef.h>
#include <stdint.h>

struct argv_ctx {
    const char *entry;              /* entry file (relative path) */
    const char *const *files;       /* every file name of the request */
    size_t nfiles;
    const char *const *source_ext;  /* NULL-terminated */
    uint64_t memory_mb;
};

/* Returns a malloc'd NULL-terminated argv (strings malloc'd too; free with
 * argv_free) and its length in *argc, or NULL on allocation failure. An
 * element that is exactly "{sources}" becomes one element per source file
 * (in request order); other placeholders are substituted inside elements. */
char **argv_expand(char *const *tmpl, const struct argv_ctx *ctx, size_t *argc);
void argv_free(char **argv);

#endif
