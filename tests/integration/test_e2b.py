"""E2B compatibility: the unmodified E2B SDKs from npm (e2b, @e2b/code-interpreter,
pinned in tests/e2b_node/package.json) run their documented flows against
SoulBox with only E2B_API_URL and E2B_SANDBOX_URL pointed at it
(tests/e2b_node/flows.mjs). Also the wire details the SDK relies on, checked
directly: Connect envelopes, error shapes, routing by E2b-Sandbox-Id."""
import base64
import json
import os
import struct
import subprocess

import pytest
import requests

from conftest import ROOT, sandbox_processes
from server import Server, wait_until


class _Any:
    def __eq__(self, other):
        return isinstance(other, str) and other != ""


ANY = _Any()

NODE_DIR = os.path.join(ROOT, "tests", "e2b_node")


def run_flow(srv, flow, template=None, key="any-key", env=None):
    e = dict(os.environ, E2B_API_URL=srv.url, E2B_SANDBOX_URL=srv.url, E2B_API_KEY=key,
             **(env or {}))
    e.pop("E2B_DEBUG", None)
    argv = ["node", "flows.mjs", flow] + ([template] if template else [])
    p = subprocess.run(argv, cwd=NODE_DIR, env=e, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def srv():
    with Server() as s:
        yield s


@pytest.fixture(scope="module")
def commands(srv):
    return run_flow(srv, "commands")


@pytest.fixture(scope="module")
def files(srv):
    return run_flow(srv, "files")


@pytest.fixture(scope="module")
def code(srv):
    return run_flow(srv, "code", "code-interpreter-v1")


@pytest.fixture(scope="module")
def lifecycle(srv):
    return run_flow(srv, "lifecycle")


# ---- commands ----

def test_run_returns_output_and_exit_code(commands):
    assert commands["run"] == {"exitCode": 0, "stdout": "hello\n", "stderr": "oops\n"}


def test_run_streams_stdout_as_it_comes(commands):
    assert commands["streamed"] == {"seen": ["line1\n", "line2\n", "line3\n"],
                                    "stdout": "line1\nline2\nline3\n"}


def test_run_with_env_and_cwd(commands):
    assert commands["env_cwd"]["stdout"] == "hi there\n/tmp\n"


def test_non_zero_exit_is_a_command_exit_error(commands):
    r = commands["exit3"]
    assert (r["error"], r["exitCode"], r["message"]) == ("CommandExitError", 3, "exit status 3")


def test_background_list_and_kill(commands):
    b = commands["background"]
    assert b["listed"] == [{"pid": b["pid"], "cmd": "/bin/bash",
                            "args": ["-l", "-c", "echo started; sleep 30"]}]
    assert b["killed"] is True
    assert b["waited"] == {"error": "CommandExitError", "exitCode": -1,
                           "message": "signal: killed"}
    assert b["killedAgain"] is False          # gone: SendSignal answers not_found


def test_stdin_is_sent_to_a_running_command(commands):
    assert commands["stdin"] == {"stdout": "got one two\n", "exitCode": 0}


def test_timeout_ends_the_command(commands):
    assert commands["timeout"]["error"] == "TimeoutError"


def test_connect_reattaches_to_a_running_command(commands):
    assert commands["reconnect"] == {"exitCode": 0, "hasLast": True}


# ---- files ----

def test_write_and_read(files):
    assert files["write"] == {"name": "a.txt", "type": "file", "path": "/home/user/notes/a.txt"}
    assert files["read"] == "content A"
    assert files["readBytes"] == list(b"content A")


def test_write_many_files_at_once_with_binary_content(files):
    assert [f["path"] for f in files["writeMany"]] == [
        "/home/user/m/one.txt", "/home/user/m/two.txt", "/tmp/three.bin"]
    assert files["readBinary"] == [0, 1, 2, 255]


def test_list_and_depth(files):
    assert sorted((e["name"], e["type"], e["size"]) for e in files["list"]) == [
        ("one.txt", "file", 1), ("two.txt", "file", 2)]
    assert files["listDeep"] == ["/home/user/m", "/home/user/m/one.txt", "/home/user/m/two.txt",
                                 "/home/user/notes", "/home/user/notes/a.txt"]


def test_exists_info_makedir_rename_remove(files):
    assert files["exists"] == [True, False]
    assert files["getInfo"] == {"name": "two.txt", "type": "file", "size": 2,
                                "path": "/home/user/m/two.txt"}
    assert files["makeDir"] == [True, False]   # the second time it exists
    assert files["rename"] == "/home/user/d/one.txt"
    assert files["remove"] is False


def test_reading_a_missing_file_is_not_found(files):
    assert files["readMissing"]["error"] == "FileNotFoundError"


def test_watch_dir_reports_changes_below_it(files):
    assert files["watchDir"] == [["create", "a.txt"], ["write", "a.txt"], ["create", "sub"],
                                 ["create", "sub/b.txt"], ["write", "sub/b.txt"],
                                 ["remove", "a.txt"]]
    assert files["watchMissing"]["error"] == "FileNotFoundError"


def test_files_are_the_commands_files(files):
    assert files["seenByCommand"] == "content Atwo.txt\n"


# ---- the code interpreter ----

def test_state_persists_across_cells(code):
    assert code["cell1"] == {"text": "42", "logs": {"stdout": ["side\n"], "stderr": []},
                             "count": 1}
    assert code["cell2"] == {"text": "420"}


def test_matplotlib_chart_comes_back_as_png(code):
    assert code["chart"]["n"] == 1
    assert base64.b64decode(code["chart"]["png"] + "==")[:8] == b"\x89PNG\r\n\x1a\n"


def test_dataframe_has_html(code):
    assert code["dataframe"] == {"html": True, "text": "   a\n0  1\n1  2"}


def test_error_has_name_value_and_the_users_traceback(code):
    e = code["error"]
    assert (e["name"], e["value"]) == ("ZeroDivisionError", "division by zero")
    assert 'line 2, in f' in e["traceback"] and "return 1 / 0" in e["traceback"]
    assert "drivers" not in e["traceback"] and "soulbox" not in e["traceback"]


def test_callbacks_see_stdout_stderr_and_result(code):
    assert code["callbacks"] == [["out", "o\n"], ["err", "e\n"], ["result", "7"]]


def test_contexts_are_separate_and_restartable(code):
    assert code["contexts"] == {"inA": "'in a'", "inBError": "NameError", "cwdB": "'/tmp'",
                                "listed": 3, "afterRestartError": "NameError",
                                "listedAfter": 2}


def test_javascript_and_bash_cells(code):
    assert code["js"] == "42"
    assert code["bash"] == "42\n"


# ---- lifecycle ----

def test_info_timeout_list_connect_kill(lifecycle):
    sid = lifecycle["create"]["id"]
    assert lifecycle["info"] == {"id": sid, "template": "code-interpreter",
                                 "metadata": {"suite": "e2b-flows"}, "state": "running"}
    assert 110000 < lifecycle["setTimeout"] <= 120000
    assert lifecycle["list"] == [sid]
    assert lifecycle["isRunning"] is True
    assert lifecycle["connect"] == "via connect\n"
    assert lifecycle["kill"] is True
    assert lifecycle["killAgain"] is False
    assert lifecycle["afterKill"]["error"] == "NotFoundError"
    assert lifecycle["connectGone"]["error"] == "SandboxNotFoundError"


# ---- API keys ----

def test_sdk_api_key_is_a_soulbox_key_and_scopes_its_sandboxes():
    keys = {"SOULBOX_API_KEYS": "alice:alice-secret,bob:bob-secret"}
    with Server(env=keys) as s:
        r = run_flow(s, "auth", key="alice-secret", env={"OTHER_KEY": "bob-secret"})
        assert r["create"]["id"]
        assert r["otherList"] == []
        assert r["otherConnect"]["error"] == "SandboxNotFoundError"
        assert r["otherKill"] is False
        assert r["stillThere"] == "still\n"
        assert r["badKey"]["error"] == "AuthenticationError"
        # envd calls need the sandbox's access token once keys are on
        h = {"E2b-Sandbox-Id": r["create"]["id"], "E2b-Sandbox-Port": "49983"}
        assert requests.get(s.url + "/health", headers=h).status_code == 404


# ---- the wire, directly ----

def envelope(obj, flags=0):
    data = json.dumps(obj).encode()
    return struct.pack(">BI", flags, len(data)) + data


def envelopes(body):
    out, off = [], 0
    while off < len(body):
        flags, n = struct.unpack(">BI", body[off:off + 5])
        out.append((flags, json.loads(body[off + 5:off + 5 + n])))
        off += 5 + n
    return out


@pytest.fixture
def sandbox(srv):
    r = requests.post(srv.url + "/v2/sandboxes", json={"templateID": "base", "timeout": 60},
                      headers={"X-API-KEY": "k"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["envdVersion"] == "0.5.6" and body["envdAccessToken"]
    yield body
    requests.delete(srv.url + "/sandboxes/" + body["sandboxID"], headers={"X-API-KEY": "k"})


def envd_headers(sb, port="49983", **extra):
    return {"E2b-Sandbox-Id": sb["sandboxID"], "E2b-Sandbox-Port": port,
            "X-Access-Token": sb["envdAccessToken"], **extra}


def test_start_streams_connect_envelopes(srv, sandbox):
    h = envd_headers(sandbox, **{"Content-Type": "application/connect+json",
                                 "Connect-Protocol-Version": "1"})
    r = requests.post(srv.url + "/process.Process/Start", headers=h, data=envelope(
        {"process": {"cmd": "/bin/bash", "args": ["-c", "printf hi; exit 4"]}, "stdin": False}))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/connect+json"
    evs = envelopes(r.content)
    assert evs[0][1]["event"]["start"]["pid"] > 0
    assert {"event": {"data": {"stdout": base64.b64encode(b"hi").decode()}}} in [e for _, e in evs]
    assert evs[-2][1] == {"event": {"end": {"exitCode": 4, "exited": True,
                                            "status": "exit status 4",
                                            "error": "exit status 4"}}}
    assert evs[-1] == (2, {})


def test_malformed_envelope_is_invalid_argument(srv, sandbox):
    h = envd_headers(sandbox, **{"Content-Type": "application/connect+json"})
    for body, code in ((b"\x00\x00\x00", "invalid_argument"),
                       (b"\x00\x00\x00\x00\x09{}", "invalid_argument"),
                       (b"\x01\x00\x00\x00\x02{}", "invalid_argument"),
                       (b"\x80\x00\x00\x00\x02{}", "invalid_argument"),
                       (b"\x00\xff\xff\xff\xff", "resource_exhausted")):
        r = requests.post(srv.url + "/process.Process/Start", headers=h, data=body)
        assert r.status_code == 200, body   # a streaming call's error ends its stream
        assert envelopes(r.content) == [(2, {"error": {"code": code, "message": ANY}})], body
    assert requests.get(srv.url + "/health").status_code == 200


def test_unary_errors_are_connect_errors(srv, sandbox):
    h = envd_headers(sandbox, **{"Content-Type": "application/json"})
    r = requests.post(srv.url + "/filesystem.Filesystem/Stat", headers=h,
                      json={"path": "/home/user/none"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = requests.post(srv.url + "/process.Process/SendSignal", headers=h,
                      json={"process": {"pid": 999}, "signal": "SIGNAL_SIGKILL"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = requests.post(srv.url + "/filesystem.Filesystem/CreateWatcher", headers=h,
                      json={"path": "/home/user"})
    assert r.status_code == 501 and r.json()["code"] == "unimplemented"


def test_wrong_token_or_unknown_sandbox_is_404(srv, sandbox):
    h = envd_headers(sandbox)
    h["X-Access-Token"] = "wrong"
    assert requests.get(srv.url + "/files?path=/etc/hostname", headers=h).status_code == 404
    h = envd_headers(sandbox)
    h["E2b-Sandbox-Id"] = "nonexistent"
    r = requests.get(srv.url + "/files?path=/etc/hostname", headers=h)
    assert r.status_code == 404 and r.json()["code"] == 404


def test_control_plane_errors_have_e2b_shape(srv):
    r = requests.delete(srv.url + "/sandboxes/nope", headers={"X-API-KEY": "k"})
    assert r.status_code == 404 and r.json()["code"] == 404
    r = requests.post(srv.url + "/v2/sandboxes", json={"templateID": "no-such"},
                      headers={"X-API-KEY": "k"})
    assert r.status_code == 404 and r.json()["code"] == 404


def test_compat_e2b_false_turns_it_off():
    with Server("compat:\n  e2b: false\n") as s:
        r = requests.post(s.url + "/v2/sandboxes", json={}, headers={"X-API-KEY": "k"})
        assert r.status_code == 404
        # a header alone routes nothing: the native /health answers
        r = requests.get(s.url + "/health", headers={"E2b-Sandbox-Id": "x"})
        assert r.status_code == 200


def processes_of(pid):
    """Live sandbox processes (a sandbox uid) that descend from pid: this server's."""
    parent = {}
    for status in sandbox_processes():
        with open(status) as f:
            fields = dict(l.split(":", 1) for l in f if ":" in l)
        parent[int(status.split("/")[2])] = int(fields["PPid"])
    mine = []
    for p in parent:
        q = p
        while q in parent:
            q = parent[q]
        if q == pid:
            mine.append(p)
    return mine


def test_nothing_left_after_the_flows(srv, commands, files, code, lifecycle):
    assert wait_until(lambda: requests.get(srv.url + "/api/sandboxes").json()["total"] == 0, 10)
    assert wait_until(lambda: not processes_of(srv.proc.pid), 10)
