/* Host side: /proc/self/mountinfo, read and searched (cgroup hierarchies). */
#ifndef SB_SANDBOX_MOUNTINFO_H
#define SB_SANDBOX_MOUNTINFO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct mount_entry {
    char point[PATH_MAX];      /* the mount point, "\040"-style escapes undone */
    char opts[512];            /* per-mount options: rw,nosuid,relatime,... */
    char fstype[32];
    char super[1024];          /* the file system's own options */
};

/* Reads /proc/self/mountinfo into buf (NUL-terminated, cut at len - 1).
 * Returns 0 or -errno. */
int mountinfo_read(char *buf, size_t len);

/* The first mount in mountinfo text of type fstype whose super options hold
 * opt (NULL: any). Returns 0 with *out filled, or -ENOENT. */
int mountinfo_find(const char *text, const char *fstype, const char *opt,
                   struct mount_entry *out);

/* Whether the comma-separated list holds opt as a whole entry. */
bool mount_opt_has(const char *list, const char *opt);

#endif
