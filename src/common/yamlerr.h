/* Turning libcyaml's log lines into one error message: "a.b.c: what went wrong". */
#ifndef SB_COMMON_YAMLERR_H
#define SB_COMMON_YAMLERR_H

#include <cyaml/cyaml.h>
#include <stdarg.h>

struct yaml_err {
    char msg[400];     /* the first error line */
    char where[200];   /* dotted path of mapping fields to it, outermost first */
};

/* A cyaml_config_t.log_fn; log_ctx must point to a zeroed struct yaml_err. */
void yaml_err_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args);

#endif
