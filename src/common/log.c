/* JSON-lines logger. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static enum log_level min_level = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level l)
{
    min_level = l;
}

int log_parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

void log_event(enum log_level l, const char *msg, json_t *fields)
{
    if (l < min_level) {
        json_decref(fields);
        return;
    }
    json_t *o = json_object();
    char ts[40];
    util_iso_time(util_now_ms(), ts, sizeof ts);
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(names[l]));
    json_object_set_new(o, "msg", json_string(msg));
    if (fields) {
        json_object_update(o, fields);
        json_decref(fields);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (!s)
        return;
    size_t n = strlen(s);
    s[n] = '\n';
    /* One write per line, so lines from concurrent writers never interleave. */
    if (write(2, s, n + 1) < 0) {
        /* nowhere to report it */
    }
    s[n] = '\0';
    free(s);
}

void log_msg(enum log_level l, const char *fmt, ...)
{
    if (l < min_level)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_event(l, buf, NULL);
}
