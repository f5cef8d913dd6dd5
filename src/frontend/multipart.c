/* multipart/form-data: boundary from the Content-Type, parts with their name and filename. */
#include "frontend/multipart.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int mp_boundary(const char *ct, char *out, size_t len, struct sb_error *err)
{
    if (!ct || strncasecmp(ct, "multipart/form-data", 19))
        return sb_fail(err, SB_E_UNSUPPORTED_MEDIA, "Content-Type must be multipart/form-data");
    const char *p = ct + 19;
    while ((p = strchr(p, ';'))) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9))
            continue;
        p += 9;
        size_t n;
        if (*p == '"') {
            p++;
            const char *q = strchr(p, '"');
            if (!q)
                break;
            n = (size_t)(q - p);
        } else {
            n = strcspn(p, "; \t");
        }
        if (n == 0 || n > 70 || n >= len)
            break;
        memcpy(out, p, n);
        out[n] = '\0';
        return 0;
    }
    return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart/form-data needs a boundary of 1-70 "
                   "characters");
}

static const char *find(const char *h, size_t hl, const char *n, size_t nl)
{
    return nl <= hl ? memmem(h, hl, n, nl) : NULL;
}

/* The value of param (name or filename) in a Content-Disposition line. */
static bool param(const char *line, size_t ll, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 1 < ll; i++) {
        if ((i == 0 || line[i - 1] == ';' || line[i - 1] == ' ' || line[i - 1] == '\t') &&
            !strncasecmp(line + i, key, kl) && line[i + kl] == '=') {
            const char *v = line + i + kl + 1, *end = line + ll;
            size_t o = 0;
            if (v < end && *v == '"') {
                for (v++; v < end && *v != '"'; v++) {
                    if (*v == '\\' && v + 1 < end)
                        v++;
                    if (o + 1 >= outlen)
                        return false;
                    out[o++] = *v;
                }
            } else {
                for (; v < end && *v != ';' && *v != ' '; v++) {
                    if (o + 1 >= outlen)
                        return false;
                    out[o++] = *v;
                }
            }
            out[o] = '\0';
            return true;
        }
    }
    return false;
}

/* Reads the headers of one part [h, end): fills name and filename. */
static int part_headers(const char *h, size_t hl, struct mp_part *p, struct sb_error *err)
{
    bool disp = false;
    p->name[0] = p->filename[0] = '\0';
    for (size_t o = 0; o < hl;) {
        const char *eol = find(h + o, hl - o, "\r\n", 2);
        size_t ll = eol ? (size_t)(eol - (h + o)) : hl - o;
        const char *line = h + o;
        if (ll > 20 && !strncasecmp(line, "Content-Disposition:", 20)) {
            disp = true;
            if (memchr(line, '\0', ll))
                return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: a NUL in a header");
            if (!param(line + 20, ll - 20, "name", p->name, sizeof p->name) || !p->name[0])
                return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: a part's name is "
                               "missing, empty or too long");
            if (find(line + 20, ll - 20, "filename=", 9) &&
                !param(line + 20, ll - 20, "filename", p->filename, sizeof p->filename))
                return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: a filename is too long");
        }
        o += ll + 2;
    }
    if (!disp)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: a part has no "
                       "Content-Disposition");
    return 0;
}

int mp_parse(const char *body, size_t len, const char *boundary, struct mp_part *parts,
             size_t max, size_t *n, struct sb_error *err)
{
    char delim[80];
    int dl = snprintf(delim, sizeof delim, "--%s", boundary);
    *n = 0;
    if (dl < 3 || dl >= (int)sizeof delim)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: bad boundary");
    /* the first delimiter (a preamble before it is ignored) */
    const char *p = find(body, len, delim, (size_t)dl);
    if (!p)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: the boundary never appears");
    const char *end = body + len;
    char next[84];
    int nl = snprintf(next, sizeof next, "\r\n--%s", boundary);
    for (;;) {
        p += dl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return 0; /* the closing delimiter */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: a delimiter line does not "
                           "end in CRLF");
        p += 2;
        const char *hend = find(p, (size_t)(end - p), "\r\n\r\n", 4);
        const char *data;
        size_t hl;
        if (p + 2 <= end && p[0] == '\r' && p[1] == '\n') { /* no headers at all */
            hl = 0;
            data = p + 2;
        } else if (hend) {
            hl = (size_t)(hend - p);
            data = hend + 4;
        } else {
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: a part's headers never end");
        }
        if (*n == max)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: more than %zu parts", max);
        struct mp_part *part = &parts[*n];
        if (part_headers(p, hl, part, err) < 0)
            return -1;
        const char *dend = find(data, (size_t)(end - data), next, (size_t)nl);
        if (!dend)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "multipart: no closing delimiter");
        part->data = data;
        part->len = (size_t)(dend - data);
        (*n)++;
        p = dend + 2;
    }
}
