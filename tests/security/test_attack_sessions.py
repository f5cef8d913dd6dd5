"""Attacks through the real server. Sessions: long-lived sandboxes reached
through the native REST API (/api/sandboxes: commands, files, code contexts).

A session lives across many requests, and its files API is a second way in
besides the programs it runs: paths with `..`, absolute host paths, symlinks
and hard links planted by a command, then read or written through the files
API, must only ever reach the sandbox's own view. Processes must not outlive
their session, a memory bomb in a context must stay in that context, a
session's end must end its streams, and another key must not reach it.

The server (with two API keys: alice attacks, bob is the neighbour whose
runs `intact` checks), the host's canaries and what "intact" means:
attack.py. Every test ends its sessions before `intact` (their processes
would count as leftovers)."""
import contextlib
import json
import os
import re
import threading
import time
import uuid

import pytest
import requests

from attack import (ROOT, SECRET, SECRET_ENV, UID_BASE, attack_server, host_pids, intact,  # noqa: F401
                    marker, neighbour, wait_until)

KEYS = "alice:ka-attack-sess,bob:kb-attack-sess"
A = {"X-API-Key": "ka-attack-sess"}
B = {"X-API-Key": "kb-attack-sess"}
# The attack server offers python, bash and c: of the templates, "python"
# (python and bash contexts).
TEMPLATE = "python"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with attack_server(tmp_path_factory.mktemp("sessions"), name="sessions",
                       env={"SOULBOX_API_KEYS": KEYS}, neighbour_key="kb-attack-sess") as s:
        yield s


# ---- helpers ----

def url(s, sid, tail=""):
    return f"{s.url}/api/sandboxes/{sid}{tail}"


def create(s, headers=A, **body):
    body.setdefault("template", TEMPLATE)
    r = s.post("/api/sandboxes", body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def delete(s, sid, headers=A):
    return requests.delete(url(s, sid), headers=headers, timeout=30)


@contextlib.contextmanager
def session(s, headers=A, **body):
    sid = create(s, headers=headers, **body)
    try:
        yield sid
    finally:
        delete(s, sid, headers=headers)


def cmd(s, sid, line, headers=A, **kw):
    r = s.post(f"/api/sandboxes/{sid}/commands", dict(cmd=line, **kw), headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def sh(s, sid, line, **kw):
    res = cmd(s, sid, line, **kw)
    assert res["status"] == "ok", res
    return res["stdout"]


def execute(s, sid, code, headers=A, timeout=90, **kw):
    r = s.post(f"/api/sandboxes/{sid}/execute", dict(code=code, **kw), headers=headers,
               timeout=timeout)
    assert r.status_code == 200, r.text
    events = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    assert events and events[-1]["type"] == "end", events
    return events


def read(s, sid, path, headers=A):
    return requests.get(url(s, sid, "/files"), params={"path": path}, headers=headers, timeout=30)


def put(s, sid, path, data, headers=A):
    return requests.put(url(s, sid, "/files"), params={"path": path}, data=data, headers=headers,
                        timeout=30)


def remove(s, sid, path, headers=A):
    return requests.delete(url(s, sid, "/files"), params={"path": path}, headers=headers, timeout=30)


def fpost(s, sid, op, body, headers=A):
    return s.post(f"/api/sandboxes/{sid}/files/{op}", body, headers=headers)


def host_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def refused(r):
    """A files API answer that touched nothing: an error, 400 or 404."""
    return r.status_code in (400, 404) and "error" in r.json()


def procs_of_uid(uid):
    """Live host processes running as uid."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/status") as f:
                fields = dict(l.split(":", 1) for l in f if ":" in l)
        except OSError:
            continue
        if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
            found.append(int(d))
    return found


# ---- the files API: paths ----

def test_dotdot_paths_stay_inside_the_sandbox(srv):
    """`..` climbs above /home/user: to host paths a server might resolve naively."""
    canary_before = host_bytes(srv.host_canary)
    with session(srv) as sid:
        up = "../" * 12
        # reads: the host's files are not there; /etc is the sandbox's own
        for p in (f"{up}etc/shadow", f"{up}{srv.private_canary.lstrip('/')}",
                  f"{up}{srv.config.lstrip('/')}", f"{up}{srv.log.lstrip('/')}",
                  f"..{srv.data_dir}/x", f"{up}root/.bashrc", f"{up}{ROOT.lstrip('/')}/README.md",
                  f"/home/../../..{srv.host_canary}"):
            r = read(srv, sid, p)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (p, r.text)
        r = read(srv, sid, f"{up}etc/passwd")
        assert r.status_code == 200
        assert r.content == sh(srv, sid, "cat /etc/passwd").encode()
        assert b"SoulBox sandbox" in r.content and r.content != host_bytes("/etc/passwd")
        # writes: `..` to the host canary's path lands in the sandbox's /tmp
        r = put(srv, sid, f"{up}{srv.host_canary.lstrip('/')}", b"OVERWRITTEN BY A SESSION\n")
        assert r.status_code == 200, r.text
        assert r.json()["files"][0]["path"] == srv.host_canary        # its path inside the sandbox
        assert sh(srv, sid, f"cat {srv.host_canary}") == "OVERWRITTEN BY A SESSION\n"
        assert host_bytes(srv.host_canary) == canary_before
        # to the server's data dir and config (under the host's /tmp): the sandbox's /tmp again
        r = put(srv, sid, f"{up}{srv.data_dir.lstrip('/')}/planted", b"x")
        assert r.status_code == 200 and r.json()["files"][0]["path"] == f"{srv.data_dir}/planted", r.text
        r = put(srv, sid, f"{up}{srv.config.lstrip('/')}", b"sessions: {}\n")
        assert r.status_code == 200, r.text
        assert sh(srv, sid, f"cat {srv.config}") == "sessions: {}\n"
        assert not os.path.exists(os.path.join(srv.data_dir, "planted"))
        assert "sessions: {}" not in open(srv.config).read()
        r = put(srv, sid, f"{up}etc/cron.d/evil", b"* * * * * root id\n")
        assert refused(r), r.text
        r = fpost(srv, sid, "mkdir", {"path": f"{up}etc/evil.d"})
        assert refused(r), r.text
        r = fpost(srv, sid, "move", {"from": f"{up}etc/passwd", "to": "stolen"})
        assert refused(r), r.text
        # multipart: the file names and the directory climb too
        m = marker("mp")
        r = requests.post(url(srv, sid, "/files"), params={"path": up + "tmp"},
                          files=[("f", (f"{up}tmp/{m}-a", b"a")), ("f", (f"sub/../../tmp/{m}-b", b"b"))],
                          headers=A, timeout=30)
        assert r.status_code == 200, r.text
        assert sorted(e["path"] for e in r.json()["files"]) == [f"/tmp/{m}-a", f"/tmp/{m}-b"]
        assert sh(srv, sid, f"cat /tmp/{m}-a /tmp/{m}-b") == "ab"
        assert not os.path.exists(f"/tmp/{m}-a") and not os.path.exists(f"/tmp/{m}-b")
        # `..` past ?path= reaches the sandbox's read-only root, not the host's
        r = requests.post(url(srv, sid, "/files"), params={"path": up + "tmp"},
                          files=[("f", (f"../{m}-c", b"c"))], headers=A, timeout=30)
        assert refused(r) and "EROFS" in r.json()["error"]["message"], r.text
        assert not os.path.exists(f"/{m}-c")
        r = requests.post(url(srv, sid, "/files"), files=[("f", (f"{up}usr/bin/{m}", b"#!/bin/sh\n"))],
                          headers=A, timeout=30)
        assert refused(r), r.text
        assert not os.path.exists(f"/usr/bin/{m}")
    intact(srv)


def test_absolute_host_paths_and_proc(srv):
    """Absolute paths to host secrets, /proc's magic links to other roots, kernel files."""
    with session(srv) as sid:
        for p in ("/etc/shadow", "/etc/gshadow", "/root/.bashrc", srv.private_canary, srv.config,
                  srv.log, f"{srv.data_dir}/soulbox.db", "/run/soulbox", f"{ROOT}/Makefile",
                  srv.host_canary):
            r = read(srv, sid, p)
            assert r.status_code == 404, (p, r.status_code, r.text)
        for p in ("/proc/self/root/etc/shadow", "/proc/1/root/etc/shadow", "/proc/1/cwd/x",
                  "/proc/self/environ", "/proc/1/environ", "/proc/self/mem", "/proc/self/maps",
                  "/proc/1/fd/0", "/proc/kcore", "/proc/sys/kernel/core_pattern", "/sys/kernel/notes",
                  "/dev/mem"):
            r = read(srv, sid, p)
            assert refused(r), (p, r.status_code, r.content[:200])
            assert SECRET.encode() not in r.content
        for p in ("/proc", "/proc/1/root", "/proc/self/root", "/proc/1/fd", "/sys"):
            r = requests.get(url(srv, sid, "/files/list"), params={"path": p}, headers=A)
            assert refused(r), (p, r.status_code, r.text[:300])
        # writes to system files and the kernel's settings
        for p in ("/etc/passwd", "/etc/hosts", "/usr/bin/python3", "/bin/sh", "/proc/sys/kernel/core_pattern",
                  "/proc/self/attr/current", "/proc/1/root/tmp/x", "/sys/fs/cgroup/cgroup.procs",
                  "/dev/null/x"):
            r = put(srv, sid, p, b"|/tmp/evil %p\n")
            assert refused(r), (p, r.status_code, r.text)
        for p in ("/etc/passwd", "/usr/bin", "/usr", "/proc/1", "/home"):
            assert refused(remove(srv, sid, p)), p
        for frm, to in (("/etc/passwd", "/etc/passwd.bak"), ("/usr/bin/env", "/tmp/env"),
                        ("/proc/1/root", "/tmp/root"), ("/proc/self/environ", "/tmp/env2")):
            r = fpost(srv, sid, "move", {"from": frm, "to": to})
            assert refused(r), (frm, r.text)
        assert sh(srv, sid, "cat /etc/hostname; test -x /usr/bin/env && echo env-ok") == "soulbox\nenv-ok\n"
        # very long and malformed paths
        assert read(srv, sid, "a/" * 2100).status_code == 400
        r = requests.get(url(srv, sid, "/files") + "?path=secret%00.txt", headers=A)
        assert r.status_code == 400, r.text
    intact(srv)


# ---- the files API: links planted by a command ----

def test_symlinks_planted_by_a_command(srv):
    """Symlinks to /, /etc, /proc/1/root, the host canary: then read, write, list, move, remove through them."""
    canary_before = host_bytes(srv.host_canary)
    m = marker("via-link")
    with session(srv) as sid:
        sh(srv, sid, f"ln -s / rootlink; ln -s /etc etclink; ln -s /proc/1/root p1root; "
                     f"ln -s /proc/self/root selfroot; ln -s /proc/1/cwd p1cwd; "
                     f"ln -s {srv.host_canary} canarylink; ln -s {srv.private_canary} privlink; "
                     f"ln -s /etc/passwd pwlink; ln -s ../../../../.. uplink")
        sandbox_passwd = sh(srv, sid, "cat /etc/passwd").encode()
        # reads follow links only inside the sandbox
        r = read(srv, sid, "rootlink/etc/hostname")
        assert r.status_code == 200 and r.content == b"soulbox\n", r.content
        assert read(srv, sid, "etclink/passwd").content == sandbox_passwd
        assert read(srv, sid, "pwlink").content == sandbox_passwd != host_bytes("/etc/passwd")
        assert read(srv, sid, "uplink/etc/passwd").content == sandbox_passwd
        for p in ("p1root/etc/shadow", "p1root/etc/passwd", "selfroot/etc/passwd", "p1cwd/x",
                  "rootlink/proc/1/root/etc/passwd", "rootlink/etc/shadow", "canarylink", "privlink",
                  f"rootlink{srv.private_canary}", f"uplink{srv.config}"):
            r = read(srv, sid, p)
            assert refused(r), (p, r.status_code, r.content[:200])
            assert SECRET.encode() not in r.content and b"HOST FILE" not in r.content
        # writing through a symlink in the last component is refused, the link stays a link
        for p in ("canarylink", "privlink", "pwlink", "rootlink", "etclink"):
            r = put(srv, sid, p, b"OVERWRITTEN THROUGH A LINK\n")
            assert refused(r), (p, r.status_code, r.text)
        st = requests.get(url(srv, sid, "/files/stat"), params={"path": "canarylink"}, headers=A).json()
        assert (st["type"], st["symlink_target"]) == ("symlink", srv.host_canary)
        # through a directory link: the sandbox's /tmp, read-only /etc and /usr, no magic links
        r = put(srv, sid, f"rootlink/tmp/{m}", b"in the sandbox\n")
        assert r.status_code == 200, r.text
        assert sh(srv, sid, f"cat /tmp/{m}") == "in the sandbox\n"
        assert not os.path.exists(f"/tmp/{m}")
        for p in ("etclink/evil", "rootlink/usr/bin/evil", f"p1root/tmp/{m}-2", f"selfroot/tmp/{m}-3",
                  f"uplink/usr/{m}"):
            r = put(srv, sid, p, b"x")
            assert refused(r), (p, r.status_code, r.text)
        assert not os.path.exists(f"/tmp/{m}-2") and not os.path.exists(f"/tmp/{m}-3")
        assert refused(fpost(srv, sid, "mkdir", {"path": f"p1root/tmp/{m}-dir"}))
        assert refused(fpost(srv, sid, "move", {"from": "p1root/etc/passwd", "to": "pw"}))
        assert refused(fpost(srv, sid, "move", {"from": "pwlink", "to": f"p1root/tmp/{m}-mv"}))
        # listing through a link lists the sandbox's root, not the host's
        r = requests.get(url(srv, sid, "/files/list"), params={"path": "rootlink"}, headers=A)
        assert r.status_code == 200, r.text
        names = {e["name"] for e in r.json()["entries"]}
        assert names == set(sh(srv, sid, "ls -A /").split()), names
        assert "root" not in names and "boot" not in names
        # the host's own tree (this checkout) is not behind the link
        r = requests.get(url(srv, sid, "/files/list"), params={"path": "rootlink" + ROOT}, headers=A)
        assert r.status_code == 404, r.text
        # removing a link removes the link, not what it points to
        for p in ("rootlink", "etclink", "canarylink", "p1root"):
            assert remove(srv, sid, p).status_code == 204, p
        assert sh(srv, sid, "ls /etc/hostname; ls -A | grep -c link || true") == "/etc/hostname\n3\n"
        assert host_bytes(srv.host_canary) == canary_before
    intact(srv)


def test_symlink_swapped_while_the_files_api_writes(srv):
    """A command swaps a directory for a link to /proc/1/root and / while files are written into it."""
    m = marker("swap")
    with session(srv) as sid:
        r = srv.post(f"/api/sandboxes/{sid}/commands",
                     {"cmd": "while true; do rm -rf d; mkdir d; rm -rf d; ln -s /proc/1/root d; "
                             "rm -f d; ln -s / d; rm -f d; done", "background": True}, headers=A)
        assert r.status_code == 201, r.text
        pid = r.json()["pid"]
        codes = set()
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 3:
            for p in (f"d/tmp/{m}", f"d/etc/{m}", f"d/{m}"):
                r = put(srv, sid, p, b"raced\n")
                codes.add(r.status_code)
                n += 1
            r = read(srv, sid, "d/etc/shadow")
            assert refused(r) and SECRET.encode() not in r.content
        assert codes <= {200, 400, 404}, codes
        srv.post(f"/api/sandboxes/{sid}/commands/{pid}/signal", {"signal": "SIGKILL"}, headers=A)
        assert n > 20
        for p in (f"/tmp/{m}", f"/etc/{m}", f"/{m}"):
            assert not os.path.exists(p), p
    intact(srv)


def test_hard_links_to_system_files(srv):
    """Hard links to /etc/passwd, a setuid-less binary and the canary path, then a write through the files API."""
    passwd = host_bytes("/etc/passwd")
    with session(srv) as sid:
        res = cmd(srv, sid, "for t in /etc/passwd /usr/bin/python3 /bin/sh /etc/hostname; do "
                            "ln $t hl-$(basename $t) 2>/dev/null && echo linked $t || echo refused $t; done")
        assert res["stdout"] == "refused /etc/passwd\nrefused /usr/bin/python3\nrefused /bin/sh\n" \
                                "refused /etc/hostname\n", res
        assert sh(srv, sid, "ls -A | grep -c '^hl-' || true") == "0\n"
        # a link the agent could be tricked into writing: none exists, and /etc stays read-only
        r = put(srv, sid, "hl-passwd", b"root::0:0::/root:/bin/sh\n")
        assert r.status_code == 200, r.text       # a new, ordinary file in /home/user
        assert sh(srv, sid, "stat -c %h hl-passwd; grep -c '^root::' /etc/passwd || true") == "1\n0\n"
        r = fpost(srv, sid, "move", {"from": "hl-passwd", "to": "/etc/passwd"})
        assert refused(r), r.text
    assert host_bytes("/etc/passwd") == passwd
    intact(srv)


# ---- processes that try to outlive their session ----

def detach_script(m):
    """Four ways to leave a process behind, each named m-<way> on the host."""
    return (f"(setsid bash -c 'exec -a {m}-setsid sleep 1000' </dev/null >/dev/null 2>&1 &)\n"
            f"nohup bash -c 'exec -a {m}-nohup sleep 1000' </dev/null >/dev/null 2>&1 & disown\n"
            f"python3 -c \"import os, signal, sys\n"
            f"if os.fork(): sys.exit(0)\nos.setsid()\nif os.fork(): sys.exit(0)\n"
            f"for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT): signal.signal(s, signal.SIG_IGN)\n"
            f"os.execvp('bash', ['bash', '-c', 'exec -a {m}-daemon sleep 1000'])\" </dev/null >/dev/null 2>&1\n"
            f"(trap '' TERM HUP INT; setsid bash -c \"trap '' TERM HUP INT; exec -a {m}-trap sleep 1000\" "
            f"</dev/null >/dev/null 2>&1 &)\n"
            "sleep 0.3\necho spawned\n")


def test_detached_processes_die_with_the_deleted_session(srv):
    """setsid, nohup+disown, a signal-ignoring double-forked daemon: after DELETE, nothing of the session's uid is left."""
    m = marker("detach")
    sid = create(srv)
    try:
        uid = int(sh(srv, sid, "id -u"))
        assert UID_BASE <= uid < UID_BASE + 65536
        # foreground: the command ends, what it detached may stay while the session lives
        res = cmd(srv, sid, detach_script(m))
        assert res["status"] == "ok" and res["stdout"] == "spawned\n", res
        # background too, still running when the session goes
        r = srv.post(f"/api/sandboxes/{sid}/commands",
                     {"cmd": f"exec -a {m}-bg sleep 1000", "background": True}, headers=A)
        assert r.status_code == 201
        assert wait_until(lambda: host_pids(f"{m}-bg"), timeout=10), "the background command never ran"
        seen = host_pids(m)
        assert seen, "nothing was left running: the probe proves nothing"
        assert set(seen) <= set(procs_of_uid(uid)), (seen, procs_of_uid(uid))
    finally:
        d = delete(srv, sid)
    assert d.status_code == 204
    gone = wait_until(lambda: procs_of_uid(uid) == [], timeout=10)
    assert gone, f"processes of uid {uid} outlived their session: {procs_of_uid(uid)}"
    intact(srv, m)


def test_detached_processes_die_when_the_session_times_out(srv):
    """The same escape, but the session ends by its own timeout, not by DELETE."""
    m = marker("detach-ttl")
    sid = create(srv, timeout_s=3)
    uid = int(sh(srv, sid, "id -u"))
    res = cmd(srv, sid, detach_script(m))
    assert res["status"] == "ok", res
    assert host_pids(m), "nothing was left running: the probe proves nothing"
    assert wait_until(lambda: srv.get(f"/api/sandboxes/{sid}", headers=A).status_code == 404,
                      timeout=15, step=0.1)
    assert wait_until(lambda: procs_of_uid(uid) == [], timeout=10), procs_of_uid(uid)
    intact(srv, m)


def test_a_session_cannot_reach_another_sessions_processes(srv):
    """kill -9 -1, /proc and ptrace from one session against another's running command."""
    m = marker("victim")
    with session(srv) as victim, session(srv) as attacker:
        r = srv.post(f"/api/sandboxes/{victim}/commands",
                     {"cmd": f"exec -a {m} sleep 1000", "background": True}, headers=A)
        vpid = r.json()["pid"]
        assert wait_until(lambda: host_pids(m), timeout=10)
        host_pid = host_pids(m)[0]
        out = sh(srv, attacker, f"kill -9 -1; kill -9 {host_pid} 2>/dev/null || echo no-such; "
                                f"ls /proc | grep -c '^{host_pid}$'; ps -eo args= | grep -c '^{m}'; echo done")
        assert out == "no-such\n0\n0\ndone\n", out
        assert host_pids(m) == [host_pid]
        c = srv.get(f"/api/sandboxes/{victim}/commands/{vpid}", headers=A).json()
        assert c["state"] == "running", c
        # the attacker's own session lives on after killing everything it could
        assert sh(srv, attacker, "echo still here") == "still here\n"
    intact(srv, m)


def test_nothing_carries_over_to_the_next_session(srv):
    """Files in /home/user, /tmp and /dev/shm, a running process: the next session (maybe the same uid) sees none."""
    m = marker("carry")
    with session(srv) as first:
        sh(srv, first, f"echo left > /home/user/{m}; echo left > /tmp/{m}; echo left > /dev/shm/{m} 2>/dev/null; "
                       f"chmod 777 /tmp/{m}; mkfifo /tmp/{m}.fifo")
        srv.post(f"/api/sandboxes/{first}/commands",
                 {"cmd": f"exec -a {m} sleep 1000", "background": True}, headers=A)
        assert wait_until(lambda: host_pids(m), timeout=10)
    assert wait_until(lambda: host_pids(m) == [], timeout=10)
    with session(srv) as second:
        out = sh(srv, second, f"ls -A /home/user /tmp /dev/shm 2>/dev/null | grep -c {m} || true; "
                              f"ps -eo args= | grep -c '^{m}' || true")
        assert out == "0\n0\n", out
        for p in (m, f"/tmp/{m}", f"/dev/shm/{m}"):
            assert read(srv, second, p).status_code == 404
    intact(srv, m)


def test_sessions_do_not_share_a_network(srv):
    """One session listens on loopback and on an abstract unix socket; another, and the host's API, are out of reach."""
    m = marker("net")
    listen = ("import socket, sys\n"
              "t = socket.socket(); t.bind(('127.0.0.1', 4444)); t.listen()\n"
              f"u = socket.socket(socket.AF_UNIX); u.bind('\\0{m}'); u.listen()\n"
              "print('up', flush=True)\n"
              "import time; time.sleep(1000)\n")
    connect = ("import socket, errno\n"
               "def tcp(port):\n"
               "    s = socket.socket(); s.settimeout(2)\n"
               "    try:\n        s.connect(('127.0.0.1', port)); return 'CONNECTED'\n"
               "    except OSError as e:\n        return errno.errorcode.get(e.errno, str(e))\n"
               "def unix(name):\n"
               "    s = socket.socket(socket.AF_UNIX)\n"
               "    try:\n        s.connect('\\0' + name); return 'CONNECTED'\n"
               "    except OSError as e:\n        return errno.errorcode.get(e.errno, str(e))\n"
               f"print(tcp(4444), unix('{m}'), tcp({srv.port}))\n")
    with session(srv) as a, session(srv) as b:
        r = srv.post(f"/api/sandboxes/{a}/commands",
                     {"argv": ["python3", "-c", listen], "background": True}, headers=A)
        pid = r.json()["pid"]
        assert wait_until(lambda: srv.get(f"/api/sandboxes/{a}/commands/{pid}", headers=A)
                          .json()["stdout"] == "up\n", timeout=10)
        # inside its own session the listener is there: the probe works
        def probe(sid):
            r = srv.post(f"/api/sandboxes/{sid}/commands", {"argv": ["python3", "-c", connect]},
                         headers=A)
            assert r.status_code == 200 and r.json()["status"] == "ok", r.text
            return r.json()["stdout"]
        assert probe(a).split()[:2] == ["CONNECTED", "CONNECTED"]
        out = probe(b)
        assert out == "ECONNREFUSED ECONNREFUSED ECONNREFUSED\n", out
    intact(srv)


# ---- resources ----

def test_memory_bomb_in_a_context(srv):
    """A 64 MB session allocates 500 MB in its python context."""
    with session(srv, limits={"memory_mb": 64}) as bomb, session(srv, headers=B) as other:
        execute(srv, other, "survivor = 'untouched'", headers=B)
        execute(srv, bomb, "before = 1")
        result = {}

        def go():
            result["ev"] = execute(srv, bomb, "x = b'x' * (500 << 20)\nprint('allocated')")
        t = threading.Thread(target=go)
        t.start()
        neighbour(srv)
        t.join(90)
        assert not t.is_alive(), "the cell never ended"
        ev = result["ev"]
        errs = [e for e in ev if e["type"] == "error"]
        assert len(errs) == 1, ev
        assert errs[0]["name"] == "ContextRestarted", errs
        assert "memory_limit_exceeded" in errs[0]["value"], errs
        assert "allocated" not in json.dumps(ev)
        # the server serves, the other session is unaffected, the context works again (fresh)
        assert srv.proc.poll() is None
        assert srv.get("/health").json()["status"] == "ok"
        ev = execute(srv, other, "survivor", headers=B)
        assert [e["data"]["text/plain"] for e in ev if e["type"] == "result"] == ["'untouched'"]
        ev = execute(srv, bomb, "print(6 * 7)")
        assert "".join(e["text"] for e in ev if e["type"] == "stdout") == "42\n", ev
        ev = execute(srv, bomb, "before")
        assert [e["name"] for e in ev if e["type"] == "error"] == ["NameError"]
        assert srv.get(f"/api/sandboxes/{bomb}", headers=A).json()["state"] == "running"
        # a command bombs the same way: its own status, the session lives
        res = cmd(srv, bomb, "python3 -c \"x = b'x' * (500 << 20)\"")
        assert res["status"] == "memory_limit_exceeded", res
        assert sh(srv, bomb, "echo ok") == "ok\n"
        # the tmpfs is charged to the session too
        res = cmd(srv, bomb, "head -c 200M /dev/zero > /tmp/fill; echo rc=$?", timeout_ms=20000)
        assert "rc=0" not in res["stdout"], res
        remove(srv, bomb, "/tmp/fill")
        assert sh(srv, bomb, "echo ok") == "ok\n"
    intact(srv)


def test_disk_and_process_limits_of_a_session(srv):
    """Fill the disk through commands and the files API; a fork bomb against limits.processes."""
    with session(srv, limits={"disk_mb": 8, "processes": 32}) as sid:
        res = cmd(srv, sid, "head -c 50M /dev/zero > big; echo rc=$?; stat -c %s big")
        assert "rc=0" not in res["stdout"] and int(res["stdout"].split()[-1]) <= 8 << 20, res
        sh(srv, sid, "rm -f big")
        assert put(srv, sid, "a.bin", b"a" * (5 << 20)).status_code == 200
        r = put(srv, sid, "b.bin", b"b" * (5 << 20))
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large", r.text
        remove(srv, sid, "a.bin")
        remove(srv, sid, "b.bin")
        t0 = time.monotonic()
        res = cmd(srv, sid, ":(){ :|:& };:", timeout_ms=5000)
        assert time.monotonic() - t0 < 20
        assert res["state"] == "exited", res
        neighbour(srv)
        assert sh(srv, sid, "echo survived") == "survived\n"
        # more running commands than the session's processes: refused
        pids = []
        for _ in range(40):
            r = srv.post(f"/api/sandboxes/{sid}/commands", {"cmd": "sleep 100", "background": True},
                         headers=A)
            if r.status_code != 201:
                break
            pids.append(r.json()["pid"])
        assert r.status_code == 429, r.text
        assert len(pids) <= 32
    intact(srv)


def test_stdin_flood_to_a_command_that_does_not_read(srv):
    """Megabytes of stdin to a command that never reads it: the server must not buffer them all."""
    with session(srv) as sid:
        r = srv.post(f"/api/sandboxes/{sid}/commands",
                     {"cmd": "sleep 1000", "background": True, "stdin_open": True}, headers=A)
        pid = r.json()["pid"]
        chunk = "x" * (256 << 10)
        accepted = 0
        for _ in range(40):                             # 10 MiB offered
            r = srv.post(f"/api/sandboxes/{sid}/commands/{pid}/stdin", {"data": chunk}, headers=A)
            if r.status_code != 204:
                break
            accepted += len(chunk)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited", r.text
        assert r.headers["Retry-After"] == "1"
        assert accepted <= 2 << 20, accepted
        neighbour(srv)
        assert srv.post(f"/api/sandboxes/{sid}/commands/{pid}/signal", {"signal": "SIGKILL"},
                        headers=A).status_code == 204
        res = srv.get(f"/api/sandboxes/{sid}/commands/{pid}?wait=true", headers=A, timeout=30).json()
        assert res["signal"] == 9, res
        assert sh(srv, sid, "echo fine") == "fine\n"
    intact(srv)


def test_host_environment_does_not_reach_a_session(srv):
    """The server's own environment (a secret in it) in commands, contexts and /proc."""
    with session(srv, env={"MINE": "ok"}) as sid:
        out = sh(srv, sid, "env; cat /proc/1/environ /proc/self/environ 2>/dev/null | tr '\\0' '\\n'")
        assert "MINE=ok" in out
        assert SECRET not in out and SECRET_ENV not in out
        ev = execute(srv, sid, "import os\nprint(sorted(os.environ.items()))")
        text = json.dumps(ev)
        assert SECRET not in text and SECRET_ENV not in text and "MINE" in text
        r = read(srv, sid, "/proc/1/environ")
        assert refused(r) and SECRET.encode() not in r.content
    intact(srv)


# ---- a session's end ends its streams ----

def test_timeout_ends_sessions_while_they_stream(srv):
    """The session's timeout passes while a command streams SSE, a follower waits and a cell streams NDJSON."""
    sid = create(srv, timeout_s=3)
    box = {}

    def stream_command():
        t0 = time.monotonic()
        with requests.post(url(srv, sid, "/commands"),
                           json={"cmd": "while true; do echo tick; sleep 0.2; done"},
                           headers={**A, "Accept": "text/event-stream"}, stream=True, timeout=60) as r:
            lines = [l for l in r.iter_lines(decode_unicode=True) if l]
        box["sse"] = (time.monotonic() - t0, lines)

    def stream_cell():
        t0 = time.monotonic()
        r = srv.post(f"/api/sandboxes/{sid}/execute",
                     {"code": "import time\nwhile True:\n    print('cell', flush=True)\n    time.sleep(0.2)"},
                     headers=A, timeout=60)
        box["cell"] = (time.monotonic() - t0, [json.loads(l) for l in r.text.splitlines() if l])

    def follow():
        r = srv.post(f"/api/sandboxes/{sid}/commands", {"cmd": "sleep 1000", "background": True}, headers=A)
        pid = r.json()["pid"]
        t0 = time.monotonic()
        g = srv.get(f"/api/sandboxes/{sid}/commands/{pid}?wait=true", headers=A, timeout=60)
        box["follow"] = (time.monotonic() - t0, g.status_code, g.json())
    ts = [threading.Thread(target=f) for f in (stream_command, stream_cell, follow)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts), "a stream hung after its session ended"
    took, lines = box["sse"]
    assert took < 15, took
    assert lines[0] == "event: start", lines[:4]
    assert 'data: {"type":"stdout","data":"tick\\n"}' in lines
    assert lines[-2] == "event: exit", lines[-4:]
    end = json.loads(lines[-1][6:])
    assert end["state"] == "exited" and end["status"] in ("cancelled", "killed"), end
    took, events = box["cell"]
    assert took < 15 and events[-1]["type"] == "end", events[-3:]
    assert any(e["type"] == "stdout" for e in events)
    assert [e["name"] for e in events if e["type"] == "error"] == ["ContextRestarted"], events[-3:]
    took, code, res = box["follow"]
    assert took < 15 and code == 200 and res["state"] == "exited", res
    assert srv.get(f"/api/sandboxes/{sid}", headers=A).status_code == 404
    intact(srv)


def test_delete_while_streaming_and_reading(srv):
    """DELETE lands while a command streams and a cell runs: both streams end at once."""
    sid = create(srv)
    box = {}
    started = threading.Event()

    def stream_command():
        with requests.post(url(srv, sid, "/commands"), json={"cmd": "while true; do echo tick; sleep 0.1; done"},
                           headers={**A, "Accept": "text/event-stream"}, stream=True, timeout=60) as r:
            lines = []
            for l in r.iter_lines(decode_unicode=True):
                if l:
                    lines.append(l)
                    started.set()
        box["sse"] = lines
    t = threading.Thread(target=stream_command)
    t.start()
    assert started.wait(20)
    t0 = time.monotonic()
    assert delete(srv, sid).status_code == 204
    t.join(30)
    assert not t.is_alive(), "the stream hung after DELETE"
    assert time.monotonic() - t0 < 10
    assert box["sse"][-2] == "event: exit", box["sse"][-3:]
    intact(srv)


# ---- another key ----

def test_another_key_cannot_reach_the_session(srv):
    """bob knows alice's session id: reads her secret file, runs code in it, extends or deletes it."""
    secret = "alice-" + uuid.uuid4().hex
    with session(srv, metadata={"owner": "alice"}) as sid:
        assert put(srv, sid, "secret.txt", secret.encode()).status_code == 200
        execute(srv, sid, f"token = {secret!r}")
        pid = srv.post(f"/api/sandboxes/{sid}/commands", {"cmd": f"echo {secret}; sleep 1000",
                                                          "background": True}, headers=A).json()["pid"]
        ctx = srv.get(f"/api/sandboxes/{sid}/contexts", headers=A).json()["contexts"][0]["id"]
        attempts = [
            ("GET", "", None), ("GET", "/files?path=secret.txt", None),
            ("GET", "/files?path=/home/user/secret.txt", None), ("GET", "/files/list", None),
            ("GET", "/files/stat?path=secret.txt", None), ("GET", f"/commands/{pid}", None),
            ("GET", f"/commands/{pid}?wait=true", None), ("GET", "/commands", None),
            ("GET", "/contexts", None),
            ("POST", "/commands", {"cmd": "cat secret.txt"}),
            ("POST", "/execute", {"code": "print(token)"}),
            ("POST", "/execute", {"code": "print(token)", "context_id": ctx}),
            ("POST", "/contexts", {"language": "bash"}),
            ("POST", f"/contexts/{ctx}/restart", {}), ("POST", f"/contexts/{ctx}/interrupt", {}),
            ("POST", f"/commands/{pid}/signal", {"signal": "SIGKILL"}),
            ("POST", f"/commands/{pid}/stdin", {"data": "x"}),
            ("POST", "/timeout", {"timeout_s": 1}),
            ("POST", "/files/move", {"from": "secret.txt", "to": "/tmp/s"}),
            ("POST", "/files/mkdir", {"path": "bob"}),
            ("PUT", "/files?path=secret.txt", b"bob was here"),
            ("DELETE", "/files?path=secret.txt", None),
            ("DELETE", f"/contexts/{ctx}", None),
            ("DELETE", "", None),
        ]
        for method, tail, body in attempts:
            if method == "POST":
                r = srv.post(f"/api/sandboxes/{sid}{tail}", body, headers=B)
            elif method == "PUT":
                r = requests.put(url(srv, sid, tail), data=body, headers=B, timeout=30)
            else:
                r = requests.request(method, url(srv, sid, tail), headers=B, timeout=30)
            assert r.status_code == 404, (method, tail, r.status_code, r.text)
            assert r.json() == {"error": {"code": "not_found", "message": "no such sandbox"}}, (method, tail)
            assert secret not in r.text
        # without a key, or with a wrong one: 401
        for h in ({}, {"X-API-Key": "guess"}, {"Authorization": "Bearer ka-attack-sess-x"}):
            assert requests.get(url(srv, sid, "/files"), params={"path": "secret.txt"}, headers=h).status_code == 401
        listed = srv.get("/api/sandboxes?metadata=owner%3Dalice", headers=B).json()
        assert listed == {"sandboxes": [], "total": 0}
        assert secret not in srv.get("/api/sandboxes", headers=B).text
        # alice's session: all there
        assert read(srv, sid, "secret.txt").content == secret.encode()
        ev = execute(srv, sid, "token")
        assert [e["data"]["text/plain"] for e in ev if e["type"] == "result"] == [repr(secret)]
        c = srv.get(f"/api/sandboxes/{sid}/commands/{pid}", headers=A).json()
        assert c["state"] == "running" and c["stdout"] == secret + "\n"
        assert srv.get(f"/api/sandboxes/{sid}", headers=A).json()["timeout_s"] > 60
        assert sh(srv, sid, "ls /tmp/s bob 2>/dev/null | wc -l") == "0\n"
    intact(srv)


def test_session_ids_are_unguessable(srv):
    """Ids are long and random; a near miss (case, prefix, suffix) finds nothing."""
    ids = [create(srv) for _ in range(3)]
    try:
        for sid in ids:
            assert re.fullmatch(r"[a-z0-9]{20}", sid), sid
        assert len(set(ids)) == 3
        sid = ids[0]
        for guess in (sid.upper(), sid[:-1], sid + "0", sid[:10], "*", "%2A", sid + "%00"):
            r = srv.get(f"/api/sandboxes/{guess}", headers=A)
            assert r.status_code == 404, (guess, r.status_code)
    finally:
        for sid in ids:
            delete(srv, sid)
    intact(srv)
