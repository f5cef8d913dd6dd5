/* Fuzz target `request`: the JSON body of POST /api/execute, /api/executions
 * and friends (exec_req_parse), for every kind of request, with the built-in
 * config and the embedded languages. Accepted requests are checked the way
 * the runner reads them (exec_req_job): every string NUL-terminated and every
 * file name safe. */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sandbox/plan.h"
#include "frontend/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FUZZ_INIT_CONFIG_AND_LANGUAGES

static void check_accepted(const struct exec_req *r)
{
    struct job_request jr;
    exec_req_job(r, &jr);
    if (!jr.lang || jr.nfiles == 0 || !r->limits_json)
        abort();
    for (size_t i = 0; i < jr.nfiles; i++) {
        /* files[0] may be the language's own source name (code); the rest
         * come from the client and must be safe relative names */
        if (!plan_relpath_ok(jr.files[i].name))
            abort();
        fuzz_touch_bytes(jr.files[i].data, jr.files[i].len);
    }
    fuzz_touch_bytes(jr.stdin_data, jr.stdin_data ? jr.stdin_len : 0);
    for (size_t i = 0; i < jr.nargs; i++)
        fuzz_touch(jr.args[i]);
    for (size_t i = 0; i < jr.nenv; i++)
        if (!strchr(jr.env[i], '='))
            abort();
    for (size_t i = 0; i < jr.ncases; i++) {
        fuzz_touch_bytes(jr.cases[i].stdin_data, jr.cases[i].stdin_len);
        fuzz_touch_bytes(jr.cases[i].expected, jr.cases[i].expected ? jr.cases[i].expected_len : 0);
    }
    fuzz_touch(r->callback_url);
    fuzz_touch(r->limits_json);
    if (strlen(r->code_sha256) != 64)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum req_kind kinds[] = {REQ_SYNC, REQ_ASYNC, REQ_STREAM, REQ_INTERACTIVE};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        struct exec_req r;
        struct sb_error err;
        memset(&err, 0, sizeof err);
        if (exec_req_parse((const char *)data, size, &fuzz_cfg, &fuzz_langs, kinds[k], &r, &err) == 0) {
            check_accepted(&r);
            exec_req_free(&r);
        } else {
            if (err.code == SB_E_OK || !err.msg[0])
                abort(); /* a refusal always says why */
            fuzz_touch(err.msg);
        }
    }
    return 0;
}
