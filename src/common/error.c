/* Engine error table and message helpers. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *wire;
    int http;
    int grpc;
} sb_codes[] = {
#define SB_X(name, wire, http, grpc) [SB_E_##name] = {wire, http, grpc},
    SB_ERROR_MAP(SB_X)
#undef SB_X
};

const char *sb_code_name(enum sb_code code)
{
    if ((unsigned)code >= SB_E__COUNT)
        code = SB_E_INTERNAL;
    return sb_codes[code].wire;
}

int sb_code_http(enum sb_code code)
{
    if ((unsigned)code >= SB_E__COUNT)
        code = SB_E_INTERNAL;
    return sb_codes[code].http;
}

int sb_code_grpc(enum sb_code code)
{
    if ((unsigned)code >= SB_E__COUNT)
        code = SB_E_INTERNAL;
    return sb_codes[code].grpc;
}

const char *sb_errno_name(int errnum)
{
    static __thread char buf[24];
    const char *name = strerrorname_np(errnum);
    if (name)
        return name;
    snprintf(buf, sizeof buf, "E%d", errnum);
    return buf;
}

static void sb_vset(struct sb_error *err, enum sb_code code, const char *fmt,
                    va_list ap)
{
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int sb_fail(struct sb_error *err, enum sb_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        sb_vset(err, code, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int sb_fail_errno(struct sb_error *err, enum sb_code code, int errnum,
                  const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        sb_vset(err, code, fmt, ap);
        va_end(ap);
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, ": %s", sb_errno_name(errnum));
    }
    return -1;
}
