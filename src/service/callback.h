/* Result callbacks: POST the execution to the client's URL, with retries and an address policy. */
#ifndef SB_SERVICE_CALLBACK_H
#define SB_SERVICE_CALLBACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/list.h"

struct callback_cfg {
    bool allow_private;
    uint64_t timeout_ms;      /* per attempt: resolve, connect, send, status line */
    unsigned attempts;
};

/* Reports delivery progress: "delivering", "delivered", "failed: <why>". */
typedef void (*callback_state_cb)(void *arg, const char *exec_id, const char *state, int attempts);

/* The deliveries under way (one per service). */
struct callbacks {
    uv_loop_t *loop;
    struct callback_cfg cfg;
    struct list_node pending;
    unsigned npending;
};

void callbacks_init(struct callbacks *cbs, uv_loop_t *loop, const struct callback_cfg *cfg);

/* Starts delivering payload (borrowed) to url. Attempt n+1 waits 2^n seconds
 * (at most 60). The resolved address is checked against the policy just
 * before connecting, so DNS cannot steer it somewhere refused. */
void callback_deliver(struct callbacks *cbs, const char *exec_id, const char *url,
                      json_t *payload, callback_state_cb cb, void *arg);

/* The same with another method than POST (Judge0's callbacks are PUT). */
void callback_deliver_method(struct callbacks *cbs, const char *exec_id, const char *url,
                             const char *method, json_t *payload, callback_state_cb cb,
                             void *arg);

/* Abandons every delivery still pending (shutdown). */
void callbacks_shutdown(struct callbacks *cbs);

#endif
