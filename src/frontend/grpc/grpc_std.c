/* The standard gRPC services: health checking (grpc.health.v1) and server
 * reflection (grpc.reflection.v1alpha), so generic tools and load balancers
 * can use the server without its .proto files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "frontend/grpc/grpc.h"
#include "frontend/grpc/pbdesc.h"
#include "service/service.h"

/* proto_blob.S: the descriptor set of proto/, made at build time. */
extern const uint8_t sb_proto_descriptors[], sb_proto_descriptors_end[];

const char *const grpc_service_names[] = {
    "soulbox.v1.SoulBox", "soulbox.v1.Sessions", "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    NULL,
};

/* ---- health ---- */

/* SERVING, NOT_SERVING (shutting down), or -1 for a service not served here. */
static int health_of(struct grpc_call *c, const char *service)
{
    bool known = !service[0];
    for (const char *const *n = grpc_service_names; *n && !known; n++)
        known = !strcmp(*n, service);
    if (!known)
        return -1;
    return !service_accepting(grpc_call_service(c)) ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
                                         : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
}

static void health(struct grpc_call *c, const uint8_t *data, size_t len, bool watch)
{
    Grpc__Health__V1__HealthCheckRequest *req =
        grpc__health__v1__health_check_request__unpack(NULL, len, data);
    if (!req)
        return grpc_finish(c, GRPC_INVALID_ARGUMENT, "not a valid HealthCheckRequest");
    int status = health_of(c, req->service);
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
    if (status < 0 && !watch)
        return grpc_finish(c, GRPC_NOT_FOUND, "no such service");
    Grpc__Health__V1__HealthCheckResponse res = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    res.status = status < 0 ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN
                            : (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
    grpc_send(c, &res.base);
    if (!watch)
        grpc_finish(c, GRPC_OK, NULL);
    /* Watch: the stream stays open until the client or the server ends it. */
}

static void check_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    health(c, data, len, false);
}

static void watch_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    health(c, data, len, true);
}

/* ---- reflection ---- */

static const struct pbdesc *descriptors(void)
{
    static struct pbdesc d;
    static int state; /* 0 not parsed, 1 ok, -1 failed */
    if (state == 0) {
        const char *why;
        state = pbdesc_parse(sb_proto_descriptors,
                             (size_t)(sb_proto_descriptors_end - sb_proto_descriptors), &d,
                             &why) == 0 ? 1 : -1;
        if (state < 0)
            log_msg(LOG_ERROR, "embedded proto descriptors: %s", why);
    }
    return state > 0 ? &d : NULL;
}

/* The file and everything it imports, each once, the file first. */
static size_t with_deps(const struct pbdesc *d, const struct pbdesc_file *f,
                        const struct pbdesc_file **out, size_t max)
{
    size_t n = 0;
    out[n++] = f;
    for (size_t i = 0; i < n; i++)
        for (char **dep = out[i]->deps; *dep; dep++) {
            const struct pbdesc_file *g = pbdesc_file_by_name(d, *dep);
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++)
                seen = out[k] == g;
            if (g && !seen && n < max)
                out[n++] = g;
        }
    return n;
}

static void send_files(struct grpc_call *c, Grpc__Reflection__V1alpha__ServerReflectionResponse *res,
                       const struct pbdesc *d, const struct pbdesc_file *f)
{
    const struct pbdesc_file *files[64];
    size_t n = with_deps(d, f, files, 64);
    ProtobufCBinaryData blobs[64];
    for (size_t i = 0; i < n; i++)
        blobs[i] = (ProtobufCBinaryData){files[i]->len, (uint8_t *)files[i]->data};
    Grpc__Reflection__V1alpha__FileDescriptorResponse fdr =
        GRPC__REFLECTION__V1ALPHA__FILE_DESCRIPTOR_RESPONSE__INIT;
    fdr.n_file_descriptor_proto = n;
    fdr.file_descriptor_proto = blobs;
    res->message_response_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    res->file_descriptor_response = &fdr;
    grpc_send(c, &res->base);
}

static void send_not_found(struct grpc_call *c,
                           Grpc__Reflection__V1alpha__ServerReflectionResponse *res,
                           const char *what)
{
    Grpc__Reflection__V1alpha__ErrorResponse er = GRPC__REFLECTION__V1ALPHA__ERROR_RESPONSE__INIT;
    er.error_code = GRPC_NOT_FOUND;
    er.error_message = (char *)what;
    res->message_response_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    res->error_response = &er;
    grpc_send(c, &res->base);
}

static void send_services(struct grpc_call *c,
                          Grpc__Reflection__V1alpha__ServerReflectionResponse *res)
{
    size_t n = 0;
    while (grpc_service_names[n])
        n++;
    Grpc__Reflection__V1alpha__ServiceResponse svc[8], *ptrs[8];
    for (size_t i = 0; i < n && i < 8; i++) {
        grpc__reflection__v1alpha__service_response__init(&svc[i]);
        svc[i].name = (char *)grpc_service_names[i];
        ptrs[i] = &svc[i];
    }
    Grpc__Reflection__V1alpha__ListServiceResponse ls =
        GRPC__REFLECTION__V1ALPHA__LIST_SERVICE_RESPONSE__INIT;
    ls.n_service = n;
    ls.service = ptrs;
    res->message_response_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
    res->list_services_response = &ls;
    grpc_send(c, &res->base);
}

static void reflect_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    Grpc__Reflection__V1alpha__ServerReflectionRequest *req =
        grpc__reflection__v1alpha__server_reflection_request__unpack(NULL, len, data);
    const struct pbdesc *d = descriptors();
    if (!req || !d) {
        if (req)
            grpc__reflection__v1alpha__server_reflection_request__free_unpacked(req, NULL);
        return grpc_finish(c, req ? GRPC_INTERNAL : GRPC_INVALID_ARGUMENT,
                           req ? "descriptors unavailable" : "not a valid ServerReflectionRequest");
    }
    Grpc__Reflection__V1alpha__ServerReflectionResponse res =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__INIT;
    res.valid_host = req->host;
    res.original_request = req;
    const struct pbdesc_file *f = NULL;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        send_services(c, &res);
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        f = pbdesc_file_by_name(d, req->file_by_filename);
        f ? send_files(c, &res, d, f) : send_not_found(c, &res, "no such file");
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        f = pbdesc_file_by_symbol(d, req->file_containing_symbol);
        f ? send_files(c, &res, d, f) : send_not_found(c, &res, "no such symbol");
        break;
    default: /* no extensions are defined here */
        send_not_found(c, &res, "no extensions are defined by this server's services");
        break;
    }
    grpc__reflection__v1alpha__server_reflection_request__free_unpacked(req, NULL);
}

static void reflect_half_close(struct grpc_call *c)
{
    grpc_finish(c, GRPC_OK, NULL);
}

static const struct grpc_method check = {
    "/grpc.health.v1.Health/Check", GRPC_UNARY, true, check_msg, NULL, NULL,
};
static const struct grpc_method watch = {
    "/grpc.health.v1.Health/Watch", GRPC_SERVER_STREAM, true, watch_msg, NULL, NULL,
};
static const struct grpc_method reflect = {
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", GRPC_BIDI, false,
    reflect_msg, reflect_half_close, NULL,
};

const struct grpc_method *const grpc_std_methods[] = {&check, &watch, &reflect, NULL};
