/* Reading zip archives from clients (Judge0's additional_files): stored or deflated regular files, bounded, names made relative. */
#ifndef SB_COMMON_ZIP_H
#define SB_COMMON_ZIP_H

#include <stddef.h>
#include <stdint.h>

struct zip_file {
    char *name;            /* relative: no leading '/', no "." or ".." components */
    uint8_t *data;         /* owned (the uncompressed content) */
    size_t len;
};

struct zip_list {
    struct zip_file *v;
    size_t n;
};

/*
 * Reads every regular file of an archive from outside (untrusted), as unzip
 * would extract it: directories are skipped, and so are symlinks; a leading
 * '/' and "." and ".." components are dropped from names (an entry left
 * with no name is skipped). Only stored and deflated entries, no
 * encryption, no ZIP64; every CRC is checked. More than max_files files, or
 * more than max_bytes uncompressed in all (checked before inflating, and
 * inflating never writes past an entry's declared size), fails. Returns 0,
 * or -1 with a static reason in *why (out then holds nothing).
 */
int zip_read(const uint8_t *buf, size_t len, size_t max_files, size_t max_bytes,
             struct zip_list *out, const char **why);
void zip_free(struct zip_list *l);

#endif
