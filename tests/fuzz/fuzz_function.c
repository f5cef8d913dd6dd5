/* Fuzz target `function`: what a function's sandbox sends back and what a
 * deploy names. First byte: bit 0 set = a cron expression (cron_parse, then
 * cron_next from a fixed instant: every time it gives is a whole second,
 * strictly later, and the expression matches it again); clear = a runtime's
 * protocol line (fn_answer_line: untrusted, from the sandbox), whose answer
 * must be a status of 200-599 with headers free of CR/LF other than their
 * line ends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "service/cron.h"
#include "service/function_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_cron(const uint8_t *data, size_t size)
{
    char expr[CRON_MAX_LEN + 8];
    size_t n = size < sizeof expr - 1 ? size : sizeof expr - 1;
    memcpy(expr, data, n);
    expr[n] = '\0';
    struct cron c;
    char why[256];
    if (cron_parse(expr, &c, why, sizeof why) < 0)
        return;
    uint64_t t = 1765000000123ull;
    for (int i = 0; i < 4; i++) {
        uint64_t next = cron_next(&c, t);
        if (!next)
            return;
        if (next <= t || next % 1000)
            abort();
        t = next;
    }
}

static void check_headers(const char *h)
{
    for (const char *p = h; p && *p; p++)
        if ((*p == '\r' && p[1] != '\n') || (*p == '\n' && (p == h || p[-1] != '\r')))
            abort();
}

static void check_line(const uint8_t *data, size_t size)
{
    json_t *line = json_loadb((const char *)data, size, 0, NULL);
    if (!line)
        return;
    struct fn_invocation inv;
    memset(&inv, 0, sizeof inv);
    strcpy(inv.request_id, "fuzz");
    struct fn_response resp;
    const char *status = fn_answer_line(&inv, line, &resp);
    if (!status || resp.status < 200 || resp.status > 599 || (!resp.body && resp.body_len))
        abort();
    check_headers(resp.headers);
    fn_response_free(&resp);
    free(inv.error);
    json_decref(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        check_cron(data + 1, size - 1);
    else
        check_line(data + 1, size - 1);
    return 0;
}
