# SoulBox directory watcher: runs inside the session with its user's rights
# and reports what changes under a directory, one JSON object per line:
# {"type": "ready"} once, then {"type": "created"|"modified"|"removed"|"renamed",
#  "path": "...", "dir": bool}. Arguments: the directory, "1" to go recursive.
import ctypes, json, os, struct, sys

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_ISDIR, IN_Q_OVERFLOW, IN_IGNORED = 0x400, 0x800, 0x40000000, 0x4000, 0x8000
MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
HDR = struct.Struct("iIII")

libc = ctypes.CDLL(None, use_errno=True)
out = os.fdopen(1, "w", buffering=1)


def emit(ev):
    out.write(json.dumps(ev) + "\n")


root, recursive = sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == "1"
fd = libc.inotify_init1(os.O_CLOEXEC)
if fd < 0:
    emit({"type": "error", "message": os.strerror(ctypes.get_errno())})
    sys.exit(1)
dirs = {}
# A directory created while watching gets its watch a moment after its
# creation: what was made in it meanwhile has no event. Its entries are
# reported from a scan instead (created, and modified when not empty); the
# events that may still come for them are then not reported twice.
scanned_create, scanned_modify = set(), set()


def report_scanned(e, isdir):
    emit({"type": "created", "path": e.path, "dir": isdir})
    scanned_create.add(e.path)
    try:
        if not isdir and e.stat(follow_symlinks=False).st_size > 0:
            emit({"type": "modified", "path": e.path, "dir": False})
            scanned_modify.add(e.path)
    except OSError:
        pass


def watch(path, report=False):
    wd = libc.inotify_add_watch(fd, path.encode(), MASK)
    if wd < 0:
        return ctypes.get_errno()
    dirs[wd] = path
    if recursive:
        try:
            for e in os.scandir(path):
                isdir = e.is_dir(follow_symlinks=False)
                if report:
                    report_scanned(e, isdir)
                if isdir:
                    watch(e.path, report)
        except OSError:
            pass
    return 0


err = watch(root)
if err:
    emit({"type": "error", "message": "%s: %s" % (root, os.strerror(err))})
    sys.exit(1)
emit({"type": "ready"})
while True:
    buf = os.read(fd, 65536)
    off = 0
    while off < len(buf):
        wd, mask, _cookie, n = HDR.unpack_from(buf, off)
        name = buf[off + HDR.size: off + HDR.size + n].split(b"\0", 1)[0].decode("utf-8", "replace")
        off += HDR.size + n
        if mask & IN_Q_OVERFLOW:
            emit({"type": "overflow"})
            continue
        base = dirs.get(wd)
        if base is None or mask & IN_IGNORED:
            dirs.pop(wd, None)
            continue
        path = os.path.join(base, name) if name else base
        isdir = bool(mask & IN_ISDIR)
        if mask & IN_CREATE and path in scanned_create:
            scanned_create.discard(path)        # reported by the scan
        elif mask & (IN_CREATE | IN_MOVED_TO):
            emit({"type": "created" if mask & IN_CREATE else "renamed", "path": path, "dir": isdir})
            if isdir and recursive:
                watch(path, True)
        elif mask & (IN_MODIFY | IN_CLOSE_WRITE):
            if mask & IN_MODIFY and path in scanned_modify:
                scanned_modify.discard(path)    # the write the scan saw
            elif mask & IN_MODIFY:
                emit({"type": "modified", "path": path, "dir": isdir})
        elif mask & (IN_DELETE | IN_MOVED_FROM):
            scanned_create.discard(path)
            scanned_modify.discard(path)
            emit({"type": "removed", "path": path, "dir": isdir})
        elif mask & (IN_DELETE_SELF | IN_MOVE_SELF) and base == root:
            emit({"type": "removed", "path": root, "dir": True})
            sys.exit(0)
