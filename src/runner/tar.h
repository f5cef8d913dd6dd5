/* Reading compile artifacts packed as tar (ustar / GNU): regular files only, names validated. */
#ifndef SB_RUNNER_TAR_H
#define SB_RUNNER_TAR_H

#include <stddef.h>
#include <stdint.h>

struct tar_file {
    char *name;            /* validated relative path */
    const uint8_t *data;   /* points into the archive */
    size_t len;
    uint32_t mode;         /* permission bits (0755 if any execute bit, else 0644) */
};

struct tar_list {
    struct tar_file *v;
    size_t n;
};

/* Parses an archive produced inside a sandbox (untrusted). Directories are
 * implied and skipped; symlinks, hard links, devices, absolute or ".." names,
 * more than max_files entries or a bad checksum fail. Returns 0, or -1 with a
 * static reason in *why. */
int tar_parse(const uint8_t *buf, size_t len, size_t max_files, struct tar_list *out,
              const char **why);
void tar_free(struct tar_list *l);

#endif
