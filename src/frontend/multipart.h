/* multipart/form-data bodies (RFC 7578): the parts of an upload, pointing into the body. */
#ifndef SB_FRONTEND_MULTIPART_H
#define SB_FRONTEND_MULTIPART_H

#include <stddef.h>

#include "common/error.h"

struct mp_part {
    char name[256];              /* the form field's name */
    char filename[4096];         /* its filename="" ("" when none) */
    const char *data;            /* into the body */
    size_t len;
};

/* The boundary of a Content-Type "multipart/form-data; boundary=..." into
 * out (at most 70 characters, RFC 2046). Returns 0 or -1 with err. */
int mp_boundary(const char *content_type, char *out, size_t len, struct sb_error *err);

/* Splits body into at most max parts (*n set). Returns 0, or -1 with err
 * naming what is malformed: a missing boundary line, a part without
 * headers' end or Content-Disposition, no closing delimiter, more parts
 * than max. */
int mp_parse(const char *body, size_t len, const char *boundary, struct mp_part *parts,
             size_t max, size_t *n, struct sb_error *err);

#endif
