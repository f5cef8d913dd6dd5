/* Zip archives from clients: the central directory, stored and deflated entries (zlib), bounded, CRCs checked, names made relative as unzip does. */
#include "common/zip.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define SIG_EOCD 0x06054b50u
#define SIG_CDIR 0x02014b50u
#define SIG_LOCAL 0x04034b50u
#define EOCD_LEN 22
#define CDIR_LEN 46
#define LOCAL_LEN 30

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The end of central directory record: the last one within the comment's reach. */
static const uint8_t *find_eocd(const uint8_t *buf, size_t len)
{
    if (len < EOCD_LEN)
        return NULL;
    size_t lowest = len - EOCD_LEN > 65535 ? len - EOCD_LEN - 65535 : 0;
    for (size_t i = len - EOCD_LEN + 1; i-- > lowest;)
        if (le32(buf + i) == SIG_EOCD && i + EOCD_LEN + le16(buf + i + 20) == len)
            return buf + i;
    return NULL;
}

/* The name as unzip extracts it: '/'-separated, without a leading '/', "."
 * or ".." components; NULL when nothing is left (or without memory). */
static char *relative_name(const uint8_t *p, size_t n)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = i;
        while (k < n && p[k] != '/')
            k++;
        size_t c = k - i;
        bool skip = c == 0 || (c == 1 && p[i] == '.') || (c == 2 && p[i] == '.' && p[i + 1] == '.');
        if (!skip) {
            if (o)
                out[o++] = '/';
            memcpy(out + o, p + i, c);
            o += c;
        }
        i = k + 1;
    }
    if (!o) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    return out;
}

static int inflate_into(const uint8_t *src, size_t slen, uint8_t *dst, size_t dlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return -1;
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)slen;
    zs.next_out = dst;
    zs.avail_out = (uInt)dlen;
    int rc = inflate(&zs, Z_FINISH);
    bool ok = rc == Z_STREAM_END && zs.total_out == dlen;
    inflateEnd(&zs);
    return ok ? 0 : -1;
}

/* One central directory entry. */
struct cd_entry {
    uint16_t made_by, flags, method;
    uint32_t crc, csize, usize, ext_attr, local;
    const uint8_t *name;
    uint16_t name_len;
};

static bool wanted(const struct cd_entry *e)
{
    if (e->name_len && e->name[e->name_len - 1] == '/')
        return false;                              /* a directory */
    uint32_t mode = e->ext_attr >> 16;
    if (e->made_by >> 8 == 3 && (mode & S_IFMT) && !S_ISREG(mode))
        return false;                              /* unix: a symlink, a device... */
    return true;
}

/* The entry's uncompressed bytes (malloc'd, e->usize long). */
static uint8_t *entry_data(const uint8_t *buf, size_t cd_start, const struct cd_entry *e,
                           const char **why)
{
    if ((size_t)e->local > cd_start || cd_start - e->local < LOCAL_LEN ||
        le32(buf + e->local) != SIG_LOCAL)
        return *why = "an entry's local header is missing", NULL;
    const uint8_t *lh = buf + e->local;
    size_t at = (size_t)e->local + LOCAL_LEN + le16(lh + 26) + le16(lh + 28);
    if (at > cd_start || cd_start - at < e->csize)
        return *why = "an entry's data runs past the archive", NULL;
    if (e->method == 0 && e->csize != e->usize)
        return *why = "a stored entry's sizes differ", NULL;
    uint8_t *data = malloc(e->usize ? e->usize : 1);
    if (!data)
        return *why = "out of memory", NULL;
    if (e->method == 0)
        memcpy(data, buf + at, e->usize);
    else if (inflate_into(buf + at, e->csize, data, e->usize) < 0) {
        free(data);
        return *why = "an entry's deflated data is corrupt or not its declared size", NULL;
    }
    if (crc32(0L, data, e->usize) != e->crc) {
        free(data);
        return *why = "an entry's CRC does not match", NULL;
    }
    return data;
}

static int read_entry(const uint8_t *p, size_t room, struct cd_entry *e, size_t *used,
                      const char **why)
{
    if (room < CDIR_LEN || le32(p) != SIG_CDIR)
        return *why = "the central directory is corrupt", -1;
    *e = (struct cd_entry){
        .made_by = le16(p + 4), .flags = le16(p + 8), .method = le16(p + 10),
        .crc = le32(p + 16), .csize = le32(p + 20), .usize = le32(p + 24),
        .name_len = le16(p + 28), .ext_attr = le32(p + 38), .local = le32(p + 42),
        .name = p + CDIR_LEN,
    };
    *used = (size_t)CDIR_LEN + e->name_len + le16(p + 30) + le16(p + 32);
    if (*used > room)
        return *why = "the central directory is corrupt", -1;
    if (e->csize == UINT32_MAX || e->usize == UINT32_MAX || e->local == UINT32_MAX ||
        le16(p + 34) != 0)
        return *why = "ZIP64 and multi-disk archives are not supported", -1;
    if (e->flags & 1)
        return *why = "encrypted entries are not supported", -1;
    if (memchr(e->name, '\0', e->name_len))
        return *why = "an entry's name holds NUL", -1;
    return 0;
}

static bool seen(const struct zip_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return true;
    return false;
}

/* Adds e (unless skipped, or a later duplicate: unzip -n keeps the first). */
static int add_entry(const uint8_t *buf, size_t cd_start, const struct cd_entry *e,
                     size_t max_files, size_t max_bytes, size_t *total, struct zip_list *out,
                     const char **why)
{
    if (!wanted(e))
        return 0;
    if (e->method != 0 && e->method != 8)
        return *why = "only stored and deflated entries are supported", -1;
    char *name = relative_name(e->name, e->name_len);
    if (!name || seen(out, name)) {
        free(name);
        return 0;
    }
    if (out->n >= max_files || e->usize > max_bytes - *total) {
        free(name);
        return *why = out->n >= max_files ? "too many files" : "too large when extracted", -1;
    }
    uint8_t *data = entry_data(buf, cd_start, e, why);
    struct zip_file *v = data ? realloc(out->v, (out->n + 1) * sizeof *v) : NULL;
    if (!v) {
        *why = data ? "out of memory" : *why;
        free(data);
        free(name);
        return -1;
    }
    out->v = v;
    out->v[out->n++] = (struct zip_file){name, data, e->usize};
    *total += e->usize;
    return 0;
}

int zip_read(const uint8_t *buf, size_t len, size_t max_files, size_t max_bytes,
             struct zip_list *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const uint8_t *eocd = find_eocd(buf, len);
    if (!eocd)
        return *why = "not a zip archive", -1;
    uint16_t count = le16(eocd + 10);
    uint32_t cd_size = le32(eocd + 12), cd_off = le32(eocd + 16);
    if (le16(eocd + 4) || le16(eocd + 6) || count != le16(eocd + 8) || count == UINT16_MAX ||
        cd_off == UINT32_MAX)
        return *why = "ZIP64 and multi-disk archives are not supported", -1;
    size_t eocd_at = (size_t)(eocd - buf);
    if (cd_off > eocd_at || eocd_at - cd_off < cd_size)
        return *why = "the central directory is corrupt", -1;
    size_t at = cd_off, total = 0;
    for (uint16_t i = 0; i < count; i++) {
        struct cd_entry e;
        size_t used;
        if (read_entry(buf + at, cd_off + cd_size - at, &e, &used, why) < 0 ||
            add_entry(buf, cd_off, &e, max_files, max_bytes, &total, out, why) < 0) {
            zip_free(out);
            return -1;
        }
        at += used;
    }
    return 0;
}

void zip_free(struct zip_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].data);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}
