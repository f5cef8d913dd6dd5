/* Path patterns with `*`, `?`, `**` and classes, matched against relative paths. */
#include "common/glob.h"

#include <string.h>

/* A class at p ("[...]"): whether c is in it; *end points past it, or NULL
 * if it is unterminated. */
static bool in_class(const char *p, char c, const char **end)
{
    bool neg = false, hit = false;
    p++;
    if (*p == '!' || *p == '^') {
        neg = true;
        p++;
    }
    bool first = true;
    for (; *p && (*p != ']' || first); p++, first = false) {
        if (p[1] == '-' && p[2] && p[2] != ']') {
            if (c >= p[0] && c <= p[2])
                hit = true;
            p += 2;
        } else if (*p == c) {
            hit = true;
        }
    }
    *end = *p == ']' ? p + 1 : NULL;
    return hit != neg;
}

bool glob_match(const char *p, const char *s)
{
    for (;;) {
        if (p[0] == '*' && p[1] == '*' && (p[2] == '/' || p[2] == '\0')) {
            const char *rest = p[2] == '/' ? p + 3 : p + 2;
            if (!*rest)
                return true; /* "**" at the end: everything below */
            /* rest at s, or after any '/' in s */
            for (const char *q = s;; q++) {
                if ((q == s || q[-1] == '/') && glob_match(rest, q))
                    return true;
                if (!*q)
                    return false;
            }
        }
        if (*p == '*') {
            while (*p == '*')
                p++;
            for (const char *q = s;; q++) {
                if (glob_match(p, q))
                    return true;
                if (!*q || *q == '/')
                    return false;
            }
        }
        if (!*p)
            return !*s;
        if (!*s || *s == '/') {
            if (*p != *s)
                return false;
        } else if (*p == '?') {
            /* one character, not a '/' */
        } else if (*p == '[') {
            const char *end;
            bool hit = in_class(p, *s, &end);
            if (!end || !hit)
                return false;
            p = end;
            s++;
            continue;
        } else if (*p != *s) {
            return false;
        }
        p++;
        s++;
    }
}

bool glob_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 256 || p[0] == '/')
        return false;
    for (const char *c = p; *c;) {
        size_t len = strcspn(c, "/");
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += len;
        if (*c == '/')
            c++;
    }
    for (const char *c = p; *c; c++) {
        if (*c == '[') {
            const char *end;
            in_class(c, 'x', &end);
            if (!end)
                return false;
            c = end - 1;
        }
    }
    return true;
}
