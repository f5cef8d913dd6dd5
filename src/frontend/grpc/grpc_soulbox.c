/* The soulbox.v1.SoulBox service: Execute, ExecuteStream, Interact,
 * ListLanguages, on top of the same executions as the JSON API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/grpc/grpc.h"
#include "frontend/grpc/grpc_convert.h"
#include "frontend/request.h"
#include "service/execution.h"
#include "service/session_cmd.h"
#include "service/service.h"

/* Response bytes waiting for a slow client: pause the program above, resume below. */
#define PAUSE_MARK (256u << 10)

enum gmode { G_UNARY, G_STREAM, G_INTERACT };

/* A call's work: the execution behind it. */
struct gexec {
    struct grpc_call *call;
    struct execution *ex;
    enum gmode mode;
    bool executed;             /* Interact: the execute event came */
    bool paused;
};

static void gexec_free(struct gexec *g)
{
    free(g);
}

static void send_event(struct gexec *g, Soulbox__V1__ExecuteEvent *ev)
{
    grpc_send(g->call, &ev->base);
    if (!g->paused && g->ex && grpc_call_queued(g->call) > PAUSE_MARK) {
        g->paused = true;
        execution_output_pause(g->ex, true);
    }
}

static void send_error_event(struct gexec *g, enum sb_code code, const char *msg)
{
    Soulbox__V1__Error e = SOULBOX__V1__ERROR__INIT;
    e.code = (char *)sb_code_name(code);
    e.message = (char *)msg;
    Soulbox__V1__ExecuteEvent ev = SOULBOX__V1__EXECUTE_EVENT__INIT;
    ev.event_case = SOULBOX__V1__EXECUTE_EVENT__EVENT_ERROR;
    ev.error = &e;
    send_event(g, &ev);
}

static void on_drain(struct grpc_call *c)
{
    struct gexec *g = grpc_call_data(c);
    if (g && g->paused && g->ex) {
        g->paused = false;
        execution_output_pause(g->ex, false);
    }
}

/* ---- execution hooks ---- */

static void on_refused(struct execution *ex, const struct refusal *r, void *arg)
{
    (void)ex;
    struct gexec *g = arg;
    g->ex = NULL;
    grpc_finish_error(g->call, &r->err);
    gexec_free(g);
}

static void on_accepted(struct execution *ex, void *arg)
{
    struct gexec *g = arg;
    if (g->mode == G_UNARY)
        return;
    Soulbox__V1__Started st = SOULBOX__V1__STARTED__INIT;
    st.id = (char *)execution_id(ex);
    Soulbox__V1__ExecuteEvent ev = SOULBOX__V1__EXECUTE_EVENT__INIT;
    ev.event_case = SOULBOX__V1__EXECUTE_EVENT__EVENT_STARTED;
    ev.started = &st;
    send_event(g, &ev);
}

static void on_output(struct execution *ex, int stream, const char *data, size_t len, void *arg)
{
    (void)ex;
    struct gexec *g = arg;
    Soulbox__V1__Output out = SOULBOX__V1__OUTPUT__INIT;
    out.data.data = (uint8_t *)data;
    out.data.len = len;
    Soulbox__V1__ExecuteEvent ev = SOULBOX__V1__EXECUTE_EVENT__INIT;
    ev.event_case = stream == 1 ? SOULBOX__V1__EXECUTE_EVENT__EVENT_STDOUT
                                : SOULBOX__V1__EXECUTE_EVENT__EVENT_STDERR;
    ev.stdout = &out; /* the union: stdout and stderr share it */
    send_event(g, &ev);
}

static void on_finished(struct execution *ex, const struct job_result *res, void *arg)
{
    struct gexec *g = arg;
    g->ex = NULL;
    if (res->failed) {
        grpc_finish(g->call, GRPC_INTERNAL, res->error.msg);
        gexec_free(g);
        return;
    }
    Soulbox__V1__ExecuteResult *r = pb_result_from_result(res, execution_id(ex));
    if (!r) {
        grpc_finish(g->call, GRPC_INTERNAL, "out of memory");
    } else if (g->mode == G_UNARY) {
        grpc_send(g->call, &r->base);
        grpc_finish(g->call, GRPC_OK, NULL);
    } else {
        Soulbox__V1__ExecuteEvent ev = SOULBOX__V1__EXECUTE_EVENT__INIT;
        ev.event_case = SOULBOX__V1__EXECUTE_EVENT__EVENT_EXIT;
        ev.exit = r;
        grpc_send(g->call, &ev.base);
        grpc_finish(g->call, GRPC_OK, NULL);
    }
    if (r)
        soulbox__v1__execute_result__free_unpacked(r, NULL);
    gexec_free(g);
}

static void on_cancelled(struct grpc_call *c)
{
    struct gexec *g = grpc_call_data(c);
    if (!g)
        return;
    if (g->ex) {
        execution_detach(g->ex);
        execution_cancel(g->ex, "cancelled: the gRPC call ended first (client cancel, "
                         "deadline or lost connection)");
    }
    gexec_free(g);
}

/* ---- starting an execution ---- */

static enum req_kind kind_of(enum gmode m)
{
    return m == G_UNARY ? REQ_SYNC : m == G_STREAM ? REQ_STREAM : REQ_INTERACTIVE;
}

/* Returns 0, or -1 with err when the request is refused (counted by the gate). */
static int start(struct gexec *g, const Soulbox__V1__ExecuteRequest *pr, struct sb_error *err)
{
    static const struct exec_events events = {.accepted = on_accepted, .output = on_output,
                                               .finished = on_finished, .refused = on_refused};
    static const struct exec_events unary = {.accepted = on_accepted, .finished = on_finished,
                                              .refused = on_refused};
    struct service *s = grpc_call_service(g->call);
    const struct caller *who = grpc_call_caller(g->call);
    struct refusal r;
    memset(err, 0, sizeof *err);
    json_t *body = pb_request_to_json(pr, err);
    struct exec_req er;
    int rc = body ? exec_req_from_json(body, s->cfg, &s->registry, kind_of(g->mode), &er, err)
                  : -1;
    json_decref(body);
    if (rc < 0) {
        gate_refuse(s, who, gate_reason_of(err), err, &r);
        return -1;
    }
    g->ex = execution_submit(s, who, &er, kind_of(g->mode), g->mode == G_UNARY ? &unary : &events,
                             g, &r);
    if (!g->ex) {
        *err = r.err;
        return -1;
    }
    return 0;
}

static struct gexec *gexec_new(struct grpc_call *c, enum gmode mode)
{
    struct gexec *g = calloc(1, sizeof *g);
    if (!g) {
        grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    g->call = c;
    g->mode = mode;
    grpc_call_set_data(c, g);
    grpc_call_on_drain(c, on_drain);
    return g;
}

/* Execute and ExecuteStream: one request message. */
static void run_one(struct grpc_call *c, const uint8_t *data, size_t len, enum gmode mode)
{
    Soulbox__V1__ExecuteRequest *pr =
        soulbox__v1__execute_request__unpack(&pb_sized_allocator, len, data);
    if (!pr)
        return grpc_finish(c, GRPC_INVALID_ARGUMENT, "the request is not a valid "
                           "soulbox.v1.ExecuteRequest");
    struct gexec *g = gexec_new(c, mode);
    struct sb_error err;
    if (g && start(g, pr, &err) < 0) {
        grpc_call_set_data(c, NULL);
        gexec_free(g);
        grpc_finish_error(c, &err);
    }
    soulbox__v1__execute_request__free_unpacked(pr, &pb_sized_allocator);
}

static void execute_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    run_one(c, data, len, G_UNARY);
}

static void stream_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    run_one(c, data, len, G_STREAM);
}

/* ---- Interact ---- */

static void interact_event(struct gexec *g, const Soulbox__V1__ClientEvent *ev)
{
    switch (ev->event_case) {
    case SOULBOX__V1__CLIENT_EVENT__EVENT_EXECUTE:
        return send_error_event(g, SB_E_INVALID_ARGUMENT, "one execution per call");
    case SOULBOX__V1__CLIENT_EVENT__EVENT_STDIN: {
        int rc = g->ex ? execution_stdin_write(g->ex, ev->stdin.data, ev->stdin.len) : -1;
        if (rc == -1)
            send_error_event(g, SB_E_INVALID_ARGUMENT, "stdin: closed (stdin_close was sent, "
                             "or the program closed it or ended)");
        else if (rc == -2)
            send_error_event(g, SB_E_RATE_LIMITED, "stdin: 1 MiB is already waiting for the "
                             "program to read it; send more later");
        return;
    }
    case SOULBOX__V1__CLIENT_EVENT__EVENT_STDIN_CLOSE:
        if (g->ex)
            execution_stdin_close(g->ex);
        return;
    case SOULBOX__V1__CLIENT_EVENT__EVENT_KILL:
        if (g->ex)
            execution_kill(g->ex);
        return;
    case SOULBOX__V1__CLIENT_EVENT__EVENT_SIGNAL: {
        int sig = session_signal_number(ev->signal ? ev->signal->name : NULL);
        if (sig < 0)
            return send_error_event(g, SB_E_INVALID_ARGUMENT,
                                    "signal: a name like SIGINT or SIGTERM");
        if (g->ex)
            execution_signal(g->ex, sig);
        return;
    }
    default:
        return send_error_event(g, SB_E_INVALID_ARGUMENT, "empty client event");
    }
}

static void interact_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    struct gexec *g = grpc_call_data(c);
    Soulbox__V1__ClientEvent *ev =
        soulbox__v1__client_event__unpack(&pb_sized_allocator, len, data);
    if (!ev) {
        if (g && g->ex) { /* keep the program: tell the client what was wrong */
            send_error_event(g, SB_E_INVALID_ARGUMENT, "not a valid soulbox.v1.ClientEvent");
            return;
        }
        return grpc_finish(c, GRPC_INVALID_ARGUMENT, "not a valid soulbox.v1.ClientEvent");
    }
    if (!g) {
        if (ev->event_case != SOULBOX__V1__CLIENT_EVENT__EVENT_EXECUTE) {
            grpc_finish(c, GRPC_INVALID_ARGUMENT, "the first event must be execute");
        } else if ((g = gexec_new(c, G_INTERACT))) {
            struct sb_error err;
            g->executed = true;
            if (start(g, ev->execute, &err) < 0) {
                grpc_call_set_data(c, NULL);
                gexec_free(g);
                grpc_finish_error(c, &err);
            }
        }
    } else {
        interact_event(g, ev);
    }
    soulbox__v1__client_event__free_unpacked(ev, &pb_sized_allocator);
}

static void interact_half_close(struct grpc_call *c)
{
    struct gexec *g = grpc_call_data(c);
    if (!g)
        return grpc_finish(c, GRPC_INVALID_ARGUMENT, "no execute event was sent");
    if (g->ex) /* nothing more to type */
        execution_stdin_close(g->ex);
}

/* ---- ListLanguages ---- */

static void languages_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    Soulbox__V1__ListLanguagesRequest *req =
        soulbox__v1__list_languages_request__unpack(NULL, len, data);
    if (!req)
        return grpc_finish(c, GRPC_INVALID_ARGUMENT, "not a valid ListLanguagesRequest");
    soulbox__v1__list_languages_request__free_unpacked(req, NULL);
    json_t *j = lang_probe_json(&grpc_call_service(c)->probe);
    Soulbox__V1__ListLanguagesResponse *r = j ? pb_languages_from_json(j) : NULL;
    json_decref(j);
    if (!r)
        return grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
    grpc_send(c, &r->base);
    soulbox__v1__list_languages_response__free_unpacked(r, NULL);
    grpc_finish(c, GRPC_OK, NULL);
}

/* ---- GetCluster ---- */

static void cluster_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    Soulbox__V1__GetClusterRequest *req = soulbox__v1__get_cluster_request__unpack(NULL, len, data);
    if (!req)
        return grpc_finish(c, GRPC_INVALID_ARGUMENT, "not a valid GetClusterRequest");
    soulbox__v1__get_cluster_request__free_unpacked(req, NULL);
    json_t *j = service_cluster_json(grpc_call_service(c));
    Soulbox__V1__Cluster *r = j ? pb_cluster_from_json(j) : NULL;
    json_decref(j);
    if (!r)
        return grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
    grpc_send(c, &r->base);
    soulbox__v1__cluster__free_unpacked(r, NULL);
    grpc_finish(c, GRPC_OK, NULL);
}

static const struct grpc_method execute = {
    "/soulbox.v1.SoulBox/Execute", GRPC_UNARY, false, execute_msg, NULL, on_cancelled,
};
static const struct grpc_method execute_stream = {
    "/soulbox.v1.SoulBox/ExecuteStream", GRPC_SERVER_STREAM, false, stream_msg, NULL,
    on_cancelled,
};
static const struct grpc_method interact = {
    "/soulbox.v1.SoulBox/Interact", GRPC_BIDI, false, interact_msg, interact_half_close,
    on_cancelled,
};
static const struct grpc_method list_languages = {
    "/soulbox.v1.SoulBox/ListLanguages", GRPC_UNARY, false, languages_msg, NULL, NULL,
};

static const struct grpc_method get_cluster = {
    "/soulbox.v1.SoulBox/GetCluster", GRPC_UNARY, false, cluster_msg, NULL, NULL,
};

const struct grpc_method *const grpc_soulbox_methods[] = {
    &execute, &execute_stream, &interact, &list_languages, &get_cluster, NULL,
};
