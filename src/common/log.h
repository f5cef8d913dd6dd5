/* Structured logs on stderr, with a level filter: one JSON object per line,
 * or (for a person at a terminal) one readable line per event. */
#ifndef SB_COMMON_LOG_H
#define SB_COMMON_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

enum log_format { LOG_FORMAT_JSON, LOG_FORMAT_TEXT };

void log_set_level(enum log_level l);
void log_set_format(enum log_format f);
/* "json" | "text"; -1 if neither. */
int log_parse_format(const char *s);
/* Parses "debug" | "info" | "warn" | "error"; returns -1 if unknown. */
int log_parse_level(const char *s);

/* Logs msg with the given fields (a JSON object, stolen, may be NULL). */
void log_event(enum log_level l, const char *msg, json_t *fields);
/* printf-style message without fields. */
void log_msg(enum log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
