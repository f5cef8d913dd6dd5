/* JSON-lines logger. */
#include "common/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"

static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_FORMAT_JSON;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level l)
{
    min_level = l;
}

void log_set_format(enum log_format f)
{
    format = f;
}

int log_parse_format(const char *s)
{
    return !strcmp(s, "json") ? LOG_FORMAT_JSON : !strcmp(s, "text") ? LOG_FORMAT_TEXT : -1;
}

/* A value as a person reads it: bare when it is a plain word, else JSON. */
static void text_value(struct sb_buf *b, json_t *v)
{
    const char *s = json_string_value(v);
    if (s && *s && !strpbrk(s, " \t\r\n\"=\\") && strlen(s) < 512) {
        sb_buf_puts(b, s);
        return;
    }
    char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
    sb_buf_puts(b, j ? j : "?");
    free(j);
}

/* "11:37:02.298 info  listening url=http://127.0.0.1:8080 ..." */
static char *text_line(const char *ts, enum log_level l, json_t *o)
{
    struct sb_buf b = {0};
    const char *t = strchr(ts, 'T');
    sb_buf_printf(&b, "%.12s %-5s %s", t ? t + 1 : ts, names[l],
                  json_string_value(json_object_get(o, "msg")));
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (!strcmp(key, "ts") || !strcmp(key, "level") || !strcmp(key, "msg"))
            continue;
        sb_buf_printf(&b, " %s=", key);
        text_value(&b, v);
    }
    sb_buf_puts(&b, "\n");
    if (b.oom) {
        sb_buf_free(&b);
        return NULL;
    }
    return sb_buf_steal(&b, NULL);
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
    if (format == LOG_FORMAT_TEXT) {
        char *line = text_line(ts, l, o);
        json_decref(o);
        if (line && write(2, line, strlen(line)) < 0) {
            /* nowhere to report it */
        }
        free(line);
        return;
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
