/* Streamed execution events as JSON objects. */
#include "frontend/events.h"

#include "service/result_json.h"

#include <stdlib.h>
#include <string.h>

#include "runner/result.h"

json_t *event_started(const char *id)
{
    return json_pack("{s:s,s:s}", "type", "started", "id", id);
}

size_t event_utf8_prefix(const char *data, size_t len)
{
    /* Find the start of the last character (at most 3 continuation bytes back). */
    size_t i = len, back = 0;
    while (i > 0 && back < 3 && ((unsigned char)data[i - 1] & 0xC0) == 0x80)
        i--, back++;
    if (i == 0)
        return len; /* only continuation bytes: invalid, send as is */
    unsigned char lead = (unsigned char)data[i - 1];
    size_t need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead < 0xF0 ? 3
                : lead >= 0xC2 && lead < 0xE0 ? 2 : 1;
    size_t have = back + 1;
    return need > 1 && have < need ? i - 1 : len;
}

static json_t *output_event(int stream, const char *data, size_t len)
{
    bool lossy;
    json_t *text = result_json_bytes(data, len, &lossy);
    if (!text)
        return NULL;
    return json_pack("{s:s,s:o}", "type", stream == 1 ? "stdout" : "stderr", "data", text);
}

json_t *event_output(struct text_carry *tc, int stream, const char *data, size_t len)
{
    int k = stream == 1 ? 0 : 1;
    char *joined = NULL;
    if (tc->n[k]) {
        if (!(joined = malloc(tc->n[k] + len)))
            return NULL;
        memcpy(joined, tc->b[k], tc->n[k]);
        memcpy(joined + tc->n[k], data, len);
        data = joined;
        len += tc->n[k];
        tc->n[k] = 0;
    }
    size_t keep = event_utf8_prefix(data, len);
    memcpy(tc->b[k], data + keep, len - keep); /* at most 3 bytes */
    tc->n[k] = len - keep;
    json_t *ev = keep ? output_event(stream, data, keep) : NULL;
    free(joined);
    return ev;
}

json_t *event_output_flush(struct text_carry *tc, int stream)
{
    int k = stream == 1 ? 0 : 1;
    if (!tc->n[k])
        return NULL;
    json_t *ev = output_event(stream, tc->b[k], tc->n[k]);
    tc->n[k] = 0;
    return ev;
}

json_t *event_exit(const struct job_result *res, const char *id)
{
    json_t *ev = json_pack("{s:s}", "type", "exit");
    json_t *result = result_json(res);
    if (ev && result)
        json_object_update(ev, result);
    json_decref(result);
    if (ev)
        json_object_set_new(ev, "id", json_string(id));
    return ev;
}

json_t *event_error(enum sb_code code, const char *message)
{
    return json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "code", sb_code_name(code),
                     "message", message);
}
