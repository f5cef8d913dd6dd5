/* Cron schedules of serverless functions: parsing expressions, the next time one names (UTC). */
#ifndef SB_SERVICE_CRON_H
#define SB_SERVICE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Cron schedules (UTC): five fields (minute hour day-of-month month day-of-week), or six with seconds first.
 * Each field is a bit set: bit v is set when value v matches (sec, min 0-59; hour 0-23; dom 1-31;
 * mon 1-12; dow 0-6, Sunday 0, a 7 in the expression is stored as 0). dom_any / dow_any: the field
 * was `*` or `?`, which decides how the two day fields combine (see cron_next). every_s: not 0 for
 * "@every <n>s|m|h", the period in seconds counted from the Unix epoch; the bit sets are then
 * unused. */
struct cron {
    uint64_t sec;
    uint64_t min;
    uint32_t hour;
    uint32_t dom;
    uint16_t mon;
    uint8_t dow;
    bool dom_any, dow_any;
    uint32_t every_s;
};

/* Longest expression cron_parse takes, in bytes. */
#define CRON_MAX_LEN 200

/* Parses expr into *out: 0, or -1 with why (a sentence naming the bad field and value) in why[len].
 * Fields: `*`, n, a-b, lists a,b, and a step /n after `*`, a-b or a (a/n runs from a to the
 * field's end; n is 1 to the field's number of values, 60 for minutes); JAN-DEC and SUN-SAT in
 * any case; day-of-week 7 as Sunday (so is SUN closing a range, as in FRI-SUN); `?` as `*` in the
 * two day fields. Macros @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, and
 * @every <n>s|m|h (1 s to 24 h). *out is left alone on failure; why may be NULL. */
int cron_parse(const char *expr, struct cron *out, char *why, size_t len);

/* The first time the schedule names strictly after after_ms (Unix ms, UTC), in ms (a whole second); 0 when none within 5 years (e.g. "0 0 30 2 *").
 * A day matches as in Vixie cron: when both day fields are restricted (neither `*` nor `?`),
 * either may match; otherwise both must. Also 0 when after_ms is past the year 9999. */
uint64_t cron_next(const struct cron *c, uint64_t after_ms);

#endif
