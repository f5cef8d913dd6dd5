/* WebSocket client messages: the checks on a message's JSON envelope
 * ({"type": ...}), free of connection state, so they can be fuzzed alone. */
#ifndef SB_FRONTEND_WS_MSG_H
#define SB_FRONTEND_WS_MSG_H

#include <jansson.h>
#include <stddef.h>

enum ws_msg_type {
    WS_MSG_AUTH, WS_MSG_EXECUTE, WS_MSG_STDIN, WS_MSG_STDIN_CLOSE, WS_MSG_KILL,
    /* a session's command: start one (or attach to one by pid), then signal
     * and resize it (a terminal) */
    WS_MSG_COMMAND, WS_MSG_SIGNAL, WS_MSG_RESIZE,
};

/* Parses one text message: a JSON object (no duplicate keys) whose "type" is
 * one of the types. Returns it (the caller decrefs) with *type set, or NULL
 * with a client-facing reason in why. */
json_t *ws_msg_parse(const char *text, size_t len, enum ws_msg_type *type, char *why,
                     size_t whylen);

#endif
