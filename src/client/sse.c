/* Server-Sent Events parser (see sse.h). */
#include "client/sse.h"

#include <string.h>

void sse_init(struct sse_parser *p, sse_event_fn fn, void *arg)
{
    memset(p, 0, sizeof *p);
    p->on_event = fn;
    p->arg = arg;
}

void sse_free(struct sse_parser *p)
{
    sb_buf_free(&p->line);
    sb_buf_free(&p->data);
}

static int dispatch(struct sse_parser *p)
{
    int rc = 0;
    if (p->has_data)
        rc = p->on_event(p->arg, *p->event ? p->event : "message",
                         p->data.data ? p->data.data : "", p->data.len);
    sb_buf_reset(&p->data);
    p->has_data = false;
    p->event[0] = '\0';
    return rc < 0 ? -1 : 0;
}

static int field(struct sse_parser *p, const char *line, size_t len)
{
    if (len == 0)
        return dispatch(p);
    if (line[0] == ':')
        return 0; /* a comment: keep-alive */
    const char *colon = memchr(line, ':', len);
    size_t nlen = colon ? (size_t)(colon - line) : len;
    const char *v = colon ? colon + 1 : line + len;
    size_t vlen = len - (size_t)(v - line);
    if (vlen && *v == ' ')
        v++, vlen--;
    if (nlen == 5 && !memcmp(line, "event", 5)) {
        size_t n = vlen < sizeof p->event - 1 ? vlen : sizeof p->event - 1;
        memcpy(p->event, v, n);
        p->event[n] = '\0';
    } else if (nlen == 4 && !memcmp(line, "data", 4)) {
        if (p->data.len + vlen + 1 > SSE_MAX_EVENT)
            return -1;
        if ((p->has_data && sb_buf_append(&p->data, "\n", 1) < 0) ||
            sb_buf_append(&p->data, v, vlen) < 0)
            return -1;
        p->has_data = true;
    }
    return 0; /* id, retry and unknown fields: not used here */
}

int sse_feed(struct sse_parser *p, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (ch == '\n' && p->after_cr) { /* the \n of a \r\n */
            p->after_cr = false;
            continue;
        }
        p->after_cr = ch == '\r';
        if (ch == '\r' || ch == '\n') {
            int rc = field(p, p->line.data ? p->line.data : "", p->line.len);
            sb_buf_reset(&p->line);
            if (rc < 0)
                return -1;
            continue;
        }
        size_t run = i;
        while (run < n && buf[run] != '\r' && buf[run] != '\n')
            run++;
        if (p->line.len + (run - i) > SSE_MAX_EVENT ||
            sb_buf_append(&p->line, buf + i, run - i) < 0)
            return -1;
        i = run - 1;
    }
    return 0;
}
