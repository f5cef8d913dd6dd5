"""Piston v2 compatibility (../shared/compat/piston-v2.md, docs/compat.md): the wire
protocol checked directly (the spec's section 11 recipe), the WebSocket
/api/v2/connect, every language's hello world through /api/v2/execute, and the
real npm `piston-client` 1.0.2 (tests/piston_node) against SoulBox."""
import asyncio
import json
import os
import re
import shutil
import subprocess

import pytest
import requests

from conftest import ROOT
from server import Server

NODE_DIR = os.path.join(ROOT, "tests", "piston_node")
TEXT = {"Content-Type": "text/plain;charset=UTF-8"}
STAGE_KEYS = {"stdout", "stderr", "output", "code", "signal", "message", "status", "cpu_time",
              "wall_time", "memory"}


@pytest.fixture(scope="module")
def srv():
    cfg = "sandbox:\n  languages: [python, bash, c, cpp, javascript, java]\n"
    with Server(cfg, all_languages=True) as s:
        s.wait_languages()
        yield s


@pytest.fixture(scope="module")
def runtimes(srv):
    return srv.get("/api/v2/runtimes").json()


def version_of(runtimes, name):
    return next(r["version"] for r in runtimes if r["language"] == name)


def pexec(srv, body, timeout=60):
    return requests.post(srv.url + "/api/v2/execute", data=json.dumps(body), headers=TEXT,
                         timeout=timeout)


def client_body(language, code, **kw):
    """What piston-client sends for execute(language, code)."""
    body = {"language": language, "version": "*", "files": [{"content": code}], "stdin": "",
            "args": ["1", "2", "3"], "compile_timeout": 10000, "run_timeout": 3000,
            "compile_memory_limit": -1, "run_memory_limit": -1}
    body.update(kw)
    return body


def check_stage(st):
    assert set(st) == STAGE_KEYS
    for k in ("cpu_time", "wall_time", "memory"):
        assert isinstance(st[k], (int, float)) and st[k] >= 0


def test_runtimes_shape(runtimes):
    assert isinstance(runtimes, list)
    for r in runtimes:
        assert re.match(r"^\d+\.\d+\.\d+$", r["version"]), r
        assert isinstance(r["aliases"], list)
        assert set(r) <= {"language", "version", "aliases", "runtime"}
    names = {r["language"] for r in runtimes}
    assert {"python", "javascript", "c", "c++"} <= names
    c = next(r for r in runtimes if r["language"] == "c++")
    assert c["runtime"] == "gcc" and "cpp" in c["aliases"]
    assert "runtime" not in next(r for r in runtimes if r["language"] == "python")


def test_python_print(srv, runtimes):
    r = pexec(srv, client_body("python", 'print("Hello, SoulBox!")'))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    b = r.json()
    assert list(b) == ["language", "version", "run"]
    assert b["language"] == "python" and b["version"] == version_of(runtimes, "python")
    check_stage(b["run"])
    assert {k: b["run"][k] for k in ("stdout", "stderr", "output", "code", "signal", "message",
                                     "status")} == {
        "stdout": "Hello, SoulBox!\n", "stderr": "", "output": "Hello, SoulBox!\n", "code": 0,
        "signal": None, "message": None, "status": None}


def test_alias_answers_canonical_name(srv):
    b = pexec(srv, client_body("py", 'print("Hello, SoulBox!")')).json()
    assert b["language"] == "python" and b["run"]["stdout"] == "Hello, SoulBox!\n"


def test_c_compile_and_run_unnamed_file(srv, runtimes):
    code = '#include <stdio.h>\nint main(int c, char **v) { printf("%d %s\\n", c - 1, v[1]); return 0; }\n'
    b = pexec(srv, {"language": "c", "version": "*", "files": [{"content": code}],
                    "args": ["1", "2", "3"]}).json()
    assert list(b) == ["language", "version", "compile", "run"]
    assert b["version"] == version_of(runtimes, "c")
    check_stage(b["compile"])
    check_stage(b["run"])
    assert b["compile"]["code"] == 0 and b["compile"]["status"] is None
    assert b["run"]["stdout"] == "3 1\n" and b["run"]["code"] == 0


def test_c_compile_error(srv):
    b = pexec(srv, {"language": "c", "version": "*", "files": [
        {"name": "main.c", "content": "int main(void) { return undeclared_identifier; }\n"}]}).json()
    assert list(b) == ["language", "version", "compile", "run"]
    c = b["compile"]
    assert c["code"] == 1 and c["status"] == "RE" and c["signal"] is None
    assert c["message"] == "Exited with error status 1"
    assert "undeclared_identifier" in c["stderr"] and "undeclared_identifier" in c["output"]
    assert b["run"] == c


def test_runtime_error(srv):
    b = pexec(srv, {"language": "python", "version": "*", "files": [
        {"content": 'import sys\nsys.stderr.write("boom\\n")\nsys.exit(3)\n'}]}).json()
    run = b["run"]
    assert {k: run[k] for k in ("stdout", "stderr", "output", "code", "signal", "status",
                                "message")} == {
        "stdout": "", "stderr": "boom\n", "output": "boom\n", "code": 3, "signal": None,
        "status": "RE", "message": "Exited with error status 3"}


def test_timeout(srv):
    r = pexec(srv, {"language": "python", "version": "*",
                    "files": [{"content": "while True:\n    pass\n"}], "run_timeout": 1000})
    run = r.json()["run"]
    assert run["status"] == "TO" and run["signal"] == "SIGKILL" and run["code"] is None
    assert run["message"] in ("Time limit exceeded", "Time limit exceeded (wall clock)")
    assert r.elapsed.total_seconds() < 3


def test_signal_is_wrapper_exit_status(srv):
    b = pexec(srv, {"language": "python", "version": "*", "files": [
        {"content": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"}]}).json()
    assert b["run"]["code"] == 139 and b["run"]["signal"] is None
    assert b["run"]["status"] == "RE" and b["run"]["message"] == "Exited with error status 139"


def test_output_limit(srv):
    b = pexec(srv, {"language": "python", "version": "*", "files": [
        {"content": "import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n"}]}).json()
    run = b["run"]
    assert run["status"] == "OL" and run["signal"] == "SIGKILL" and run["code"] is None
    assert run["message"] == "stdout length exceeded"
    assert len(run["stdout"]) <= 1 << 20 and len(run["output"]) <= 1 << 20


@pytest.mark.parametrize("stdin,want", [("abc", "'abc\\n'\n"), ("x\ny\n", "'x\\ny\\n'\n")])
def test_stdin_newline(srv, stdin, want):
    b = pexec(srv, {"language": "python", "version": "*", "stdin": stdin, "files": [
        {"content": "import sys\nprint(repr(sys.stdin.read()))"}]}).json()
    assert b["run"]["stdout"] == want


def test_args(srv):
    b = pexec(srv, {"language": "python", "version": "*", "args": ["a b", "--flag", ""],
                    "files": [{"content": "import sys\nprint(sys.argv[1:])"}]}).json()
    assert b["run"]["stdout"] == "['a b', '--flag', '']\n"


def test_output_interleaved(srv):
    code = ("import sys, time\nprint('a', flush=True)\ntime.sleep(0.2)\n"
            "print('b', file=sys.stderr, flush=True)\ntime.sleep(0.2)\nprint('c', flush=True)\n")
    run = pexec(srv, {"language": "python", "version": "*", "files": [{"content": code}]}).json()["run"]
    assert (run["stdout"], run["stderr"], run["output"]) == ("a\nc\n", "b\n", "a\nb\nc\n")


def test_multi_file_and_base64(srv):
    b = pexec(srv, {"language": "python", "version": "*", "files": [
        {"name": "main.py", "content": "import helper\nprint(helper.V, open('d.bin','rb').read())"},
        {"name": "helper.py", "content": "V = 42"},
        {"name": "d.bin", "content": "AAEC/w==", "encoding": "base64"}]}).json()
    assert b["run"]["stdout"] == "42 b'\\x00\\x01\\x02\\xff'\n"


def test_java_unnamed_file_named_after_its_class(srv):
    code = 'public class Hello { public static void main(String[] a) { System.out.println("hi"); } }'
    b = pexec(srv, client_body("java", code), timeout=120).json()
    if "message" in b:
        pytest.skip(b["message"])  # java not offered in the test server
    assert b["run"]["stdout"] == "hi\n"


ERRORS = [
    ({"version": "*", "files": [{"content": "x"}]}, "language is required as a string"),
    ({"language": "python", "files": [{"content": "x"}]}, "version is required as a string"),
    ({"language": "python", "version": "", "files": [{"content": "x"}]},
     "version is required as a string"),
    ({"language": "python", "version": "*"}, "files is required as an array"),
    ({"language": "python", "version": "*", "files": {}}, "files is required as an array"),
    ({"language": "python", "version": "*", "files": [{"content": "x"}, {"name": "a"}]},
     "files[1].content is required as a string"),
    ({"language": "cobolt", "version": "1.0.0", "files": [{"content": "x"}]},
     "cobolt-1.0.0 runtime is unknown"),
    ({"language": "python", "version": "0.0.1", "files": [{"content": "x"}]},
     "python-0.0.1 runtime is unknown"),
    ({"language": "python", "version": "latest", "files": [{"content": "x"}]},
     "python-latest runtime is unknown"),
    ({"language": "python", "version": "*", "files": []},
     "files must include at least one utf8 encoded file"),
    ({"language": "python", "version": "*", "files": [{"content": "eA==", "encoding": "base64"}]},
     "files must include at least one utf8 encoded file"),
    ({"language": "python", "version": "*", "files": [{"content": "x"}], "run_timeout": "9"},
     "If specified, run_timeout must be a number"),
    ({"language": "python", "version": "*", "files": [{"content": "x"}], "run_timeout": -5},
     "run_timeout must be non-negative"),
]


@pytest.mark.parametrize("body,message", ERRORS)
def test_validation_errors(srv, body, message):
    r = pexec(srv, body)
    assert r.status_code == 400 and r.json() == {"message": message}


def test_compile_limits(srv):
    """compile_timeout / compile_cpu_time / compile_memory_limit bound the compile stage
    (lower than SoulBox's own; a higher one leaves it its own)."""
    src = '#include "/dev/zero"\nint main(void){return 0;}\n'
    r = pexec(srv, {"language": "c", "version": "*", "files": [{"content": src}],
                    "compile_timeout": 1500, "compile_memory_limit": 64 << 20})
    b = r.json()
    assert b["compile"]["status"] in ("TO", "RE") and b["run"] == b["compile"], b
    native = srv.get("/api/executions/" + r.headers["X-SoulBox-Execution-Id"]).json()
    assert native["message"] in ("compilation failed: wall time limit of 1500 ms exceeded",
                                 "compilation failed: memory limit of 65536 KB exceeded"), native
    # above SoulBox's 30 s (within Piston's ceiling, the 60 s execution_timeout): its own
    b = pexec(srv, {"language": "c", "version": "*", "compile_timeout": 45000,
                    "files": [{"content": "int main(void){return 3;}"}]})
    assert b.status_code == 200 and b.json()["run"]["code"] == 3, b.text


def test_limit_above_ceiling(srv):
    r = pexec(srv, {"language": "python", "version": "*", "files": [{"content": "x"}],
                    "run_timeout": 999999999})
    assert r.status_code == 400
    assert re.fullmatch(r"run_timeout cannot exceed the configured limit of \d+",
                        r.json()["message"])


@pytest.mark.parametrize("version", ["*", "3", "3.x", ">=3.0 <4", "^3.0", "x || 1.x"])
def test_version_ranges(srv, runtimes, version):
    b = pexec(srv, {"language": "python", "version": version,
                    "files": [{"content": "print(1)"}]}).json()
    assert b["version"] == version_of(runtimes, "python")


def test_zero_and_negative_memory_mean_default(srv):
    b = pexec(srv, client_body("python", "print(2)", run_timeout=0, run_memory_limit=-1)).json()
    assert b["run"]["stdout"] == "2\n"


def test_bad_json_and_unknown_routes(srv):
    r = requests.post(srv.url + "/api/v2/execute", data="{nope", headers=TEXT)
    assert r.status_code == 400 and "message" in r.json()
    r = srv.get("/api/v2/nope")
    assert r.status_code == 404 and r.json() == {"message": "Not Found"}
    r = srv.get("/api/v2/execute")
    assert r.status_code == 404 and r.json() == {"message": "Not Found"}
    r = srv.get("/api/v2/connect")
    assert r.status_code == 404 and r.json() == {"message": "Not Found"}


def test_packages(srv, runtimes):
    pk = srv.get("/api/v2/packages").json()
    assert isinstance(pk, list) and {"gcc", "python"} <= {p["language"] for p in pk}
    assert all(set(p) == {"language", "language_version", "installed"} and p["installed"]
               for p in pk)
    r = requests.post(srv.url + "/api/v2/packages", json={"language": "nope", "version": "*"})
    assert r.status_code == 404
    assert r.json() == {"message": "Requested package nope-* does not exist"}
    r = requests.post(srv.url + "/api/v2/packages", json={"language": "python", "version": "*"})
    assert r.status_code == 500 and r.json() == {"message": "Already installed"}
    r = requests.delete(srv.url + "/api/v2/packages", json={"language": "python", "version": "*"})
    assert r.status_code == 500 and "cannot be uninstalled" in r.json()["message"]


def test_execution_is_a_native_execution(srv):
    """No second path: the run is recorded and listed like any execution."""
    pexec(srv, client_body("python", "print('recorded-7f3a')"))
    rows = srv.get("/api/executions?limit=5").json()
    assert any(r.get("language") == "python" for r in rows["executions"])
    metrics = srv.get("/metrics").text
    assert 'route="/api/v2/execute"' in metrics


def test_compat_off():
    with Server("compat:\n  piston: false\n") as s:
        for path in ("/api/v2/runtimes", "/api/v2/packages"):
            assert s.get(path).status_code == 404
        r = pexec(s, client_body("python", "print(1)"))
        assert r.status_code == 404 and "compat.piston" in r.json()["error"]["message"]


def test_auth_gate_applies():
    import hashlib
    h = hashlib.sha256(b"k-1").hexdigest()
    cfg = f"server:\n  auth:\n    enabled: true\n    keys:\n      - id: team\n        sha256: {h}\n"
    with Server(cfg) as s:
        s.wait_languages()
        assert s.get("/api/v2/runtimes").status_code == 401
        r = requests.get(s.url + "/api/v2/runtimes", headers={"Authorization": "Bearer k-1"})
        assert r.status_code == 200 and isinstance(r.json(), list)
        r = requests.post(s.url + "/api/v2/execute", data=json.dumps(client_body("python", "print(5)")),
                          headers=dict(TEXT, **{"X-API-Key": "k-1"}))
        assert r.json()["run"]["stdout"] == "5\n"


# ---- WebSocket /api/v2/connect ----

def ws_session(srv, sends, until_close=True, timeout=15):
    import websockets

    async def go():
        out = []
        async with websockets.connect(srv.url.replace("http", "ws") + "/api/v2/connect",
                                      open_timeout=5) as ws:
            for s in sends:
                if isinstance(s, (int, float)):
                    await asyncio.sleep(s)
                elif callable(s):
                    await s(ws, out)
                else:
                    await ws.send(s if isinstance(s, str) else json.dumps(s))
            try:
                while True:
                    out.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
            except websockets.ConnectionClosed as e:
                return out, e.rcvd.code if e.rcvd else None, e.rcvd.reason if e.rcvd else None
    return asyncio.run(go())


CAT = {"type": "init", "language": "bash", "version": "*", "files": [{"content": "cat"}],
       "run_timeout": 1500}


def test_ws_interactive_cat(srv):
    async def wait_stage(ws, out):
        while not any(m.get("type") == "stage" for m in out):
            out.append(json.loads(await ws.recv()))

    msgs, code, reason = ws_session(srv, [CAT, wait_stage,
                                          {"type": "data", "stream": "stdin", "data": "hi\n"}])
    types = [m["type"] for m in msgs]
    assert msgs[0]["type"] == "runtime" and msgs[0]["language"] == "bash"
    assert re.match(r"^\d+\.\d+\.\d+$", msgs[0]["version"])
    assert msgs[1] == {"type": "stage", "stage": "run"}
    assert {"type": "data", "stream": "stdout", "data": "hi\n"} in msgs
    assert msgs[-1] == {"type": "exit", "stage": "run", "code": None, "signal": "SIGKILL"}
    assert types.count("exit") == 1
    assert (code, reason) == (4999, "Job Completed")


def test_ws_compiled_stages(srv):
    init = {"type": "init", "language": "c", "version": "*",
            "files": [{"content": '#include <stdio.h>\nint main(){puts("yo");return 2;}'}]}
    msgs, code, _ = ws_session(srv, [init], timeout=60)
    stages = [(m["type"], m.get("stage")) for m in msgs if m["type"] in ("stage", "exit")]
    assert stages == [("stage", "compile"), ("exit", "compile"), ("stage", "run"),
                      ("exit", "run")]
    assert {"type": "data", "stream": "stdout", "data": "yo\n"} in msgs
    assert msgs[-1] == {"type": "exit", "stage": "run", "code": 2, "signal": None}
    assert code == 4999


def test_ws_signal_kills(srv):
    async def wait_stage(ws, out):
        while not any(m.get("type") == "stage" for m in out):
            out.append(json.loads(await ws.recv()))
    init = dict(CAT, run_timeout=10000)
    msgs, code, _ = ws_session(srv, [init, wait_stage, 0.2, {"type": "signal", "signal": "SIGKILL"}])
    assert msgs[-1]["type"] == "exit" and code == 4999


TRAP = ("import signal, sys, time\n"
        "def on(n, f):\n    print('caught', signal.Signals(n).name, flush=True); sys.exit(3)\n"
        "signal.signal(signal.SIGINT, on)\nprint('ready', flush=True)\ntime.sleep(30)\n")


@pytest.mark.parametrize("sig,want", [
    ("SIGINT", ("caught SIGINT\n", {"code": 3, "signal": None})),
    ("SIGTERM", (None, {"code": 143, "signal": None})),
    ("SIGKILL", (None, {"code": 137, "signal": None})),
])
def test_ws_signals_are_delivered(srv, sig, want):
    """A signal message reaches the program, which may catch it (Piston's job.signal)."""
    async def ready(ws, out):     # (print may reach the pipe in two writes)
        while "".join(m["data"] for m in out if m.get("type") == "data") != "ready\n":
            out.append(json.loads(await ws.recv()))
    init = {"type": "init", "language": "python", "version": "*",
            "files": [{"content": TRAP}], "run_timeout": 20000}
    msgs, code, _ = ws_session(srv, [init, ready, {"type": "signal", "signal": sig}])
    data = "".join(m["data"] for m in msgs if m["type"] == "data" and m["stream"] == "stdout")
    assert data == "ready\n" + (want[0] or ""), msgs
    assert msgs[-1] == {"type": "exit", "stage": "run", **want[1]}, msgs
    assert code == 4999


@pytest.mark.parametrize("sends,close,error", [
    ([], (4001, "Initialization Timeout"), False),
    ([{"type": "data", "stream": "stdin", "data": "x"}], (4003, "Not yet initialized"), False),
    ([dict(CAT, language="nolang")], (4002, "Notified Error"), "nolang-* runtime is unknown"),
    (["hello"], (4002, "Notified Error"), True),
    ([CAT, 0.3, {"type": "data", "stream": "stdout", "data": "x"}],
     (4004, "Can only write to stdin"), False),
    ([CAT, 0.3, {"type": "signal", "signal": "SIGFOO"}], (4005, "Invalid signal"), False),
    ([CAT, 0.3, CAT], (4000, "Already Initialized"), False),
])
def test_ws_close_codes(srv, sends, close, error):
    msgs, code, reason = ws_session(srv, [{"type": "ping"}] + sends)
    assert (code, reason) == close
    errors = [m for m in msgs if m["type"] == "error"]
    if error is True:
        assert errors
    elif error:
        assert errors == [{"type": "error", "message": error}]


# ---- every language, hello world through /api/v2/execute ----

def _lang_specs():
    import glob
    import yaml
    return {yaml.safe_load(open(f))["name"]: yaml.safe_load(open(f))
            for f in sorted(glob.glob(os.path.join(ROOT, "languages", "*.yaml")))}


def test_every_language_hello_world():
    """Slow (every language, compiled ones too: minutes)."""
    import concurrent.futures
    specs = _lang_specs()
    with Server("server:\n  max_concurrent: 4\n  max_queue: 1000\n", all_languages=True) as s:
        s.wait_languages(timeout=300)
        rts = s.get("/api/v2/runtimes").json()
        available = {l["name"] for l in s.get("/api/languages").json()["languages"]}
        assert len(rts) == len(available)

        def one(rt):
            lang = next(n for n in specs if n in [rt["language"]] + rt["aliases"])
            body = {"language": rt["language"], "version": rt["version"],
                    "files": [{"content": specs[lang]["test"]["program"]}],
                    # Piston appends a newline to stdin, and the self-test program prints
                    # "Hello, World!" only on empty stdin: it echoes a non-empty one
                    "stdin": "Hello, World!"}
            return rt["language"], pexec(s, body, timeout=300).json()

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = dict(pool.map(one, rts))
        bad = {n: b for n, b in results.items()
               if b.get("run", {}).get("code") != 0 or "Hello, World!" not in b["run"]["stdout"]}
        assert not bad, bad


# ---- the real npm client ----

@pytest.mark.skipif(shutil.which("node") is None or
                    not os.path.isdir(os.path.join(NODE_DIR, "node_modules")),
                    reason="node or tests/piston_node/node_modules missing (scripts/setup.sh)")
def test_piston_client_npm(srv):
    p = subprocess.run(["node", "client.mjs", srv.url], cwd=NODE_DIR, capture_output=True,
                       text=True, timeout=240)
    assert p.returncode == 0, p.stderr + p.stdout
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert isinstance(r["runtimes"], list) and any(x["language"] == "python" for x in r["runtimes"])
    assert r["python"]["run"]["stdout"] == "Hello, SoulBox!\n"
    assert r["args"]["run"]["stdout"] == "['1', '2', '3']\n"
    assert r["stdin"]["run"]["stdout"] == "'in\\n'\n"
    assert r["c"]["compile"]["code"] == 0 and r["c"]["run"]["stdout"] == "hi\n"
    assert r["compile_error"]["compile"]["status"] == "RE"
    assert r["compile_error"]["run"] == r["compile_error"]["compile"]
    assert r["runtime_error"]["run"]["code"] == 3
    assert r["timeout"]["run"]["status"] == "TO"
    assert r["output_limit"]["run"]["status"] == "OL"
    assert r["alias"] == {"message": "version is required as a string"}
