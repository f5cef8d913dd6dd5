/* Sessions: long-lived sandboxes owned by one API key, with commands, files and code contexts (docs/sessions.md). */
#ifndef SB_SERVICE_SESSION_H
#define SB_SERVICE_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/list.h"
#include "sandbox/sandbox.h"
#include "service/gate.h"
#include "service/template.h"

struct service;

/*
 * A session is a sandbox that lives until its TTL (or idle timeout) runs
 * out or it is deleted. It serves the API key that created it, and only it:
 * to any other key it does not exist (lookups answer "not found"). Commands
 * and code contexts are processes of its sandbox; its files live in its
 * /workspace (also reachable as /home/user) and /tmp, bounded by its disk
 * limit. Everything is driven from the service's loop.
 */

/* PAUSING -> PAUSED: its files are saved and its sandbox is gone (processes
 * and context state with it); RESUMING: a new sandbox gets the files back. */
enum session_state {
    SESSION_STARTING, SESSION_RUNNING, SESSION_PAUSING, SESSION_PAUSED, SESSION_RESUMING,
    SESSION_ENDING, SESSION_ENDED
};

const char *session_state_name(enum session_state s);

/* Limits of the whole session; 0: the config's (or the template's). */
struct session_limits {
    uint64_t memory_mb, disk_mb, output_mb;
    uint32_t cpu_percent, processes, open_files;
};

struct session_req {
    const char *template;        /* a template's name or alias; NULL: "base" */
    uint64_t ttl_ms;             /* 0: sessions.default_ttl_ms */
    json_t *metadata;            /* object of string values, or NULL (copied) */
    json_t *env;                 /* object of string values, or NULL (copied) */
    struct session_limits limits;
    /* Egress narrowed against the config (request_network), or NULL: none. */
    const struct net_policy *net_policy;
    enum sbx_isolation isolation; /* request_isolation's answer */
};

struct session {
    struct list_node node;       /* in the service's list */
    struct service *svc;
    char id[32];
    char owner[80];              /* key id, or "addr:<client>" without auth (quotas) */
    char key_id[65];             /* "" when created without auth */
    bool has_key;
    char access_token[48];       /* E2B's envdAccessToken */
    const struct template *tpl;
    json_t *metadata;            /* object */
    char **env;                  /* "K=V", NULL-terminated: template, then request */
    size_t nenv;
    struct sbx *sbx;
    enum sbx_isolation isolation;
    bool network;                /* egress with this policy (kept for a resume) */
    struct net_policy net;
    struct sbx_limits lim;       /* the sandbox's (memory, processes, cpu, disk, open files) */
    uint64_t output_max, output_used;   /* bytes over all commands and cells */
    enum session_state state;
    char end_reason[96];
    uint64_t created_ms, ends_ms, active_ms, ended_ms;
    uint64_t paused_ms, ttl_left_ms;     /* PAUSED: when, and the TTL it had left */
    /* pause / resume: one waiter */
    void (*op_cb)(struct session *s, const struct sb_error *err, void *arg);
    void *op_arg;
    struct sbx_proc *op_proc;    /* the tar that saves or restores its files */
    uv_timer_t timer;            /* TTL and idle timeout */
    bool timer_open;
    unsigned refs;               /* callers holding it across the loop */
    /* creation: one waiter until ready (or failed) */
    void (*ready_cb)(struct session *s, const struct sb_error *err, void *arg);
    void *ready_arg;
    struct list_node cmds;       /* struct session_cmd, oldest first */
    unsigned ncmds;
    uint32_t next_pid;
    struct list_node ctxs;       /* struct session_ctx */
    unsigned nctxs;
    uint64_t next_exec;
};

/* The service's sessions. */
struct session_registry {
    struct list_node all;
    unsigned n;
    struct template_registry templates;
    uint64_t created, ended, commands, cells, file_bytes_in, file_bytes_out;
    uint64_t output_held;        /* bytes of command output kept, all sessions */
};

int session_registry_open(struct service *svc, struct sb_error *err);
void session_registry_close(struct service *svc);
/* Ends every session (shutdown), with why. */
void session_end_all(struct service *svc, const char *why);
unsigned session_count(const struct service *svc);

/* Starts a session for `who`. cb follows once from the loop: ready (err
 * NULL) or failed (then the session is gone after cb). Returns NULL with
 * err (bad request, over a quota: SB_E_RATE_LIMITED, sessions off). */
struct session *session_create(struct service *svc, const struct caller *who,
                               const struct session_req *req,
                               void (*cb)(struct session *s, const struct sb_error *err,
                                          void *arg),
                               void *arg, struct sb_error *err);

/* The live session `id` as `who` may see it, or NULL (unknown, ended or another key's). */
struct session *session_find(struct service *svc, const struct caller *who, const char *id);
/* Whether this node holds session id at all, whoever's it is (cluster mode:
 * one it does not hold may be another node's). */
bool session_held(struct service *svc, const char *id);
/* By E2B access token (envd calls carry no API key). */
struct session *session_find_token(struct service *svc, const char *id, const char *token);
/* The sessions `who` may see, oldest first (borrowed pointers). */
size_t session_list(struct service *svc, const struct caller *who, struct session **out,
                    size_t max);

/* Pause: its files (/workspace and /tmp) are saved under the data dir,
 * then its sandbox ends (processes and context state are lost; contexts keep
 * their ids). Resume: a new sandbox, its files put back, its contexts'
 * interpreters started, its TTL what it had left. cb follows once from the
 * loop (err NULL: done). A paused session survives a restart of the server.
 * -1 with err when it is not in a state to (SB_E_CONFLICT). */
int session_pause(struct session *s, void (*cb)(struct session *, const struct sb_error *, void *),
                  void *arg, struct sb_error *err);
int session_resume(struct session *s,
                   void (*cb)(struct session *, const struct sb_error *, void *), void *arg,
                   struct sb_error *err);
/* Paused sessions saved by an earlier run come back; sessions it left
 * running are recorded as ended. Called once at start. */
void session_load_saved(struct service *svc);

/* Whether its metadata has every pair of a filter "k=v&k2=v2" (as a
 * `metadata` query parameter decodes to). */
bool session_metadata_matches(const struct session *s, const char *filter);

/* Keeps s alive across the loop (its memory; it may still end). */
void session_ref(struct session *s);
void session_unref(struct session *s);
/* A request touched it (idle timeout restarts). */
void session_touch(struct session *s);
/* New TTL from now (capped by sessions.max_ttl_ms: larger is an error). */
int session_set_timeout(struct session *s, uint64_t ttl_ms, struct sb_error *err);
/* Ends it (kills everything); reason for the record. */
void session_kill(struct session *s, const char *reason);
bool session_live(const struct session *s);
/* Not ended (live, pausing, paused or resuming). */
bool session_exists(const struct session *s);
/* Its description: id, template, state, times, limits, metadata. */
json_t *session_json(const struct session *s);
/* {"enabled", "allow": [entries], "usage": {...} while it runs}. */
json_t *session_network_json(const struct session *s);
/* "namespaces" or "microvm". */
const char *session_isolation_name(const struct session *s);
uint64_t session_memory_bytes(const struct session *s);

/* ---- files (paths inside the sandbox; see sandbox.h) ---- */

/* These pass through to the sandbox's files (sbx_file_*), counted; -1 with
 * err when the session is not live. */
int session_file_read(struct session *s, const char *path, uint64_t max, sbx_file_cb cb,
                      void *arg, struct sb_error *err);
int session_file_write(struct session *s, const char *path, const void *data, size_t len,
                       sbx_file_cb cb, void *arg, struct sb_error *err);
int session_file_list(struct session *s, const char *path, sbx_file_cb cb, void *arg,
                      struct sb_error *err);
int session_file_stat(struct session *s, const char *path, sbx_file_cb cb, void *arg,
                      struct sb_error *err);
int session_file_mkdir(struct session *s, const char *path, sbx_file_cb cb, void *arg,
                       struct sb_error *err);
int session_file_move(struct session *s, const char *from, const char *to, sbx_file_cb cb,
                      void *arg, struct sb_error *err);
int session_file_remove(struct session *s, const char *path, sbx_file_cb cb, void *arg,
                        struct sb_error *err);
/* Normalises a path given by a client: relative ones are taken from base
 * (the working dir); "." and ".." are resolved lexically (never above /).
 * Returns 0, or -1 with err (empty, too long, NUL). */
int session_path(const char *in, const char *base, char *out, size_t len, struct sb_error *err);

#endif
