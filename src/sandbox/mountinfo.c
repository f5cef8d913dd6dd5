/* Host side: /proc/self/mountinfo, read and searched (cgroup hierarchies). */
#include "sandbox/mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int mountinfo_read(char *buf, size_t len)
{
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    ssize_t n;
    while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    return 0;
}

/* "\040" and friends in mountinfo paths */
static void unescape(char *s)
{
    char *o = s;
    for (char *i = s; *i; i++) {
        if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] >= '0' && i[2] <= '7' &&
            i[3] >= '0' && i[3] <= '7') {
            *o++ = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
            i += 3;
        } else {
            *o++ = *i;
        }
    }
    *o = '\0';
}

bool mount_opt_has(const char *list, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, opt, n))
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

int mountinfo_find(const char *text, const char *fstype, const char *opt,
                   struct mount_entry *out)
{
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        char buf[4096];
        snprintf(buf, sizeof buf, "%.*s", (int)(nl ? nl - line : (long)strlen(line)), line);
        line = nl ? nl + 1 : NULL;
        /* id parent maj:min root point opts [optional...] - fstype source super */
        char *sep = strstr(buf, " - ");
        char source[256];
        if (!sep ||
            sscanf(buf, "%*s %*s %*s %*s %4095s %511s", out->point, out->opts) != 2 ||
            sscanf(sep + 3, "%31s %255s %1023s", out->fstype, source, out->super) != 3 ||
            strcmp(out->fstype, fstype) || (opt && !mount_opt_has(out->super, opt)))
            continue;
        unescape(out->point);
        return 0;
    }
    return -ENOENT;
}
