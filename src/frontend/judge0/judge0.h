/* Judge0 CE 1.13.x on the main port (compat.judge0): the route handlers the REST router calls. */
#ifndef SB_FRONTEND_JUDGE0_JUDGE0_H
#define SB_FRONTEND_JUDGE0_JUDGE0_H

#include <stdbool.h>

struct rest_call;

/* Each answers Judge0's way (empty 401/403/404 bodies, its error texts), or
 * 404 like any unknown path when compat.judge0 is off. (judge0_submissions.c) */
void judge0_create(struct rest_call *rc);
void judge0_show(struct rest_call *rc);
void judge0_list(struct rest_call *rc);
void judge0_delete(struct rest_call *rc);
void judge0_batch_create(struct rest_call *rc);
void judge0_batch_show(struct rest_call *rc);
/* A CORS preflight (OPTIONS) on one of Judge0's paths, answered as rack-cors
 * does (any origin and method, the requested headers): true when taken. (judge0.c) */
bool judge0_preflight(struct rest_call *rc);
/* (judge0_languages.c) */
void judge0_languages(struct rest_call *rc);
void judge0_languages_all(struct rest_call *rc);
void judge0_language(struct rest_call *rc);
/* (judge0_info.c) */
void judge0_statuses(struct rest_call *rc);
void judge0_about(struct rest_call *rc);
void judge0_version(struct rest_call *rc);
void judge0_isolate(struct rest_call *rc);
void judge0_license(struct rest_call *rc);
void judge0_config_info(struct rest_call *rc);
void judge0_system_info(struct rest_call *rc);
void judge0_statistics(struct rest_call *rc);
void judge0_workers(struct rest_call *rc);
void judge0_authenticate(struct rest_call *rc);
void judge0_authorize(struct rest_call *rc);

#endif
