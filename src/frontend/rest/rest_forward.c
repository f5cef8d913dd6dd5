/* Cluster mode: a request for a session another node holds is forwarded to that node, its answer streamed back. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client/http_client.h"
#include "cluster/cluster.h"
#include "common/log.h"
#include "frontend/rest/rest_internal.h"

/* The answer waiting for the client's socket, at most: the other node is
 * held back meanwhile (it holds its own sandbox's output the same way). */
#define PENDING_MAX (1u << 20)
/* A forwarded request never waits on a node longer than a session can live. */
#define FORWARD_TIMEOUT_MS (24u * 3600 * 1000)
#define FORWARDED "x-soulbox-forwarded"

struct chunk {
    struct chunk *next;
    size_t len;
    char data[];
};

struct fwd {
    struct rest_call *rc;
    rest_handler fn;
    char id[80];
    struct sb_buf extra;         /* the request's other headers, passed on */
    char node_name[64];
    char url[256];
    char path[4200];
    char method[16];
    char ctype[128], accept[128];
    char key[600];
    uv_async_t async;
    uv_thread_t thread;
    bool replied;
    pthread_mutex_t mu;          /* guards what follows, shared with the thread */
    pthread_cond_t cv;
    struct hc_client hc;
    struct hc_response *res;     /* the thread's, while hc_request runs */
    struct chunk *head, *tail;
    size_t pending;
    bool started, ended, aborted, failed;
    int status;
    char res_ctype[128];
    struct sb_buf body;          /* a whole answer (not 2xx, or no body) */
    struct sb_error err;
};

/* ---- the thread: one blocking request to the node that holds the session ---- */

static int on_body(void *arg, const char *data, size_t len)
{
    struct fwd *f = arg;
    struct chunk *ch = malloc(sizeof *ch + len);
    if (!ch)
        return -1;
    ch->next = NULL;
    ch->len = len;
    memcpy(ch->data, data, len);
    pthread_mutex_lock(&f->mu);
    if (f->tail)
        f->tail->next = ch;
    else
        f->head = ch;
    f->tail = ch;
    f->pending += len;
    if (!f->started) {           /* hc has read the headers before any body */
        f->status = f->res->status;
        snprintf(f->res_ctype, sizeof f->res_ctype, "%s", f->res->content_type);
    }
    f->started = true;
    while (f->pending > PENDING_MAX && !f->aborted)
        pthread_cond_wait(&f->cv, &f->mu);
    bool stop = f->aborted;
    pthread_mutex_unlock(&f->mu);
    uv_async_send(&f->async);
    return stop ? -1 : 0;
}

static void forward_thread(void *arg)
{
    struct fwd *f = arg;
    struct hc_response res;
    struct sb_error err;
    int rc = -1;
    if (hc_init(&f->hc, f->url, f->key[0] ? f->key : NULL, &err) == 0) {
        f->hc.max_retries = 0;
        f->hc.timeout_ms = (int)FORWARD_TIMEOUT_MS;
        f->hc.extra_headers = f->extra.data;
        struct http_request *req = f->rc->req;
        f->res = &res;
        rc = hc_request(&f->hc, f->method, f->path, f->ctype[0] ? f->ctype : NULL,
                        f->accept[0] ? f->accept : NULL, req->body.len ? req->body.data : NULL,
                        req->body.len, on_body, f, &res, &err);
    }
    pthread_mutex_lock(&f->mu);
    if (rc < 0) {
        f->failed = true;
        f->err = err;
    } else {
        f->status = res.status;
        snprintf(f->res_ctype, sizeof f->res_ctype, "%s", res.content_type);
        f->body = res.body;            /* taken: res is not freed */
    }
    f->ended = true;
    hc_close(&f->hc);
    pthread_mutex_unlock(&f->mu);
    uv_async_send(&f->async);
}

/* ---- the loop: the answer, as it comes ---- */

static void fwd_free(uv_handle_t *h)
{
    struct fwd *f = h->data;
    while (f->head) {
        struct chunk *n = f->head->next;
        free(f->head);
        f->head = n;
    }
    sb_buf_free(&f->body);
    sb_buf_free(&f->extra);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f->rc);
    free(f);
}

static void on_client_gone(void *arg)
{
    struct fwd *f = arg;
    pthread_mutex_lock(&f->mu);
    f->aborted = true;
    /* A stream (a watch, a command's output) may be silent for long: the
     * thread's read ends now, not at the next byte. */
    if (!f->ended && f->hc.fd >= 0)
        shutdown(f->hc.fd, SHUT_RDWR);
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void relieve(void *arg)
{
    struct fwd *f = arg;
    pthread_mutex_lock(&f->mu);
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void finish(struct fwd *f)
{
    struct rest_call *rc = f->rc;
    http_conn_on_abort(rc->c, NULL, NULL);   /* f is freed once the loop comes round */
    http_conn_on_drain(rc->c, NULL, NULL);
    if (f->replied) {
        http_stream_end(rc->c);
        rest_log(rc, f->status);
    } else if (f->failed) {
        char msg[600];
        snprintf(msg, sizeof msg, "sandbox %s lives on node %s, which did not answer: %s",
                 f->id, f->node_name, f->err.msg);
        rest_reply_error(rc, SB_E_UNAVAILABLE, msg, "Retry-After: 1\r\n");
    } else {
        http_respond(rc->c, f->status, f->res_ctype[0] ? f->res_ctype : "application/json",
                     f->body.data ? f->body.data : "", f->body.len, NULL);
        rest_log(rc, f->status);
    }
    uv_thread_join(&f->thread);
    uv_close((uv_handle_t *)&f->async, fwd_free);
}

static void on_async(uv_async_t *a)
{
    struct fwd *f = a->data;
    pthread_mutex_lock(&f->mu);
    struct chunk *list = f->head;
    f->head = f->tail = NULL;
    bool ended = f->ended;
    int status = f->status;
    char ctype[128];
    snprintf(ctype, sizeof ctype, "%s", f->res_ctype);
    pthread_mutex_unlock(&f->mu);
    struct rest_call *rc = f->rc;
    size_t written = 0;
    while (list) {
        struct chunk *n = list->next;
        if (!f->replied && !http_conn_aborted(rc->c)) {
            f->replied = true;
            http_stream_start(rc->c, status ? status : 200,
                              ctype[0] ? ctype : "application/octet-stream", NULL);
        }
        if (f->replied)
            http_stream_write(rc->c, list->data, list->len);
        written += list->len;
        free(list);
        list = n;
    }
    pthread_mutex_lock(&f->mu);
    f->pending -= written;
    if (http_conn_queued(rc->c) < PENDING_MAX)
        pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (ended)
        finish(f);
}

static void start_forward(struct fwd *f)
{
    struct rest_call *rc = f->rc;
    struct http_request *req = rc->req;
    snprintf(f->method, sizeof f->method, "%s", req->method);
    snprintf(f->path, sizeof f->path, "%s%s%s", req->path, req->query[0] ? "?" : "", req->query);
    const char *ct = http_header(req, "content-type"), *ac = http_header(req, "accept");
    snprintf(f->ctype, sizeof f->ctype, "%s", ct ? ct : "");
    snprintf(f->accept, sizeof f->accept, "%s", ac ? ac : "");
    const char *auth = http_header(req, "authorization"), *xkey = http_header(req, "x-api-key");
    if (auth && !strncasecmp(auth, "Bearer ", 7))
        snprintf(f->key, sizeof f->key, "%s", auth + 7);
    else if (xkey)
        snprintf(f->key, sizeof f->key, "%s", xkey);
    /* Every other header as it came (E2B's E2b-Sandbox-Id and X-Access-Token,
     * Connect's, X-Request-Id), but those hc writes and hop-by-hop ones. */
    static const char *const skip[] = {"host", "content-length", "content-type", "accept",
                                       "authorization", "x-api-key", "connection",
                                       "keep-alive", "transfer-encoding", "te", "upgrade",
                                       "expect", "user-agent", FORWARDED};
    for (size_t i = 0; i < req->nheaders; i++) {
        bool keep = true;
        for (size_t k = 0; keep && k < sizeof skip / sizeof *skip; k++)
            keep = strcasecmp(req->headers[i].name, skip[k]) != 0;
        if (keep)
            sb_buf_printf(&f->extra, "%s: %s\r\n", req->headers[i].name, req->headers[i].value);
    }
    sb_buf_puts(&f->extra, "X-SoulBox-Forwarded: 1\r\n");
    uv_async_init(rc->rest->svc->loop, &f->async, on_async);
    f->async.data = f;
    http_conn_on_abort(rc->c, on_client_gone, f);
    http_conn_on_drain(rc->c, relieve, f);
    if (uv_thread_create(&f->thread, forward_thread, f) != 0) {
        f->failed = true;
        sb_fail(&f->err, SB_E_INTERNAL, "cannot start a thread");
        f->ended = true;
        rest_reply_error(rc, SB_E_UNAVAILABLE, "cannot forward the request: no thread",
                         "Retry-After: 1\r\n");
        uv_close((uv_handle_t *)&f->async, fwd_free);
        return;
    }
}

/* ---- where the session lives ---- */

static void on_place(void *arg, int rc2, const struct sb_error *err, const struct session_place *p)
{
    struct fwd *f = arg;
    struct rest_call *rc = f->rc;
    struct service *svc = rc->rest->svc;
    char msg[600];
    if (rc2 < 0) {
        rest_reply_error(rc, SB_E_UNAVAILABLE, err->msg, "Retry-After: 5\r\n");
    } else if (!p->found || !strcmp(p->state, "ended") || !svc->cluster ||
               !strcmp(p->node, cluster_node_id(svc->cluster))) {
        rc->no_forward = true;
        f->fn(rc);                /* not another node's: answered here (404) */
    } else if (!strcmp(p->state, "lost")) {
        snprintf(msg, sizeof msg, "sandbox %s was lost: %s", f->id, p->reason);
        rest_reply_error(rc, SB_E_NOT_FOUND, msg, NULL);
    } else if (strcmp(p->node_state, "up") || !p->url[0]) {
        snprintf(msg, sizeof msg, "sandbox %s lives on node %s, which is %s", f->id,
                 p->node_name[0] ? p->node_name : p->node,
                 p->node_state[0] ? p->node_state : "unknown");
        rest_reply_error(rc, SB_E_UNAVAILABLE, msg, "Retry-After: 1\r\n");
    } else {
        snprintf(f->node_name, sizeof f->node_name, "%s", p->node_name);
        snprintf(f->url, sizeof f->url, "%s", p->url);
        pthread_mutex_init(&f->mu, NULL);
        pthread_cond_init(&f->cv, NULL);
        f->hc.fd = -1;
        start_forward(f);
        return;
    }
    free(f->rc);
    free(f);
}

bool rest_forward_session(struct rest_call *rc, const char *id, rest_handler fn)
{
    struct service *svc = rc->rest->svc;
    if (!svc->cluster || rc->no_forward || http_header(rc->req, FORWARDED) ||
        session_held(svc, id))
        return false;
    struct fwd *f = calloc(1, sizeof *f);
    if (!f) {
        rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        return true;
    }
    if (!(f->rc = rest_call_keep(rc))) {
        free(f);
        return true;
    }
    f->fn = fn;
    snprintf(f->id, sizeof f->id, "%s", id);
    store_session_where(svc->store, f->id, on_place, f);
    return true;
}

bool rest_forward(struct rest_call *rc, rest_handler fn)
{
    /* Routes of one session: SoulBox's, and E2B's control plane. */
    static const char *const prefixes[] = {"/api/sandboxes/{id}", "/v2/sandboxes/{id}",
                                           "/sandboxes/{id}"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (!strncmp(rc->route, prefixes[i], strlen(prefixes[i])) && rc->nparams)
            return rest_forward_session(rc, rc->params[0], fn);
    return false;
}
