/* The CLI's blocking HTTP/1.1 client (see http_client.h). */
#include "client/http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define HDR_MAX 8192

static int copy(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int parse_url(struct hc_client *c, const char *url, struct sb_error *err)
{
    const char *p = url;
    if (!strncasecmp(p, "https://", 8))
        return sb_fail(err, SB_E_INVALID_ARGUMENT,
                       "%s: https is not supported by the CLI; use http:// (e.g. through an "
                       "SSH tunnel or on the TLS proxy's own network)", url);
    if (!strncasecmp(p, "http://", 7))
        p += 7;
    else if (strstr(p, "://"))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: only http:// URLs", url);
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *host = p, *host_end, *port = NULL;
    if (*p == '[') {
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: unclosed '['", url);
        if (host_end + 1 < end) {
            if (host_end[1] != ':')
                return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: bad address", url);
            port = host_end + 2;
        }
    } else {
        host_end = memchr(p, ':', (size_t)(end - p));
        if (host_end)
            port = host_end + 1;
        else
            host_end = end;
    }
    if (host_end == host || copy(c->host, sizeof c->host, host, (size_t)(host_end - host)) < 0)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: no host", url);
    if (port) {
        size_t n = (size_t)(end - port);
        if (n == 0 || n > 5 || strspn(port, "0123456789") < n)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: bad port", url);
        copy(c->port, sizeof c->port, port, n);
        long v = strtol(c->port, NULL, 10);
        if (v < 1 || v > 65535)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: bad port", url);
    } else {
        strcpy(c->port, "80");
    }
    const char *path = slash ? slash : "";
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    if (copy(c->prefix, sizeof c->prefix, path, plen) < 0 || strpbrk(c->prefix, "?# \r\n"))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: bad path", url);
    snprintf(c->host_header, sizeof c->host_header, strchr(c->host, ':') ? "[%s]:%s" : "%s:%s",
             c->host, c->port);
    return 0;
}

int hc_init(struct hc_client *c, const char *url, const char *api_key, struct sb_error *err)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->timeout_ms = HC_DEFAULT_TIMEOUT_MS;
    c->max_retries = HC_DEFAULT_RETRIES;
    if (!url || !*url)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "no server URL");
    if (parse_url(c, url, err) < 0)
        return -1;
    if (api_key && *api_key) {
        if (strpbrk(api_key, "\r\n") || strlen(api_key) > 600)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "the API key is not a valid header value");
        snprintf(c->auth, sizeof c->auth, "Bearer %s", api_key);
    }
    return 0;
}

void hc_close(struct hc_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void hc_response_free(struct hc_response *r)
{
    sb_buf_free(&r->body);
}

static long remaining(uint64_t deadline)
{
    uint64_t now = util_mono_ns();
    return now >= deadline ? 0 : (long)((deadline - now) / 1000000) + 1;
}

static int wait_fd(int fd, short ev, uint64_t deadline, struct sb_error *err)
{
    for (;;) {
        struct pollfd pfd = {fd, ev, 0};
        long ms = remaining(deadline);
        if (ms == 0)
            return sb_fail(err, SB_E_REQUEST_TIMEOUT, "timed out waiting for the server");
        int n = poll(&pfd, 1, (int)(ms > 1000000 ? 1000000 : ms));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return sb_fail_errno(err, SB_E_INTERNAL, errno, "poll");
    }
}

static int connect_to(struct hc_client *c, uint64_t deadline, struct sb_error *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *ai;
    int rc = getaddrinfo(c->host, c->port, &hints, &ai);
    if (rc)
        return sb_fail(err, SB_E_UNAVAILABLE, "%s: %s", c->host, gai_strerror(rc));
    int last = ECONNREFUSED;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
            last = errno;
            close(fd);
            continue;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (wait_fd(fd, POLLOUT, deadline, err) < 0) {
            close(fd);
            freeaddrinfo(ai);
            return -1;
        }
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            last = soerr;
            close(fd);
            continue;
        }
        c->fd = fd;
        freeaddrinfo(ai);
        return 0;
    }
    freeaddrinfo(ai);
    return sb_fail_errno(err, SB_E_UNAVAILABLE, last, "connect to %s", c->host_header);
}

static int send_all(int fd, const char *p, size_t n, uint64_t deadline, struct sb_error *err)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (wait_fd(fd, POLLOUT, deadline, err) < 0)
                    return -1;
                continue;
            }
            return sb_fail_errno(err, SB_E_UNAVAILABLE, errno, "send");
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- the answer ---- */

struct reading {
    struct hc_response *res;
    hc_body_fn on_body;
    void *arg;
    bool streaming, complete, stopped, in_value;
    char field[64], value[256];
    size_t flen, vlen;
    size_t hdr_bytes;
};

static void header_done(struct reading *r)
{
    if (!r->flen)
        return;
    r->field[r->flen] = r->value[r->vlen] = '\0';
    struct hc_response *res = r->res;
    if (!strcasecmp(r->field, "x-request-id"))
        snprintf(res->request_id, sizeof res->request_id, "%s", r->value);
    else if (!strcasecmp(r->field, "content-type"))
        snprintf(res->content_type, sizeof res->content_type, "%s", r->value);
    else if (!strcasecmp(r->field, "retry-after"))
        res->retry_after_ms = hc_parse_retry_after(r->value, (long)time(NULL));
    r->flen = r->vlen = 0;
    r->in_value = false;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
    struct reading *r = p->data;
    if (r->in_value)
        header_done(r);
    if ((r->hdr_bytes += n) > HDR_MAX)
        return -1;
    size_t room = sizeof r->field - 1 - r->flen;
    n = n < room ? n : room; /* longer names are not ones we read */
    memcpy(r->field + r->flen, at, n);
    r->flen += n;
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    struct reading *r = p->data;
    r->in_value = true;
    if ((r->hdr_bytes += n) > HDR_MAX)
        return -1;
    size_t room = sizeof r->value - 1 - r->vlen;
    n = n < room ? n : room;
    memcpy(r->value + r->vlen, at, n);
    r->vlen += n;
    return 0;
}

static int on_headers(http_parser *p)
{
    struct reading *r = p->data;
    header_done(r);
    r->res->status = p->status_code;
    r->streaming = r->on_body && p->status_code >= 200 && p->status_code < 300;
    return 0;
}

static int on_data(http_parser *p, const char *at, size_t n)
{
    struct reading *r = p->data;
    if (r->streaming) {
        if (r->on_body(r->arg, at, n) < 0) {
            r->stopped = true;
            return -1;
        }
        return 0;
    }
    if (r->res->body.len + n > HC_MAX_BODY)
        return -1;
    return sb_buf_append(&r->res->body, at, n) < 0 ? -1 : 0;
}

static int on_complete(http_parser *p)
{
    struct reading *r = p->data;
    r->complete = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers,
    .on_body = on_data,
    .on_message_complete = on_complete,
};

/* Reads one answer. *fresh_eof is set when the connection closed before any
 * byte of it (a kept-alive connection the server had closed). */
static int read_answer(struct hc_client *c, struct reading *r, uint64_t deadline, bool *fresh_eof,
                       struct sb_error *err)
{
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = r;
    char buf[65536];
    size_t total = 0;
    *fresh_eof = false;
    while (!r->complete) {
        if (wait_fd(c->fd, POLLIN, deadline, err) < 0)
            return -1;
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (total == 0 && (errno == ECONNRESET || errno == EPIPE))
                *fresh_eof = true;
            return sb_fail_errno(err, SB_E_UNAVAILABLE, errno, "read from %s", c->host_header);
        }
        if (n == 0 && total == 0) {
            *fresh_eof = true;
            return sb_fail(err, SB_E_UNAVAILABLE, "%s closed the connection", c->host_header);
        }
        total += (size_t)n;
        size_t used = http_parser_execute(&p, &settings, buf, (size_t)n);
        if (r->stopped)
            return 0;
        if (HTTP_PARSER_ERRNO(&p) != HPE_OK && HTTP_PARSER_ERRNO(&p) != HPE_PAUSED)
            return sb_fail(err, SB_E_UNAVAILABLE, "malformed answer from %s: %s", c->host_header,
                           http_errno_description(HTTP_PARSER_ERRNO(&p)));
        if (n == 0 && !r->complete)
            return sb_fail(err, SB_E_UNAVAILABLE, "%s closed the connection mid-answer",
                           c->host_header);
        (void)used;
    }
    if (!http_should_keep_alive(&p))
        hc_close(c);
    return 0;
}

static int attempt(struct hc_client *c, const char *head, size_t hlen, const void *body,
                   size_t len, struct reading *r, struct sb_error *err)
{
    uint64_t deadline = util_mono_ns() + (uint64_t)c->timeout_ms * 1000000;
    for (int tries = 0;; tries++) {
        bool reused = c->fd >= 0, fresh_eof = false, sent = false;
        if (!reused && connect_to(c, deadline, err) < 0)
            return -1;
        if (send_all(c->fd, head, hlen, deadline, err) == 0 &&
            send_all(c->fd, body, len, deadline, err) == 0) {
            sent = true;
            if (read_answer(c, r, deadline, &fresh_eof, err) == 0) {
                if (r->stopped)
                    hc_close(c);
                return 0;
            }
        }
        hc_close(c);
        /* A kept-alive connection the server had closed: once more, anew. */
        if (!reused || tries > 0 || (sent && !fresh_eof))
            return -1;
        sb_buf_reset(&r->res->body);
    }
}

int hc_request(struct hc_client *c, const char *method, const char *path, const char *ctype,
               const char *accept, const void *body, size_t len, hc_body_fn on_body, void *arg,
               struct hc_response *res, struct sb_error *err)
{
    struct sb_buf head = {0};
    sb_buf_printf(&head, "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: soulbox-cli\r\n", method,
                  c->prefix, path, c->host_header);
    if (*c->auth)
        sb_buf_printf(&head, "Authorization: %s\r\n", c->auth);
    if (accept)
        sb_buf_printf(&head, "Accept: %s\r\n", accept);
    if (ctype)
        sb_buf_printf(&head, "Content-Type: %s\r\n", ctype);
    if (c->extra_headers)
        sb_buf_puts(&head, c->extra_headers);
    if (body || strcmp(method, "GET"))
        sb_buf_printf(&head, "Content-Length: %zu\r\n", len);
    sb_buf_puts(&head, "\r\n");
    if (head.oom) {
        sb_buf_free(&head);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    int rc;
    for (int retry = 0;; retry++) {
        memset(res, 0, sizeof *res);
        res->retry_after_ms = -1;
        struct reading r = {.res = res, .on_body = on_body, .arg = arg};
        rc = attempt(c, head.data, head.len, body, len, &r, err);
        if (rc < 0 || (res->status != 429 && res->status != 503) || retry >= c->max_retries)
            break;
        long wait = res->retry_after_ms >= 0 ? res->retry_after_ms : 500L << retry;
        if (wait > HC_MAX_RETRY_WAIT_MS)
            wait = HC_MAX_RETRY_WAIT_MS;
        hc_response_free(res);
        struct timespec ts = {wait / 1000, (wait % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    sb_buf_free(&head);
    return rc;
}

void hc_error_text(const struct hc_response *r, char *out, size_t size)
{
    json_error_t je;
    json_t *j = r->body.len ? json_loadb(r->body.data, r->body.len, 0, &je) : NULL;
    json_t *e = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    char rid[120] = "";
    if (*r->request_id)
        snprintf(rid, sizeof rid, " (request %s)", r->request_id);
    if (code && msg)
        snprintf(out, size, "HTTP %d %s: %s%s", r->status, code, msg, rid);
    else
        snprintf(out, size, "HTTP %d%s", r->status, rid);
    json_decref(j);
}

int hc_urlencode(struct sb_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p)) {
            if (sb_buf_append(b, p, 1) < 0)
                return -1;
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            if (sb_buf_append(b, e, 3) < 0)
                return -1;
        }
    }
    return 0;
}

long hc_parse_retry_after(const char *v, long now_s)
{
    while (*v == ' ')
        v++;
    if (*v >= '0' && *v <= '9') {
        char *end;
        errno = 0;
        long s = strtol(v, &end, 10);
        if (errno || (*end && *end != ' ') || s > 86400)
            return -1;
        return s * 1000;
    }
    struct tm tm = {0};
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    long at = (long)timegm(&tm);
    return at <= now_s ? 0 : (at - now_s > 86400 ? 86400000L : (at - now_s) * 1000);
}
