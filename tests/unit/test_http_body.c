/* Unit tests for src/transport/http_body.c: streamed request bodies spooled to
 * disk, through a real HTTP server on loopback (the client is a thread). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/sha256.h"
#include "transport/http.h"

#define MAX_UPLOAD (80ull << 20)

static uv_loop_t loop;
static struct http_server *srv;
static char dir[64];
static int port;
static uv_timer_t ticker;
static size_t heap_base, heap_peak;
static atomic_int client_done;

/* What the handler saw of the last upload. */
static struct {
    int calls;
    enum sb_code code;
    char msg[256];
    uint64_t size;
} seen;

static size_t heap_now(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
    size_t h = heap_now();
    if (h > heap_peak)
        heap_peak = h;
}

static void hex_of(const uint8_t d[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void on_body(struct http_conn *c, int fd, uint64_t size, const struct sb_error *err,
                    void *arg)
{
    (void)arg;
    seen.calls++;
    if (err) {
        seen.code = err->code;
        snprintf(seen.msg, sizeof seen.msg, "%s", err->msg);
        cr_assert_eq(fd, -1);
        http_respond_error(c, err->code, err->msg, NULL);
        return;
    }
    seen.size = size;
    struct sha256 h;
    sha256_init(&h);
    static char buf[1 << 16];
    uint64_t off = 0;
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, (off_t)off)) > 0) {
        sha256_update(&h, buf, (size_t)n);
        off += (uint64_t)n;
    }
    close(fd);
    uint8_t d[32];
    sha256_final(&h, d);
    char body[128], hex[65];
    hex_of(d, hex);
    snprintf(body, sizeof body, "%llu %s", (unsigned long long)off, hex);
    http_respond(c, 200, "text/plain", body, strlen(body), NULL);
}

static void handler(struct http_conn *c, struct http_request *req, void *arg)
{
    (void)arg;
    if (!strcmp(req->path, "/upload")) {
        cr_assert(req->body_pending);
        if (strstr(req->query, "refuse")) {
            http_respond_error(c, SB_E_UNAUTHENTICATED, "no", NULL);
            return;
        }
        uint64_t max = strstr(req->query, "small") ? 100000 : MAX_UPLOAD;
        struct sb_error err;
        if (http_body_spool(c, max, on_body, NULL, &err) < 0)
            http_respond_error(c, err.code, err.msg, NULL);
        return;
    }
    cr_assert_not(req->body_pending);
    char body[32];
    snprintf(body, sizeof body, "%zu", req->body.len);
    http_respond(c, 200, "text/plain", body, strlen(body), NULL);
}

static bool streams(const struct http_request *req, void *arg)
{
    (void)arg;
    return !strcmp(req->path, "/upload");
}

static void setup(void)
{
    uv_loop_init(&loop);
    snprintf(dir, sizeof dir, "/tmp/soulbox-spool-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    struct http_server_cfg cfg = {
        .max_header_bytes = 16384, .max_body_bytes = 65536, .header_timeout_ms = 5000,
        .body_timeout_ms = 1000, .idle_timeout_ms = 5000, .max_connections = 64,
        .streams_body = streams, .spool_dir = dir,
    };
    struct sb_error err;
    cr_assert_eq(http_server_start(&srv, &loop, "127.0.0.1", 0, &cfg, handler, NULL, &err), 0,
                 "%s", err.msg);
    port = http_server_port(srv);
    uv_timer_init(&loop, &ticker);
    uv_timer_start(&ticker, on_tick, 5, 5);
    memset(&seen, 0, sizeof seen);
    atomic_store(&client_done, 0);
}

static void server_closed(void *arg)
{
    (void)arg;
}

static void teardown(void)
{
    http_server_close(srv, server_closed, NULL);
    uv_close((uv_handle_t *)&ticker, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        files += e->d_name[0] != '.';
    closedir(d);
    rmdir(dir);
    cr_assert_eq(files, 0, "spooled bodies leave no file behind");
}

TestSuite(http_body, .init = setup, .fini = teardown, .timeout = 60);

/* ---- the client (a thread; the test's thread runs the loop) ---- */

struct client {
    const char *head;          /* request head, without the blank line */
    uint64_t body_len;         /* bytes of pattern sent as the body */
    bool chunked;
    bool headers_only;         /* send the head, then wait for the answer */
    bool hang_up_at_half;      /* close the socket half way through the body */
    bool stall;                /* send half, then nothing */
    const char *then;          /* a second request on the same connection */
    char reply[4096];          /* everything read back (truncated) */
    size_t reply_len;
    char sha[65];              /* of the body sent */
};

static void pattern(char *buf, size_t n, uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (off + i) % 23);
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        c += w, n -= (size_t)w;
    }
    return 0;
}

static void read_reply(int fd, struct client *cl)
{
    ssize_t n;
    char buf[4096];
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        size_t room = sizeof cl->reply - 1 - cl->reply_len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(cl->reply + cl->reply_len, buf, take);
        cl->reply_len += take;
        cl->reply[cl->reply_len] = '\0';
        if (cl->then && strstr(cl->reply, "\r\n\r\n") && strstr(cl->reply, "OK\r\n")) {
            /* the first answer is in (its body is short): send the second */
            const char *body_start = strstr(cl->reply, "\r\n\r\n") + 4;
            if (strchr(body_start, ' ')) {
                send_all(fd, cl->then, strlen(cl->then));
                cl->then = NULL;
            }
        }
    }
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        goto out;
    char head[1024];
    if (cl->chunked)
        snprintf(head, sizeof head, "%s\r\nTransfer-Encoding: chunked\r\n\r\n", cl->head);
    else
        snprintf(head, sizeof head, "%s\r\nContent-Length: %llu\r\n\r\n", cl->head,
                 (unsigned long long)cl->body_len);
    send_all(fd, head, strlen(head));
    struct sha256 h;
    sha256_init(&h);
    static char buf[100003];   /* an odd size: chunks straddle every boundary */
    uint64_t off = 0, stop = cl->headers_only ? 0 : cl->body_len;
    if (cl->hang_up_at_half || cl->stall)
        stop = cl->body_len / 2;
    while (off < stop) {
        size_t n = stop - off < sizeof buf ? (size_t)(stop - off) : sizeof buf;
        pattern(buf, n, off);
        sha256_update(&h, buf, n);
        char size[32];
        if (cl->chunked) {
            snprintf(size, sizeof size, "%zx\r\n", n);
            if (send_all(fd, size, strlen(size)) < 0)
                break;
        }
        if (send_all(fd, buf, n) < 0 || (cl->chunked && send_all(fd, "\r\n", 2) < 0))
            break;
        off += n;
    }
    if (cl->chunked && off == cl->body_len)
        send_all(fd, "0\r\n\r\n", 5);
    uint8_t d[32];
    sha256_final(&h, d);
    hex_of(d, cl->sha);
    if (!cl->hang_up_at_half)
        read_reply(fd, cl);
out:
    close(fd);
    atomic_store(&client_done, 1);
    return NULL;
}

static void run_client(struct client *cl)
{
    pthread_t t;
    heap_base = heap_peak = heap_now();
    atomic_store(&client_done, 0);
    cr_assert_eq(pthread_create(&t, NULL, client_main, cl), 0);
    while (!atomic_load(&client_done))
        uv_run(&loop, UV_RUN_ONCE);
    pthread_join(t, NULL);
    for (int i = 0; i < 20; i++)   /* let the server finish what the client ended */
        uv_run(&loop, UV_RUN_NOWAIT);
}

static const char *body_of(const struct client *cl)
{
    const char *b = strstr(cl->reply, "\r\n\r\n");
    return b ? b + 4 : "";
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* ---- tests ---- */

Test(http_body, a_large_upload_reaches_the_handler_whole_without_filling_memory)
{
    struct client cl = {.head = "POST /upload HTTP/1.1\r\nHost: x", .body_len = 64ull << 20,
                        .then = "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};
    run_client(&cl);
    char want[128];
    snprintf(want, sizeof want, "%llu %s", 64ull << 20, cl.sha);
    cr_assert(strstr(cl.reply, "HTTP/1.1 200 OK"), "%s", cl.reply);
    cr_assert(strstr(cl.reply, want), "%s", cl.reply);
    cr_assert_eq(seen.calls, 1);
    cr_assert_eq(seen.size, 64ull << 20);
    cr_assert_lt(heap_peak - heap_base, 8u << 20, "heap grew by %zu bytes for a 64 MiB body",
                 heap_peak - heap_base);
    /* the connection went on with the next request */
    cr_assert(strstr(cl.reply, "Content-Length: 1\r\n"), "%s", cl.reply);
}

Test(http_body, a_chunked_upload_is_spooled_too)
{
    struct client cl = {.head = "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close",
                        .body_len = (5ull << 20) + 7, .chunked = true};
    run_client(&cl);
    char want[128];
    snprintf(want, sizeof want, "%llu %s", (5ull << 20) + 7, cl.sha);
    cr_assert_str_eq(body_of(&cl), want, "%s", cl.reply);
}

Test(http_body, an_empty_upload_is_an_empty_file)
{
    struct client cl = {.head = "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close",
                        .body_len = 0};
    run_client(&cl);
    cr_assert_str_eq(body_of(&cl),
                     "0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(http_body, a_declared_length_above_the_limit_is_refused_before_the_body)
{
    int fds = open_fds();
    struct client cl = {.head = "POST /upload?small HTTP/1.1\r\nHost: x", .body_len = 100001,
                        .headers_only = true};
    run_client(&cl);
    cr_assert(strstr(cl.reply, "HTTP/1.1 413 Payload Too Large"), "%s", cl.reply);
    cr_assert(strstr(cl.reply, "Connection: close"), "%s", cl.reply);
    cr_assert(strstr(cl.reply, "request body is too large (at most 100000 bytes)"));
    cr_assert_eq(seen.calls, 0);
    cr_assert_eq(open_fds(), fds, "no spool file stays open");
}

Test(http_body, a_chunked_body_over_the_limit_is_cut_off)
{
    struct client cl = {.head = "POST /upload?small HTTP/1.1\r\nHost: x", .body_len = 300000,
                        .chunked = true};
    run_client(&cl);
    cr_assert(strstr(cl.reply, "HTTP/1.1 413 Payload Too Large"), "%s", cl.reply);
    cr_assert_eq(seen.calls, 1);
    cr_assert_eq(seen.code, SB_E_PAYLOAD_TOO_LARGE);
}

Test(http_body, a_handler_may_answer_without_taking_the_body)
{
    /* e.g. a bad API key: refused before one byte of the body is stored */
    struct client cl = {.head = "POST /upload?refuse HTTP/1.1\r\nHost: x",
                        .body_len = 2u << 20};
    run_client(&cl);
    cr_assert(strstr(cl.reply, "HTTP/1.1 401 Unauthorized"), "%s", cl.reply);
    cr_assert(strstr(cl.reply, "Connection: close"), "%s", cl.reply);
    cr_assert_eq(seen.calls, 0);
}

Test(http_body, a_client_that_hangs_up_mid_body_is_reported_to_the_handler)
{
    int fds = open_fds();
    struct client cl = {.head = "POST /upload HTTP/1.1\r\nHost: x", .body_len = 16u << 20,
                        .hang_up_at_half = true};
    run_client(&cl);
    for (int i = 0; i < 200 && !seen.calls; i++)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(seen.calls, 1);
    cr_assert_str_eq(seen.msg, "the client closed the connection before the body ended");
    cr_assert_eq(open_fds(), fds, "the spool file is closed");
}

Test(http_body, a_stalled_body_times_out)
{
    struct client cl = {.head = "POST /upload HTTP/1.1\r\nHost: x", .body_len = 1u << 20,
                        .stall = true};
    run_client(&cl);
    cr_assert(strstr(cl.reply, "HTTP/1.1 408 Request Timeout"), "%s", cl.reply);
    cr_assert_str_eq(seen.msg, "request body stalled");
}

Test(http_body, other_routes_keep_the_in_memory_limit)
{
    struct client cl = {.head = "POST /other HTTP/1.1\r\nHost: x", .body_len = 65537};
    run_client(&cl);
    cr_assert(strstr(cl.reply, "HTTP/1.1 413 Payload Too Large"), "%s", cl.reply);
    struct client ok = {.head = "POST /other HTTP/1.1\r\nHost: x\r\nConnection: close",
                        .body_len = 65536};
    run_client(&ok);
    cr_assert_str_eq(body_of(&ok), "65536", "%s", ok.reply);
}
