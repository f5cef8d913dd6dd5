"""Attacks through the real server. Leaks between sandboxes, from the host, and
between API keys (on a second server, with auth on).

The server, the helpers and what "intact" means: attack.py; the C programs:
attack_programs.py."""
import ctypes
import json
import os
import re
import uuid

import pytest
import requests

from attack import Background, SECRET, SECRET_ENV, UID_BASE, attack_server, c_body, intact, marker, run, srv, wait_until  # noqa: F401 (srv: the fixture)
from attack_programs import IPC_C


def test_tmp_shm_workspace_of_a_concurrent_sandbox(srv):
    """Sandbox B reads what sandbox A, running at the same time, left in /tmp, /dev/shm and /workspace."""
    secret = marker("file")
    a = Background(srv, {"language": "bash", "code":
                         f"for d in /tmp /dev/shm /workspace; do echo {secret} > $d/{secret}; done\n"
                         "echo written; sleep 2"})
    a.started()
    half = len(secret) // 2
    res = run(srv, "bash", f"m={secret[:half]}; m=${{m}}{secret[half:]}\n"
              "ls -A /tmp /dev/shm /workspace\n"
              "grep -rl $m /tmp /dev/shm /workspace 2>/dev/null; echo end")
    a.finish()
    assert res["stdout"] == "/dev/shm:\n\n/tmp:\n\n/workspace:\nmain.sh\nend\n", res["stdout"]
    intact(srv)


def test_files_do_not_persist_to_the_next_sandbox(srv):
    """A writes files everywhere it can; the next sandbox (maybe the same uid) finds them."""
    secret = marker("persist")
    first = run(srv, "bash", f"for d in /tmp /dev/shm /workspace; do echo x > $d/{secret}; "
                "mkdir $d/dir-{secret}; done; echo done")
    assert first["stdout"] == "done\n"
    res = run(srv, "bash", "ls -A /tmp /dev/shm /workspace")
    assert res["stdout"] == "/dev/shm:\n\n/tmp:\n\n/workspace:\nmain.sh\n"
    intact(srv)


def test_sysv_shared_memory(srv):
    """SysV shm: A creates a segment with a fixed key, B (and the host's segment) attach by key or id."""
    libc = ctypes.CDLL(None, use_errno=True)
    host_key = 0x50b0c6
    host_id = libc.shmget(host_key, 4096, 0o1666)   # IPC_CREAT | 0666, on the host
    assert host_id >= 0
    try:
        a = Background(srv, c_body(IPC_C, "shm_create", SECRET))
        a.started()
        b = run(srv, "c", IPC_C, args=["shm_attach", "0x50b0c5", hex(host_key)])
        ra = a.finish()
    finally:
        libc.shmctl(host_id, 0, None)               # IPC_RMID
    assert ra["stdout"] == "created 0\n", ra
    assert b["stdout"] == ("shmget 0x50b0c5 ENOENT\nshmget 0x50b0c6 ENOENT\n" +
                           "".join(f"shmat {i} EINVAL\n" for i in range(4))), b
    intact(srv)


def test_posix_message_queues(srv):
    """POSIX message queues: create one to talk to other sandboxes, or open a host queue."""
    libc = ctypes.CDLL("librt.so.1", use_errno=True)
    q = libc.mq_open(b"/soulbox-mq-host", os.O_CREAT | os.O_RDWR, 0o666, None)
    try:
        res = run(srv, "c", IPC_C, args=["mq"])
    finally:
        if q >= 0:
            libc.mq_close(q)
            libc.mq_unlink(b"/soulbox-mq-host")
    assert res["stdout"] == "mq_open create EMFILE\nmq_open existing ENOENT\n", res
    intact(srv)


def test_process_list_environment_and_uid_of_a_concurrent_sandbox(srv):
    """B lists processes, command lines and environments to find A's secrets."""
    secret = marker("env")
    a = Background(srv, {"language": "bash", "env": {"A_SECRET": secret},
                         "code": f"echo ready; exec -a {secret}-argv sleep 2"})
    a.started()
    # the marker is assembled at run time: B's own code and argv never hold it
    code = ("import os\n"
            f"m = {secret[::-1]!r}[::-1].encode()\n"
            "me, procs, found = os.getpid(), [], []\n"
            "for pid in sorted(p for p in os.listdir('/proc') if p.isdigit()):\n"
            "    if int(pid) == me: continue\n"
            "    procs.append((pid, open(f'/proc/{pid}/comm').read().strip(), os.stat(f'/proc/{pid}').st_uid))\n"
            "    for what in ('cmdline', 'environ'):\n"
            "        try: data = open(f'/proc/{pid}/{what}', 'rb').read()\n"
            "        except OSError: continue\n"
            "        if m in data: found.append((pid, what))\n"
            "print(procs, os.getuid())\nprint(found)\n")
    res = run(srv, "python", code)
    a.finish()
    assert res["status"] == "ok", res
    procs, found = res["stdout"].splitlines()
    assert found == "[]"
    uid = int(procs.split()[-1])
    # the agent's effective uid is not the program's (uid_base - 1, the same in every sandbox)
    assert procs == f"[('1', 'soulbox-agent', {UID_BASE - 1})] {uid}", procs
    assert secret not in res["stdout"]
    intact(srv)


def test_server_environment_is_not_inherited(srv):
    """The server's environment (API keys, credentials) is visible to the program."""
    res = run(srv, "python", "import os\nprint(sorted(os.environ))")
    assert res["status"] == "ok", res
    assert SECRET not in json.dumps(res)
    names = set(eval(res["stdout"]))
    assert SECRET_ENV not in names and not any(n.startswith("SOULBOX") for n in names)
    assert names <= {"HOME", "LANG", "LOGNAME", "PATH", "PWD", "SHELL", "SHLVL", "TMPDIR", "USER",
                     "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "MPLBACKEND", "MPLCONFIGDIR",
                     "OPENBLAS_NUM_THREADS", "LC_CTYPE", "_"}, names
    intact(srv)


def test_server_file_descriptors_are_not_inherited(srv):
    """A descriptor of the server (listening socket, SQLite database, control socket) left open in the program."""
    src = ('#include <stdio.h>\n#include <fcntl.h>\n'
           'int main(void){ for (int fd = 0; fd < 65536; fd++) if (fcntl(fd, F_GETFD) >= 0) printf("%d ", fd);'
           ' puts(""); return 0; }\n')
    res = run(srv, "c", src, {"open_files": 4096})
    assert res["status"] == "ok", res
    assert res["stdout"] == "0 1 2 \n"
    intact(srv)


def test_cgroup_view(srv):
    """Read or join the host's cgroup tree to see other sandboxes or lift the limits."""
    res = run(srv, "bash", "cat /proc/self/cgroup; ls /sys/fs/cgroup 2>&1; "
              "echo $$ > /sys/fs/cgroup/cgroup.procs 2>&1 || echo denied")
    assert res["status"] == "ok", res
    lines = res["stdout"].splitlines()
    cg = [l for l in lines if re.match(r"^\d+:", l)]
    assert cg and all(l.endswith(":/") for l in cg), cg
    assert lines[len(cg)] == "ls: cannot access '/sys/fs/cgroup': No such file or directory"
    assert lines[-1] == "denied"
    intact(srv)


def test_flock_on_shared_read_only_files(srv):
    """A holds flock(LOCK_EX) on a shared system file (/usr/bin/env); B, or the host's lock, sees it."""
    import fcntl
    target = os.path.realpath("/usr/bin/env")
    host_target = os.path.realpath("/usr/lib/os-release")
    a = Background(srv, c_body(IPC_C, "flock_hold", target))
    a.started()
    with open(target) as f:   # the host does not see A's lock either
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(f, fcntl.LOCK_UN)
    with open(host_target) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            b = run(srv, "c", IPC_C, args=["flock_try", target, host_target])
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
    ra = a.finish()
    try:
        assert ra["stdout"] == "flock locked\n"
        assert b["stdout"] == "flock free\nflock free\n", b["stdout"]
    finally:
        intact(srv)


def test_inotify_on_shared_read_only_files(srv):
    """A watches a shared system file with inotify to learn when B, or the host, opens or reads it."""
    watch = ("import ctypes, select\n"
             "libc = ctypes.CDLL(None, use_errno=True)\n"
             "fd = libc.inotify_init1(0)\n"
             "wd = libc.inotify_add_watch(fd, b'/usr/bin/env', 0x1 | 0x20)  # IN_ACCESS | IN_OPEN\n"
             "print('watching', wd >= 0, flush=True)\n"
             "r, _, _ = select.select([fd], [], [], 2.5)\n"
             "print('event' if r else 'quiet')\n")
    a = Background(srv, {"language": "python", "code": watch})
    a.started()
    b = run(srv, "bash", "for i in 1 2 3; do cat /usr/bin/env > /dev/null; done; echo read")
    for _ in range(3):
        with open("/usr/bin/env", "rb") as f:
            f.read(64)
    ra = a.finish()
    assert b["stdout"] == "read\n", b
    assert ra["status"] == "ok" and ra["stdout"] == "watching True\nquiet\n", ra
    intact(srv)


def test_proc_locks_does_not_reveal_other_sandboxes(srv):
    """B reads /proc/locks to learn which uids (sandboxes) are live on the host right now."""
    a = Background(srv, {"language": "bash", "code": "id -u; sleep 2"})
    a.started()
    b = run(srv, "bash", "id -u; cat /proc/locks")
    ra = a.finish()
    uid_a = int(ra["stdout"].split()[0])
    offset = uid_a - UID_BASE
    ranges = []
    for line in b["stdout"].splitlines()[1:]:
        f = line.split()
        ranges.append((int(f[-2]), float("inf") if f[-1] == "EOF" else int(f[-1])))
    try:
        assert not any(lo <= offset <= hi for lo, hi in ranges), b["stdout"]
        assert "OFDLCK" not in b["stdout"]
    finally:
        intact(srv)


def test_kill_minus_one_cannot_reach_another_sandbox(srv):
    """B kills every process it can see (kill -9 -1, every pid up to 4096) to end A's run."""
    a = Background(srv, {"language": "bash", "code": "echo ready; sleep 1.5; echo alive"})
    a.started()
    b = run(srv, "python", "import os\nfor pid in range(2, 4096):\n"
            "    try: os.kill(pid, 9) if pid != os.getpid() else None\n    except OSError: pass\n"
            "try: os.kill(-1, 9)\nexcept OSError as e: print('kill -1', e.errno)\n"
            "print('done')\n")
    ra = a.finish()
    assert b["status"] == "ok" and b["stdout"] in ("done\n", "kill -1 3\ndone\n"), b
    assert ra["status"] == "ok" and ra["stdout"] == "ready\nalive\n", ra
    intact(srv)


# ---- another API key's executions ----

KEYS = {k: f"{k}-key-{uuid.uuid4().hex}" for k in ("a", "b", "n")}
NOT_FOUND = {"error": {"code": "not_found", "message": "no such execution"}}


def as_key(k):
    return {"X-API-Key": KEYS[k]}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A second server with auth on and keys none of which is an admin: a is
    the victim, b the attacker, n the neighbour of `intact`."""
    env = {"SOULBOX_API_KEYS": ",".join(f"{k}:{v}" for k, v in KEYS.items())}
    with attack_server(tmp_path_factory.mktemp("keyed"), "keyed", env, KEYS["n"]) as s:
        yield s


def secret_code(secret, then=""):
    """bash printing secret, assembled at run time: only the output holds it."""
    half = len(secret) // 2
    return f"m={secret[:half]}; echo ${{m}}{secret[half:]}; {then}"


def as_unknown(s, key, path, unknown_path, method="GET"):
    """key's answer for path, which must be the one it gets for unknown_path."""
    got, unknown = [requests.request(method, s.url + p, headers=as_key(key), timeout=30)
                    for p in (path, unknown_path)]
    seen = [(r.status_code, {h: v for h, v in r.headers.items() if h not in ("Date", "X-Request-Id")},
             r.content) for r in (got, unknown)]
    assert seen[0] == seen[1], (method, path, seen)
    return got


def test_another_keys_execution_by_id(keyed):
    """Key b reads key a's execution by its id, in flight and finished: as is, in upper case, a near id, other spellings of the path, HEAD."""
    secret = marker("key-a")
    r = keyed.post("/api/executions", {"language": "bash", "code": secret_code(secret, "sleep 2")},
                   headers=as_key("a"))
    assert r.status_code == 202, r.text
    eid = r.json()["id"]
    mine = lambda: keyed.get(f"/api/executions/{eid}", headers=as_key("a")).json()

    def attack():
        unknown = str(uuid.uuid4())
        near = eid[:-1] + ("1" if eid[-1] == "0" else "0")
        tries = [(eid, unknown), (eid.upper(), unknown.upper()), (near, unknown)]
        paths = [(f"/api/executions/{e}", f"/api/executions/{u}") for e, u in tries]
        for spell in ("/api/./executions/{}", "/api/executions/{}?key_id=a&all=1",
                      "/api/executions/{}/", "//api/executions/{}"):
            paths.append((spell.format(eid), spell.format(unknown)))
        paths.append((f"/api/executions/{eid.replace('-', '%2D')}",
                      f"/api/executions/{unknown.replace('-', '%2D')}"))
        for path, unknown_path in paths:
            for method in ("GET", "HEAD"):
                got = as_unknown(keyed, "b", path, unknown_path, method)
                assert secret not in got.text
        got = keyed.get(f"/api/executions/{eid}", headers=as_key("b"))
        assert (got.status_code, got.json()) == (404, NOT_FOUND)

    assert wait_until(lambda: mine()["status"] == "running"), mine()
    attack()
    assert mine()["status"] == "running", "a's run ended before the attack: in flight was not tested"
    assert wait_until(lambda: mine()["status"] not in ("queued", "running"), timeout=30), mine()
    attack()
    assert mine()["stdout"] == secret + "\n"        # a's own record is whole
    intact(keyed)


def test_another_keys_execution_in_listings(keyed):
    """Key b pages through GET /api/executions, following its own cursors and trying every cursor up to past them, to find key a's execution."""
    secret = marker("key-a-list")
    run_as = lambda k, code: keyed.execute({"language": "bash", "code": code}, headers=as_key(k)).json()
    b_ids = {run_as("b", "echo b-before")["id"]}
    theirs = run_as("a", secret_code(secret))
    assert theirs["stdout"] == secret + "\n", theirs
    b_ids.add(run_as("b", "echo b-after")["id"])
    listed, pages = set(), []

    def page(query, odd=False):
        r = keyed.get("/api/executions?" + query, headers=as_key("b"))
        pages.append(r.text)
        if odd and r.status_code == 400:
            return None                 # refused is fine
        assert r.status_code == 200, (query, r.text)
        listed.update(e["id"] for e in r.json()["executions"])
        return r.json()

    # its own pages, one execution each: a's sits between b's two
    cursors, p = [], page("limit=1")
    while p["next_cursor"]:
        cursors.append(int(p["next_cursor"]))
        p = page(f"limit=1&cursor={cursors[-1]}")
    assert cursors
    # every cursor up to past its own: a's position among them
    for c in range(1, max(cursors) + 3):
        page(f"limit=100&cursor={c}")
        page(f"limit=1&cursor={c}")
        page(f"limit=100&before={c}")
    for query in (f"limit=100&cursor={2**63 - 1}", "limit=100&key_id=a", "limit=100&all=1",
                  f"limit=100&cursor={max(cursors) + 1}&cursor=1", "limit=100&cursor=-1"):
        page(query, odd=True)
    assert listed == b_ids, listed
    leaked = [t for t in pages if theirs["id"] in t or secret in t]
    assert not leaked, leaked[:3]
    # a's own list has it: there was something to find
    mine = keyed.get("/api/executions?limit=100", headers=as_key("a")).json()["executions"]
    assert theirs["id"] in [e["id"] for e in mine]
    intact(keyed)
