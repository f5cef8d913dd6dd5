"""The CLI as a newcomer meets it: usage, language from the file name, serve's
log lines, and its client mode (`soulbox exec`, `run --remote`, `soulbox
sandbox ...`) against a real server."""
import http.server
import json
import os
import pty
import re
import select
import socket
import subprocess
import threading
import time

import pytest

from conftest import SOULBOX
from server import Server, free_port

KEYS = "alice:alice-secret-1,bob:bob-secret-1"


def cli(*args, env=None, stdin=None, timeout=60):
    e = {k: v for k, v in os.environ.items() if k not in ("SOULBOX_URL", "SOULBOX_API_KEY")}
    e.update(env or {})
    return subprocess.run([SOULBOX, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=e)


@pytest.fixture(scope="module")
def srv():
    with Server(env={"SOULBOX_API_KEYS": KEYS}) as s:
        s.wait_languages()
        yield s


def alice(s):
    return {"SOULBOX_URL": s.url, "SOULBOX_API_KEY": "alice-secret-1"}


# ---- the newcomer's first minutes ----

def test_no_command_prints_usage_and_exits_2():
    r = cli()
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("usage: soulbox <command> [options]\n")
    for cmd in ("run", "exec", "sandbox", "serve"):
        assert re.search(rf"^  {cmd} ", r.stderr, re.M), cmd


def test_run_tells_the_language_by_the_file_extension(tmp_path):
    py = tmp_path / "hello.py"
    py.write_text("import sys\nprint('hi', sys.argv[1:])\nsys.exit(3)\n")
    r = cli("run", str(py), "a", "b")
    assert (r.returncode, r.stdout, r.stderr) == (3, "hi ['a', 'b']\n", "")
    c = tmp_path / "prog.c"
    c.write_text('#include <stdio.h>\nint main(void){puts("from c");return 0;}\n')
    r = cli("run", str(c))
    assert (r.returncode, r.stdout) == (0, "from c\n"), r.stderr


def test_an_unknown_extension_asks_for_the_language(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    r = cli("run", str(f))
    assert r.returncode == 2
    assert r.stderr == f"soulbox: {f}: no language takes '.txt' files (give -l LANG)\n"
    r = cli("run", "-c", "print(1)")
    assert r.returncode == 2
    assert "-l LANG is required with -c" in r.stderr


def wait_line(fd, pattern, timeout=30):
    """Reads fd until a line matches pattern; returns all read so far."""
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if re.search(pattern, out.decode(errors="replace")):
                return out.decode(errors="replace")
    raise AssertionError(f"no {pattern!r} in {out!r}")


def serve_argv(tmp_path, port, *extra):
    cfg = tmp_path / "soulbox.yaml"
    cfg.write_text("sandbox:\n  languages: [bash]\n  pool_memory_mb: 0\n")
    return [SOULBOX, "serve", "--config", str(cfg), "--port", str(port), "--grpc-port",
            str(free_port()), "--data-dir", str(tmp_path / "data"), *extra]


def test_serve_on_a_terminal_prints_readable_lines_starting_with_its_urls(tmp_path):
    port = free_port()
    main, sub = pty.openpty()
    p = subprocess.Popen(serve_argv(tmp_path, port), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=sub)
    os.close(sub)
    try:
        text = wait_line(main, r"listening.*\n")
        first = text.splitlines()[0]
        assert re.match(rf"^\d\d:\d\d:\d\d\.\d{{3}} info  listening url=http://127\.0\.0\.1:{port} "
                        r"grpc=127\.0\.0\.1:\d+ ", first), first
        assert "{" not in first
    finally:
        p.terminate()
        assert p.wait(30) == 0
        os.close(main)


def test_serve_logs_json_when_stderr_is_not_a_terminal_or_when_told(tmp_path):
    port = free_port()
    main, sub = pty.openpty()
    p = subprocess.Popen(serve_argv(tmp_path, port, "--log-format", "json"),
                         stdout=subprocess.DEVNULL, stderr=sub)
    os.close(sub)
    try:
        first = wait_line(main, r"listening.*\n").splitlines()[0]
        ev = json.loads(first)
        assert ev["msg"] == "listening"
        assert ev["url"] == f"http://127.0.0.1:{port}"
    finally:
        p.terminate()
        assert p.wait(30) == 0
        os.close(main)
    # a file: JSON without being asked
    log = tmp_path / "log"
    with open(log, "wb") as f:
        p = subprocess.Popen(serve_argv(tmp_path, free_port()), stderr=f, stdout=f)
        try:
            deadline = time.time() + 30
            while b"listening" not in log.read_bytes() and time.time() < deadline:
                time.sleep(0.05)
        finally:
            p.terminate()
            assert p.wait(30) == 0
    assert json.loads(log.read_text().splitlines()[0])["msg"] == "listening"
    r = cli("serve", "--log-format", "xml")
    assert r.returncode == 2 and "'text' or 'json'" in r.stderr


# ---- exec / run --remote ----

def test_exec_streams_output_and_exits_with_the_programs_code(srv, tmp_path):
    f = tmp_path / "p.py"
    f.write_text("import sys\nprint('out', sys.argv[1:], sys.stdin.read())\n"
                 "print('err', file=sys.stderr)\nsys.exit(4)\n")
    r = cli("exec", "--stdin", "-", str(f), "--", "x", "y", env=alice(srv), stdin="in")
    assert (r.returncode, r.stdout, r.stderr) == (4, "out ['x', 'y'] in\n", "err\n")
    # run --remote is the same thing
    r = cli("run", "--remote", srv.url, "--api-key", "alice-secret-1", "-l", "bash", "-c",
            "echo $((6*7))")
    assert (r.returncode, r.stdout, r.stderr) == (0, "42\n", "")


def test_exec_reports_limits_signals_and_compile_errors_as_run_does(srv):
    env = alice(srv)
    r = cli("exec", "-l", "python", "-c", "while True: pass", "--time-limit", "0.3", env=env)
    assert r.returncode == 137
    assert r.stderr == "soulbox: time_limit_exceeded: wall time limit of 300 ms exceeded\n"
    r = cli("exec", "-l", "bash", "-c", "echo before; kill -SEGV $$", env=env)
    assert (r.returncode, r.stdout) == (139, "before\n")
    assert r.stderr == "soulbox: killed by signal 11 (SEGV)\n"
    r = cli("exec", "-l", "c", "-c", "int main(void) { return x; }", env=env)
    assert r.returncode == 1
    assert "error: ‘x’ undeclared" in r.stderr
    assert r.stderr.endswith("soulbox: compile error: compilation failed: exited with code 1\n")
    r = cli("exec", "-l", "bash", "-c", "head -c 5000 /dev/zero", "--output-limit", "1", env=env)
    assert r.returncode == 137
    assert r.stderr.startswith("soulbox: output_limit_exceeded: ")


def test_exec_json_prints_the_result(srv):
    r = cli("exec", "--json", "-l", "bash", "-c", "echo hi; exit 5", "--memory", "64",
            env=alice(srv))
    assert r.returncode == 5
    res = json.loads(r.stdout)
    assert (res["stdout"], res["status"], res["exit_code"]) == ("hi\n", "runtime_error", 5)
    got = srv.get(f"/api/executions/{res['id']}",
                  headers={"Authorization": "Bearer alice-secret-1"}).json()
    assert got["stdout"] == "hi\n"


def test_exec_errors_are_clear(srv):
    r = cli("exec", "-l", "nope", "-c", "1", env=alice(srv))
    assert r.returncode == 2
    assert re.fullmatch(r"soulbox: HTTP 422 unknown_language: language: 'nope' is not available "
                        r"\(see GET /api/languages\) \(request [0-9a-f]{32}\)\n", r.stderr), r.stderr
    r = cli("exec", "--api-key", "wrong", "-l", "bash", "-c", "true",
            env={"SOULBOX_URL": srv.url})
    assert r.returncode == 125
    assert r.stderr.startswith("soulbox: HTTP 401 unauthenticated: ")
    r = cli("exec", "-l", "bash", "-c", "true")
    assert r.returncode == 2
    assert r.stderr == "soulbox: exec: --server URL or $SOULBOX_URL is required\n"
    r = cli("exec", "--server", "https://example.org", "-l", "bash", "-c", "true")
    assert r.returncode == 2 and "https is not supported" in r.stderr
    r = cli("exec", "--server", f"127.0.0.1:{free_port()}", "-l", "bash", "-c", "true")
    assert r.returncode == 125
    assert "connect to 127.0.0.1:" in r.stderr and "ECONNREFUSED" in r.stderr
    r = cli("exec", "--config", "/x", "--server", srv.url, "-l", "bash", "-c", "true")
    assert r.returncode == 2 and "--config is for runs on this machine" in r.stderr


class Stub(http.server.BaseHTTPRequestHandler):
    """Answers POST /api/execute from a script of (status, headers, body)."""
    protocol_version = "HTTP/1.1"
    script, seen = [], []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        Stub.seen.append((self.path, self.headers.get("Authorization"),
                          self.headers.get("Accept"), json.loads(self.rfile.read(n))))
        status, headers, body = Stub.script.pop(0)
        if status is None:          # garbage instead of HTTP
            self.wfile.write(body)
            self.close_connection = True
            return
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def stub():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    Stub.script, Stub.seen = [], []
    yield f"127.0.0.1:{httpd.server_address[1]}/prefix"
    httpd.shutdown()


def sse(*events):
    return "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events).encode()


def test_exec_retries_429_and_503_after_retry_after(stub):
    busy = b'{"error":{"code":"unavailable","message":"queue full"}}'
    ok = sse(("started", {"type": "started", "id": "x"}),
             ("stdout", {"type": "stdout", "data": "done\n"}),
             ("exit", {"type": "exit", "status": "ok", "exit_code": 0, "signal": None}))
    Stub.script = [(503, {"Retry-After": "1"}, busy), (429, {"Retry-After": "0"}, busy),
                   (200, {"Content-Type": "text/event-stream"}, ok)]
    t0 = time.monotonic()
    r = cli("exec", "--server", stub, "--api-key", "k", "-l", "bash", "--memory", "32", "-c",
            "echo done", "--", "a")
    assert (r.returncode, r.stdout, r.stderr) == (0, "done\n", "")
    assert time.monotonic() - t0 >= 1.0
    assert len(Stub.seen) == 3
    path, auth, accept, body = Stub.seen[0]
    assert (path, auth, accept) == ("/prefix/api/execute", "Bearer k", "text/event-stream")
    assert body == {"language": "bash", "code": "echo done", "args": ["a"],
                    "limits": {"memory_mb": 32}}


def test_exec_gives_up_after_three_retries(stub):
    busy = b'{"error":{"code":"rate_limited","message":"slow down"}}'
    Stub.script = [(429, {"Retry-After": "0"}, busy)] * 4
    r = cli("exec", "--server", stub, "-l", "bash", "-c", "true")
    assert r.returncode == 125
    assert r.stderr == "soulbox: HTTP 429 rate_limited: slow down\n"
    assert len(Stub.seen) == 4


def test_a_malformed_or_cut_answer_is_an_error_not_a_result(stub):
    Stub.script = [(None, {}, b"SMTP ready\r\n\r\n")]
    r = cli("exec", "--server", stub, "-l", "bash", "-c", "true")
    assert r.returncode == 125 and "malformed answer" in r.stderr, r.stderr
    Stub.script = [(200, {"Content-Type": "text/event-stream"},
                    sse(("stdout", {"type": "stdout", "data": "partial\n"})))]
    r = cli("exec", "--server", stub, "-l", "bash", "-c", "true")
    assert (r.returncode, r.stdout) == (125, "partial\n")
    assert "the stream ended without a result" in r.stderr


# ---- soulbox sandbox ----

def test_sandbox_create_cp_exec_ls_kill(srv, tmp_path):
    env = alice(srv)
    r = cli("sandbox", "create", "--timeout", "120", "--env", "GREETING=hello", env=env)
    assert r.returncode == 0, r.stderr
    sid = r.stdout.strip()
    assert re.fullmatch(r"[a-z0-9]{20}", sid)
    try:
        r = cli("sandbox", "ls", env=env)
        assert r.returncode == 0
        assert re.search(rf"^{sid} +base +running +namespaces +1[01]\d$", r.stdout, re.M), r.stdout
        local = tmp_path / "in.csv"
        local.write_bytes(b"a,b\n1,2\n\xff\xfe")
        assert cli("sandbox", "cp", str(local), f"{sid}:data/", env=env).returncode == 0
        r = cli("sandbox", "ls", f"{sid}:data", env=env)
        assert re.fullmatch(r"-rw-r--r-- +10 \S+ /home/user/data/in\.csv\n", r.stdout), r.stdout
        r = cli("sandbox", "exec", sid, "cd data && wc -c < in.csv && echo $GREETING >&2; exit 6",
                env=env)
        assert (r.returncode, r.stdout, r.stderr) == (6, "10\n", "hello\n")
        r = cli("sandbox", "exec", "--cwd", "/tmp", sid, "--", "sh", "-c", "pwd; cat", env=env,
                stdin="from stdin\n")
        assert (r.returncode, r.stdout) == (0, "/tmp\n"), r.stderr
        stdin_file = tmp_path / "stdin.txt"
        stdin_file.write_text("from a file\n")
        r = cli("sandbox", "exec", "--stdin", str(stdin_file), sid, "cat", env=env)
        assert (r.returncode, r.stdout) == (0, "from a file\n")
        back = tmp_path / "back.csv"
        assert cli("sandbox", "cp", f"{sid}:data/in.csv", str(back), env=env).returncode == 0
        assert back.read_bytes() == local.read_bytes()
        r = cli("sandbox", "cp", f"{sid}:data/nope", str(back), env=env)
        assert r.returncode == 125
        assert r.stderr.startswith("soulbox: HTTP 404 not_found: open /home/user/data/nope: ENOENT")
        # another key sees nothing of it
        bob = {"SOULBOX_URL": srv.url, "SOULBOX_API_KEY": "bob-secret-1"}
        r = cli("sandbox", "exec", sid, "true", env=bob)
        assert r.returncode == 125 and "HTTP 404 not_found: no such sandbox" in r.stderr
        assert sid not in cli("sandbox", "ls", env=bob).stdout
    finally:
        r = cli("sandbox", "kill", sid, env=env)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = cli("sandbox", "kill", sid, env=env)
    assert r.returncode == 125 and "no such sandbox" in r.stderr


def test_sandbox_usage_errors():
    r = cli("sandbox")
    assert r.returncode == 2 and r.stderr.startswith("usage: soulbox sandbox")
    r = cli("sandbox", "ls")
    assert r.returncode == 2 and "--server URL or $SOULBOX_URL is required" in r.stderr
    env = {"SOULBOX_URL": "127.0.0.1:1"}
    for args, msg in [(("frob",), "unknown command 'frob'"),
                      (("cp", "a", "b"), "one of SRC and DST must be ID:PATH"),
                      (("exec", "abc"), "no command"),
                      (("exec", "../x", "true"), "a session ID is required"),
                      (("ls", "--depth", "0", "x"), "--depth takes 1 to 16"),
                      (("kill",), "which session?")]:
        r = cli("sandbox", *args, env=env)
        assert r.returncode == 2, args
        assert msg in r.stderr, (args, r.stderr)
