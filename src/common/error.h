/* Engine error codes: one table yields each code's name, HTTP status and gRPC status. */
#ifndef SB_COMMON_ERROR_H
#define SB_COMMON_ERROR_H

#include <stddef.h>

/*
 * Engine errors are failures of SoulBox itself or of a request's shape; they
 * are never used for what a user's program did (that is a verdict, see
 * runner/result.h). X(name, wire code, HTTP status, gRPC status code).
 */
#define SB_ERROR_MAP(X)                                      \
    X(OK,                "ok",                  200, 0)      \
    X(INVALID_ARGUMENT,  "invalid_argument",    400, 3)      \
    X(LIMIT_EXCEEDS_MAX, "limit_exceeds_max",   400, 3)      \
    X(UNAUTHENTICATED,   "unauthenticated",     401, 16)     \
    X(PERMISSION_DENIED, "permission_denied",   403, 7)      \
    X(NOT_FOUND,         "not_found",           404, 5)      \
    X(METHOD_NOT_ALLOWED,"method_not_allowed",  405, 12)     \
    X(REQUEST_TIMEOUT,   "request_timeout",     408, 4)      \
    X(PAYLOAD_TOO_LARGE, "payload_too_large",   413, 8)      \
    X(UNSUPPORTED_MEDIA, "unsupported_media_type", 415, 3)   \
    X(CONFLICT,          "conflict",            409, 9)      \
    X(UNKNOWN_LANGUAGE,  "unknown_language",    422, 3)      \
    X(UPGRADE_REQUIRED,  "upgrade_required",    426, 3)      \
    X(RATE_LIMITED,      "rate_limited",        429, 8)      \
    X(HEADERS_TOO_LARGE, "headers_too_large",   431, 8)      \
    X(INTERNAL,          "internal_error",      500, 13)     \
    X(SANDBOX_SETUP,     "sandbox_setup_failed",500, 13)     \
    X(FUNCTION_ERROR,    "function_error",      502, 13)     \
    X(UNAVAILABLE,       "unavailable",         503, 14)     \
    X(FUNCTION_TIMEOUT,  "function_timeout",    504, 4)      \
    X(HTTP_VERSION,      "http_version_not_supported", 505, 12) \
    X(CONFIG,            "invalid_config",      500, 9)

enum sb_code {
#define SB_X(name, wire, http, grpc) SB_E_##name,
    SB_ERROR_MAP(SB_X)
#undef SB_X
    SB_E__COUNT
};

/* An engine error: a code plus a message naming the operation and object,
 * e.g. "mount /usr -> /newroot/usr: EPERM". */
struct sb_error {
    enum sb_code code;
    char msg[512];
};

/* Sets err (if non-NULL) and returns -1, so callers can `return sb_fail(...)`. */
int sb_fail(struct sb_error *err, enum sb_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like sb_fail, appending ": <ERRNO_NAME>" for the given errno value. */
int sb_fail_errno(struct sb_error *err, enum sb_code code, int errnum,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

const char *sb_code_name(enum sb_code code);   /* wire name, e.g. "invalid_argument" */
int sb_code_http(enum sb_code code);           /* HTTP status */
int sb_code_grpc(enum sb_code code);           /* gRPC status code */

/* Symbolic name of an errno value ("EPERM"), or "E<number>" if unknown. */
const char *sb_errno_name(int errnum);

#endif
