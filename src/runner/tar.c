/* Minimal tar reader for artifacts: ustar and GNU long names, nothing that links or escapes. */
#include "runner/tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/plan.h"

#define BLOCK 512

static int octal(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\0'))
        i++;
    if (i == n)
        return *out = 0, 0;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t)(p[i] - '0');
    }
    for (; i < n; i++)
        if (p[i] != ' ' && p[i] != '\0')
            return -1;
    *out = v;
    return 0;
}

static int checksum_ok(const uint8_t *h)
{
    uint64_t want;
    if (octal(h + 148, 8, &want) < 0)
        return 0;
    uint64_t sum = 0;
    for (int i = 0; i < BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want;
}

static int all_zero(const uint8_t *h)
{
    for (int i = 0; i < BLOCK; i++)
        if (h[i])
            return 0;
    return 1;
}

/* Joins ustar prefix + name, drops a leading "./", validates. */
static char *entry_name(const uint8_t *h, const char *longname, const char **why)
{
    char buf[PLAN_MAX_PATH];
    if (longname) {
        snprintf(buf, sizeof buf, "%s", longname);
    } else {
        char name[101], prefix[156];
        memcpy(name, h, 100);
        name[100] = '\0';
        memcpy(prefix, h + 345, 155);
        prefix[155] = '\0';
        if (!memcmp(h + 257, "ustar", 5) && prefix[0])
            snprintf(buf, sizeof buf, "%s/%s", prefix, name);
        else
            snprintf(buf, sizeof buf, "%s", name);
    }
    char *p = buf;
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    size_t n = strlen(p);
    while (n && p[n - 1] == '/')
        p[--n] = '\0';
    if (n == 0 || !strcmp(p, "."))
        return strdup(""); /* the archive's own top directory */
    if (!plan_relpath_ok(p)) {
        *why = "artifact archive has an unsafe file name";
        return NULL;
    }
    return strdup(p);
}

static int push(struct tar_list *out, char *name, const uint8_t *data, size_t len, uint32_t mode)
{
    for (size_t i = 0; i < out->n; i++)
        if (!strcmp(out->v[i].name, name)) {
            free(out->v[i].name); /* a later entry replaces an earlier one */
            out->v[i] = (struct tar_file){name, data, len, mode};
            return 0;
        }
    struct tar_file *v = realloc(out->v, (out->n + 1) * sizeof *v);
    if (!v)
        return -1;
    out->v = v;
    out->v[out->n++] = (struct tar_file){name, data, len, mode};
    return 0;
}

int tar_parse(const uint8_t *buf, size_t len, size_t max_files, struct tar_list *out,
              const char **why)
{
    memset(out, 0, sizeof *out);
    char *longname = NULL;
    size_t off = 0, entries = 0;
    int rc = -1;
    *why = "artifact archive is truncated";
    while (off + BLOCK <= len) {
        const uint8_t *h = buf + off;
        if (all_zero(h)) {
            rc = 0; /* end of archive */
            break;
        }
        if (!checksum_ok(h)) {
            *why = "artifact archive has a bad header checksum";
            break;
        }
        uint64_t size, mode;
        if (octal(h + 124, 12, &size) < 0 || octal(h + 100, 8, &mode) < 0) {
            *why = "artifact archive has a bad header";
            break;
        }
        off += BLOCK;
        if (size > len - off) {
            *why = "artifact archive is truncated";
            break;
        }
        const uint8_t *data = buf + off;
        off += (size + BLOCK - 1) / BLOCK * BLOCK;
        if (off > len)
            off = len;
        char type = (char)h[156];
        if (type == 'L') { /* GNU long name for the next entry */
            if (size == 0 || size >= PLAN_MAX_PATH) {
                *why = "artifact archive has a bad long name";
                break;
            }
            free(longname);
            longname = strndup((const char *)data, size);
            continue;
        }
        char *name = entry_name(h, longname, why);
        free(longname);
        longname = NULL;
        if (!name)
            break;
        if (type == '5' || name[0] == '\0') { /* directories are implied by paths */
            free(name);
            continue;
        }
        if (type != '0' && type != '\0') {
            *why = "artifact archive holds a link, device or other non-regular entry";
            free(name);
            break;
        }
        if (++entries > max_files) {
            *why = "artifact archive holds too many files";
            free(name);
            break;
        }
        if (push(out, name, data, size, (mode & 0111) ? 0755 : 0644) < 0) {
            *why = "out of memory";
            free(name);
            break;
        }
    }
    free(longname);
    /* Some writers end without the two zero blocks: a clean end of data is fine. */
    if (rc < 0 && off == len && !strcmp(*why, "artifact archive is truncated"))
        rc = 0;
    if (rc < 0)
        tar_free(out);
    return rc;
}

void tar_free(struct tar_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof *l);
}
