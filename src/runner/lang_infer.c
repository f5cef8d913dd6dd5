/* A source file's language, from its extension (see lang.h). */
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "runner/lang.h"

static bool lists(const struct lang *l, const char *ext)
{
    for (char **e = l->source_ext; e && *e; e++)
        if (!strcmp(*e, ext))
            return true;
    return false;
}

static bool named(const struct lang *l, const char *word)
{
    if (!strcmp(l->name, word))
        return true;
    for (char **a = l->aliases; a && *a; a++)
        if (!strcmp(*a, word))
            return true;
    return false;
}

const struct lang *lang_for_path(const struct lang_registry *reg, const char *path,
                                 struct sb_error *err)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *ext = strrchr(base, '.');
    if (!ext || ext == base || !ext[1])
        return sb_fail(err, SB_E_INVALID_ARGUMENT,
                       "%s: no extension to tell its language by (give -l LANG)", path), NULL;
    const struct lang *only = NULL, *by_name = NULL;
    size_t n = 0;
    struct sb_buf names = {0};
    for (size_t i = 0; i < reg->n; i++) {
        const struct lang *l = reg->v[i];
        if (!lists(l, ext))
            continue;
        only = l;
        n++;
        sb_buf_printf(&names, "%s%s", names.len ? ", " : "", l->name);
        if (named(l, ext + 1))
            by_name = l;
    }
    const struct lang *pick = n == 1 ? only : by_name;
    if (!pick) {
        if (n == 0)
            sb_fail(err, SB_E_UNKNOWN_LANGUAGE, "%s: no language takes '%s' files (give -l LANG)",
                    path, ext);
        else
            sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: '%s' files may be %s (give -l LANG)", path,
                    ext, names.data ? names.data : "");
    }
    sb_buf_free(&names);
    return pick;
}
