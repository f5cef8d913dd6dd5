"""The HTTP API: the brief's example, every request field, every error, jobs, persistence."""
import base64
import concurrent.futures
import hashlib
import json
import re
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from conftest import SOULBOX, sandbox_processes
from server import Server, wait_until

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def srv():
    with Server("server:\n  max_concurrent: 16\n") as s:
        yield s


# ---- the brief ----

def test_brief_example_byte_for_byte(srv):
    out = subprocess.run(
        ["curl", "-s", "-X", "POST", srv.url + "/api/execute", "-H",
         "Content-Type: application/json", "-d",
         '{"language":"python","code":"print(\\"Hello, SoulBox!\\")\\nprint(2 + 2)"}'],
        capture_output=True, text=True, check=True).stdout
    assert re.match(r'^\{"stdout":"Hello, SoulBox!\\n4\\n","stderr":"","exit_code":0,'
                    r'"execution_time":"\d+ms",', out), out
    res = json.loads(out)
    assert res["status"] == "ok" and res["signal"] is None
    assert UUID.match(res["id"])
    for k in ("wall_time_ms", "cpu_time_ms", "memory_kb"):
        assert isinstance(res[k], int)


def test_health(srv):
    r = srv.get("/health")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok"
    assert body["version"] and isinstance(body["uptime_s"], int)
    # the last test's sandbox may still be tearing down after its result went out
    deadline = time.time() + 5
    while srv.get("/health").json()["active_sandboxes"] and time.time() < deadline:
        time.sleep(0.02)
    assert srv.get("/health").json()["active_sandboxes"] == 0
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-Id"])


def test_request_id_is_echoed(srv):
    r = srv.get("/health", headers={"X-Request-Id": "trace-42.abc"})
    assert r.headers["X-Request-Id"] == "trace-42.abc"
    r = srv.get("/health", headers={"X-Request-Id": "bad id with spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-Id"])


def test_languages_lists_real_versions(srv):
    srv.wait_languages()
    body = srv.get("/api/languages").json()
    names = {l["name"]: l for l in body["languages"]}
    assert {"python", "bash", "c"} <= set(names)
    py = subprocess.run(["/usr/bin/python3", "--version"], capture_output=True, text=True).stdout
    assert names["python"]["version"] == py.split()[1]
    assert names["c"]["compiled"] is True and names["python"]["compiled"] is False
    assert "py" in names["python"]["aliases"]


# ---- request fields ----

def test_stdin_args_env(srv):
    code = "import os, sys\nprint(sys.stdin.read().upper(), sys.argv[1:], os.environ['GREETING'])"
    res = srv.execute({"language": "python", "code": code, "stdin": "abc",
                       "args": ["x", "y z"], "env": {"GREETING": "hi"}}).json()
    assert res["stdout"] == "ABC ['x', 'y z'] hi\n"


def test_alias_language(srv):
    assert srv.execute({"language": "py", "code": "print(7)"}).json()["stdout"] == "7\n"


def test_limits_are_applied(srv):
    res = srv.execute({"language": "bash", "code": "sleep 5",
                       "limits": {"wall_time_ms": 300}}).json()
    assert res["status"] == "time_limit_exceeded"
    res = srv.execute({"language": "python", "code": "x = bytearray(200 << 20)",
                       "limits": {"memory_mb": 64}}).json()
    assert res["status"] == "memory_limit_exceeded"
    res = srv.execute({"language": "python", "code": "print('y' * 100000)",
                       "limits": {"output_kb": 1}}).json()
    assert res["status"] == "output_limit_exceeded" and len(res["stdout"]) == 1024


def test_multi_file_program_with_subdirectory(srv):
    files = [
        {"name": "main.py", "content": "from pkg.util import double\nprint(double(21))\n"
                                       "print(open('data/x.bin','rb').read())"},
        {"name": "pkg/__init__.py", "content": ""},
        {"name": "pkg/util.py", "content": "def double(x): return 2 * x\n"},
        {"name": "data/x.bin", "content": base64.b64encode(b"\x00\x01\xff").decode(),
         "encoding": "base64"},
    ]
    res = srv.execute({"language": "python", "files": files}).json()
    assert res["status"] == "ok", res
    assert res["stdout"] == "42\nb'\\x00\\x01\\xff'\n"


def test_first_file_is_the_entry_point(srv):
    files = [{"name": "app.sh", "content": "echo from $0; source lib.sh; greet"},
             {"name": "lib.sh", "content": "greet() { echo hello; }"}]
    res = srv.execute({"language": "bash", "files": files}).json()
    assert res["stdout"] == "from app.sh\nhello\n"


def test_c_over_http(srv):
    res = srv.execute({"language": "c", "code": "#include <stdio.h>\nint main(){puts(\"c!\");}"}).json()
    assert res["stdout"] == "c!\n" and res["compile"]["status"] == "ok"
    res = srv.execute({"language": "c", "code": "int main(){ oops }"}).json()
    assert res["status"] == "compile_error" and "oops" in res["compile_output"]


def test_program_failures_are_200_with_a_status(srv):
    r = srv.execute({"language": "python", "code": "raise SystemExit(4)"})
    assert r.status_code == 200 and r.json()["status"] == "runtime_error"
    assert r.json()["exit_code"] == 4


# ---- errors ----

BAD_REQUESTS = [
    (b"{not json", 400, "invalid_argument", "invalid JSON"),
    (b"[1,2]", 400, "invalid_argument", "JSON object"),
    ({"language": "python"}, 400, "invalid_argument", "code"),
    ({"language": 5, "code": "1"}, 400, "invalid_argument", "language"),
    ({"language": "python", "code": 1}, 400, "invalid_argument", "code"),
    ({"language": "python", "code": "1", "extra": 1}, 400, "invalid_argument", "extra: unknown"),
    ({"language": "python", "code": "1", "files": []}, 400, "invalid_argument", "both"),
    ({"language": "python", "code": "1", "stdin": 5}, 400, "invalid_argument", "stdin"),
    ({"language": "python", "code": "1", "args": "x"}, 400, "invalid_argument", "args"),
    ({"language": "python", "code": "1", "args": ["a\u0000b"]}, 400, "invalid_argument", "args[0]"),
    ({"language": "python", "code": "1", "env": {"1X": "y"}}, 400, "invalid_argument", "env.1X"),
    ({"language": "python", "code": "1", "env": {"X": 1}}, 400, "invalid_argument", "env.X"),
    ({"language": "python", "code": "1", "limits": {"memory_mb": 999999}}, 400,
     "limit_exceeds_max", "limits.memory_mb"),
    ({"language": "python", "code": "1", "limits": {"wall_time_ms": 10 ** 9}}, 400,
     "limit_exceeds_max", "limits.wall_time_ms"),
    ({"language": "python", "code": "1", "limits": {"cpu_time_ms": -1}}, 400,
     "invalid_argument", "limits.cpu_time_ms"),
    ({"language": "python", "code": "1", "limits": {"gpus": 1}}, 400, "invalid_argument",
     "limits.gpus"),
    ({"language": "python", "files": [{"name": "/etc/x", "content": ""}]}, 400,
     "invalid_argument", "files[0].name"),
    ({"language": "python", "files": [{"name": "../x", "content": ""}]}, 400,
     "invalid_argument", "files[0].name"),
    ({"language": "python", "files": [{"name": "a/../b", "content": ""}]}, 400,
     "invalid_argument", "files[0].name"),
    ({"language": "python", "files": [{"name": "a\u0000b", "content": ""}]}, 400,
     "invalid_argument", "files[0].name"),
    ({"language": "python", "files": [{"name": "a", "content": ""}, {"name": "a", "content": ""}]},
     400, "invalid_argument", "twice"),
    ({"language": "python", "files": [{"name": "a", "content": "!!", "encoding": "base64"}]},
     400, "invalid_argument", "base64"),
    ({"language": "python", "files": [{"name": f"f{i}", "content": ""} for i in range(300)]},
     400, "invalid_argument", "at most"),
    ({"language": "python", "code": "1", "callback_url": "http://example.com/"}, 400,
     "invalid_argument", "callback_url"),
    ({"language": "klingon", "code": "1"}, 422, "unknown_language", "klingon"),
]


@pytest.mark.parametrize("body,status,code,needle", BAD_REQUESTS)
def test_bad_requests(srv, body, status, code, needle):
    r = srv.execute(body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert needle in err["message"], err
    assert "X-Request-Id" in r.headers


def test_duplicate_json_keys_are_rejected(srv):
    r = srv.execute(b'{"language":"python","language":"bash","code":"1"}')
    assert r.status_code == 400


def test_404_405_415(srv):
    assert srv.get("/nope").status_code == 404
    assert srv.get("/api/executions/not-a-uuid").status_code == 404
    assert srv.get("/api/executions/00000000-0000-4000-8000-000000000000").status_code == 404
    r = requests.delete(srv.url + "/api/execute")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert r.json()["error"]["code"] == "method_not_allowed"
    r = srv.post("/api/execute", b'{"language":"python","code":"1"}',
                 headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"


def test_413_body_too_large():
    with Server("server:\n  max_body_kb: 64\n") as s:
        r = s.execute({"language": "python", "code": "#" * 100000})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        # chunked bodies are counted too
        def gen():
            for _ in range(100):
                yield b"x" * 1024
        r = requests.post(s.url + "/api/execute", data=gen(),
                          headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert s.get("/health").status_code == 200


def test_chunked_request_body(srv):
    def gen():
        yield b'{"language":"python",'
        yield b'"code":"print(5)"}'
    r = requests.post(srv.url + "/api/execute", data=gen(),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["stdout"] == "5\n"


def test_keep_alive_reuses_the_connection(srv):
    with requests.Session() as sess:
        for i in range(3):
            r = sess.post(srv.url + "/api/execute", json={"language": "bash", "code": f"echo {i}"})
            assert r.json()["stdout"] == f"{i}\n"
            assert r.headers["Connection"] == "keep-alive"
            assert r.headers["Keep-Alive"] == "timeout=60"  # server.idle_timeout_ms


def test_503_when_the_queue_is_full():
    with Server("server:\n  max_concurrent: 1\n  max_queue: 0\n") as s:
        first = {}
        t = threading.Thread(target=lambda: first.update(r=s.execute(
            {"language": "bash", "code": "sleep 1.5; echo done"})))
        t.start()
        assert wait_until(lambda: s.get("/health").json()["running"] == 1), "the first never ran"
        r = s.execute({"language": "bash", "code": "echo 2"})
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        assert r.json()["error"]["code"] == "unavailable"
        t.join()
        assert first["r"].json()["stdout"] == "done\n"
        assert 'soulbox_rejected_requests_total{reason="queue_full"} 1' in s.get("/metrics").text


def test_queue_waits_for_a_slot():
    with Server("server:\n  max_concurrent: 1\n  max_queue: 10\n") as s:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            rs = list(pool.map(lambda i: s.execute({"language": "bash", "code": f"sleep 0.2; echo {i}"}),
                               range(4)))
        assert sorted(r.json()["stdout"] for r in rs) == ["0\n", "1\n", "2\n", "3\n"]


# ---- auth and rate limits ----

def test_auth_with_env_keys():
    with Server("", env={"SOULBOX_API_KEYS": "ci:s3cret,dev:other"}) as s:
        body = {"language": "bash", "code": "echo ok"}
        r = s.execute(body)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert s.execute(body, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert s.execute(body, headers={"Authorization": "Basic czNjcmV0"}).status_code == 401
        assert s.execute(body, headers={"Authorization": "Bearer s3cret"}).json()["stdout"] == "ok\n"
        assert s.execute(body, headers={"X-API-Key": "other"}).json()["stdout"] == "ok\n"
        assert s.get("/health").status_code == 200       # public
        assert s.get("/metrics").status_code == 200      # public by default
        assert s.get("/api/languages").status_code == 401


def test_auth_with_hashed_config_keys_and_private_metrics():
    h = hashlib.sha256(b"letmein").hexdigest()
    cfg = f"server:\n  metrics_public: false\n  auth:\n    enabled: true\n    keys:\n      - id: team\n        sha256: {h}\n"
    with Server(cfg) as s:
        assert s.get("/metrics").status_code == 401
        r = s.get("/metrics", headers={"X-API-Key": "letmein"})
        assert r.status_code == 200 and "soulbox_executions_total" in r.text

        def audited():                       # the records are written off the request path
            out = subprocess.run([SOULBOX, "audit", "--data-dir", s.data_dir, "--json"],
                                 capture_output=True, text=True, check=True).stdout
            return '"auth_failure"' in out and out
        out = wait_until(audited)
        assert out, "the auth failure was not audited"
        events = [json.loads(l) for l in out.splitlines()]
        fails = [e for e in events if e["event"] == "auth_failure"]
        assert fails and fails[0]["client"] == "127.0.0.1"
        assert "letmein" not in out and h not in out


def test_remote_listen_without_auth_is_refused():
    s = Server("server:\n  listen: 0.0.0.0\n")
    with pytest.raises(RuntimeError) as e:
        s.start(timeout=10)
    assert "refusing to serve" in str(e.value)


def test_rate_limit_per_key():
    cfg = "server:\n  rate_limit:\n    requests_per_second: 1\n    burst: 3\n"
    with Server(cfg, env={"SOULBOX_API_KEYS": "a:ka,b:kb"}) as s:
        t0 = time.monotonic()       # a's bucket starts full at its first request
        codes = [s.get("/api/languages", headers={"X-API-Key": "ka"}).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        r = s.get("/api/languages", headers={"X-API-Key": "ka"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        # another key has its own bucket
        assert s.get("/api/languages", headers={"X-API-Key": "kb"}).status_code == 200
        # 3 spent, 1 token/s: a is served again once 1 s has passed since its
        # first request, not before
        assert wait_until(lambda: s.get("/api/languages", headers={"X-API-Key": "ka"}).status_code
                          == 200, timeout=5)
        assert time.monotonic() - t0 > 0.99     # (the server counts whole milliseconds)
        assert 'soulbox_rejected_requests_total{reason="rate_limited"}' in s.get("/metrics").text


# ---- async jobs and callbacks ----

def test_async_job_and_polling(srv):
    r = srv.post("/api/executions", {"language": "bash", "code": "sleep 0.5; echo later"})
    assert r.status_code == 202
    job = r.json()
    assert job["status"] == "queued" and UUID.match(job["id"])
    assert r.headers["Location"] == "/api/executions/" + job["id"]
    seen = set()
    deadline = time.time() + 20
    while time.time() < deadline:
        cur = srv.get("/api/executions/" + job["id"]).json()
        seen.add(cur["status"])
        if cur["status"] not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert "running" in seen
    assert cur["status"] == "ok" and cur["stdout"] == "later\n"
    assert cur["mode"] == "async" and cur["finished_at"] >= cur["started_at"] >= cur["created_at"]


def test_list_is_newest_first_and_paginated(srv):
    ids = [srv.execute({"language": "bash", "code": f"echo {i}"}).json()["id"] for i in range(3)]
    page = srv.get("/api/executions?limit=2").json()
    assert [e["id"] for e in page["executions"]] == ids[::-1][:2]
    nxt = srv.get("/api/executions?limit=2&cursor=" + page["next_cursor"]).json()
    assert nxt["executions"][0]["id"] == ids[0]
    assert srv.get("/api/executions?limit=0").status_code == 400
    assert srv.get("/api/executions?limit=abc").status_code == 400
    assert srv.get("/api/executions?cursor=x").status_code == 400


class _Receiver(BaseHTTPRequestHandler):
    got = []
    fail_first = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_first > 0:
            _Receiver.fail_first -= 1
            self.send_response(500)
            self.end_headers()
            return
        _Receiver.got.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_callback_is_delivered_with_retries():
    httpd = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Receiver.got.clear()
    _Receiver.fail_first = 1
    cb = f"http://127.0.0.1:{httpd.server_address[1]}/hook?x=1"
    try:
        with Server("server:\n  callbacks:\n    allow_private: true\n") as s:
            job = s.post("/api/executions", {"language": "bash", "code": "echo cb",
                                             "callback_url": cb}).json()
            deadline = time.time() + 20
            while not _Receiver.got and time.time() < deadline:
                time.sleep(0.05)
            path, headers, payload = _Receiver.got[0]
            assert path == "/hook?x=1"
            assert headers["X-SoulBox-Execution"] == job["id"]
            assert payload["id"] == job["id"] and payload["stdout"] == "cb\n"
            # the delivery is recorded once the receiver's 204 is in
            wait_until(lambda: s.get("/api/executions/" + job["id"]).json()["callback"]["state"]
                       != "pending")
            cur = s.get("/api/executions/" + job["id"]).json()
            assert cur["callback"] == {"url": cb, "state": "delivered", "attempts": 2}
    finally:
        httpd.shutdown()


def test_callback_to_private_address_is_refused_by_default(srv):
    for url in ("http://127.0.0.1:9/x", "http://169.254.169.254/latest", "http://[::1]/",
                "http://10.1.2.3/", "http://localhost/"):
        r = srv.post("/api/executions", {"language": "bash", "code": "true", "callback_url": url})
        assert r.status_code == 400, url
        assert "callback_url" in r.json()["error"]["message"]


def test_callback_dns_to_loopback_is_refused_at_delivery():
    # "localhost.localdomain"-style names resolving to loopback pass the literal
    # check but are refused after resolution, and the job records why.
    with Server("") as s:
        host = socket.gethostname()
        job = s.post("/api/executions", {"language": "bash", "code": "true",
                                         "callback_url": f"http://{host}:9/"}).json()
        deadline = time.time() + 20
        while time.time() < deadline:
            cur = s.get("/api/executions/" + job["id"]).json()
            if cur.get("callback", {}).get("state", "").startswith("failed"):
                break
            time.sleep(0.1)
        state = cur["callback"]["state"]
        assert state.startswith("failed: destination refused") or "resolve" in state or \
            "address" in state, state


# ---- persistence ----

def test_results_survive_restart_and_kill9():
    s = Server("")
    s.start()
    done = s.execute({"language": "bash", "code": "echo kept"}).json()
    running = s.post("/api/executions", {"language": "bash", "code": "sleep 30"}).json()
    wait_until(lambda: s.get("/api/executions/" + running["id"]).json()["status"] != "queued")
    assert s.get("/api/executions/" + running["id"]).json()["status"] == "running"
    s.kill9()
    # the sandbox died with the server: `sleep 30` still there after 10 s did not
    assert wait_until(lambda: sandbox_processes() == []), sandbox_processes()
    s2 = Server("", data_dir=s.data_dir)
    with s2:
        kept = s2.get("/api/executions/" + done["id"]).json()
        assert kept["status"] == "ok" and kept["stdout"] == "kept\n"
        lost = s2.get("/api/executions/" + running["id"]).json()
        assert lost["status"] == "internal_error"
        assert "stopped while this execution was running" in lost["message"]
    s3 = Server("", data_dir=s.data_dir)
    with s3:
        assert s3.get("/api/executions/" + done["id"]).json()["stdout"] == "kept\n"


def test_data_dir_is_locked_to_one_server(srv):
    s = Server("", data_dir=srv.data_dir)
    with pytest.raises(RuntimeError) as e:
        s.start(timeout=10)
    assert "in use by another soulbox server" in str(e.value)


def test_graceful_shutdown_finishes_in_flight_runs():
    s = Server("server:\n  shutdown_grace_ms: 10000\n").start()
    out = {}
    t = threading.Thread(target=lambda: out.update(r=s.execute({"language": "bash",
                                                               "code": "sleep 1; echo finished"})))
    t.start()
    assert wait_until(lambda: s.get("/health").json()["running"] == 1), "the run never started"
    rc = s.stop()
    t.join()
    assert rc == 0
    assert out["r"].json()["stdout"] == "finished\n"


def test_shutdown_cancels_runs_past_the_grace_period():
    s = Server("server:\n  shutdown_grace_ms: 300\n").start()
    out = {}
    t = threading.Thread(target=lambda: out.update(r=s.execute({"language": "bash",
                                                               "code": "sleep 30"})))
    t.start()
    assert wait_until(lambda: s.get("/health").json()["running"] == 1), "the run never started"
    t0 = time.time()
    assert s.stop() == 0
    assert time.time() - t0 < 5
    t.join()
    res = out["r"]
    assert res.status_code == 200 and res.json()["status"] == "internal_error"
    assert "shut down" in res.json()["message"]
    assert sandbox_processes() == []


# ---- metrics ----

def test_metrics_change_after_runs(srv):
    def value(text, line):
        for l in text.splitlines():
            if l.startswith(line + " "):
                return float(l.split()[-1])
        return 0.0
    key = 'soulbox_executions_total{language="bash",status="runtime_error"}'
    before = srv.get("/metrics").text
    srv.execute({"language": "bash", "code": "exit 3"})
    srv.execute({"language": "bash", "code": "exit 3"})
    after = srv.get("/metrics").text
    assert value(after, key) == value(before, key) + 2
    assert value(after, "soulbox_execution_duration_seconds_count") >= \
        value(before, "soulbox_execution_duration_seconds_count") + 2
    assert 'soulbox_http_requests_total{route="/api/execute",code="200"}' in after
    assert "# TYPE soulbox_active_sandboxes gauge" in after
    assert "# TYPE soulbox_queue_depth gauge" in after
    # what deploy/monitoring/alerts.yml watches: faults, as counters
    for name in ("soulbox_sandbox_setup_failures_total", "soulbox_seccomp_kills_total",
                 "soulbox_store_errors_total"):
        assert f"# TYPE {name} counter" in after
    res = srv.execute({"language": "python",
                       "code": "import ctypes\nctypes.CDLL(None).syscall(169, 0, 0, 0, 0)"}).json()
    assert res["signal"] == 31, res
    assert value(srv.get("/metrics").text, "soulbox_seccomp_kills_total") == \
        value(after, "soulbox_seccomp_kills_total") + 1


# ---- load and hostile clients ----

def test_200_parallel_executions_all_correct():
    with Server("server:\n  max_concurrent: 64\n  max_queue: 1000\n") as s:
        def one(i):
            r = s.execute({"language": "python", "code": f"print({i} * {i})"})
            return i, r.status_code, r.json()
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, range(200)))
        for i, status, res in results:
            assert status == 200 and res["status"] == "ok" and res["stdout"] == f"{i * i}\n", res
        assert len({r[2]["id"] for r in results}) == 200


def raw(srv, data, read=True):
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.settimeout(10)
    s.sendall(data)
    out = b""
    if read:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
    s.close()
    return out


@pytest.mark.parametrize("data,status", [
    (b"GARBAGE\r\n\r\n", b"400"),
    (b"GET / HTTP/9.9\r\n\r\n", b"505"),
    (b"\x00\x01\x02\x03\r\n\r\n", b"400"),
    (b"POST /api/execute HTTP/1.1\r\nContent-Length: abc\r\n\r\n", b"400"),
    (b"POST /api/execute HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
    (b"GET /health HTTP/1.1\r\nX: " + b"a" * 40000 + b"\r\n\r\n", b"431"),
])
def test_malformed_http_gets_an_error_and_the_server_lives(srv, data, status):
    out = raw(srv, data)
    assert out.startswith(b"HTTP/1.1 " + status), out[:200]
    assert b'"error"' in out
    assert srv.get("/health").status_code == 200


def test_slow_client_times_out():
    with Server("server:\n  header_timeout_ms: 500\n") as s:
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")   # never finishes the headers
        sock.settimeout(5)
        t0 = time.time()
        data = sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 408")
        assert time.time() - t0 < 3
        sock.close()
        assert s.get("/health").status_code == 200


def test_pipelined_requests(srv):
    req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    out = raw(srv, req * 3 + b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200") == 4


def test_client_disconnect_mid_run_kills_the_sandbox(srv):
    marker = f"soulbox-disconnect-{time.time_ns()}"
    body = json.dumps({"language": "bash", "code": f"exec -a {marker} sleep 60"}).encode()
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.sendall(b"POST /api/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    deadline = time.time() + 10
    while marker not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout:
        assert time.time() < deadline, "sandbox never started"
        time.sleep(0.05)
    sock.close()
    deadline = time.time() + 10
    while marker in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout:
        assert time.time() < deadline, "sandbox survived its client"
        time.sleep(0.05)
    # its processes go first (with the agent, pid 1); the server counts the
    # sandbox gone once it has reaped the agent and removed the cgroup
    while srv.get("/health").json()["active_sandboxes"] != 0:
        assert time.time() < deadline, "the server still counts the sandbox"
        time.sleep(0.02)


# ---- audit ----

def test_audit_log_records_executions_and_security_events(tmp_path):
    audit_file = tmp_path / "audit.jsonl"
    with Server(f"server:\n  audit_log: {audit_file}\n", env={"SOULBOX_API_KEYS": "ops:topsecret"}) as s:
        h = {"X-API-Key": "topsecret"}
        code = "print(1)"
        s.execute({"language": "python", "code": code}, headers=h)
        s.execute({"language": "bash", "code": "sleep 5", "limits": {"wall_time_ms": 200}}, headers=h)
        s.execute({"language": "python", "code": "import ctypes\nctypes.CDLL(None).syscall(169, 0, 0, 0, 0)"},
                  headers=h)
        s.execute({"language": "python", "code": code}, headers={"X-API-Key": "wrong"})

        def audited():                       # the records are written off the request path
            out = subprocess.run([SOULBOX, "audit", "--data-dir", s.data_dir, "--json"],
                                 capture_output=True, text=True, check=True).stdout
            events = [json.loads(l)["event"] for l in out.splitlines()]
            done = events.count("execution") >= 3 and \
                {"limit_exceeded", "seccomp_kill", "auth_failure"} <= set(events)
            return done and out
        out = wait_until(audited)
        assert out, "the audit records were not written"
    rows = [json.loads(l) for l in out.splitlines()]
    events = [r["event"] for r in rows]
    assert events.count("execution") == 3
    assert "limit_exceeded" in events and "seccomp_kill" in events and "auth_failure" in events
    first = next(r for r in rows if r["event"] == "execution")
    assert first["code_sha256"] == hashlib.sha256(code.encode()).hexdigest()
    assert first["key_id"] == "ops" and first["client"] == "127.0.0.1"
    assert first["limits"]["memory_mb"] == 512 and first["status"] == "ok"  # python's default
    kill = next(r for r in rows if r["event"] == "seccomp_kill")
    assert "reboot" in kill["detail"]
    assert "topsecret" not in out
    # the same records, as JSON lines in the configured file
    filed = [json.loads(l) for l in audit_file.read_text().splitlines()]
    assert [r["event"] for r in filed] == events
    # --since in the future: nothing; an age: everything
    later = subprocess.run([SOULBOX, "audit", "--data-dir", s.data_dir, "--since", "2099-01-01"],
                           capture_output=True, text=True, check=True).stdout
    assert later == ""
    recent = subprocess.run([SOULBOX, "audit", "--data-dir", s.data_dir, "--since", "1h"],
                            capture_output=True, text=True, check=True).stdout
    assert len(recent.splitlines()) == len(rows)
    bad = subprocess.run([SOULBOX, "audit", "--data-dir", s.data_dir, "--since", "yesterday"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--since" in bad.stderr
