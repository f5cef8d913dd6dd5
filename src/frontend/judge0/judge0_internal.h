/* Internals of the Judge0 front end shared by its files: languages, replies, the gate, parameters, fields, rendering and runs. */
#ifndef SB_FRONTEND_JUDGE0_JUDGE0_INTERNAL_H
#define SB_FRONTEND_JUDGE0_JUDGE0_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/zip.h"
#include "frontend/judge0/judge0.h"
#include "frontend/rest/rest_internal.h"
#include "runner/result.h"
#include "service/exec_req.h"

struct service;

/* The Judge0 defaults and maxima (1.13.1's code defaults), also /config_info's. */
#define J0_CPU_TIME_LIMIT 5.0
#define J0_MAX_CPU_TIME_LIMIT 15.0
#define J0_CPU_EXTRA_TIME 1.0
#define J0_MAX_CPU_EXTRA_TIME 5.0
#define J0_WALL_TIME_LIMIT 10.0
#define J0_MAX_WALL_TIME_LIMIT 20.0
#define J0_MEMORY_LIMIT 128000
#define J0_MAX_MEMORY_LIMIT 512000
#define J0_STACK_LIMIT 64000
#define J0_MAX_STACK_LIMIT 128000
#define J0_MAX_PROCESSES 60
#define J0_MAX_MAX_PROCESSES 120
#define J0_MAX_FILE_SIZE 1024
#define J0_MAX_MAX_FILE_SIZE 4096
#define J0_NUMBER_OF_RUNS 1
#define J0_MAX_NUMBER_OF_RUNS 20
#define J0_MAX_BATCH 20
#define J0_MAX_EXTRACT_KB 10240    /* additional_files, unzipped */
#define J0_MAX_PER_PAGE 1000       /* GET /submissions (SoulBox's cap) */
#define J0_VERSION "1.13.1"
#define J0_UTF8_ERROR "some attributes for this submission cannot be converted to UTF-8, use " \
                      "base64_encoded=true query parameter"
#define J0_UTF8_ERROR_MANY "some attributes for one or more submissions cannot be converted " \
                           "to UTF-8, use base64_encoded=true query parameter"

/* ---- languages (judge0_languages.c) ---- */

/* How a Judge0 language runs: a SoulBox language, or as Judge0 runs it,
 * through a bash script (Plain Text prints its source, Executable runs an
 * uploaded binary, a multi-file program runs the scripts of its
 * additional_files, SQL pipes its script into `sqlite3 db.sqlite` so that a
 * database among the additional_files is the one it uses). */
enum j0_kind { J0_K_LANGUAGE, J0_K_TEXT, J0_K_BINARY, J0_K_MULTI, J0_K_SQL };
#define J0_LANG_MULTI_FILE 89

struct j0_lang {
    int id;
    const char *soulbox;       /* SoulBox's language (bash for the emulated ones) */
    const char *prefix;        /* the family, as Judge0 names it ("C++", "Python") */
    const char *toolchain;     /* before the version in parentheses ("GCC"), or "" */
    const char *source_file;   /* Judge0's file name, or NULL: the language's own */
    bool compiled;
    enum j0_kind kind;
};
/* The row of a listed id (aliases of the hosted 1.14 too), or NULL. */
const struct j0_lang *j0_lang_find(int id);
/* SoulBox's language behind jl when it can run it now (and bash, which runs
 * the emulated ones), else NULL. */
const struct lang *j0_lang_usable(struct service *s, const struct j0_lang *jl);
/* "Python (3.11.2)": the family and SoulBox's real version. */
void j0_lang_name(struct service *s, const struct j0_lang *jl, char *buf, size_t len);
/* Judge0's archived ids (1..42). */
bool j0_lang_archived(int id);

/* ---- statuses ---- */

enum { J0_IN_QUEUE = 1, J0_PROCESSING, J0_ACCEPTED, J0_WRONG_ANSWER, J0_TLE, J0_COMPILE_ERROR,
       J0_RE_SIGSEGV, J0_RE_SIGXFSZ, J0_RE_SIGFPE, J0_RE_SIGABRT, J0_RE_NZEC, J0_RE_OTHER,
       J0_INTERNAL_ERROR, J0_EXEC_FORMAT_ERROR, J0_NSTATUS = J0_EXEC_FORMAT_ERROR };
const char *j0_status_name(int id);

/* ---- replies and the gate (judge0.c) ---- */

/* JSON (body stolen), with Judge0's content type and CORS header. */
void j0_reply_json(struct rest_call *rc, int status, json_t *body);
/* {"error": msg}. */
void j0_reply_error(struct rest_call *rc, int status, const char *msg);
/* No body (Judge0's 401, 403, 404). */
void j0_reply_empty(struct rest_call *rc, int status);
void j0_reply_text(struct rest_call *rc, const char *text);
/* compat.judge0 on, then SoulBox's gate with the key from X-Auth-Token
 * (header or query), X-API-Key or Authorization: Bearer. admin: Judge0's
 * authz routes (admin keys only; refused without auth, as on a default
 * Judge0). 0, or -1 after replying. */
int j0_enter(struct rest_call *rc, bool admin);
/* A query parameter, else a string in body (may be NULL): 1 into out, 0 absent. */
int j0_param(struct rest_call *rc, json_t *body, const char *name, char *out, size_t len);
/* Whether parameter name is the string "true". */
bool j0_flag(struct rest_call *rc, json_t *body, const char *name);
/* The request body as a JSON object; an empty body is {}. NULL after
 * replying 400 (malformed). */
json_t *j0_body(struct rest_call *rc);

/* ---- fields and rendering (judge0_render.c) ---- */

#define J0_NFIELDS 35
/* The `fields` parameter as a bit set over table 3.1; -1 after replying 400. */
int j0_fields(struct rest_call *rc, json_t *body, uint64_t *mask);
/* The submission doc shown with the fields of mask, text fields base64
 * (b64) or as text; NULL with *utf8_error when a requested text field is
 * not valid UTF-8 without b64 (or memory is exhausted). */
json_t *j0_render(struct service *s, json_t *doc, uint64_t mask, bool b64, bool *utf8_error);
uint64_t j0_default_fields(void);
/* MIME base64: a newline after every 60 characters and at the end. */
json_t *j0_b64_mime(const char *data, size_t len);
/* Lenient base64 (skips what is not in the alphabet) into out. */
void j0_b64_lenient(const char *in, size_t len, struct sb_buf *out);
/* "0.058", "5.0": seconds with at least one decimal. */
void j0_seconds(double s, char *buf, size_t len);
/* "2026-08-05T22:13:34.454Z" */
void j0_timestamp(uint64_t ms, char *buf, size_t len);

/* ---- validation and runs (judge0_run.c) ---- */

/* Validates one submission (body), returning its doc (the request's fields,
 * text as base64, status 1), or NULL with *errors the 422 map. */
json_t *j0_validate(struct service *s, json_t *body, bool b64, json_t **errors);
/* The execution request for doc. 0, or -1 with err. */
int j0_exec_req(struct service *s, json_t *doc, struct exec_req *out, struct sb_error *err);
/* additional_files (the zip's bytes) as files, within Judge0's
 * max_extract_size and room for the source and a script in the request:
 * 0, or -1 with why. */
int j0_unzip(struct service *s, const void *zip, size_t len, struct zip_list *out,
             const char **why);
/* Puts the result's fields in doc (status, outputs, figures, finished_at). */
void j0_finish(json_t *doc, const struct job_result *res);
/* Whether got matches want by Judge0's comparison. */
bool j0_output_matches(const char *got, size_t glen, const char *want, size_t wlen);

#endif
