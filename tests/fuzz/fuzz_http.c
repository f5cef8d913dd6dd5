/* Fuzz target `http`: HTTP/1.1 requests as the server parses them. The
 * input is the byte stream of one client connection. The first byte picks
 * how it is fed (low 7 bits: bytes per read, 0 = all at once; high bit: which
 * way), the rest is the stream.
 *
 * Parser (high bit clear): http-parser runs with the server's callbacks
 * (http_parser_cbs, src/transport/http_parse.c) on a calloc'd struct http_conn
 * whose server has the default limits (16 KiB of headers, 1 MiB of body);
 * the loop below is http.c's parse_more: each complete request is "handled"
 * (its fields read, then freed and the parser resumed for the next pipelined
 * one, as after a keep-alive response) until the input ends, an error stops
 * it or the connection would close. The callbacks start and stop the
 * connection's timer and may write "100 Continue": the connection has a real
 * uv timer and a uv TCP handle on a private loop, never connected, so writes
 * fail (EBADF) without I/O.
 *
 * Server (high bit set): the same bytes through the whole of http.c (on the
 * TCP base, tcp.c), over a loopback TCP connection to an http_server_start'ed
 * server: reads, pipelining, responses, errors, upgrades and lingering
 * close. Its handler answers by the path: "/s..." streamed (chunked), "/a..."
 * later (from a timer, so that more requests queue up meanwhile), an upgrade
 * request is upgraded (raw bytes echoed, then closed), "/u..." takes its
 * body as a stream (spooled to a file, at most 4 KiB with "/us...", then
 * answered with its size; "/ur..." answered without taking it), anything
 * else at once. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "fuzz_common.h"
#include "transport/http_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool streams(const struct http_request *req, void *arg)
{
    (void)arg;
    return req->path[0] == '/' && req->path[1] == 'u';
}

static const struct http_server_cfg cfg = {
    .max_header_bytes = 16u << 10, .max_body_bytes = 1u << 20,
    .header_timeout_ms = 10000, .body_timeout_ms = 30000, .idle_timeout_ms = 60000,
    .max_connections = 4096, .streams_body = streams, .spool_dir = "/tmp",
};

static uv_loop_t loop;
static struct http_server srv;      /* parser mode: never started */
static struct http_server *server;  /* server mode: listening on loopback */
static struct sockaddr_in server_addr;

/* What a handler reads of a request. */
static void inspect(const struct http_request *r)
{
    if (!r->method || !r->path || !r->query || !r->request_id[0])
        abort();
    fuzz_touch(r->method);
    fuzz_touch(r->path);
    fuzz_touch(r->query);
    if (strlen(r->request_id) > 128)
        abort();
    for (size_t i = 0; i < r->nheaders; i++) {
        if (!r->headers[i].name || !r->headers[i].value)
            abort();
        for (const char *p = r->headers[i].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                abort(); /* names are lower-cased */
        fuzz_touch(r->headers[i].value);
    }
    if (r->nheaders > MAX_HEADERS)
        abort();
    fuzz_touch(http_header(r, "content-type"));
    fuzz_touch(http_header(r, "authorization"));
    fuzz_touch(http_header(r, "x-api-key"));
    fuzz_touch(http_header(r, "upgrade"));
    if (r->body.len > cfg.max_body_bytes)
        abort();
    fuzz_touch_bytes(r->body.data, r->body.len);
}

/* ---- parser mode ---- */

static void on_closed(uv_handle_t *h)
{
    struct tcp_conn *t = h->data;
    t->handles--;
}

/* http.c's parse_more over pending; returns false once the connection
 * would be answered with an error or closed. */
static bool parse_more(struct http_conn *c, struct sb_buf *pending)
{
    while (c->state == C_IDLE || c->state == C_HEADERS || c->state == C_BODY) {
        if (pending->len == 0)
            return true;
        size_t n = http_parser_execute(&c->parser, &http_parser_cbs, pending->data,
                                       pending->len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        if (n > pending->len)
            abort();
        memmove(pending->data, pending->data + n, pending->len - n);
        pending->len -= n;
        if (c->state == C_HANDLING && c->close_after && e != HPE_PAUSED)
            return false; /* 413 before the body */
        if (c->parser.upgrade && c->state == C_HANDLING) {
            inspect(&c->req);
            return false; /* the handler takes the socket, or the connection ends */
        }
        if (e == HPE_PAUSED && c->state == C_HANDLING) {
            inspect(&c->req);
            if (c->req.body_pending)
                return false; /* spooled by the server mode; here: answered, closed */
            /* a keep-alive response went out: the next request (response_done) */
            if (!c->req.keep_alive || c->close_after)
                return false;
            http_free_request(&c->req);
            c->state = C_IDLE; /* not http_set_state: this connection has no server */
            c->header_bytes = 0;
            c->in_value = false;
            http_parser_pause(&c->parser, 0);
            continue;
        }
        if (e != HPE_OK) {
            fuzz_touch(http_errno_description(e));
            return false;
        }
        if (n == 0)
            return true;
    }
    return true;
}

static void run_parser(const uint8_t *data, size_t size, size_t chunk)
{
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = &srv;
    uv_tcp_init(&loop, &c->base.tcp);
    uv_timer_init(&loop, &c->base.timer);
    c->base.tcp.data = c->base.timer.data = &c->base;
    c->base.handles = 2;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->state = C_IDLE;
    snprintf(c->req.peer, sizeof c->req.peer, "192.0.2.1");

    struct sb_buf pending = {0};
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (pending.len + n > MAX_PIPELINED)
            break;
        sb_buf_append(&pending, (const char *)data + off, n);
        if (pending.oom || !parse_more(c, &pending))
            break;
    }
    sb_buf_free(&pending);
    http_free_request(&c->req);
    uv_close((uv_handle_t *)&c->base.timer, on_closed);
    uv_close((uv_handle_t *)&c->base.tcp, on_closed);
    while (c->base.handles)
        uv_run(&loop, UV_RUN_NOWAIT);
    free(c);
}

/* ---- server mode ---- */

struct later {
    uv_timer_t t;
    struct http_conn *c;
    int status;
};

static unsigned laters; /* answers still to give */
static unsigned spools; /* streamed bodies not yet ended */

static void later_closed(uv_handle_t *h)
{
    free(h->data);
    laters--;
}

static void on_later(uv_timer_t *t)
{
    struct later *l = t->data;
    http_respond(l->c, l->status, "text/plain", "later\n", 6, NULL);
    uv_close((uv_handle_t *)&l->t, later_closed);
}

static void raw_data(void *arg, const char *buf, size_t len)
{
    struct http_conn *c = arg;
    http_raw_write(c, buf, len);
    http_raw_close(c);
}

static void raw_drain(void *arg)
{
    (void)arg;
}

static void raw_closed(void *arg)
{
    (void)arg;
}

static const struct http_raw_ops raw_ops = {raw_data, raw_drain, raw_closed};

static void spooled(struct http_conn *c, int fd, uint64_t size, const struct sb_error *err,
                    void *arg)
{
    (void)arg;
    spools--;
    if (err) {
        if (fd != -1 || !err->msg[0])
            abort();
        http_respond_error(c, err->code, err->msg, NULL);
        return;
    }
    char buf[64];
    if (fd < 0 || lseek(fd, 0, SEEK_END) != (off_t)size)
        abort(); /* the file holds exactly the body */
    close(fd);
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)size);
    http_respond(c, 200, "text/plain", buf, (size_t)n, NULL);
}

static void handler(struct http_conn *c, struct http_request *req, void *arg)
{
    (void)arg;
    inspect(req);
    if (req->body_pending) {
        struct sb_error err;
        if (req->path[2] == 'r') {
            http_respond_error(c, SB_E_UNAUTHENTICATED, "no", NULL);
        } else {
            spools++;   /* before: `spooled` may run before this returns */
            if (http_body_spool(c, req->path[2] == 's' ? 4096 : 1u << 20, spooled, NULL,
                                &err) < 0) {
                spools--;
                http_respond_error(c, err.code, err.msg, NULL);
            }
        }
        return;
    }
    if (c->parser.upgrade) {
        if (http_header(req, "upgrade") && req->path[1] != 'n')
            http_upgrade(c, "Upgrade: websocket\r\nConnection: Upgrade\r\n", &raw_ops, c);
        else
            http_respond_error(c, SB_E_UPGRADE_REQUIRED, "no", NULL);
    } else if (req->path[0] == '/' && req->path[1] == 's') {
        http_stream_start(c, 200, "text/plain", NULL);
        http_stream_write(c, req->path, strlen(req->path));
        http_stream_write(c, req->body.data, req->body.len);
        http_stream_end(c);
    } else if (req->path[0] == '/' && req->path[1] == 'a') {
        struct later *l = malloc(sizeof *l);
        if (!l)
            abort();
        l->c = c;
        l->status = req->body.len ? 201 : 202;
        laters++;
        uv_timer_init(&loop, &l->t);
        l->t.data = l;
        uv_timer_start(&l->t, on_later, 0, 0);
    } else if (req->path[0] == '/' && req->path[1] == 'e') {
        http_respond_error(c, SB_E_NOT_FOUND, req->path, NULL);
    } else {
        http_respond(c, 200, "application/json", req->body.data, req->body.len,
                     "X-Extra: 1\r\n");
    }
}

struct client {
    uv_poll_t poll;
    int fd;
    bool eof;      /* the server closed its end (FIN or reset) */
    bool closed;   /* poll handle closed */
};

/* Reads and drops what the server sends. */
static void client_readable(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    struct client *cl = p->data;
    char buf[65536];
    while (!cl->eof) {
        ssize_t n = read(cl->fd, buf, sizeof buf);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        cl->eof = true;
        uv_poll_stop(p);
    }
}

static void client_closed(uv_handle_t *h)
{
    struct client *cl = h->data;
    cl->closed = true;
}

/* connect(), which libFuzzer's timer signal (-timeout) may interrupt: the
 * connection then goes on in the background, so wait for it to finish. */
static int connect_to_server(int fd)
{
    if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) == 0)
        return 0;
    if (errno != EINTR)
        return -1;
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof err;
    while (poll(&pfd, 1, -1) < 0)
        if (errno != EINTR)
            return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -1;
    errno = err;
    return err ? -1 : 0;
}

/* The server's end of the connection closes with a reset. */
static void reset_on_close(struct tcp_conn *t, void *arg)
{
    (void)arg;
    static const struct linger lg = {1, 0};
    uv_os_fd_t sfd;
    if (uv_fileno((uv_handle_t *)&t->tcp, &sfd) == 0)
        setsockopt(sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static void run_server(const uint8_t *data, size_t size, size_t chunk)
{
    struct client cl = {.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (cl.fd < 0 || connect_to_server(cl.fd) < 0) {
        perror("fuzz_http: connect");
        abort();
    }
    int one = 1;
    setsockopt(cl.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uv_poll_init(&loop, &cl.poll, cl.fd); /* makes the fd non-blocking */
    cl.poll.data = &cl;
    uv_poll_start(&cl.poll, UV_READABLE, client_readable);
    while (http_server_connections(server) == 0)
        uv_run(&loop, UV_RUN_ONCE);
    /* No TIME_WAIT may be left behind (thousands of connections a second
     * would run out of ports): the server's end closes with a reset, and the
     * client resets too when the server closed first. http.c sees the same
     * EOF or error either way. */
    static const struct linger lg = {1, 0};
    tcp_server_each(server->tcp, reset_on_close, NULL);
    setsockopt(cl.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    /* each chunk arrives as one read */
    size_t off = 0;
    while (off < size && !cl.eof) {
        size_t n = size - off < chunk ? size - off : chunk;
        ssize_t w = write(cl.fd, data + off, n);
        if (w > 0)
            off += (size_t)w;
        else if (errno != EAGAIN && errno != EINTR)
            break; /* reset by the server */
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    /* The server only acts inside uv_run: what it sent is all here now. */
    client_readable(&cl.poll, 0, 0);
    if (!cl.eof)
        shutdown(cl.fd, SHUT_WR); /* end of input: the server sees EOF */
    else
        uv_poll_stop(&cl.poll);
    while (!cl.eof && http_server_connections(server) > 0)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&cl.poll, client_closed);
    close(cl.fd); /* a reset if the server is still there */
    while (!cl.closed || laters || spools || http_server_connections(server) > 0)
        uv_run(&loop, UV_RUN_ONCE);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    if (uv_loop_init(&loop) < 0)
        abort();
    srv.cfg = cfg;
    struct sb_error err;
    if (http_server_start(&server, &loop, "127.0.0.1", 0, &cfg, handler, NULL, &err) < 0) {
        fprintf(stderr, "fuzz_http: %s\n", err.msg);
        abort();
    }
    server_addr = (struct sockaddr_in){.sin_family = AF_INET,
                                       .sin_port = htons((uint16_t)http_server_port(server)),
                                       .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = data[0] & 0x7f ? data[0] & 0x7f : size;
    if (data[0] & 0x80)
        run_server(data + 1, size - 1, chunk);
    else
        run_parser(data + 1, size - 1, chunk);
    return 0;
}
