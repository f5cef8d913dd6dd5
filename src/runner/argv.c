/* Placeholder expansion for compile and run command lines. */
#include "runner/argv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static int has_ext(const char *name, const char *const *exts)
{
    size_t n = strlen(name);
    for (; exts && *exts; exts++) {
        size_t e = strlen(*exts);
        if (n > e && !strcmp(name + n - e, *exts))
            return 1;
    }
    return 0;
}

/* entry without its extension: "pkg/main.py" -> "pkg/main" */
static void entry_base(const char *entry, char *out, size_t len)
{
    snprintf(out, len, "%s", entry);
    char *slash = strrchr(out, '/');
    char *dot = strrchr(out, '.');
    if (dot && (!slash || dot > slash) && dot != (slash ? slash + 1 : out))
        *dot = '\0';
}

static char *substitute(const char *t, const struct argv_ctx *c)
{
    char base[4096], module[4096], mem[32];
    entry_base(c->entry, base, sizeof base);
    snprintf(module, sizeof module, "%s", base);
    for (char *p = module; *p; p++)
        if (*p == '/')
            *p = '.';
    snprintf(mem, sizeof mem, "%llu", (unsigned long long)c->memory_mb);
    const struct { const char *key; const char *val; } subs[] = {
        {"{entry_module}", module}, {"{entry_base}", base}, {"{entry}", c->entry},
        {"{memory_mb}", mem},
    };
    struct sb_buf b = {0};
    while (*t) {
        size_t i = 0;
        while (i < sizeof subs / sizeof *subs && strncmp(t, subs[i].key, strlen(subs[i].key)))
            i++;
        if (i < sizeof subs / sizeof *subs) {
            sb_buf_puts(&b, subs[i].val);
            t += strlen(subs[i].key);
        } else {
            sb_buf_append(&b, t++, 1);
        }
    }
    if (b.oom) {
        sb_buf_free(&b);
        return NULL;
    }
    return sb_buf_steal(&b, NULL);
}

char **argv_expand(char *const *tmpl, const struct argv_ctx *ctx, size_t *argc)
{
    size_t cap = ctx->nfiles + 1;
    for (char *const *t = tmpl; *t; t++)
        cap++;
    char **out = calloc(cap, sizeof *out);
    size_t n = 0;
    if (!out)
        return NULL;
    for (char *const *t = tmpl; *t; t++) {
        if (!strcmp(*t, "{sources}")) {
            for (size_t i = 0; i < ctx->nfiles; i++)
                if (has_ext(ctx->files[i], ctx->source_ext) && !(out[n++] = strdup(ctx->files[i])))
                    goto oom;
            continue;
        }
        if (!(out[n++] = substitute(*t, ctx)))
            goto oom;
    }
    *argc = n;
    return out;
oom:
    argv_free(out);
    return NULL;
}

void argv_free(char **argv)
{
    for (char **p = argv; p && *p; p++)
        free(*p);
    free(argv);
}
