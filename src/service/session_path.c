/* Paths a client gives for a session's files and commands, made absolute and clean (pure: fuzzed). */
#include <stdio.h>
#include <string.h>

#include "service/session.h"

int session_path(const char *in, const char *base, char *out, size_t len,
                 struct sb_error *err)
{
    if (!in || !*in)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "path is empty");
    size_t inl = strlen(in);
    if (inl > 4000)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "path is longer than 4000 bytes");
    char tmp[8192];
    if (in[0] == '/')
        snprintf(tmp, sizeof tmp, "%s", in);
    else if (in[0] == '~' && (in[1] == '/' || !in[1]))
        snprintf(tmp, sizeof tmp, "/home/user%s", in + 1);
    else
        snprintf(tmp, sizeof tmp, "%s/%s", base, in);
    /* lexical clean-up: components, "." dropped, ".." pops (never above /) */
    size_t o = 0;
    char *save = NULL;
    for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            continue;
        }
        size_t cl = strlen(c);
        if (o + 1 + cl + 1 > len || cl > 255)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "path is too long");
        out[o++] = '/';
        memcpy(out + o, c, cl);
        o += cl;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}
