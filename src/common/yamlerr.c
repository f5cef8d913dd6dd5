/* Collects libcyaml's error and its backtrace into a yaml_err. */
#include "common/yamlerr.h"

#include <stdio.h>
#include <string.h>

void yaml_err_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
    struct yaml_err *y = ctx;
    char line[400];
    if (level < CYAML_LOG_ERROR)
        return;
    vsnprintf(line, sizeof line, fmt, args);
    line[strcspn(line, "\n")] = '\0';
    const char *s = line;
    if (!strncmp(s, "Load: ", 6))
        s += 6;
    if (!strncmp(s, "Backtrace:", 10) || !*s)
        return;
    if (!strncmp(s, "  in mapping field: ", 20) || !strncmp(s, "  in mapping field '", 20)) {
        /* Backtrace lines come innermost first: prepend to build a.b.c. */
        char field[128], tmp[sizeof y->where];
        snprintf(field, sizeof field, "%s", s + 20);
        field[strcspn(field, "'")] = '\0';
        snprintf(tmp, sizeof tmp, "%s%s%s", field, y->where[0] ? "." : "", y->where);
        snprintf(y->where, sizeof y->where, "%s", tmp);
        return;
    }
    if (!strncmp(s, "  ", 2))
        return;
    if (!y->msg[0])
        snprintf(y->msg, sizeof y->msg, "%s", s);
}
