/* Files of sessions, shared by the front ends: error codes and entry JSON. */
#include "frontend/session_files.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

/* ---- the error of a file operation ---- */

enum sb_code files_errno_code(int e)
{
    switch (e) {
    case ENOENT: return SB_E_NOT_FOUND;
    case EEXIST:
    case ENOTEMPTY: return SB_E_CONFLICT;
    case EFBIG:
    case ENOSPC:
    case EDQUOT: return SB_E_PAYLOAD_TOO_LARGE;
    case 0: return SB_E_OK;
    default: return SB_E_INVALID_ARGUMENT;
    }
}

static void perms(uint32_t mode, enum sbx_entry_type t, char out[11])
{
    out[0] = t == SBX_DIR ? 'd' : t == SBX_SYMLINK ? 'l' : t == SBX_FILE ? '-' : '?';
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        out[1 + i] = (mode & (1u << (8 - i))) ? rwx[i] : '-';
    out[10] = '\0';
}

json_t *files_entry_json(const struct sbx_entry *e, const char *path)
{
    static const char *const types[] = {"", "file", "dir", "symlink", "other"};
    char mtime[40], p[11];
    util_iso_time((uint64_t)(e->mtime_ms > 0 ? e->mtime_ms : 0), mtime, sizeof mtime);
    perms(e->mode, e->type, p);
    const char *slash = strrchr(path, '/');
    json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:i,s:s,s:s}", "name",
                          slash && slash[1] ? slash + 1 : path, "path", path, "type",
                          types[e->type <= SBX_OTHER ? e->type : SBX_OTHER], "size",
                          (json_int_t)e->size, "mode", (int)e->mode, "permissions", p,
                          "modified_at", mtime);
    if (j && e->target)
        json_object_set_new(j, "symlink_target", json_string(e->target));
    return j;
}

