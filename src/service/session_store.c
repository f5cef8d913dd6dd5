/* Sessions on disk: <data_dir>/sessions/<id>.json says what each is (so a paused one comes back after a restart, and one a crash left running is recorded as ended), <id>.tar holds a paused one's files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "service/service.h"
#include "service/session_ctx.h"
#include "service/session_internal.h"

/* A saved snapshot larger than this is refused when read back. */
#define SNAPSHOT_MAX (4ull << 30)

static int dir_of(const struct service *svc, char *out, size_t len)
{
    snprintf(out, len, "%s/sessions", svc->cfg->server.data_dir);
    if (mkdir(out, 0700) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static void path_of(const struct session *s, const char *ext, char *out, size_t len)
{
    snprintf(out, len, "%s/sessions/%s.%s", s->svc->cfg->server.data_dir, s->id, ext);
}

/* Writes data to path through a temporary file and a rename (never half a file). */
static int write_atomic(const char *path, const void *data, size_t len, struct sb_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "create %s", tmp);
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return sb_fail_errno(err, SB_E_INTERNAL, e ? e : EIO, "write %s", tmp);
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return sb_fail_errno(err, SB_E_INTERNAL, e, "save %s", path);
    }
    return 0;
}

/* ---- one session ---- */

static json_t *describe(const struct session *s)
{
    json_t *env = json_array(), *ctxs = json_array();
    for (size_t i = 0; i < s->nenv; i++)
        json_array_append_new(env, json_string(s->env[i]));
    for (struct list_node *l = s->ctxs.next; l != &s->ctxs; l = l->next) {
        const struct session_ctx *c = (const struct session_ctx *)l;
        json_array_append_new(ctxs, json_pack("{s:s,s:s,s:s}", "id", session_ctx_id(c),
                                              "language", session_ctx_language(c), "cwd",
                                              session_ctx_cwd(c)));
    }
    json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:b,s:s,s:s,s:O,s:o,s:o,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,"
                     "s:I,s:I}}",
                     "version", 1, "id", s->id, "state", session_state_name(s->state), "owner",
                     s->owner, "has_key", s->has_key, "key_id", s->key_id, "template",
                     s->tpl->name, "metadata", s->metadata, "env", env, "contexts", ctxs,
                     "created_ms", (json_int_t)s->created_ms, "ttl_left_ms",
                     (json_int_t)s->ttl_left_ms, "paused_ms", (json_int_t)s->paused_ms,
                     "limits", "memory_kb", (json_int_t)s->lim.memory_kb, "disk_kb",
                     (json_int_t)s->lim.disk_kb, "cpu_percent", (json_int_t)s->lim.cpu_percent,
                     "processes", (json_int_t)s->lim.processes, "open_files",
                     (json_int_t)s->lim.open_files, "output_max", (json_int_t)s->output_max);
    if (j && s->network)
        json_object_set_new(j, "network", session_network_json(s));
    if (j && s->isolation == SBX_ISO_MICROVM)
        json_object_set_new(j, "isolation", json_string("microvm"));
    return j;
}

/* A saved session's egress, narrowed again against today's config (which
 * may have changed while the server was down): 0, or -1 to end it. */
static int revive_network(struct session *s, json_t *net)
{
    if (!net)
        return 0;
    json_t *allow = json_object_get(net, "allow"), *v;
    size_t i, n = 0;
    const char **list = calloc(json_array_size(allow) + 1, sizeof *list);
    if (!list)
        return -1;
    json_array_foreach(allow, i, v)
        if (json_is_string(v))
            list[n++] = json_string_value(v);
    struct sb_error err;
    int rc = s->svc->cfg->security.enable_network &&
                     runner_net_narrow(s->svc->cfg, list, n, &s->net, &err) == 0 ? 0 : -1;
    free(list);
    if (rc < 0)
        return -1;
    s->network = true;
    return 0;
}

void session_save(struct session *s)
{
    char dir[4096], path[4200];
    struct sb_error err;
    json_t *j = describe(s);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (dir_of(s->svc, dir, sizeof dir) < 0 || !text) {
        log_event(LOG_WARN, "session not saved", json_pack("{s:s,s:s}", "id", s->id, "error",
                                                         text ? strerror(errno)
                                                              : "out of memory"));
        free(text);
        return;
    }
    /* the access token stays out of the file: a new one is made when it comes back */
    path_of(s, "json", path, sizeof path);
    if (write_atomic(path, text, strlen(text), &err) < 0)
        log_event(LOG_WARN, "session not saved", json_pack("{s:s,s:s}", "id", s->id, "error",
                                                         err.msg));
    free(text);
}

void session_forget(struct session *s)
{
    char path[4200];
    path_of(s, "json", path, sizeof path);
    unlink(path);
    path_of(s, "tar", path, sizeof path);
    unlink(path);
}

void session_snapshot_drop(struct session *s)
{
    char path[4200];
    path_of(s, "tar", path, sizeof path);
    unlink(path);
}

int session_snapshot_write(struct session *s, const void *data, size_t len,
                           struct sb_error *err)
{
    char dir[4096], path[4200];
    if (dir_of(s->svc, dir, sizeof dir) < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "create %s", dir);
    path_of(s, "tar", path, sizeof path);
    return write_atomic(path, data, len, err);
}

int session_snapshot_read(struct session *s, char **data, size_t *len, struct sb_error *err)
{
    char path[4200];
    path_of(s, "tar", path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > SNAPSHOT_MAX) {
        int e = fd < 0 ? errno : EINVAL;
        if (fd >= 0)
            close(fd);
        return sb_fail_errno(err, SB_E_INTERNAL, e, "the saved files %s", path);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        return sb_fail(err, SB_E_INTERNAL, "reading the saved files %s failed", path);
    }
    *data = buf;
    *len = got;
    return 0;
}

/* ---- at start ---- */

/* A paused session from its description, or NULL (then it is recorded as ended). */
static struct session *revive(struct service *svc, json_t *j)
{
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *tname = json_string_value(json_object_get(j, "template"));
    const struct template *t = tname ? template_find(&svc->sessions.templates, tname) : NULL;
    json_t *lim = json_object_get(j, "limits"), *meta = json_object_get(j, "metadata");
    if (!id || strlen(id) >= sizeof ((struct session *)0)->id || !t || !json_is_object(lim) ||
        !json_is_object(meta))
        return NULL;
    struct session *s = session_alloc(svc, t);
    if (!s)
        return NULL;
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->owner, sizeof s->owner, "%s",
             json_string_value(json_object_get(j, "owner")) ?: "");
    snprintf(s->key_id, sizeof s->key_id, "%s",
             json_string_value(json_object_get(j, "key_id")) ?: "");
    s->has_key = json_is_true(json_object_get(j, "has_key"));
    uint8_t r[20];
    util_random(r, sizeof r);
    util_hex(r, sizeof r, s->access_token);
    s->metadata = json_deep_copy(meta);
    s->created_ms = (uint64_t)json_integer_value(json_object_get(j, "created_ms"));
    s->ttl_left_ms = (uint64_t)json_integer_value(json_object_get(j, "ttl_left_ms"));
    s->paused_ms = (uint64_t)json_integer_value(json_object_get(j, "paused_ms"));
    s->active_ms = util_now_ms();
    s->ends_ms = s->active_ms + s->ttl_left_ms;
    s->lim = (struct sbx_limits){
        .memory_kb = (uint64_t)json_integer_value(json_object_get(lim, "memory_kb")),
        .disk_kb = (uint64_t)json_integer_value(json_object_get(lim, "disk_kb")),
        .cpu_percent = (uint32_t)json_integer_value(json_object_get(lim, "cpu_percent")),
        .processes = (uint32_t)json_integer_value(json_object_get(lim, "processes")),
        .open_files = (uint32_t)json_integer_value(json_object_get(lim, "open_files")),
        .stack_kb = svc->cfg->defaults.stack_kb,
    };
    s->lim.file_size_kb = s->lim.disk_kb;
    s->output_max = (uint64_t)json_integer_value(json_object_get(lim, "output_max"));
    json_t *env = json_object_get(j, "env"), *v;
    size_t i;
    s->env = calloc(json_array_size(env) + 1, sizeof *s->env);
    json_array_foreach(env, i, v)
        if (s->env && json_is_string(v) && (s->env[s->nenv] = strdup(json_string_value(v))))
            s->nenv++;
    json_array_foreach(json_object_get(j, "contexts"), i, v)
        session_ctx_adopt(s, json_string_value(json_object_get(v, "id")),
                          json_string_value(json_object_get(v, "language")),
                          json_string_value(json_object_get(v, "cwd")));
    const char *iso = json_string_value(json_object_get(j, "isolation"));
    s->isolation = iso && !strcmp(iso, "microvm") ? SBX_ISO_MICROVM : SBX_ISO_NAMESPACES;
    if (!s->metadata || !s->env || !s->lim.memory_kb || !s->lim.processes || !s->output_max ||
        revive_network(s, json_object_get(j, "network")) < 0) {
        s->refs = 1;
        session_unref(s);
        return NULL;
    }
    s->state = SESSION_PAUSED;
    return s;
}

void session_load_saved(struct service *svc)
{
    char dir[4096];
    if (dir_of(svc, dir, sizeof dir) < 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    unsigned back = 0, ended = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_t *j = json_load_file(path, 0, NULL);
        const char *state = json_string_value(json_object_get(j, "state"));
        struct session *s = state && !strcmp(state, "paused") ? revive(svc, j) : NULL;
        if (s) {
            session_register(s);
            back++;
        } else {
            /* it ran when the server stopped (or cannot come back): recorded as ended */
            struct audit_record a = {
                .ts_ms = util_now_ms(), .event = "session_ended",
                .request_id = json_string_value(json_object_get(j, "id")),
                .key_id = json_string_value(json_object_get(j, "key_id")),
                .client = json_string_value(json_object_get(j, "owner")),
                .language = json_string_value(json_object_get(j, "template")),
                .status = "ended",
                .detail = state && !strcmp(state, "paused")
                              ? "its saved state could not be loaded"
                              : "the server stopped while it ran",
            };
            store_audit(svc->store, &a);
            unlink(path);
            snprintf(path + strlen(path) - 5, 6, ".tar");
            unlink(path);
            ended++;
        }
        json_decref(j);
    }
    closedir(d);
    if (back || ended)
        log_event(LOG_INFO, "sessions from the last run",
                  json_pack("{s:i,s:i}", "paused_back", back, "recorded_ended", ended));
}
