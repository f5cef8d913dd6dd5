/* The language table (python, bash, c). */
#include "runner/lang.h"

#include <string.h>

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct lang python = {
    .name = "python",
    .aliases = LIST("python3", "py"),
    .source = "main.py",
    .run = LIST("/usr/bin/python3", "{entry}"),
    .env = LIST("PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8"),
    .version = LIST("/usr/bin/python3", "--version"),
};

static const struct lang bash = {
    .name = "bash",
    .aliases = LIST("sh"),
    .source = "main.sh",
    .run = LIST("/bin/bash", "{entry}"),
    .env = LIST("SHELL=/bin/bash"),
    .version = LIST("/bin/bash", "--version"),
};

static const struct lang c = {
    .name = "c",
    .aliases = LIST("gcc"),
    .source = "main.c",
    .compile = LIST("/usr/bin/gcc", "-std=gnu17", "-O2", "-pipe", "-o", "main", "{entry}", "-lm"),
    .artifact = "main",
    .run = LIST("./main"),
    .env = LIST("LANG=C.UTF-8"),
    .version = LIST("/usr/bin/gcc", "-dumpfullversion"),
};

static const struct lang *const all[] = {&python, &bash, &c, NULL};

const struct lang *lang_find(const char *name)
{
    for (const struct lang *const *l = all; *l; l++) {
        if (!strcmp((*l)->name, name))
            return *l;
        for (const char *const *a = (*l)->aliases; a && *a; a++)
            if (!strcmp(*a, name))
                return *l;
    }
    return NULL;
}

const struct lang *const *lang_all(void)
{
    return all;
}
