/* WebSocket client messages: envelope checks. */
#include "frontend/ws/ws_msg.h"

#include <stdio.h>
#include <string.h>

json_t *ws_msg_parse(const char *text, size_t len, enum ws_msg_type *type, char *why,
                     size_t whylen)
{
    static const char *const names[] = {
        [WS_MSG_AUTH] = "auth", [WS_MSG_EXECUTE] = "execute", [WS_MSG_STDIN] = "stdin",
        [WS_MSG_STDIN_CLOSE] = "stdin_close", [WS_MSG_KILL] = "kill",
        [WS_MSG_COMMAND] = "command", [WS_MSG_SIGNAL] = "signal", [WS_MSG_RESIZE] = "resize",
    };
    json_error_t je;
    json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    const char *t = json_string_value(json_object_get(msg, "type"));
    if (!json_is_object(msg) || !t) {
        snprintf(why, whylen, "message: a JSON object with a \"type\" is expected%s%s",
                 msg ? "" : ": ", msg ? "" : je.text);
        json_decref(msg);
        return NULL;
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (!strcmp(t, names[i])) {
            *type = (enum ws_msg_type)i;
            return msg;
        }
    }
    snprintf(why, whylen, "message: unknown type '%.64s' (auth, execute, command, stdin, "
             "stdin_close, kill, signal, resize)", t);
    json_decref(msg);
    return NULL;
}
