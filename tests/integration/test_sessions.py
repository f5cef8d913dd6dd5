"""Sessions through the native REST API: long-lived sandboxes (/api/sandboxes)
with commands, files and code contexts, against the real `soulbox serve`.

One keyed server for the module (alice, bob, and the admin ops), and a second
small one for the quotas, the maximum timeout and the idle timeout. Every test
ends the sessions it made (`session()` deletes on the way out)."""
import base64
import contextlib
import hashlib
import json
import os
import re
import threading
import time
import uuid

import pytest
import requests

from conftest import UID_BASE, UID_COUNT, sandbox_processes
from server import Server, wait_until

KEYS = "alice:ka-sess-secret,bob:kb-sess-secret,ops:kops-sess-secret"
A = {"X-API-Key": "ka-sess-secret"}
B = {"X-API-Key": "kb-sess-secret"}
OPS = {"X-API-Key": "kops-sess-secret"}
RUN = uuid.uuid4().hex[:8]

# python, bash and javascript are what the four templates need; only these
# three are probed.
LANGS = "sandbox:\n  languages: [python, bash, javascript]\n"
MAIN_CFG = "sessions:\n  max_ttl_ms: 600000\n  default_ttl_ms: 120000\n" + LANGS
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _ancestors(pid):
    chain = []
    while pid > 1 and len(chain) < 64:
        try:
            with open(f"/proc/{pid}/stat") as f:
                data = f.read()
        except OSError:
            break
        chain.append((pid, data[data.index("(") + 1:data.rindex(")")]))
        pid = int(data[data.rindex(")") + 2:].split()[1])
    return chain


def leftovers(s):
    """Live processes with a sandbox uid that belong to this server, or to no
    SoulBox at all (an escapee is re-parented away from its server). Other
    SoulBox servers on this machine (someone else's tests) keep theirs."""
    mine = []
    for status in sandbox_processes():
        chain = _ancestors(int(status.split("/")[2]))[1:]
        owner = next((p for p, comm in chain if comm.startswith("soulbox") and
                      comm != "soulbox-agent"), None)
        if owner is None or owner == s.proc.pid:
            mine.append(status)
    return mine


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind():
    """Replaces conftest's suite-wide check for this module: that one counts
    every sandbox process on the machine, other servers' warm pools included.
    Here each server checks its own when it stops (see `serving`)."""
    yield


@contextlib.contextmanager
def serving(s):
    """The server, then: every session ended, none of its processes left."""
    with s:
        yield s
        assert wait_until(lambda: s.get("/api/sandboxes", headers=OPS).json()["total"] == 0,
                          timeout=10), s.get("/api/sandboxes", headers=OPS).json()
        assert wait_until(lambda: leftovers(s) == [], timeout=10), leftovers(s)


@pytest.fixture(scope="module")
def srv():
    s = Server(MAIN_CFG, env={"SOULBOX_API_KEYS": KEYS, "SOULBOX_ADMIN_KEYS": "ops"},
               all_languages=True)
    with serving(s):
        yield s


# ---- helpers ----

def url(s, sid, tail=""):
    return f"{s.url}/api/sandboxes/{sid}{tail}"


def create(s, headers=A, expect=201, **body):
    r = s.post("/api/sandboxes", body, headers=headers)
    assert r.status_code == expect, r.text
    return r.json()


def delete(s, sid, headers=A):
    return requests.delete(url(s, sid), headers=headers, timeout=30)


@contextlib.contextmanager
def session(s, headers=A, **body):
    sb = create(s, headers=headers, **body)
    try:
        yield sb
    finally:
        delete(s, sb["id"], headers=headers)


def run(s, sid, headers=A, expect=200, **body):
    """A foreground command: its result."""
    r = s.post(f"/api/sandboxes/{sid}/commands", body, headers=headers)
    assert r.status_code == expect, r.text
    return r.json()


def sh(s, sid, line, **kw):
    res = run(s, sid, cmd=line, **kw)
    assert res["status"] == "ok", res
    return res["stdout"]


def sse(resp):
    """(event, data) of a Server-Sent Events response, in order."""
    out, event = [], None
    for line in resp.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            out.append((event, json.loads(line[6:])))
    return out


def execute(s, sid, code, headers=A, **kw):
    """One cell: the events of its NDJSON stream."""
    r = s.post(f"/api/sandboxes/{sid}/execute", dict(code=code, **kw), headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/x-ndjson"), r.headers
    events = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    assert events and events[-1]["type"] == "end", events
    return events


def out(events, kind="stdout"):
    return "".join(e["text"] for e in events if e["type"] == kind)


def results(events):
    return [e for e in events if e["type"] == "result"]


def errors(events):
    return [e for e in events if e["type"] == "error"]


def new_context(s, sid, headers=A, **body):
    r = s.post(f"/api/sandboxes/{sid}/contexts", body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def put(s, sid, path, data, headers=A):
    return requests.put(url(s, sid, "/files"), params={"path": path}, data=data,
                        headers=headers, timeout=60)


def read(s, sid, path, headers=A, **params):
    return requests.get(url(s, sid, "/files"), params={"path": path, **params},
                        headers=headers, timeout=60)


def err_code(r):
    return r.json()["error"]["code"]


# ---- templates ----

def test_templates_are_the_four_with_aliases_and_default_contexts(srv):
    r = srv.get("/api/templates", headers=A)
    assert r.status_code == 200, r.text
    got = {t["name"]: t for t in r.json()["templates"]}
    assert set(got) == {"base", "python", "code-interpreter", "node"}
    assert "code-interpreter-v1" in got["code-interpreter"]["aliases"]
    assert {n: t["default_context"] for n, t in got.items()} == {
        "base": "python", "python": "python", "code-interpreter": "python",
        "node": "javascript"}
    assert set(got["code-interpreter"]["languages"]) == {"python", "javascript", "bash"}
    for t in got.values():
        assert set(t) == {"name", "aliases", "description", "languages", "default_context"}
        assert t["description"]


def test_every_route_needs_a_key(srv):
    sid = "x" * 20
    assert srv.get("/api/templates").status_code == 401
    assert srv.post("/api/sandboxes", {}).status_code == 401
    assert srv.get("/api/sandboxes").status_code == 401
    assert srv.get(f"/api/sandboxes/{sid}").status_code == 401
    assert requests.delete(url(srv, sid)).status_code == 401
    r = srv.get("/api/sandboxes", headers={"X-API-Key": "wrong"})
    assert r.status_code == 401 and err_code(r) == "unauthenticated", r.text


# ---- create, get, list, delete ----

def test_create_get_list_delete(srv):
    r = srv.post("/api/sandboxes", {"template": "base", "timeout_s": 300,
                                    "metadata": {"owner": "t1", "run": RUN}}, headers=A)
    assert r.status_code == 201, r.text
    sb = r.json()
    sid = sb["id"]
    assert r.headers["Location"] == f"/api/sandboxes/{sid}"
    assert set(sb) == {"id", "template", "state", "created_at", "ends_at", "timeout_s",
                       "metadata", "limits", "usage", "network", "isolation"}
    assert sb["network"] == {"enabled": False, "allow": []}
    assert sb["isolation"] == "namespaces"
    assert sb["template"] == "base" and sb["state"] == "running"
    assert 298 <= sb["timeout_s"] <= 300, sb
    assert sb["metadata"] == {"owner": "t1", "run": RUN}
    assert set(sb["limits"]) == {"memory_mb", "disk_mb", "max_cpu_percent", "processes",
                                 "open_files", "output_mb"}
    assert set(sb["usage"]) == {"memory_bytes", "output_bytes", "commands", "contexts"}
    assert sb["usage"]["commands"] == sb["usage"]["contexts"] == sb["usage"]["output_bytes"] == 0
    assert sb["created_at"].endswith("Z") and sb["ends_at"] > sb["created_at"]
    try:
        g = srv.get(f"/api/sandboxes/{sid}", headers=A)
        assert g.status_code == 200
        assert {k: v for k, v in g.json().items() if k not in ("timeout_s", "usage")} == \
            {k: v for k, v in sb.items() if k not in ("timeout_s", "usage")}
        listed = srv.get("/api/sandboxes", headers=A).json()
        assert sid in [x["id"] for x in listed["sandboxes"]]
        assert listed["total"] == len(listed["sandboxes"])
    finally:
        d = delete(srv, sid)
    assert d.status_code == 204 and d.content == b""
    g = srv.get(f"/api/sandboxes/{sid}", headers=A)
    assert g.status_code == 404
    assert g.json() == {"error": {"code": "not_found", "message": "no such sandbox"}}
    assert delete(srv, sid).status_code == 404
    assert sid not in [x["id"] for x in srv.get("/api/sandboxes", headers=A).json()["sandboxes"]]
    r = srv.post(f"/api/sandboxes/{sid}/commands", {"cmd": "true"}, headers=A)
    assert r.status_code == 404


def test_template_by_alias_and_by_language(srv):
    with session(srv, template="code-interpreter-v1") as sb:
        assert sb["template"] == "code-interpreter"
        assert sb["limits"]["memory_mb"] == 1024        # the template's own default
    with session(srv, language="python") as sb:
        assert sb["template"] == "python"
    with session(srv, template="nodejs") as sb:
        assert sb["template"] == "node"
    with session(srv) as sb:
        assert sb["template"] == "base"


def test_limits_are_taken_and_reported(srv):
    lim = {"memory_mb": 256, "disk_mb": 64, "output_mb": 8, "max_cpu_percent": 50,
           "processes": 40, "open_files": 128}
    with session(srv, limits=lim) as sb:
        assert sb["limits"] == lim
        assert sh(srv, sb["id"], "ulimit -n") == "128\n"
        res = run(srv, sb["id"], argv=["python3", "-c", "b = b'x' * (400 << 20); print(len(b))"])
        assert res["status"] == "memory_limit_exceeded" and res["stdout"] == "", res
        # the session lives on
        assert sh(srv, sb["id"], "echo ok") == "ok\n"


@pytest.mark.parametrize("body,code,needle", [
    ({"template": "base", "colour": "red"}, "invalid_argument", "unknown field 'colour'"),
    ({"template": "no-such-template"}, "invalid_argument", "unknown template 'no-such-template'"),
    ({"template": 7}, "invalid_argument", "must be strings"),
    ({"network": True}, "invalid_argument",
     "network: this server does not allow network access (sandbox.security.enable_network"),
    ({"network": "yes"}, "invalid_argument", "network: must be an object"),
    ({"limits": {"memory_mb": 999999}}, "limit_exceeds_max", "memory_mb"),
    ({"limits": {"disk_mb": 1 << 30}}, "limit_exceeds_max", "disk_mb"),
    ({"limits": {"processes": 10 ** 6 + 1}}, "limit_exceeds_max", "maximum"),
    ({"limits": {"memory_mb": 4}}, "invalid_argument", "at least 8"),
    ({"limits": {"memory_mb": 0}}, "invalid_argument", "positive integer"),
    ({"limits": {"memory_mb": "64"}}, "invalid_argument", "positive integer"),
    ({"limits": {"gpus": 1}}, "invalid_argument", "limits.gpus is not a session limit"),
    ({"timeout_s": -1}, "invalid_argument", "timeout_s"),
    ({"timeout_s": 100000}, "limit_exceeds_max", "sessions.max_ttl_ms"),
    ({"metadata": {"k": 1}}, "invalid_argument", "metadata.k must be a string"),
    ({"metadata": ["k"]}, "invalid_argument", "metadata must be an object"),
    ({"env": {"A=B": "c"}}, "invalid_argument", "env"),
    ({"env": {"A": 5}}, "invalid_argument", "env.A must be a string"),
])
def test_create_rejects_bad_requests(srv, body, code, needle):
    before = srv.get("/api/sandboxes", headers=A).json()["total"]
    r = srv.post("/api/sandboxes", body, headers=A)
    assert r.status_code == 400, r.text
    assert err_code(r) == code, r.text
    assert needle in r.json()["error"]["message"], r.text
    assert srv.get("/api/sandboxes", headers=A).json()["total"] == before


def test_create_rejects_bad_bodies(srv):
    r = srv.post("/api/sandboxes", "{not json", headers=A)
    assert r.status_code == 400 and err_code(r) == "invalid_argument", r.text
    r = srv.post("/api/sandboxes", "[]", headers=A)
    assert r.status_code == 400 and "JSON object" in r.json()["error"]["message"]
    r = srv.post("/api/sandboxes", '{"template":"base","template":"python"}', headers=A)
    assert r.status_code == 400, r.text
    r = srv.post("/api/sandboxes", "{}", headers={**A, "Content-Type": "text/plain"})
    assert r.status_code == 415, r.text


def test_list_filters_by_metadata_and_state_and_pages(srv):
    tag = "list-" + RUN
    made = [create(srv, metadata={"suite": tag, "n": str(i)})["id"] for i in range(3)]
    other = create(srv, metadata={"suite": "other-" + RUN})["id"]
    try:
        def listed(query):
            r = srv.get("/api/sandboxes" + query, headers=A)
            assert r.status_code == 200, r.text
            return r.json()
        got = listed(f"?metadata=suite%3D{tag}")
        assert got["total"] == 3 and "next_offset" not in got
        assert sorted(x["id"] for x in got["sandboxes"]) == sorted(made)
        assert all(x["metadata"]["suite"] == tag for x in got["sandboxes"])
        one = listed(f"?metadata=suite%3D{tag}%26n%3D1")
        assert one["total"] == 1 and [x["id"] for x in one["sandboxes"]] == [made[1]]
        assert listed(f"?metadata=suite%3D{tag}%26n%3D7")["total"] == 0
        assert listed(f"?metadata=suite%3D{tag}&state=running")["total"] == 3
        assert listed(f"?metadata=suite%3D{tag}&state=paused")["total"] == 0
        page1 = listed(f"?metadata=suite%3D{tag}&limit=2")
        assert page1["total"] == 3 and len(page1["sandboxes"]) == 2 and page1["next_offset"] == 2
        page2 = listed(f"?metadata=suite%3D{tag}&limit=2&offset=2")
        assert len(page2["sandboxes"]) == 1 and "next_offset" not in page2
        assert sorted(x["id"] for x in page1["sandboxes"] + page2["sandboxes"]) == sorted(made)
        assert srv.get("/api/sandboxes?limit=100000", headers=A).status_code == 400
    finally:
        for sid in made + [other]:
            delete(srv, sid)
    assert listed(f"?metadata=suite%3D{tag}")["total"] == 0


def test_timeout_is_extended_and_bounded(srv):
    with session(srv, timeout_s=60) as sb:
        sid = sb["id"]
        r = srv.post(f"/api/sandboxes/{sid}/timeout", {"timeout_s": 500}, headers=A)
        assert r.status_code == 200, r.text
        assert 498 <= r.json()["timeout_s"] <= 500 and r.json()["ends_at"] > sb["ends_at"]
        r = srv.post(f"/api/sandboxes/{sid}/timeout", {"timeout_s": 601}, headers=A)
        assert r.status_code == 400 and err_code(r) == "limit_exceeds_max", r.text
        assert "sessions.max_ttl_ms" in r.json()["error"]["message"]
        for bad in ({"timeout_s": 0}, {"timeout_s": -5}, {"timeout_s": "10"}, {}):
            r = srv.post(f"/api/sandboxes/{sid}/timeout", bad, headers=A)
            assert r.status_code == 400 and err_code(r) == "invalid_argument", (bad, r.text)
        assert 490 <= srv.get(f"/api/sandboxes/{sid}", headers=A).json()["timeout_s"] <= 500


def test_session_ends_itself_when_its_timeout_passes(srv):
    sb = create(srv, timeout_s=2)
    sid = sb["id"]
    t0 = time.monotonic()
    assert sh(srv, sid, "echo alive") == "alive\n"
    gone = wait_until(lambda: srv.get(f"/api/sandboxes/{sid}", headers=A).status_code == 404,
                      timeout=15, step=0.1)
    took = time.monotonic() - t0
    assert gone, "the session outlived its timeout"
    assert 1.0 <= took < 10, took
    assert sid not in [x["id"] for x in srv.get("/api/sandboxes", headers=A).json()["sandboxes"]]
    assert srv.post(f"/api/sandboxes/{sid}/commands", {"cmd": "true"}, headers=A).status_code == 404
    assert delete(srv, sid).status_code == 404


def test_a_shortened_timeout_ends_the_session(srv):
    sb = create(srv, timeout_s=300)
    r = srv.post(f"/api/sandboxes/{sb['id']}/timeout", {"timeout_s": 1}, headers=A)
    assert r.status_code == 200 and r.json()["timeout_s"] <= 1, r.text
    assert wait_until(lambda: srv.get(f"/api/sandboxes/{sb['id']}", headers=A).status_code == 404,
                      timeout=10, step=0.1)


# ---- commands ----

def test_commands_run_as_user_in_home(srv):
    with session(srv) as sb:
        sid = sb["id"]
        res = run(srv, sid, cmd="id -u; id -un; pwd; echo $HOME; echo $USER")
        assert res["status"] == "ok" and res["exit_code"] == 0 and res["signal"] is None, res
        uid, name, pwd, home, user = res["stdout"].split("\n")[:5]
        assert UID_BASE <= int(uid) < UID_BASE + UID_COUNT
        assert (name, pwd, home, user) == ("user", "/home/user", "/home/user", "user")
        assert res["state"] == "exited" and res["pid"] >= 1
        assert res["config"] == {"cmd": "/bin/bash", "args": ["-c", "id -u; id -un; pwd; echo $HOME; echo $USER"],
                                 "envs": {}, "cwd": "/home/user"}
        # /workspace and /home/user are one directory
        assert sh(srv, sid, "echo w > /workspace/w.txt; cat /home/user/w.txt; "
                            "echo h > h.txt; cat /workspace/h.txt") == "w\nh\n"
        # asking for root changes nothing
        assert sh(srv, sid, "id -u", user="root") == uid + "\n"
        r = srv.post(f"/api/sandboxes/{sid}/commands", {"cmd": "id", "user": "admin"}, headers=A)
        assert r.status_code == 400 and err_code(r) == "invalid_argument"


def test_command_exit_code_stderr_and_argv(srv):
    with session(srv) as sb:
        sid = sb["id"]
        res = run(srv, sid, cmd="echo out; echo oops >&2; exit 3")
        assert (res["status"], res["exit_code"], res["signal"]) == ("runtime_error", 3, None)
        assert (res["stdout"], res["stderr"]) == ("out\n", "oops\n")
        assert res["stdout_bytes"] == 4 and res["stderr_bytes"] == 5
        res = run(srv, sid, argv=["printf", "%s|", "a b", "$HOME", "c;d"])
        assert res["status"] == "ok" and res["stdout"] == "a b|$HOME|c;d|", res
        assert res["config"]["cmd"] == "printf" and res["config"]["args"] == ["%s|", "a b", "$HOME", "c;d"]
        res = run(srv, sid, cmd="kill -SEGV $$")
        assert (res["status"], res["signal"], res["exit_code"]) == ("runtime_error", 11, -1), res


@pytest.mark.parametrize("body", [{"argv": ["/no/such/program"]},
                                  {"cmd": "pwd", "cwd": "/no/such/dir"}])
def test_missing_program_or_cwd_is_a_failed_command(srv, body):
    with session(srv) as sb:
        res = run(srv, sb["id"], **body)
        assert res["state"] == "exited", res
        assert res["exit_code"] != 0, res
        assert res["status"] == "runtime_error", res


def test_context_cwd_is_made_if_missing_and_one_that_cannot_be_is_an_error(srv):
    with session(srv) as sb:
        r = srv.post(f"/api/sandboxes/{sb['id']}/contexts",
                     {"language": "python", "cwd": "/home/user/new/dir"}, headers=A)
        assert r.status_code == 201, r.text
        ctx = r.json()["id"]
        r = srv.post(f"/api/sandboxes/{sb['id']}/execute",
                     {"code": "import os; os.getcwd()", "context_id": ctx}, headers=A)
        lines = [json.loads(l) for l in r.text.splitlines()]
        assert [e["data"]["text/plain"] for e in lines if e["type"] == "result"] == \
            ["'/home/user/new/dir'"], lines
        # /usr is read-only: the interpreter cannot start there, once, and says why
        r = srv.post(f"/api/sandboxes/{sb['id']}/contexts", {"language": "python", "cwd": "/usr/nope"},
                     headers=A)
        assert r.status_code == 201, r.text
        ctx = r.json()["id"]
        for _ in range(2):
            t0 = time.monotonic()
            r = srv.post(f"/api/sandboxes/{sb['id']}/execute", {"code": "1", "context_id": ctx},
                         headers=A)
            errs = [json.loads(l) for l in r.text.splitlines() if json.loads(l)["type"] == "error"]
            assert errs and errs[0]["name"] == "ContextError", r.text
            assert "/usr/nope" in errs[0]["value"], errs
            assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("body,needle", [
    ({}, "exactly one of cmd"),
    ({"cmd": "true", "argv": ["true"]}, "exactly one of cmd"),
    ({"argv": []}, "argv"),
    ({"argv": ["a", 1]}, "list of strings"),
    ({"cmd": 5}, "must be strings"),
    ({"cmd": "true", "timeout_ms": -1}, "timeout_ms"),
    ({"cmd": "true", "stdin_base64": "!!!"}, "not base64"),
    ({"cmd": "true", "shell": "sh"}, "unknown field 'shell'"),
    ({"cmd": "true", "env": {"A=B": "x"}}, "env"),
])
def test_bad_command_requests(srv, body, needle):
    with session(srv) as sb:
        r = srv.post(f"/api/sandboxes/{sb['id']}/commands", body, headers=A)
        assert r.status_code == 400 and err_code(r) == "invalid_argument", r.text
        assert needle in r.json()["error"]["message"], r.text
        assert srv.get(f"/api/sandboxes/{sb['id']}/commands", headers=A).json()["commands"] == []


def test_env_and_cwd(srv):
    with session(srv, env={"SESSION_VAR": "s1", "SHARED": "from-session"}) as sb:
        sid = sb["id"]
        res = run(srv, sid, cmd='echo "$SESSION_VAR|$SHARED|$CMD_VAR|$PATH"',
                  env={"SHARED": "from-command", "CMD_VAR": "c1"})
        assert res["stdout"] == "s1|from-command|c1|/usr/local/bin:/usr/bin:/bin\n", res
        assert res["config"]["envs"] == {"SHARED": "from-command", "CMD_VAR": "c1"}
        # the command's env is its own: the next one has the session's
        assert sh(srv, sid, 'echo "$SHARED|$CMD_VAR"') == "from-session|\n"
        assert sh(srv, sid, "pwd", cwd="/tmp") == "/tmp\n"
        sh(srv, sid, "mkdir -p proj/sub")
        res = run(srv, sid, cmd="pwd", cwd="proj/sub")
        assert res["stdout"] == "/home/user/proj/sub\n" and res["config"]["cwd"] == "/home/user/proj/sub"


def test_stdin_given_up_front(srv):
    with session(srv) as sb:
        sid = sb["id"]
        assert sh(srv, sid, "tr a-z A-Z", stdin="hello\nworld\n") == "HELLO\nWORLD\n"
        blob = bytes(range(256)) * 4
        got = sh(srv, sid, "sha256sum | cut -d' ' -f1",
                 stdin_base64=base64.b64encode(blob).decode())
        assert got == hashlib.sha256(blob).hexdigest() + "\n"
        # without stdin a reader gets end of file at once
        res = run(srv, sid, cmd="cat; echo end", timeout_ms=5000)
        assert res["status"] == "ok" and res["stdout"] == "end\n", res


def test_stdin_open_then_writes_then_close(srv):
    with session(srv) as sb:
        sid = sb["id"]
        r = srv.post(f"/api/sandboxes/{sid}/commands",
                     {"cmd": "cat; echo done", "background": True, "stdin_open": True}, headers=A)
        assert r.status_code == 201 and r.json()["state"] == "running", r.text
        pid = r.json()["pid"]
        assert r.headers["Location"] == f"/api/sandboxes/{sid}/commands/{pid}"
        base = f"/api/sandboxes/{sid}/commands/{pid}"
        assert srv.post(base + "/stdin", {"data": "abc\n"}, headers=A).status_code == 204
        assert srv.post(base + "/stdin", {"data_base64": base64.b64encode(b"\x00\xffz\n").decode()},
                        headers=A).status_code == 204
        assert srv.post(base + "/stdin", {"data": "last", "close": True}, headers=A).status_code == 204
        res = srv.get(base + "?wait=true", headers=A).json()
        assert res["status"] == "ok" and res["exit_code"] == 0, res
        assert res["stdout_bytes"] == len("abc\n\x00\xffz\nlastdone\n".encode("latin-1"))
        assert res["stdout"].startswith("abc\n") and res["stdout"].endswith("z\nlastdone\n"), res
        r = srv.post(base + "/stdin", {"data": "more"}, headers=A)
        assert r.status_code == 409, r.text
        # a command started without stdin_open takes no stdin
        r = srv.post(f"/api/sandboxes/{sid}/commands",
                     {"cmd": "sleep 30", "background": True}, headers=A)
        p2 = r.json()["pid"]
        r = srv.post(f"/api/sandboxes/{sid}/commands/{p2}/stdin", {"data": "x"}, headers=A)
        assert r.status_code == 409, r.text
        assert srv.post(f"/api/sandboxes/{sid}/commands/{p2}/signal", {"signal": "SIGKILL"},
                        headers=A).status_code == 204


def test_background_command_and_sigterm(srv):
    with session(srv) as sb:
        sid = sb["id"]
        r = srv.post(f"/api/sandboxes/{sid}/commands",
                     {"cmd": "echo started; sleep 60", "background": True, "tag": "sleeper"},
                     headers=A)
        assert r.status_code == 201, r.text
        c = r.json()
        assert c["state"] == "running" and c["tag"] == "sleeper" and "status" not in c
        pid = c["pid"]
        assert wait_until(lambda: srv.get(f"/api/sandboxes/{sid}/commands/{pid}",
                                          headers=A).json()["stdout"] == "started\n", timeout=10)
        listed = srv.get(f"/api/sandboxes/{sid}/commands", headers=A).json()["commands"]
        assert [(x["pid"], x["state"], x.get("tag")) for x in listed] == [(pid, "running", "sleeper")]
        assert "stdout" not in listed[0]
        r = srv.post(f"/api/sandboxes/{sid}/commands/{pid}/signal", {"signal": "SIGTERM"}, headers=A)
        assert r.status_code == 204, r.text
        res = srv.get(f"/api/sandboxes/{sid}/commands/{pid}?wait=true", headers=A, timeout=20).json()
        assert (res["state"], res["status"], res["signal"], res["exit_code"]) == \
            ("exited", "runtime_error", 15, -1), res
        assert res["stdout"] == "started\n"
        r = srv.post(f"/api/sandboxes/{sid}/commands/{pid}/signal", {"signal": "SIGTERM"}, headers=A)
        assert r.status_code == 409, r.text
        # numbers and short names work; nonsense does not
        p2 = srv.post(f"/api/sandboxes/{sid}/commands", {"cmd": "sleep 60", "background": True},
                      headers=A).json()["pid"]
        r = srv.post(f"/api/sandboxes/{sid}/commands/{p2}/signal", {"signal": "SIGFOO"}, headers=A)
        assert r.status_code == 400, r.text
        r = srv.post(f"/api/sandboxes/{sid}/commands/{p2}/signal", {"signal": 9}, headers=A)
        assert r.status_code == 204, r.text
        res = srv.get(f"/api/sandboxes/{sid}/commands/{p2}?wait=true", headers=A).json()
        assert res["signal"] == 9 and res["exit_code"] == -1, res
        assert srv.get(f"/api/sandboxes/{sid}/commands/999", headers=A).status_code == 404
        assert srv.get(f"/api/sandboxes/{sid}/commands/abc", headers=A).status_code == 404
        assert srv.post(f"/api/sandboxes/{sid}/commands/999/signal", {"signal": "SIGTERM"},
                        headers=A).status_code == 404


def test_a_signal_sent_the_moment_a_command_starts_is_not_lost(srv):
    """The 201 of a background command can come before the sandbox's agent
    has reported the start: a signal sent at once must still reach it (it was
    dropped, and the command ran on)."""
    with session(srv) as sb:
        sid = sb["id"]
        pids = []
        for _ in range(8):
            r = srv.post(f"/api/sandboxes/{sid}/commands", {"cmd": "exec sleep 30", "background": True},
                         headers=A)
            assert r.status_code == 201, r.text
            pid = r.json()["pid"]
            r = srv.post(f"/api/sandboxes/{sid}/commands/{pid}/signal", {"signal": "SIGTERM"},
                         headers=A)
            assert r.status_code == 204, r.text
            pids.append(pid)
        for pid in pids:
            res = srv.get(f"/api/sandboxes/{sid}/commands/{pid}?wait=true", headers=A,
                          timeout=20).json()
            assert (res["status"], res["signal"]) == ("runtime_error", 15), res


def pipelined(s, reqs):
    """Sends (path, body) POSTs in one write on one connection, so the server
    handles the later ones the moment the earlier ones are answered; returns
    their statuses."""
    import socket
    data = b""
    for path, body in reqs:
        b = json.dumps(body).encode()
        data += (f"POST {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {A['X-API-Key']}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(b)}\r\n\r\n").encode() + b
    with socket.create_connection(("127.0.0.1", s.port), timeout=20) as c:
        c.sendall(data)
        buf, statuses = b"", []
        while len(statuses) < len(reqs):
            while b"\r\n\r\n" not in buf:
                chunk = c.recv(65536)
                assert chunk, buf
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            statuses.append(int(head.split()[1]))
            n = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            while len(buf) < n:
                buf += c.recv(65536)
            buf = buf[n:]
    return statuses


def test_a_resize_sent_the_moment_a_terminal_starts_is_not_lost(srv):
    with session(srv) as sb:
        sid = sb["id"]
        for pid in range(1, 5):
            assert pipelined(srv, [
                (f"/api/sandboxes/{sid}/commands", {"cmd": "read x; stty size", "background": True,
                                                    "pty": True, "rows": 10, "cols": 50}),
                (f"/api/sandboxes/{sid}/commands/{pid}/signal", {"rows": 33, "cols": 77}),
            ]) == [201, 204]
            time.sleep(0.3)  # the shell reads its terminal's size when stty runs
            assert srv.post(f"/api/sandboxes/{sid}/commands/{pid}/stdin", {"data": "go\n"},
                            headers=A).status_code == 204
            res = srv.get(f"/api/sandboxes/{sid}/commands/{pid}?wait=true", headers=A,
                          timeout=20).json()
            assert res["stdout"].endswith("33 77\r\n"), res


def test_a_terminal_commands_last_output_is_all_kept(srv):
    """A pty's last output can still be in the kernel's buffer when its slave
    closes; libuv then reports EOF after a short read without reading again
    (it lost the end of big outputs about half the time)."""
    with session(srv) as sb:
        for _ in range(6):
            res = run(srv, sb["id"], cmd='head -c 100000 /dev/zero | tr "\\0" x; echo END',
                      pty=True)
            assert (res["status"], len(res["stdout"])) == ("ok", 100005), res["stdout"][-40:]
            assert res["stdout"] == "x" * 100000 + "END\r\n"


def test_command_streamed_as_server_sent_events(srv):
    with session(srv) as sb:
        sid = sb["id"]
        with requests.post(url(srv, sid, "/commands"),
                           json={"cmd": "echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c; exit 4"},
                           headers={**A, "Accept": "text/event-stream"}, stream=True, timeout=30) as r:
            assert r.status_code == 200
            assert r.headers["Content-Type"] == "text/event-stream"
            events = sse(r)
        names = [e for e, _ in events]
        assert names == ["start", "stdout", "stderr", "stdout", "exit"], events
        assert events[0][1] == {"pid": events[-1][1]["pid"]}
        assert [d for e, d in events[1:4]] == [{"type": "stdout", "data": "a\n"},
                                               {"type": "stderr", "data": "b\n"},
                                               {"type": "stdout", "data": "c\n"}]
        end = events[-1][1]
        assert (end["status"], end["exit_code"], end["state"]) == ("runtime_error", 4, "exited")
        assert "stdout" not in end and "stderr" not in end


def test_reattach_replays_all_output_then_follows(srv):
    with session(srv) as sb:
        sid = sb["id"]
        r = srv.post(f"/api/sandboxes/{sid}/commands",
                     {"cmd": "for i in 1 2 3 4; do echo line$i; sleep 0.4; done; echo bye >&2",
                      "background": True}, headers=A)
        pid = r.json()["pid"]
        # wait until the first lines are out, then reattach: replay, then live
        assert wait_until(lambda: "line2" in srv.get(f"/api/sandboxes/{sid}/commands/{pid}",
                                                     headers=A).json()["stdout"], timeout=10)
        with requests.get(url(srv, sid, f"/commands/{pid}"),
                          headers={**A, "Accept": "text/event-stream"}, stream=True, timeout=30) as g:
            events = sse(g)
        assert events[0] == ("start", {"pid": pid})
        assert "".join(d["data"] for e, d in events if e == "stdout") == \
            "line1\nline2\nline3\nline4\n"
        assert "".join(d["data"] for e, d in events if e == "stderr") == "bye\n"
        assert events[-1][0] == "exit" and events[-1][1]["status"] == "ok"
        # after the end: the same replay, and the whole result with ?wait=true
        with requests.get(url(srv, sid, f"/commands/{pid}"),
                          headers={**A, "Accept": "text/event-stream"}, stream=True, timeout=30) as g:
            again = sse(g)
        assert again == events
        res = srv.get(f"/api/sandboxes/{sid}/commands/{pid}?wait=true", headers=A).json()
        assert (res["stdout"], res["stderr"], res["status"]) == ("line1\nline2\nline3\nline4\n", "bye\n", "ok")
        plain = srv.get(f"/api/sandboxes/{sid}/commands/{pid}", headers=A).json()
        assert plain == res


def test_two_followers_see_the_same_output(srv):
    with session(srv) as sb:
        sid = sb["id"]
        pid = srv.post(f"/api/sandboxes/{sid}/commands",
                       {"cmd": "sleep 0.5; seq 1 200; sleep 0.3; echo end", "background": True},
                       headers=A).json()["pid"]
        got = [None, None]

        def follow(i):
            got[i] = srv.get(f"/api/sandboxes/{sid}/commands/{pid}?wait=true", headers=A,
                             timeout=30).json()
        ts = [threading.Thread(target=follow, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        want = "".join(f"{i}\n" for i in range(1, 201)) + "end\n"
        assert got[0]["stdout"] == got[1]["stdout"] == want


def test_command_timeout_ms(srv):
    with session(srv) as sb:
        t0 = time.monotonic()
        res = run(srv, sb["id"], cmd="echo before; sleep 30; echo after", timeout_ms=700)
        took = time.monotonic() - t0
        assert res["status"] == "time_limit_exceeded", res
        assert res["stdout"] == "before\n" and res["exit_code"] == -1 and res["signal"] == 9
        assert 600 <= res["wall_time_ms"] < 5000 and took < 10, (res, took)
        # the session lives on
        assert sh(srv, sb["id"], "echo still") == "still\n"


def test_pty_command(srv):
    with session(srv) as sb:
        res = run(srv, sb["id"], cmd="test -t 0 && test -t 1 && echo tty; stty size",
                  pty=True, rows=30, cols=100)
        assert res["status"] == "ok", res
        assert res["stdout"].replace("\r\n", "\n") == "tty\n30 100\n", res


def test_output_limit_of_the_session(srv):
    with session(srv, limits={"output_mb": 1}) as sb:
        sid = sb["id"]
        res = run(srv, sid, cmd="head -c 3000000 /dev/zero | tr '\\0' x")
        assert res["status"] == "output_limit_exceeded", {k: v for k, v in res.items() if k != "stdout"}
        assert len(res["stdout"]) <= 1 << 20
        r = srv.post(f"/api/sandboxes/{sid}/commands", {"cmd": "echo more"}, headers=A)
        assert r.status_code == 429 and "output allowance" in r.json()["error"]["message"], r.text
        assert srv.get(f"/api/sandboxes/{sid}", headers=A).json()["usage"]["output_bytes"] >= 1 << 20


def test_usage_counts_commands_and_contexts(srv):
    with session(srv) as sb:
        sid = sb["id"]
        sh(srv, sid, "echo 12345")
        sh(srv, sid, "true")
        new_context(srv, sid, language="bash")
        u = srv.get(f"/api/sandboxes/{sid}", headers=A).json()["usage"]
        assert u["commands"] == 2 and u["contexts"] == 1 and u["output_bytes"] >= 6
        assert u["memory_bytes"] > 0


# ---- files ----

def test_file_round_trip_text_and_binary(srv):
    with session(srv) as sb:
        sid = sb["id"]
        r = put(srv, sid, "notes/hello.txt", "héllo\nwörld\n".encode())
        assert r.status_code == 200, r.text
        [e] = r.json()["files"]
        assert (e["name"], e["path"], e["type"], e["size"]) == \
            ("hello.txt", "/home/user/notes/hello.txt", "file", len("héllo\nwörld\n".encode()))
        assert e["permissions"] == "-rw-r--r--" and e["mode"] == 0o644
        g = read(srv, sid, "notes/hello.txt")
        assert g.status_code == 200 and g.content == "héllo\nwörld\n".encode()
        assert g.headers["Content-Type"] == "application/octet-stream"
        # the same file, seen by a command, owned by the session's user
        assert sh(srv, sid, "cat /home/user/notes/hello.txt; stat -c %U notes/hello.txt") == \
            "héllo\nwörld\nuser\n"
        blob = bytes(range(256)) * 3 + b"\x00\r\n\x00"
        assert put(srv, sid, "/tmp/bin.dat", blob).status_code == 200
        assert read(srv, sid, "/tmp/bin.dat").content == blob
        assert sh(srv, sid, "sha256sum /tmp/bin.dat | cut -d' ' -f1") == hashlib.sha256(blob).hexdigest() + "\n"
        # what a command writes, the API reads
        sh(srv, sid, "printf 'made\\0by\\377cmd' > made.bin")
        assert read(srv, sid, "made.bin").content == b"made\x00by\xffcmd"
        assert read(srv, sid, "~/made.bin").content == b"made\x00by\xffcmd"
        assert read(srv, sid, "/workspace/made.bin").content == b"made\x00by\xffcmd"
        # overwrite truncates; an empty body makes an empty file
        assert put(srv, sid, "made.bin", b"x").status_code == 200
        assert read(srv, sid, "made.bin").content == b"x"
        r = put(srv, sid, "empty", b"")
        assert r.status_code == 200 and r.json()["files"][0]["size"] == 0
        assert read(srv, sid, "empty").content == b""


def test_one_megabyte_file_and_ranges(srv):
    with session(srv) as sb:
        sid = sb["id"]
        blob = os.urandom(1 << 20)
        r = put(srv, sid, "big.bin", blob)
        assert r.status_code == 200 and r.json()["files"][0]["size"] == 1 << 20, r.text
        assert read(srv, sid, "big.bin").content == blob
        assert sh(srv, sid, "stat -c %s big.bin; sha256sum big.bin | cut -d' ' -f1") == \
            f"{1 << 20}\n{hashlib.sha256(blob).hexdigest()}\n"
        assert read(srv, sid, "big.bin", offset=1000, length=24).content == blob[1000:1024]
        assert read(srv, sid, "big.bin", offset=(1 << 20) - 10).content == blob[-10:]
        assert read(srv, sid, "big.bin", offset=2 << 20).content == b""
        assert read(srv, sid, "big.bin", length=0).content == b""
        assert read(srv, sid, "big.bin", offset="x").status_code == 400


def test_multipart_upload_of_three_files(srv):
    with session(srv) as sb:
        sid = sb["id"]
        blob = bytes(range(256))
        files = [("f", ("a.txt", b"alpha")), ("f", ("sub/b.txt", b"beta")),
                 ("f", ("sub/deep/c.bin", blob))]
        r = requests.post(url(srv, sid, "/files"), files=files, headers=A, timeout=30)
        assert r.status_code == 200, r.text
        got = r.json()["files"]
        assert sorted((e["path"], e["size"], e["type"]) for e in got) == [
            ("/home/user/a.txt", 5, "file"), ("/home/user/sub/b.txt", 4, "file"),
            ("/home/user/sub/deep/c.bin", 256, "file")]
        assert read(srv, sid, "a.txt").content == b"alpha"
        assert read(srv, sid, "sub/b.txt").content == b"beta"
        assert read(srv, sid, "sub/deep/c.bin").content == blob
        # into a directory given by ?path=
        r = requests.post(url(srv, sid, "/files"), params={"path": "/tmp/up"}, files=files,
                          headers=A, timeout=30)
        assert r.status_code == 200, r.text
        assert sorted(e["path"] for e in r.json()["files"]) == [
            "/tmp/up/a.txt", "/tmp/up/sub/b.txt", "/tmp/up/sub/deep/c.bin"]
        assert sh(srv, sid, "cat /tmp/up/a.txt /tmp/up/sub/b.txt") == "alphabeta"
        # not multipart, or no files
        r = requests.post(url(srv, sid, "/files"), data=b"raw", headers={**A, "Content-Type": "text/plain"})
        assert r.status_code == 415 and err_code(r) == "unsupported_media_type", r.text
        r = requests.post(url(srv, sid, "/files"), data=b"--xx--\r\n",
                          headers={**A, "Content-Type": "multipart/form-data; boundary=xx"})
        assert r.status_code == 400 and "no files" in r.json()["error"]["message"], r.text


def test_list_with_depth(srv):
    with session(srv) as sb:
        sid = sb["id"]
        sh(srv, sid, "mkdir -p a/b/c && echo 1 > top.txt && echo 22 > a/one.txt && "
                     "echo 333 > a/b/two.txt && echo x > a/b/c/three.txt && ln -s a/one.txt link")

        def listing(**q):
            r = requests.get(url(srv, sid, "/files/list"), params=q, headers=A, timeout=30)
            assert r.status_code == 200, r.text
            return {e["path"]: e for e in r.json()["entries"]}
        d1 = listing()
        assert set(d1) == {"/home/user/a", "/home/user/top.txt", "/home/user/link"}
        assert d1["/home/user/a"]["type"] == "dir" and d1["/home/user/a"]["name"] == "a"
        assert d1["/home/user/top.txt"]["type"] == "file" and d1["/home/user/top.txt"]["size"] == 2
        assert d1["/home/user/link"]["type"] == "symlink"
        assert d1["/home/user/link"]["symlink_target"] == "a/one.txt"
        for e in d1.values():
            assert set(e) >= {"name", "path", "type", "size", "mode", "permissions", "modified_at"}
        d2 = listing(path="/home/user", depth=2)
        assert set(d2) == set(d1) | {"/home/user/a/one.txt", "/home/user/a/b"}
        d3 = listing(path="a", depth=3)
        assert set(d3) == {"/home/user/a/one.txt", "/home/user/a/b", "/home/user/a/b/two.txt",
                           "/home/user/a/b/c", "/home/user/a/b/c/three.txt"}
        assert d3["/home/user/a/b/two.txt"]["size"] == 4
        for q, status in (({"path": "nope"}, 404), ({"path": "top.txt"}, 400),
                          ({"depth": 0}, 400), ({"depth": 17}, 400)):
            r = requests.get(url(srv, sid, "/files/list"), params=q, headers=A)
            assert r.status_code == status, (q, r.text)


def test_list_the_root(srv):
    with session(srv) as sb:
        r = requests.get(url(srv, sb["id"], "/files/list"), params={"path": "/"}, headers=A)
        assert r.status_code == 200, r.text
        names = {e["name"] for e in r.json()["entries"]}
        assert {"home", "tmp", "usr", "etc"} <= names


def test_mkdir_stat_move_remove(srv):
    with session(srv) as sb:
        sid = sb["id"]

        def post(tail, body):
            return srv.post(f"/api/sandboxes/{sid}/files/{tail}", body, headers=A)

        def stat(path):
            return requests.get(url(srv, sid, "/files/stat"), params={"path": path}, headers=A)
        r = post("mkdir", {"path": "x/y/z"})
        assert r.status_code == 204, r.text
        st = stat("x/y/z")
        assert st.status_code == 200, st.text
        assert (st.json()["type"], st.json()["path"], st.json()["name"]) == ("dir", "/home/user/x/y/z", "z")
        assert sh(srv, sid, "test -d /home/user/x/y/z && stat -c %U x/y/z") == "user\n"
        assert post("mkdir", {"path": "x/y/z"}).status_code == 204   # already there: fine
        put(srv, sid, "x/file.txt", b"content")
        r = post("mkdir", {"path": "x/file.txt"})
        assert r.status_code == 409 and err_code(r) == "conflict", r.text
        st = stat("x/file.txt").json()
        assert (st["type"], st["size"], st["permissions"]) == ("file", 7, "-rw-r--r--")
        assert stat("x/missing").status_code == 404
        # move: the old name goes, the new holds the content
        r = post("move", {"from": "x/file.txt", "to": "x/y/moved.txt"})
        assert r.status_code == 204, r.text
        assert stat("x/file.txt").status_code == 404
        assert read(srv, sid, "x/y/moved.txt").content == b"content"
        # across mounts (/home/user -> /tmp) and back
        assert post("move", {"from": "x/y/moved.txt", "to": "/tmp/moved.txt"}).status_code == 204
        assert read(srv, sid, "/tmp/moved.txt").content == b"content"
        assert post("move", {"from": "x", "to": "/tmp/xdir"}).status_code == 204
        assert stat("/tmp/xdir/y/z").json()["type"] == "dir"
        assert stat("x").status_code == 404
        r = post("move", {"from": "missing", "to": "elsewhere"})
        assert r.status_code == 404 and err_code(r) == "not_found", r.text
        r = post("move", {"from": "a"})
        assert r.status_code == 400, r.text
        # remove a file, then a whole tree
        d = requests.delete(url(srv, sid, "/files"), params={"path": "/tmp/moved.txt"}, headers=A)
        assert d.status_code == 204, d.text
        assert read(srv, sid, "/tmp/moved.txt").status_code == 404
        d = requests.delete(url(srv, sid, "/files"), params={"path": "/tmp/xdir"}, headers=A)
        assert d.status_code == 204, d.text
        assert sh(srv, sid, "ls -A /tmp/ | grep -c xdir || true") == "0\n"
        d = requests.delete(url(srv, sid, "/files"), params={"path": "/tmp/xdir"}, headers=A)
        assert d.status_code == 404 and err_code(d) == "not_found"


def test_a_failed_move_leaves_nothing_behind(srv):
    with session(srv) as sb:
        sid = sb["id"]
        r = srv.post(f"/api/sandboxes/{sid}/files/move", {"from": "/etc/hostname", "to": "copied"},
                     headers=A)
        assert r.status_code == 400 and "EROFS" in r.json()["error"]["message"], r.text
        assert read(srv, sid, "/etc/hostname").content == b"soulbox\n"
        st = requests.get(url(srv, sid, "/files/stat"), params={"path": "copied"}, headers=A)
        assert st.status_code == 404, st.text


def test_file_errors(srv):
    with session(srv) as sb:
        sid = sb["id"]
        r = read(srv, sid, "missing.txt")
        assert r.status_code == 404 and err_code(r) == "not_found", r.text
        assert "missing.txt" in r.json()["error"]["message"]
        sh(srv, sid, "mkdir adir")
        assert read(srv, sid, "adir").status_code == 400
        r = requests.get(url(srv, sid, "/files"), headers=A)
        assert r.status_code == 400 and "path" in r.json()["error"]["message"], r.text
        assert put(srv, sid, "adir", b"x").status_code == 400
        r = put(srv, sid, "/usr/bin/planted", b"x")
        assert r.status_code == 400 and "EROFS" in r.json()["error"]["message"], r.text
        r = put(srv, sid, "/etc/planted", b"x")
        assert r.status_code == 400 and "EROFS" in r.json()["error"]["message"], r.text
        assert sh(srv, sid, "ls /usr/bin/planted /etc/planted 2>&1 | grep -c 'No such' ") == "2\n"


# ---- code contexts ----

def test_python_state_persists_and_last_expression_is_the_result(srv):
    with session(srv) as sb:
        sid = sb["id"]
        ev = execute(srv, sid, "x = 40\ndef f(a):\n    return a + 2\nprint('set')")
        assert out(ev) == "set\n" and results(ev) == [] and errors(ev) == []
        ev = execute(srv, sid, "y = f(x)\ny")
        assert results(ev) == [{"type": "result", "data": {"text/plain": "42"}, "main": True}]
        assert ev[-1] == {"type": "end", "execution_count": 2}
        ev = execute(srv, sid, "{'k': [1, 2]}")
        assert results(ev)[0]["data"] == {"text/plain": "{'k': [1, 2]}",
                                          "application/json": {"k": [1, 2]}}
        # an assignment or a None value gives no result
        assert results(execute(srv, sid, "z = 1")) == []
        assert results(execute(srv, sid, "None")) == []
        # stdout, stderr and a subprocess' output are captured
        ev = execute(srv, sid, "import sys, os\nprint('o')\nprint('e', file=sys.stderr)\n"
                               "os.system('echo sub')")
        assert out(ev) == "o\nsub\n" and out(ev, "stderr") == "e\n"
        assert results(ev)[0]["data"]["text/plain"] == "0"
        # the cell runs as the user, in /home/user
        ev = execute(srv, sid, "import os\nprint(os.getuid() >= %d, os.getcwd())" % UID_BASE)
        assert out(ev) == "True /home/user\n"
        ctxs = srv.get(f"/api/sandboxes/{sid}/contexts", headers=A).json()["contexts"]
        assert [(c["language"], c["cwd"]) for c in ctxs] == [("python", "/home/user")]


def test_execute_streams_as_server_sent_events(srv):
    with session(srv) as sb:
        with requests.post(url(srv, sb["id"], "/execute"), json={"code": "print('hi')\n6*7"},
                           headers={**A, "Accept": "text/event-stream"}, stream=True, timeout=60) as r:
            assert r.status_code == 200 and r.headers["Content-Type"] == "text/event-stream"
            events = sse(r)
        assert all(e == d["type"] for e, d in events), events
        assert "".join(d["text"] for e, d in events if e == "stdout") == "hi\n"
        assert [d["data"]["text/plain"] for e, d in events if e == "result"] == ["42"]
        assert events[-1] == ("end", {"type": "end", "execution_count": 1})


def test_separate_contexts_have_separate_state(srv):
    with session(srv) as sb:
        sid = sb["id"]
        c1 = new_context(srv, sid, language="python")
        c2 = new_context(srv, sid, language="python", cwd="/tmp")
        assert c1["id"] != c2["id"] and c2["cwd"] == "/tmp" and c1["language"] == "python"
        execute(srv, sid, "secret = 'one'", context_id=c1["id"])
        execute(srv, sid, "secret = 'two'", context_id=c2["id"])
        assert results(execute(srv, sid, "secret", context_id=c1["id"]))[0]["data"]["text/plain"] == "'one'"
        assert results(execute(srv, sid, "secret", context_id=c2["id"]))[0]["data"]["text/plain"] == "'two'"
        assert out(execute(srv, sid, "import os; print(os.getcwd())", context_id=c2["id"])) == "/tmp\n"
        ids = [c["id"] for c in srv.get(f"/api/sandboxes/{sid}/contexts", headers=A).json()["contexts"]]
        assert ids == [c1["id"], c2["id"]]
        # deleting one leaves the other
        d = requests.delete(url(srv, sid, f"/contexts/{c1['id']}"), headers=A)
        assert d.status_code == 204, d.text
        r = srv.post(f"/api/sandboxes/{sid}/execute", {"code": "1", "context_id": c1["id"]}, headers=A)
        assert r.status_code == 404 and r.json()["error"]["message"] == "no such context"
        assert results(execute(srv, sid, "secret", context_id=c2["id"]))[0]["data"]["text/plain"] == "'two'"
        assert requests.delete(url(srv, sid, f"/contexts/{c1['id']}"), headers=A).status_code == 404
        assert srv.post(f"/api/sandboxes/{sid}/contexts/{c1['id']}/restart", {},
                        headers=A).status_code == 404


def test_default_context_is_not_an_explicit_one(srv):
    with session(srv) as sb:
        sid = sb["id"]
        c1 = new_context(srv, sid, language="python")
        execute(srv, sid, "private = 'explicit context only'", context_id=c1["id"])
        ev = execute(srv, sid, "private")
        assert [e["name"] for e in errors(ev)] == ["NameError"], ev
        ids = [c["id"] for c in srv.get(f"/api/sandboxes/{sid}/contexts", headers=A).json()["contexts"]]
        assert len(ids) == 2, ids


def test_bad_context_and_execute_requests(srv):
    with session(srv) as sb:
        sid = sb["id"]
        r = srv.post(f"/api/sandboxes/{sid}/contexts", {"language": "cobol"}, headers=A)
        assert r.status_code == 400 and "cobol" in r.json()["error"]["message"], r.text
        r = srv.post(f"/api/sandboxes/{sid}/contexts", {"language": 3}, headers=A)
        assert r.status_code == 400
        for body in ({}, {"code": 5}, {"code": "1", "timeout_ms": -1}, {"code": "1", "context_id": 7}):
            r = srv.post(f"/api/sandboxes/{sid}/execute", body, headers=A)
            assert r.status_code == 400 and err_code(r) == "invalid_argument", (body, r.text)
        r = srv.post(f"/api/sandboxes/{sid}/execute", {"code": "1", "context_id": str(uuid.uuid4())},
                     headers=A)
        assert r.status_code == 404


def test_error_has_name_value_and_a_traceback_with_the_users_line(srv):
    with session(srv) as sb:
        sid = sb["id"]
        ev = execute(srv, sid, "def inner(d):\n    return d['missing_key_42']\n\nprint('before')\n"
                               "inner({})\nprint('never')")
        assert out(ev) == "before\n"
        [e] = errors(ev)
        assert (e["name"], e["value"]) == ("KeyError", "'missing_key_42'")
        tb = e["traceback"]
        assert "line 5" in tb and "inner({})" in tb and "line 2" in tb and "d['missing_key_42']" in tb
        assert tb.rstrip().endswith("KeyError: 'missing_key_42'")
        assert "python.py" not in tb and "_run" not in tb           # no driver frames
        ev = execute(srv, sid, "def broken(:\n    pass")
        [e] = errors(ev)
        assert e["name"] == "SyntaxError", e
        ev = execute(srv, sid, "raise SystemExit(3)")
        assert errors(ev)[0]["name"] == "SystemExit"
        # the context survives all three
        assert results(execute(srv, sid, "1 + 1"))[0]["data"]["text/plain"] == "2"


def test_dataframe_as_last_expression_has_html(srv):
    with session(srv, template="python") as sb:
        ev = execute(srv, sb["id"], "import pandas as pd\n"
                                    "pd.DataFrame({'city': ['Oslo', 'Rome'], 'temp': [3, 19]})")
        assert errors(ev) == [], ev
        [r] = results(ev)
        html = r["data"]["text/html"]
        assert "<table" in html and "<td>Oslo</td>" in html and "<td>19</td>" in html
        assert "Oslo" in r["data"]["text/plain"] and r["main"] is True


def png_of(result):
    data = base64.b64decode(result["data"]["image/png"])
    assert data[:8] == PNG_MAGIC, data[:16]
    return data


def test_matplotlib_charts_come_back_as_png(srv):
    with session(srv, template="python") as sb:
        sid = sb["id"]
        ev = execute(srv, sid, "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\n"
                               "plt.title('shown')\nplt.show()\nprint('after')")
        assert errors(ev) == [], ev
        [r] = results(ev)
        assert r["main"] is False and "Figure" in r["data"]["text/plain"]
        png = png_of(r)
        assert len(png) > 1000
        assert out(ev) == "after\n"
        # a figure left open at the end of the cell comes back too
        ev = execute(srv, sid, "fig = plt.figure()\nplt.bar(['a', 'b'], [3, 5])\nx = 1")
        [r] = results(ev)
        png_of(r)
        # and none is left over for the next cell
        assert results(execute(srv, sid, "y = 2")) == []
        # a Figure as the last expression: one result, the main one
        ev = execute(srv, sid, "fig, ax = plt.subplots()\nax.plot([0, 1])\nfig")
        rs = results(ev)
        assert len(rs) == 1 and rs[0]["main"] is True, rs
        png_of(rs[0])
        # svg on request
        ev = execute(srv, sid, "plt.plot([1, 2])\nplt.show()", svg=True)
        assert "<svg" in results(ev)[0]["data"]["image/svg+xml"]


def test_code_interpreter_preloads_its_modules(srv):
    with session(srv, template="code-interpreter") as sb:
        ev = execute(srv, sb["id"], "import sys\n[m in sys.modules for m in "
                                    "('numpy', 'pandas', 'scipy', 'matplotlib.pyplot')]")
        assert results(ev)[0]["data"]["text/plain"] == "[True, True, True, True]", ev


def test_cell_timeout_interrupts_and_keeps_the_state(srv):
    with session(srv) as sb:
        sid = sb["id"]
        execute(srv, sid, "kept = 'still here'\ncount = 0")
        t0 = time.monotonic()
        ev = execute(srv, sid, "import time\nwhile True:\n    count += 1\n    time.sleep(0.01)",
                     timeout_ms=800)
        took = time.monotonic() - t0
        [e] = errors(ev)
        assert e["name"] == "KeyboardInterrupt", e
        assert took < 10, took
        assert results(execute(srv, sid, "kept, count > 0"))[0]["data"]["text/plain"] == \
            "('still here', True)"
        # a busy loop in pure python too
        ev = execute(srv, sid, "while True:\n    pass", timeout_ms=500)
        assert errors(ev)[0]["name"] == "KeyboardInterrupt"
        assert results(execute(srv, sid, "kept"))[0]["data"]["text/plain"] == "'still here'"


def test_interrupt_stops_the_running_cell_and_keeps_the_state(srv):
    with session(srv) as sb:
        sid = sb["id"]
        ctx = new_context(srv, sid, language="python")
        execute(srv, sid, "kept = 99", context_id=ctx["id"])
        events = []
        with requests.post(url(srv, sid, "/execute"),
                           json={"code": "import time\nprint('sleeping', flush=True)\ntime.sleep(60)",
                                 "context_id": ctx["id"]},
                           headers=A, stream=True, timeout=60) as r:
            lines = r.iter_lines()
            for line in lines:
                if line:
                    events.append(json.loads(line))
                    if events[-1]["type"] == "stdout":
                        break
            t0 = time.monotonic()
            i = srv.post(f"/api/sandboxes/{sid}/contexts/{ctx['id']}/interrupt", {}, headers=A)
            assert i.status_code == 204, i.text
            for line in lines:
                if line:
                    events.append(json.loads(line))
        assert time.monotonic() - t0 < 10
        assert out(events) == "sleeping\n"
        assert errors(events)[0]["name"] == "KeyboardInterrupt", events
        assert events[-1]["type"] == "end"
        assert results(execute(srv, sid, "kept", context_id=ctx["id"]))[0]["data"]["text/plain"] == "99"
        # interrupting an idle context does nothing
        assert srv.post(f"/api/sandboxes/{sid}/contexts/{ctx['id']}/interrupt", {},
                        headers=A).status_code == 204
        assert results(execute(srv, sid, "kept", context_id=ctx["id"]))[0]["data"]["text/plain"] == "99"


def test_restart_loses_the_state(srv):
    with session(srv) as sb:
        sid = sb["id"]
        ctx = new_context(srv, sid)
        assert ctx["language"] == "python"                    # the template's default
        execute(srv, sid, "lost = 1", context_id=ctx["id"])
        r = srv.post(f"/api/sandboxes/{sid}/contexts/{ctx['id']}/restart", {}, headers=A)
        assert r.status_code == 200 and r.json() == ctx, r.text
        ev = execute(srv, sid, "lost", context_id=ctx["id"])
        assert errors(ev)[0]["name"] == "NameError", ev
        assert results(execute(srv, sid, "2 + 3", context_id=ctx["id"]))[0]["data"]["text/plain"] == "5"


def test_cell_env_is_for_that_cell_only(srv):
    with session(srv, env={"FROM_SESSION": "s"}) as sb:
        sid = sb["id"]
        ev = execute(srv, sid, "import os\nprint(os.environ.get('CELL_VAR'), os.environ['FROM_SESSION'])",
                     env={"CELL_VAR": "c"})
        assert out(ev) == "c s\n"
        assert out(execute(srv, sid, "print(os.environ.get('CELL_VAR'))")) == "None\n"


def test_javascript_context(srv):
    with session(srv) as sb:
        sid = sb["id"]
        ctx = new_context(srv, sid, language="javascript")
        assert ctx["language"] == "javascript"
        cid = ctx["id"]
        ev = execute(srv, sid, "let a = 20; const b = 1; var c = 1; function add(x, y) { return x + y }",
                     context_id=cid)
        assert errors(ev) == [] and results(ev) == [], ev
        ev = execute(srv, sid, "console.log('sum', add(a, b + c)); add(a, 22)", context_id=cid)
        assert out(ev) == "sum 22\n"
        assert results(ev) == [{"type": "result", "data": {"text/plain": "42"}, "main": True}]
        ev = execute(srv, sid, "({k: [1, 2]})", context_id=cid)
        assert results(ev)[0]["data"]["application/json"] == {"k": [1, 2]}
        ev = execute(srv, sid, "console.error('bad'); undefinedThing", context_id=cid)
        assert out(ev, "stderr") == "bad\n"
        [e] = errors(ev)
        assert e["name"] == "ReferenceError" and "undefinedThing" in e["value"]
        ev = execute(srv, sid, "await new Promise(r => setTimeout(() => r(a * 2), 50))", context_id=cid)
        assert results(ev)[0]["data"]["text/plain"] == "40"
        ev = execute(srv, sid, "while (true) {}", context_id=cid, timeout_ms=700)
        assert len(errors(ev)) == 1, ev
        assert results(execute(srv, sid, "a", context_id=cid))[0]["data"]["text/plain"] == "20"
        # by language, without a context id: the language's default context, not this one
        ev = execute(srv, sid, "typeof a", language="javascript")
        assert results(ev)[0]["data"]["text/plain"] == "'undefined'"


def test_node_template_defaults_to_javascript(srv):
    with session(srv, template="node") as sb:
        ev = execute(srv, sb["id"], "typeof require + ' ' + process.version.startsWith('v')")
        assert results(ev)[0]["data"]["text/plain"] == "'function true'", ev
        ctxs = srv.get(f"/api/sandboxes/{sb['id']}/contexts", headers=A).json()["contexts"]
        assert [c["language"] for c in ctxs] == ["javascript"]


def test_bash_context(srv):
    with session(srv) as sb:
        sid = sb["id"]
        cid = new_context(srv, sid, language="bash")["id"]
        ev = execute(srv, sid, "GREETING=hello; greet() { echo \"$GREETING $1\"; }; cd /tmp", context_id=cid)
        assert errors(ev) == [], ev
        ev = execute(srv, sid, "greet world; pwd; echo oops >&2", context_id=cid)
        assert out(ev) == "hello world\n/tmp\n" and out(ev, "stderr") == "oops\n"
        ev = execute(srv, sid, "false", context_id=cid)
        [e] = errors(ev)
        assert (e["name"], e["value"]) == ("ExitCode", "1")
        ev = execute(srv, sid, "(exit 7)", context_id=cid)
        assert errors(ev)[0]["value"] == "7"
        assert out(execute(srv, sid, "echo $GREETING", context_id=cid)) == "hello\n"


def test_bash_context_timeout_keeps_the_state(srv):
    with session(srv) as sb:
        sid = sb["id"]
        cid = new_context(srv, sid, language="bash")["id"]
        execute(srv, sid, "KEPT=yes", context_id=cid)
        ev = execute(srv, sid, "sleep 30", context_id=cid, timeout_ms=700)
        assert [e["name"] for e in errors(ev)] != ["ContextRestarted"], ev
        assert out(execute(srv, sid, "echo $KEPT", context_id=cid)) == "yes\n"


def test_execute_by_language_alias_reuses_the_context(srv):
    with session(srv) as sb:
        sid = sb["id"]
        execute(srv, sid, "v = 5", language="python3")
        ev = execute(srv, sid, "v", language="python3")
        assert results(ev) and results(ev)[0]["data"]["text/plain"] == "5", ev
        ctxs = srv.get(f"/api/sandboxes/{sid}/contexts", headers=A).json()["contexts"]
        assert len(ctxs) == 1, ctxs


def test_contexts_per_session_are_limited(srv):
    with session(srv) as sb:
        sid = sb["id"]
        ids = [new_context(srv, sid, language="bash")["id"] for _ in range(16)]   # sessions.max_contexts
        r = srv.post(f"/api/sandboxes/{sid}/contexts", {"language": "bash"}, headers=A)
        assert r.status_code == 429 and err_code(r) == "rate_limited", r.text
        assert "sessions.max_contexts" in r.json()["error"]["message"]
        assert int(r.headers["Retry-After"]) >= 1
        assert requests.delete(url(srv, sid, f"/contexts/{ids[0]}"), headers=A).status_code == 204
        c = new_context(srv, sid, language="bash")
        assert out(execute(srv, sid, "echo $((6 * 7))", context_id=c["id"])) == "42\n"
        assert srv.get(f"/api/sandboxes/{sid}", headers=A).json()["usage"]["contexts"] == 16


def test_cells_queue_in_order_on_one_context(srv):
    with session(srv) as sb:
        sid = sb["id"]
        execute(srv, sid, "log = []")
        got = {}

        def cell(i):
            got[i] = execute(srv, sid, f"import time\ntime.sleep(0.2)\nlog.append({i})\nlen(log)")
        ts = [threading.Thread(target=cell, args=(i,)) for i in range(3)]
        for t in ts:
            t.start()
            time.sleep(0.05)
        for t in ts:
            t.join(60)
        counts = sorted(int(results(got[i])[0]["data"]["text/plain"]) for i in range(3))
        assert counts == [1, 2, 3]
        assert results(execute(srv, sid, "sorted(log)"))[0]["data"]["text/plain"] == "[0, 1, 2]"


# ---- ownership: keys ----

def test_another_key_gets_404_on_every_route(srv):
    with session(srv, metadata={"who": "alice-" + RUN}) as sb:
        sid = sb["id"]
        secret = "alice-secret-" + uuid.uuid4().hex
        assert put(srv, sid, "secret.txt", secret.encode()).status_code == 200
        ctx = new_context(srv, sid, language="python")
        execute(srv, sid, f"s = {secret!r}", context_id=ctx["id"])
        pid = srv.post(f"/api/sandboxes/{sid}/commands",
                       {"cmd": "cat; echo ok", "background": True, "stdin_open": True},
                       headers=A).json()["pid"]
        unknown = "z" * 20
        calls = []
        for target in (sid, unknown):
            b = f"/api/sandboxes/{target}"
            calls.append((target, [
                ("GET", b, None), ("DELETE", b, None), ("POST", b + "/timeout", {"timeout_s": 1}),
                ("POST", b + "/commands", {"cmd": "echo pwned"}), ("GET", b + "/commands", None),
                ("GET", b + f"/commands/{pid}", None), ("GET", b + f"/commands/{pid}?wait=true", None),
                ("POST", b + f"/commands/{pid}/stdin", {"data": "x", "close": True}),
                ("POST", b + f"/commands/{pid}/signal", {"signal": "SIGKILL"}),
                ("GET", b + "/files?path=secret.txt", None), ("PUT", b + "/files?path=secret.txt", b"bob"),
                ("POST_MP", b + "/files", None), ("DELETE", b + "/files?path=secret.txt", None),
                ("GET", b + "/files/list?path=/home/user", None), ("GET", b + "/files/stat?path=secret.txt", None),
                ("POST", b + "/files/mkdir", {"path": "bobdir"}),
                ("POST", b + "/files/move", {"from": "secret.txt", "to": "/tmp/stolen"}),
                ("POST", b + "/contexts", {"language": "python"}), ("GET", b + "/contexts", None),
                ("DELETE", b + f"/contexts/{ctx['id']}", None),
                ("POST", b + f"/contexts/{ctx['id']}/restart", {}),
                ("POST", b + f"/contexts/{ctx['id']}/interrupt", {}),
                ("POST", b + "/execute", {"code": "print(s)", "context_id": ctx["id"]}),
                ("POST", b + "/execute", {"code": "print(open('secret.txt').read())"}),
            ]))
        answers = {}
        for target, cs in calls:
            for method, path, body in cs:
                if method == "POST_MP":
                    r = requests.post(srv.url + path, files={"f": ("secret.txt", b"bob")}, headers=B)
                elif method == "PUT":
                    r = requests.put(srv.url + path, data=body, headers=B)
                elif method == "POST":
                    r = srv.post(path, body, headers=B)
                else:
                    r = requests.request(method, srv.url + path, headers=B, timeout=30)
                key = (method, path.replace(target, "{id}"), json.dumps(body, default=str))
                answers.setdefault(key, []).append((r.status_code, r.text))
        for key, (theirs, unknowns) in answers.items():
            assert theirs[0] == 404, (key, theirs)
            assert theirs == unknowns, key              # exactly what an unknown id gets
            assert secret not in theirs[1]
        listed = srv.get("/api/sandboxes", headers=B).json()
        assert sid not in [x["id"] for x in listed["sandboxes"]]
        assert srv.get(f"/api/sandboxes?metadata=who%3Dalice-{RUN}", headers=B).json()["total"] == 0
        # alice's session is untouched: alive, file, context state, command still waiting
        g = srv.get(f"/api/sandboxes/{sid}", headers=A)
        assert g.status_code == 200 and g.json()["timeout_s"] > 60
        assert read(srv, sid, "secret.txt").content == secret.encode()
        assert out(execute(srv, sid, "print(s)", context_id=ctx["id"])) == secret + "\n"
        assert sh(srv, sid, "ls /tmp/stolen bobdir 2>/dev/null | wc -l") == "0\n"
        c = srv.get(f"/api/sandboxes/{sid}/commands/{pid}", headers=A).json()
        assert c["state"] == "running", c
        assert srv.post(f"/api/sandboxes/{sid}/commands/{pid}/stdin", {"data": "hi\n", "close": True},
                        headers=A).status_code == 204
        res = srv.get(f"/api/sandboxes/{sid}/commands/{pid}?wait=true", headers=A).json()
        assert res["stdout"] == "hi\nok\n", res
        assert [x["id"] for x in srv.get(f"/api/sandboxes/{sid}/contexts", headers=A).json()["contexts"]] == [ctx["id"]]
        # the admin key sees it
        assert srv.get(f"/api/sandboxes/{sid}", headers=OPS).status_code == 200
        assert sid in [x["id"] for x in srv.get("/api/sandboxes", headers=OPS).json()["sandboxes"]]


def test_sessions_of_each_key_are_listed_apart(srv):
    with session(srv, headers=A) as a, session(srv, headers=B) as b:
        la = [x["id"] for x in srv.get("/api/sandboxes", headers=A).json()["sandboxes"]]
        lb = [x["id"] for x in srv.get("/api/sandboxes", headers=B).json()["sandboxes"]]
        assert a["id"] in la and b["id"] not in la
        assert b["id"] in lb and a["id"] not in lb
        assert sh(srv, b["id"], "echo bob", headers=B) == "bob\n"
        # two sessions are two sandboxes: separate files, separate users
        put(srv, a["id"], "mine.txt", b"a")
        assert read(srv, b["id"], "mine.txt", headers=B).status_code == 404
        ua = sh(srv, a["id"], "id -u")
        ub = sh(srv, b["id"], "id -u", headers=B)
        assert ua != ub


# ---- quotas, maximum and idle timeouts: a server of their own ----

LIMITS_CFG = ("sessions:\n  max_ttl_ms: 20000\n  default_ttl_ms: 15000\n  idle_timeout_ms: 2500\n"
              "  max_sessions: 3\n  max_per_key: 2\n  max_memory_mb_per_key: 600\n" + LANGS)


@pytest.fixture(scope="module")
def tight():
    s = Server(LIMITS_CFG, env={"SOULBOX_API_KEYS": KEYS, "SOULBOX_ADMIN_KEYS": "ops"},
               all_languages=True)
    with serving(s):
        yield s


def create_when_free(s, headers=A, timeout=10, **body):
    """Creates a session once the quotas allow it (a deleted session stops
    counting once its sandbox is torn down, a few ms after the 204)."""
    got = {}

    def attempt():
        r = s.post("/api/sandboxes", body, headers=headers)
        got["r"] = r
        return r.status_code != 429
    assert wait_until(attempt, timeout=timeout, step=0.02), got["r"].text
    assert got["r"].status_code == 201, got["r"].text
    return got["r"].json()


def test_a_deleted_session_frees_its_quota_at_once(tight):
    for _ in range(10):
        sb = create_when_free(tight, limits={"memory_mb": 64})
        sb2 = create_when_free(tight, limits={"memory_mb": 64})
        for x in (sb, sb2):
            tight.post(f"/api/sandboxes/{x['id']}/commands", {"cmd": "sleep 100", "background": True},
                       headers=A)
        assert delete(tight, sb["id"]).status_code == 204
        assert tight.get(f"/api/sandboxes/{sb['id']}", headers=A).status_code == 404
        r = tight.post("/api/sandboxes", {"limits": {"memory_mb": 64}}, headers=A)
        delete(tight, sb2["id"])
        if r.status_code == 201:
            delete(tight, r.json()["id"])
        assert r.status_code == 201, r.text


def test_quota_per_key(tight):
    a1 = create_when_free(tight, limits={"memory_mb": 64})
    a2 = create_when_free(tight, limits={"memory_mb": 64})
    try:
        r = tight.post("/api/sandboxes", {"limits": {"memory_mb": 64}}, headers=A)
        assert r.status_code == 429, r.text
        assert err_code(r) == "rate_limited"
        assert "sessions.max_per_key" in r.json()["error"]["message"]
        assert int(r.headers["Retry-After"]) >= 1
        # another key is not held back by alice's sessions
        b1 = create_when_free(tight, headers=B, limits={"memory_mb": 64})
        delete(tight, b1["id"], headers=B)
        # one ended: alice may start another
        assert delete(tight, a1["id"]).status_code == 204
        a3 = create_when_free(tight, limits={"memory_mb": 64})
        delete(tight, a3["id"])
    finally:
        for sb in (a1, a2):
            delete(tight, sb["id"])


def test_quota_of_the_server(tight):
    made = [create_when_free(tight, limits={"memory_mb": 64})["id"]]
    made.append(create_when_free(tight, headers=B, limits={"memory_mb": 64})["id"])
    made.append(create_when_free(tight, headers=B, limits={"memory_mb": 64})["id"])
    try:
        r = tight.post("/api/sandboxes", {"limits": {"memory_mb": 64}}, headers=A)
        assert r.status_code == 429, r.text
        assert err_code(r) == "rate_limited"
        assert "sessions.max_sessions" in r.json()["error"]["message"], r.text
        assert int(r.headers["Retry-After"]) >= 1
    finally:
        delete(tight, made[0])
        for sid in made[1:]:
            delete(tight, sid, headers=B)
    create_and_delete = create_when_free(tight, limits={"memory_mb": 64})
    delete(tight, create_and_delete["id"])


def test_memory_quota_per_key(tight):
    big = create_when_free(tight, limits={"memory_mb": 512})
    try:
        r = tight.post("/api/sandboxes", {"limits": {"memory_mb": 128}}, headers=A)
        assert r.status_code == 429, r.text
        msg = r.json()["error"]["message"]
        assert "sessions.max_memory_mb_per_key" in msg and "640" in msg, msg
        small = create_when_free(tight, limits={"memory_mb": 64})          # 576 MB: fits
        delete(tight, small["id"])
    finally:
        delete(tight, big["id"])


def test_timeout_above_the_maximum(tight):
    r = tight.post("/api/sandboxes", {"timeout_s": 21}, headers=A)
    assert r.status_code == 400 and err_code(r) == "limit_exceeds_max", r.text
    assert "20000" in r.json()["error"]["message"]
    sb = create_when_free(tight, timeout_s=20, limits={"memory_mb": 64})
    try:
        r = tight.post(f"/api/sandboxes/{sb['id']}/timeout", {"timeout_s": 25}, headers=A)
        assert r.status_code == 400 and err_code(r) == "limit_exceeds_max", r.text
        r = tight.post(f"/api/sandboxes/{sb['id']}/timeout", {"timeout_s": 20}, headers=A)
        assert r.status_code == 200, r.text
    finally:
        delete(tight, sb["id"])


def test_idle_timeout_spares_a_running_command(tight):
    sb = create_when_free(tight, limits={"memory_mb": 64})
    try:
        res = run(tight, sb["id"], cmd="sleep 4; echo done")
        assert (res["status"], res["stdout"]) == ("ok", "done\n"), res
        assert tight.get(f"/api/sandboxes/{sb['id']}", headers=A).status_code == 200
    finally:
        delete(tight, sb["id"])


def test_idle_session_ends_and_activity_keeps_it(tight):
    busy = create_when_free(tight, limits={"memory_mb": 64})
    idle = create_when_free(tight, limits={"memory_mb": 64})
    t0 = time.monotonic()
    try:
        # commands, files and cells are activity; a GET of the session is not
        while time.monotonic() - t0 < 4.5:
            sh(tight, busy["id"], "true")
            time.sleep(0.5)
            assert tight.get(f"/api/sandboxes/{busy['id']}", headers=A).status_code == 200
        assert wait_until(lambda: tight.get(f"/api/sandboxes/{idle['id']}", headers=A).status_code == 404,
                          timeout=5, step=0.1), "the idle session is still there"
        assert tight.get(f"/api/sandboxes/{busy['id']}", headers=A).status_code == 200
        assert wait_until(lambda: tight.get(f"/api/sandboxes/{busy['id']}", headers=A).status_code == 404,
                          timeout=8, step=0.1), "idle at last, it should end"
    finally:
        delete(tight, busy["id"])
        delete(tight, idle["id"])
