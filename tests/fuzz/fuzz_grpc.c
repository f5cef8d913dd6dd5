/* Fuzz target `grpc`: the soulbox.v1 request messages the gRPC service
 * decodes, the way src/frontend/grpc/grpc_soulbox.c does it: protobuf-c unpacking
 * with pb_sized_allocator, pb_request_to_json, then the JSON API's own
 * validation (exec_req_from_json). The same bytes are read as an
 * ExecuteRequest (Execute, ExecuteStream), as a ClientEvent (Interact), as
 * a FileDescriptorSet (pbdesc_parse, the reflection service's reader), as a
 * request stream of length-prefixed messages (grpc_frame_next, as
 * grpc_call.c reads it) and as a grpc-timeout header value. */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "frontend/grpc/grpc_convert.h"
#include "frontend/grpc/grpc_frame.h"
#include "frontend/grpc/pbdesc.h"
#include "frontend/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FUZZ_INIT_CONFIG_AND_LANGUAGES

/* grpc_soulbox.c's start(): the request through the JSON API's checks. */
static void start(const Soulbox__V1__ExecuteRequest *pr, enum req_kind kind)
{
    struct sb_error err;
    memset(&err, 0, sizeof err);
    json_t *body = pb_request_to_json(pr, &err);
    if (!body) {
        if (!err.msg[0])
            abort();
        return;
    }
    /* The body as a JSON client would send it (NULL when stdin, bytes in
     * protobuf, is not UTF-8: a JSON client cannot send that). */
    char *text = json_dumps(body, JSON_COMPACT);
    struct exec_req er;
    if (exec_req_from_json(body, &fuzz_cfg, &fuzz_langs, kind, &er, &err) == 0) {
        /* the JSON API must judge the same request the same way */
        struct exec_req again;
        if (!text) {
            exec_req_free(&er);
            json_decref(body);
            return;
        }
        struct sb_error err2;
        if (exec_req_parse(text, strlen(text), &fuzz_cfg, &fuzz_langs, kind, &again, &err2) < 0)
            abort();
        if (again.nfiles != er.nfiles || strcmp(again.code_sha256, er.code_sha256) ||
            again.stdin_len != er.stdin_len)
            abort();
        exec_req_free(&again);
        exec_req_free(&er);
    } else if (!err.msg[0]) {
        abort();
    }
    free(text);
    json_decref(body);
}

static void execute_request(const uint8_t *data, size_t size)
{
    Soulbox__V1__ExecuteRequest *pr =
        soulbox__v1__execute_request__unpack(&pb_sized_allocator, size, data);
    if (!pr)
        return;
    start(pr, REQ_SYNC);
    soulbox__v1__execute_request__free_unpacked(pr, &pb_sized_allocator);
}

static void client_event(const uint8_t *data, size_t size)
{
    Soulbox__V1__ClientEvent *ev =
        soulbox__v1__client_event__unpack(&pb_sized_allocator, size, data);
    if (!ev)
        return;
    switch (ev->event_case) {
    case SOULBOX__V1__CLIENT_EVENT__EVENT_EXECUTE:
        start(ev->execute, REQ_INTERACTIVE);
        break;
    case SOULBOX__V1__CLIENT_EVENT__EVENT_STDIN:
        fuzz_touch_bytes(ev->stdin.data, ev->stdin.len);
        break;
    default:
        break;
    }
    soulbox__v1__client_event__free_unpacked(ev, &pb_sized_allocator);
}

static void descriptor_set(const uint8_t *data, size_t size)
{
    struct pbdesc d;
    const char *why = NULL;
    if (pbdesc_parse(data, size, &d, &why) < 0) {
        if (!why || d.nfiles || d.nsyms)
            abort();
        return;
    }
    for (size_t i = 0; i < d.nfiles; i++) {
        const struct pbdesc_file *f = &d.files[i];
        if (!f->name[0] || pbdesc_file_by_name(&d, f->name) != f || !f->deps)
            abort();
        fuzz_touch(f->package);
        fuzz_touch_bytes(f->data, f->len);
        for (char **dep = f->deps; *dep; dep++)
            pbdesc_file_by_name(&d, *dep);
    }
    for (size_t i = 0; i < d.nsyms; i++) {
        if (d.syms[i].file >= d.nfiles ||
            pbdesc_file_by_symbol(&d, d.syms[i].name) != &d.files[d.syms[i].file])
            abort();
        if (i && strcmp(d.syms[i - 1].name, d.syms[i].name) >= 0)
            abort(); /* sorted, no duplicates */
    }
    const char **names;
    size_t n = pbdesc_services(&d, &names);
    for (size_t i = 0; i < n; i++)
        if (!pbdesc_file_by_symbol(&d, names[i]))
            abort();
    pbdesc_file_by_symbol(&d, ".");
    pbdesc_file_by_symbol(&d, "");
    pbdesc_free(&d);
}

/* A stream of framed messages, each an Interact ClientEvent, read the way
 * grpc_call_data_in does, with a small limit so the limit is reached too. */
static void framed_stream(const uint8_t *data, size_t size)
{
    const size_t max = 1024;
    size_t off = 0;
    for (;;) {
        const uint8_t *m = NULL;
        size_t n = 0;
        enum grpc_frame_rc rc = grpc_frame_next(data + off, size - off, max, &m, &n);
        if (rc == GRPC_FRAME_MORE) {
            if (size - off >= 5 && size - off - 5 >= n)
                abort(); /* a whole message was there */
            return;
        }
        if (rc == GRPC_FRAME_TOO_LARGE && n <= max)
            abort();
        if (rc != GRPC_FRAME_MESSAGE)
            return;
        if (m != data + off + 5 || n > max || n > size - off - 5)
            abort();
        client_event(m, n);
        off += 5 + n;
    }
}

static void timeout_header(const uint8_t *data, size_t size)
{
    char v[16];
    if (size >= sizeof v)
        return;
    memcpy(v, data, size);
    v[size] = '\0';
    uint64_t ms = 0;
    if (!grpc_parse_timeout(v, &ms))
        return;
    size_t n = strlen(v);
    if (n < 2 || n > 9 || !strchr("HMSmun", v[n - 1]) || ms > 99999999ull * 3600000)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    execute_request(data, size);
    client_event(data, size);
    descriptor_set(data, size);
    framed_stream(data, size);
    timeout_header(data, size);
    return 0;
}
