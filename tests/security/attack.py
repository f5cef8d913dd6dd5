"""Shared by the attack suite (tests/security/test_attack_*.py): the server
the attacks go to, the host's canaries, and what "intact" means.

Every program in the suite is hostile, and goes in over HTTP
(`POST /api/execute`) like any client's code. Each test asserts two things:
the attack failed (the exact status, errno or output), and the host and the
other sandboxes are unchanged afterwards (`intact`: host canary files and
system files untouched, no sandbox process left, the server healthy and still
running a neighbour's `print(6*7)`). Resource attacks also run a neighbour
*while* they are running.

An attack that currently succeeds would be marked `xfail(strict=True)` with a
reason starting `VULNERABILITY` or `LEAK`: the test asserts the secure
behaviour and turns into a failure (XPASS) once the hole is closed, so the
marker must then go. None is marked today; see docs/security.md.
"""
import base64
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import ROOT, UID_BASE, sandbox_processes  # noqa: E402,F401 (ROOT, UID_BASE: for the tests)
from server import Server, wait_until  # noqa: E402

SECRET_ENV = "SOULBOX_ATTACK_TEST_SECRET"
SECRET = "host-secret-" + uuid.uuid4().hex
RUN_ID = uuid.uuid4().hex[:10]


def marker(name):
    """A string unique to this test run, for `pgrep -f` on the host."""
    return f"sbx-attack-{name}-{RUN_ID}"


# ---- the server, the host's canaries, and what "intact" means ----

def _file_state(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    digest = None
    if os.path.isfile(path) and not os.path.islink(path):
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
    return (digest, st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns)


def host_state(s):
    """What no sandbox may change: canaries, system files, the server's config,
    the compile cache (no symlinks in it), and the top of the host tree."""
    files = [s.host_canary, s.private_canary, s.config, "/etc/passwd", "/etc/shadow",
             "/etc/group", "/etc/hostname", "/etc/hosts"]
    state = {p: _file_state(p) for p in files}
    for d in ("/", "/usr", "/etc", s.tmp, s.data_dir):
        state["ls " + d] = sorted(os.listdir(d))
    links = []
    for dirpath, dirnames, filenames in os.walk(s.cache_dir):
        links += [os.path.join(dirpath, n) for n in dirnames + filenames
                  if os.path.islink(os.path.join(dirpath, n))]
    state["cache symlinks"] = links
    with open("/proc/sys/kernel/core_pattern") as f:
        state["core_pattern"] = f.read()
    with open("/proc/sys/kernel/hostname") as f:
        state["hostname"] = f.read()
    # the host's network: firewall rules, interfaces, routes (egress lives in
    # each sandbox's own namespace and must never touch these)
    for cmd in (["nft", "list", "ruleset"], ["ip", "-o", "link"], ["ip", "route"],
                ["ip", "-6", "route"]):
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        state[" ".join(cmd)] = re.sub(r"\s+(expires|used) \S+", "", out)
    return state


@contextlib.contextmanager
def attack_server(base, name="", env=None, neighbour_key=None, sandbox_extra=""):
    """A running server for attacks, with the host's canaries and the baseline
    `intact` compares with. With API keys in env, the neighbour of `intact`
    runs with neighbour_key. sandbox_extra: more of the config's sandbox
    section (indented by two spaces)."""
    cache = base / "cache"
    s = Server(f"server:\n  max_concurrent: 8\nsandbox:\n  compile_cache_dir: {cache}\n"
               + sandbox_extra,
               env={SECRET_ENV: SECRET, **(env or {})})
    s.cache_dir = str(cache)
    s.neighbour_headers = {"X-API-Key": neighbour_key} if neighbour_key else {}
    # A host file where sandboxes write their own files (/tmp), under a name an
    # attack can guess, and one next to the server's config and data.
    s.host_canary = f"/tmp/soulbox-canary-{RUN_ID}" + (f"-{name}" if name else "")
    with open(s.host_canary, "w") as f:
        f.write("#!/bin/sh\necho HOST FILE FOLLOWED\n")
    os.chmod(s.host_canary, 0o755)
    s.private_canary = os.path.join(s.tmp, "canary")
    with open(s.private_canary, "w") as f:
        f.write(SECRET + "\n")
    try:
        with s:
            s.wait_languages()
            s.baseline = host_state(s)
            yield s
    finally:
        os.unlink(s.host_canary)


@pytest.fixture(scope="module")
def srv(tmp_path_factory, request):
    with attack_server(tmp_path_factory.mktemp("attacks")) as s:
        s.via = {"compat": 0, "native": 0}
        yield s
    if VIA:
        _report_via(request.module.__name__, s.via)


def _ancestry(pid):
    """(pid, comm) from the process up to init."""
    chain = []
    while pid > 1 and len(chain) < 64:
        try:
            with open(f"/proc/{pid}/stat") as f:
                data = f.read()
        except OSError:
            break
        comm = data[data.index("(") + 1:data.rindex(")")]
        chain.append((pid, comm))
        pid = int(data[data.rindex(")") + 2:].split()[1])
    return chain


def leftovers(s):
    """Live processes with a sandbox uid that belong to this server, or to no
    SoulBox at all (an escapee is re-parented away from its server). Other
    SoulBox instances on the same machine (other test sessions) are theirs."""
    mine = []
    for status in sandbox_processes():
        pid = int(status.split("/")[2])
        chain = _ancestry(pid)[1:]
        owner = next((p for p, comm in chain if comm.startswith("soulbox") and
                      comm != "soulbox-agent"), None)
        if owner is None or owner == s.proc.pid:
            mine.append(status)
    return mine


def host_pids(pattern):
    """Host processes whose command line contains pattern (pgrep -f)."""
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def assert_gone(pattern):
    """Nothing with this marker survives on the host (polled up to 10 s)."""
    left = wait_until(lambda: host_pids(pattern) == [], timeout=10)
    assert left, f"survivors on the host: {host_pids(pattern)} ({pattern})"


def neighbour(s, limit_s=5.0):
    """Another client's ordinary run: correct output, in sane time."""
    t0 = time.monotonic()
    r = s.execute({"language": "python", "code": "print(6*7)"}, headers=s.neighbour_headers)
    took = time.monotonic() - t0
    assert r.status_code == 200, r.text
    res = r.json()
    assert (res["status"], res["stdout"], res["exit_code"]) == ("ok", "42\n", 0), res
    assert took < limit_s, f"neighbour took {took:.2f} s"
    return took


def intact(s, *markers):
    """The host and the service are unchanged by the attack that just ran."""
    for m in markers:
        assert_gone(m)
    left = wait_until(lambda: leftovers(s) == [], timeout=10)
    assert left, f"sandbox processes left: {leftovers(s)}"
    assert host_state(s) == s.baseline
    assert s.proc.poll() is None, "the server died"
    h = s.get("/health")
    assert h.status_code == 200 and h.json()["status"] == "ok", h.text
    neighbour(s)


# make check-microvm runs the filesystem, kernel-surface and resource attacks
# again with every attack inside a microVM (the neighbour stays on namespaces).
ISOLATION = os.environ.get("SOULBOX_ATTACK_ISOLATION")


# make check-piston runs the attacks again with every run() submitted through Piston's
# POST /api/v2/execute and every Background through its WebSocket (no endpoint is a way
# around a limit); the verdict is then read from the native record of the same
# execution. What Piston cannot say (processes, disk, open files...) stays native.
VIA = os.environ.get("SOULBOX_ATTACK_VIA")


def _piston_exit(native):
    """[code, signal] of Piston's run stage for a native verdict (docs/compat.md)."""
    st = native["status"]
    if st in ("time_limit_exceeded", "output_limit_exceeded"):
        return [None, "SIGKILL"]
    if st == "memory_limit_exceeded":
        return [137, None]
    if st == "internal_error":
        return [None, None]
    return [128 + native["signal"] if native.get("signal") else native["exit_code"], None]


PISTON_LIMITS = {"wall_time_ms": ("run_timeout", 1), "cpu_time_ms": ("run_cpu_time", 1),
                 "memory_mb": ("run_memory_limit", 1 << 20)}


def _count(s, how):
    if hasattr(s, "via"):          # servers of srv (others, such as egress's, are not counted)
        s.via[how] += 1


def _report_via(module, counts):
    """How many of a module's runs went through the compat API, appended to
    $SOULBOX_ATTACK_VIA_REPORT (make check-piston/check-judge0 print it). A
    module none of whose runs went through it would test nothing there."""
    line = f"{VIA}: {module}: {counts['compat']} runs through {VIA}, " \
           f"{counts['native']} native (what {VIA} cannot say)\n"
    if os.environ.get("SOULBOX_ATTACK_VIA_REPORT"):
        with open(os.environ["SOULBOX_ATTACK_VIA_REPORT"], "a") as f:
            f.write(line)
    assert counts["compat"] > 0 or not counts["native"], line


def _via_piston(s, body):
    """body (native) as a Piston request, or None when Piston cannot say it
    (other limits, env, network...: those runs stay native)."""
    limits = body.get("limits") or {}
    if set(body) - {"language", "code", "files", "stdin", "args", "limits"} or \
            set(limits) - set(PISTON_LIMITS):
        return None
    files = body.get("files") or [{"content": body["code"]}]
    p = {"language": body["language"], "version": "*", "files": files,
         "args": body.get("args", []), "stdin": body.get("stdin") or ""}
    for k, v in limits.items():
        p[PISTON_LIMITS[k][0]] = v * PISTON_LIMITS[k][1]
    return p


def _run_piston(s, body):
    p = _via_piston(s, body)
    if p is None:
        return None
    r = requests.post(s.url + "/api/v2/execute", data=json.dumps(p),
                      headers={"Content-Type": "text/plain;charset=UTF-8"}, timeout=120)
    assert r.status_code == 200, r.text
    piston = r.json()
    assert set(piston["run"]) >= {"stdout", "stderr", "code", "signal", "status"}, piston
    native = s.get("/api/executions/" + r.headers["X-SoulBox-Execution-Id"]).json()
    # Piston's view agrees with the native verdict
    want = {"ok": None, "time_limit_exceeded": "TO", "runtime_error": "RE",
            "memory_limit_exceeded": "RE", "compile_error": "RE", "internal_error": "XX"}
    if native["status"] in want:
        assert piston["run"]["status"] == want[native["status"]], (piston, native)
    return native


# make check-judge0 does the same through Judge0's POST /submissions?wait=true, and
# create + poll for a Background (its token is the execution's id): what Judge0 cannot
# say stays native.
JUDGE0_IDS = {"python": 71, "c": 50, "cpp": 54, "bash": 46, "javascript": 63, "go": 60,
              "rust": 73, "java": 62, "ruby": 72, "perl": 85, "php": 68}
JUDGE0_LIMITS = {"wall_time_ms": ("wall_time_limit", 1e-3, 1, 20),
                 "cpu_time_ms": ("cpu_time_limit", 1e-3, 0.001, 15),
                 "memory_mb": ("memory_limit", 1024, 2048, 512000),
                 "processes": ("max_processes_and_or_threads", 1, 1, 120),
                 "file_size_kb": ("max_file_size", 1, 1, 4096)}


def _via_judge0(body):
    """body (native) as a Judge0 submission, or None when Judge0 cannot say it."""
    limits = body.get("limits") or {}
    if set(body) - {"language", "code", "stdin", "args", "limits"} or \
            set(limits) - set(JUDGE0_LIMITS) or body["language"] not in JUDGE0_IDS or \
            any(not a or set(a) & set(" \t\n'\"$&;<>|`") for a in body.get("args", [])):
        return None
    # cpu_extra_time 0: killed at the limit itself, as the native request is
    j = {"language_id": JUDGE0_IDS[body["language"]], "source_code": body.get("code"),
         "stdin": body.get("stdin"), "cpu_extra_time": 0}
    if body.get("args"):
        j["command_line_arguments"] = " ".join(body["args"])
    for k, v in limits.items():
        name, scale, lo, hi = JUDGE0_LIMITS[k]
        if not lo <= v * scale <= hi:
            return None
        j[name] = v * scale
    return j


# a program that names or lists its own file expects SoulBox's name (main.py), not
# Judge0's (script.py)
OWN_FILE = re.compile(r"main\.|\bls [^\n;|]*/workspace(\s|$)|listdir\('/workspace'\)")


def _judge0_submission(body):
    """body as the JSON of a submission with base64_encoded=true, or None when Judge0
    cannot say it (or the program names its own file)."""
    j = _via_judge0(body)
    src = j["source_code"] if j else ""
    if j is None or not src.strip() or OWN_FILE.search(src):
        return None
    return {**j, "source_code": base64.b64encode(src.encode()).decode(),
            "stdin": base64.b64encode(j["stdin"].encode()).decode() if j["stdin"] else None}


def _run_judge0(s, body):
    sub = _judge0_submission(body)
    if sub is None:
        return None
    r = requests.post(s.url + "/submissions?wait=true&base64_encoded=true&fields=*", json=sub,
                      timeout=120)
    assert r.status_code == 201, r.text
    judge0 = r.json()
    native = s.get("/api/executions/" + judge0["token"]).json()
    _check_judge0(judge0["status"]["id"], native)
    return native


NOT_THE_PROGRAM = {"soulbox-agent", "cc1", "cc1plus", "gcc", "g++", "cc", "as", "ld", "collect2"}


def _program_running(s):
    """A process of the run stage (not the agent, not the compiler) is alive in one of s's
    sandboxes: what an attack's first output says on the streaming routes."""
    for status in leftovers(s):
        try:
            with open(status.replace("status", "comm")) as f:
                if f.read().strip() not in NOT_THE_PROGRAM:
                    return True
        except OSError:
            pass
    return False


def _check_judge0(status_id, native):
    """Judge0's verdict agrees with the native one."""
    want = {"ok": (3, 4), "time_limit_exceeded": (5,), "runtime_error": (11,),
            "memory_limit_exceeded": (11,), "output_limit_exceeded": (11,),
            "compile_error": (6,), "internal_error": (13,)}
    if native["status"] in want:
        assert status_id in want[native["status"]], (status_id, native)


def run(s, language, code=None, limits=None, files=None, args=None, **extra):
    body = {"language": language, **extra}
    if ISOLATION:
        body.setdefault("isolation", ISOLATION)
    if code is not None:
        body["code"] = code
    if files is not None:
        body["files"] = files
    if limits:
        body["limits"] = limits
    if args:
        body["args"] = args
    if VIA:
        native = (_run_piston if VIA == "piston" else _run_judge0)(s, body)
        if native is not None:
            _count(s, "compat")
            return native
        _count(s, "native")
    r = s.execute(body)
    assert r.status_code == 200, r.text
    return r.json()


class Background:
    """An execution started in a thread. With sse (the default) it streams
    Server-Sent Events, so `started()` returns once the program has printed its
    first output: from then on it is certainly running."""

    def __init__(self, s, body, sse=True):
        if ISOLATION:
            body = dict(body, isolation=body.get("isolation", ISOLATION))
        self.result = None
        self.error = None
        self.output = threading.Event()
        self.done = threading.Event()
        target = self._sse if sse else self._sync
        # through the compat API when it can say the request: Piston's WebSocket (its
        # streaming route), Judge0's create + poll (its asynchronous one)
        compat = (_via_piston(s, body) if VIA == "piston" else
                  _judge0_submission(body) if VIA == "judge0" else None)
        if compat is not None:
            target, body = (self._piston_ws if VIA == "piston" else self._judge0_poll), compat
        if VIA:
            _count(s, "native" if target in (self._sse, self._sync) else "compat")
        self.thread = threading.Thread(target=target, args=(s, body), daemon=True)
        self.thread.start()

    def _piston_ws(self, s, init):
        """Piston's /api/v2/connect: output events mark the start; the exit message ends it,
        and the verdict is the native record of the same (interactive) execution."""
        import asyncio
        import websockets

        async def session():
            async with websockets.connect(s.url.replace("http", "ws") + "/api/v2/connect",
                                          open_timeout=10, close_timeout=5) as ws:
                await ws.send(json.dumps({"type": "init", **init}))
                stage = None
                async for raw in ws:
                    msg = json.loads(raw)
                    if msg["type"] == "stage":
                        stage = msg["stage"]
                    elif msg["type"] == "data" and stage == "run":
                        self.output.set()
                    elif msg["type"] == "error":
                        raise AssertionError(f"piston error: {msg}")
                    elif msg["type"] == "exit" and msg["stage"] == "run":
                        return msg
            raise AssertionError("the WebSocket closed without a run exit")
        def verdict():
            exit_msg = asyncio.run(asyncio.wait_for(session(), 90))
            rows = s.get("/api/executions?limit=20").json()["executions"]
            row = next(r for r in rows if r["mode"] == "interactive" and
                       r["language"] == init["language"])
            native = s.get("/api/executions/" + row["id"]).json()
            assert [exit_msg["code"], exit_msg["signal"]] == _piston_exit(native), \
                (exit_msg, native)
            return native
        self._settle(verdict)

    def _settle(self, verdict):
        """self.result = verdict(), or the error finish() raises; either way it is over."""
        try:
            self.result = verdict()
        except Exception as e:  # reported by finish()
            self.error = e
        finally:
            self.done.set()
            self.output.set()

    def _judge0_poll(self, s, sub):
        """Judge0's POST /submissions then GET /submissions/{token} until it ends, as its
        clients poll: 2 Processing marks the start (Judge0 streams no output)."""
        def verdict():
            r = requests.post(s.url + "/submissions?base64_encoded=true", json=sub, timeout=30)
            assert r.status_code == 201, r.text
            token = r.json()["token"]
            status = 1
            deadline = time.monotonic() + 90
            while status <= 2 and time.monotonic() < deadline:
                time.sleep(0.05)
                status = requests.get(f"{s.url}/submissions/{token}?fields=status_id",
                                      timeout=10).json()["status_id"]
                if status == 2 and _program_running(s):
                    self.output.set()
            assert status > 2, "the submission never ended"
            native = s.get("/api/executions/" + token).json()
            _check_judge0(status, native)
            return native
        self._settle(verdict)

    def _sse(self, s, body):
        try:
            with requests.post(s.url + "/api/execute", data=json.dumps(body), stream=True,
                               headers={"Content-Type": "application/json",
                                        "Accept": "text/event-stream"}, timeout=90) as r:
                assert r.status_code == 200, r.text
                event = None
                for line in r.iter_lines():
                    line = line.decode()
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        if event in ("stdout", "stderr"):
                            self.output.set()
                        elif event == "exit":
                            self.result = json.loads(line[6:])
        except Exception as e:  # reported by finish()
            self.error = e
        finally:
            self.done.set()
            self.output.set()

    def _sync(self, s, body):
        try:
            r = s.execute(body, timeout=90)
            assert r.status_code == 200, r.text
            self.result = r.json()
        except Exception as e:
            self.error = e
        finally:
            self.done.set()

    def started(self, timeout=30):
        assert self.output.wait(timeout), "the attack printed nothing"
        assert not self.done.is_set(), f"the attack already ended: {self.result or self.error}"
        return self

    def running(self):
        return not self.done.is_set()

    def finish(self, timeout=90):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the attack's request never returned"
        if self.error:
            raise self.error
        assert self.result is not None
        return self.result


def neighbour_during(s, attack, still_running_after=True):
    """While `attack` runs, a neighbour's request still completes correctly."""
    attack.started()
    took = neighbour(s)
    if still_running_after:
        assert attack.running(), "the attack ended before the neighbour: nothing was tested"
    return took


def c_body(src, *args, limits=None, **extra):
    body = {"language": "c", "code": src, "args": list(args), **extra}
    if limits:
        body["limits"] = limits
    return body
