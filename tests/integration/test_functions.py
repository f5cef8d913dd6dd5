"""Serverless functions against the real `soulbox serve`: deploy, versions,
aliases, rollback, invoke over /fn in Python, JavaScript, Go and bash, the
event and response round trip (headers, binary bodies), failures (a crash, a
timeout, memory) with the right status and a replaced instance, warm
instances and scaling, isolation, schedules, async invocations, secrets,
auth, logs, metrics and persistence across a restart."""
import base64
import json
import subprocess
import threading
import time
import uuid

import pytest
import requests

from conftest import SOULBOX
from server import Server, wait_until

KEYS = "alice:ka-fn-secret,bob:kb-fn-secret"
A = {"X-API-Key": "ka-fn-secret"}
B = {"X-API-Key": "kb-fn-secret"}
CFG = ("sandbox:\n  languages: [python, bash, javascript, go]\n"
       "functions:\n  max_queue: 4\n  idle_timeout_ms: 60000\n")

PY_ECHO = """
import base64
def handler(event, context):
    return {"status": 200, "headers": {"x-version": str(context.function_version)},
            "body": {"method": event["method"], "path": event["path"], "query": event["query"],
                     "header": event["headers"].get("x-test"), "body": event["body"],
                     "is_base64": event["is_base64"], "request_id": context.request_id}}
"""


@pytest.fixture(scope="module")
def srv():
    s = Server(CFG, env={"SOULBOX_API_KEYS": KEYS}, all_languages=True, pools=True)
    s.start()
    s.wait_languages()
    yield s
    s.stop()


def deploy(s, spec, key=A, status=201):
    r = requests.post(s.url + "/api/functions", json=spec, headers=key, timeout=120)
    assert r.status_code == status, r.text
    return r.json()


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def invoke(s, target, method="POST", path="", key=A, **kw):
    return requests.request(method, f"{s.url}/fn/{target}{path}", headers={**key, **kw.pop(
        "headers", {})}, timeout=60, **kw)


# ---- deploy, versions, aliases, rollback ----

def test_python_handler_round_trips_the_request(srv):
    n = name("echo")
    v = deploy(srv, {"name": n, "language": "python", "code": PY_ECHO})
    assert v["version"] == 1 and v["mode"] == "handler" and v["handler"] == "main.handler"
    r = invoke(srv, n, path="/a/b%20c?x=1&y=two+words&x=3", headers={"X-Test": "hdr"},
               data="héllo".encode())
    assert r.status_code == 200, r.text
    assert r.headers["x-version"] == "1" and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body == {"method": "POST", "path": "/a/b c", "query": {"x": "3", "y": "two words"},
                    "header": "hdr", "body": "héllo", "is_base64": False,
                    "request_id": body["request_id"]}
    # a body that is not UTF-8 arrives in base64
    raw = bytes(range(256))
    r = invoke(srv, n, data=raw)
    assert r.json()["is_base64"] is True and base64.b64decode(r.json()["body"]) == raw


def test_binary_bodies_go_both_ways(srv):
    n = name("bin")
    deploy(srv, {"name": n, "language": "python", "code":
                 "import base64\ndef handler(event, context):\n"
                 "    data = base64.b64decode(event['body']) if event['is_base64'] "
                 "else event['body'].encode()\n"
                 "    return {'body': bytes(reversed(data)), 'headers': {'content-type': "
                 "'application/x-raw'}}\n"})
    raw = bytes(range(255, -1, -1)) * 3
    r = invoke(srv, n, data=raw)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-raw"
    assert r.content == bytes(reversed(raw))


@pytest.mark.parametrize("value,status,ctype,body", [
    ("'plain text'", 200, "text/plain; charset=utf-8", b"plain text"),
    ("[1, 2, {'a': None}]", 200, "application/json", b'[1,2,{"a":null}]'),
    ("{'a': 1}", 200, "application/json", b'{"a":1}'),
    ("{'status': 404, 'body': 'nope'}", 404, "text/plain; charset=utf-8", b"nope"),
    ("b'\\x00\\x01'", 200, "application/octet-stream", b"\x00\x01"),
    ("None", 200, "application/json", b"null"),
])
def test_return_values_become_responses(srv, value, status, ctype, body):
    n = name("ret")
    deploy(srv, {"name": n, "language": "python",
                 "code": f"def handler(event, context):\n    return {value}\n"})
    r = invoke(srv, n, method="GET")
    assert (r.status_code, r.headers["content-type"], r.content) == (status, ctype, body)


def test_versions_aliases_and_rollback(srv):
    n = name("ver")
    for i in (1, 2, 3):
        v = deploy(srv, {"name": n, "language": "javascript",
                         "code": f"export function handler() {{ return 'v{i}'; }}\n"})
        assert v["version"] == i and v["active_version"] == i
    assert invoke(srv, n).text == "v3"
    assert invoke(srv, f"{n}@1").text == "v1"
    r = requests.put(f"{srv.url}/api/functions/{n}/aliases/prod", json={"version": 2}, headers=A)
    assert r.status_code == 200 and r.json()["aliases"] == {"prod": 2}
    assert invoke(srv, f"{n}@prod").text == "v2"
    # rollback: to the version before the active one, then to a named one
    r = requests.post(f"{srv.url}/api/functions/{n}/rollback", headers=A)
    assert r.status_code == 200 and r.json()["version"] == 2
    assert invoke(srv, n).text == "v2"
    r = requests.post(f"{srv.url}/api/functions/{n}/rollback", json={"version": 1}, headers=A)
    assert r.json()["active_version"] == 1 and invoke(srv, n).text == "v1"
    # a new deploy is active again
    assert deploy(srv, {"name": n, "language": "javascript",
                        "code": "exports.handler = async () => 'v4';\n"})["version"] == 4
    assert invoke(srv, n).text == "v4"
    vs = requests.get(f"{srv.url}/api/functions/{n}/versions", headers=A).json()
    assert [v["version"] for v in vs["versions"]] == [4, 3, 2, 1] and vs["active_version"] == 4
    assert invoke(srv, f"{n}@9").status_code == 404
    assert invoke(srv, f"{n}@staging").status_code == 404
    r = requests.delete(f"{srv.url}/api/functions/{n}/aliases/prod", headers=A)
    assert r.status_code == 200 and r.json()["aliases"] == {}
    assert invoke(srv, f"{n}@prod").status_code == 404
    r = requests.post(f"{srv.url}/api/functions/{n}/rollback", json={"version": 7}, headers=A)
    assert r.status_code == 404
    r = requests.put(f"{srv.url}/api/functions/{n}/aliases/123", json={"version": 1}, headers=A)
    assert r.status_code == 400
    assert requests.delete(f"{srv.url}/api/functions/{n}", headers=A).status_code == 204
    assert invoke(srv, n).status_code == 404
    assert requests.get(f"{srv.url}/api/functions/{n}", headers=A).status_code == 404


def test_go_and_bash_read_the_event_on_stdin(srv):
    g = name("go")
    v = deploy(srv, {"name": g, "language": "go", "code": """package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	var ev map[string]interface{}
	json.NewDecoder(os.Stdin).Decode(&ev)
	fmt.Printf("go %s %s %s", ev["method"], ev["path"], os.Getenv("SOULBOX_FUNCTION"))
}
"""})
    assert v["mode"] == "stdio"
    r = invoke(srv, g, method="PUT", path="/x")
    assert r.status_code == 200 and r.text == f"go PUT /x {g}"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    b = name("sh")
    deploy(srv, {"name": b, "language": "bash", "code": "read -r ev; echo \"v$SOULBOX_FUNCTION_VERSION ${#ev}\""})
    r = invoke(srv, b, method="GET")
    assert r.status_code == 200 and r.text.startswith("v1 ")
    # a compile error is the deploy's answer, not an invocation's
    bad = deploy(srv, {"name": name("gobad"), "language": "go",
                       "code": "package main\nfunc main() { undefined() }\n"}, status=400)
    assert "compile" in bad["error"]["message"] and "undefined" in bad["error"]["message"]


# ---- failures ----

@pytest.mark.parametrize("reuse", [False, True])
def test_a_raised_error_is_a_502_with_its_type(srv, reuse):
    n = name("raise")
    deploy(srv, {"name": n, "language": "python", "reuse": reuse, "code":
                 "def handler(event, context):\n    print('about to fail')\n"
                 "    raise ValueError('bad input')\n"})
    r = invoke(srv, n)
    assert r.status_code == 502
    e = r.json()["error"]
    assert e["code"] == "function_error" and e["status"] == "runtime_error"
    assert e["type"] == "ValueError" and "bad input" in e["message"]
    assert "raise ValueError" in e["stack"] and r.json()["request_id"]
    logs = requests.get(f"{srv.url}/api/functions/{n}/logs", headers=A).json()["invocations"]
    assert logs[0]["status"] == "runtime_error" and logs[0]["http_status"] == 502
    assert "about to fail" in logs[0]["logs"]


def test_a_crashed_instance_is_replaced(srv):
    n = name("crash")
    deploy(srv, {"name": n, "language": "python", "reuse": True, "code":
                 "import os\nn = 0\ndef handler(event, context):\n    global n\n    n += 1\n"
                 "    if event['query'].get('die'):\n        os._exit(7)\n    return n\n"})
    assert invoke(srv, n).json() == 1
    assert invoke(srv, n).json() == 2
    r = invoke(srv, n, path="?die=1")
    assert r.status_code == 502 and "exited (code 7)" in r.json()["error"]["message"]
    assert invoke(srv, n).json() == 1      # a new instance, its state fresh


@pytest.mark.parametrize("reuse", [False, True])
def test_a_timeout_is_a_504(srv, reuse):
    n = name("slow")
    deploy(srv, {"name": n, "language": "python", "reuse": reuse, "timeout_ms": 500, "code":
                 "import time\ndef handler(event, context):\n"
                 "    if event['query'].get('sleep'):\n        time.sleep(5)\n    return 'ok'\n"})
    t = time.monotonic()
    r = invoke(srv, n, path="?sleep=1")
    assert r.status_code == 504 and time.monotonic() - t < 4
    e = r.json()["error"]
    assert e["code"] == "function_timeout" and e["status"] == "time_limit_exceeded"
    assert "500 ms" in e["message"]
    assert invoke(srv, n).text == "ok"


@pytest.mark.parametrize("reuse", [False, True])
def test_memory_exhaustion_is_a_502(srv, reuse):
    n = name("mem")
    deploy(srv, {"name": n, "language": "python", "reuse": reuse, "limits": {"memory_mb": 64},
                 "code": "def handler(event, context):\n    if event['query'].get('eat'):\n"
                         "        b = bytearray(256 << 20)\n    return 'fine'\n"})
    r = invoke(srv, n, path="?eat=1")
    assert r.status_code == 502, r.text
    assert r.json()["error"]["status"] in ("memory_limit_exceeded", "runtime_error")
    if reuse:
        assert r.json()["error"]["status"] == "memory_limit_exceeded"
    assert invoke(srv, n).text == "fine"


def test_a_load_error_is_reported(srv):
    n = name("broken")
    deploy(srv, {"name": n, "language": "python", "reuse": True, "handler": "main.handler",
                 "code": "import no_such_module\n"})
    r = invoke(srv, n)
    assert r.status_code == 502
    assert "could not load" in r.json()["error"]["message"]
    assert "no_such_module" in r.json()["error"]["message"]


# ---- instances, scaling, isolation ----

def metric(s, name_, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in s.get("/metrics").text.splitlines():
        if line.startswith(name_ + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_warm_instances_keep_state_scale_up_and_back_down():
    with Server(CFG.replace("idle_timeout_ms: 60000", "idle_timeout_ms: 200"),
                all_languages=True) as s:
        s.wait_languages()
        n = name("scale")
        deploy(s, {"name": n, "language": "python", "reuse": True, "min_instances": 1,
                   "max_instances": 3, "idle_timeout_ms": 300, "code":
                   "import uuid, time\nme = uuid.uuid4().hex\nseen = 0\n"
                   "def handler(event, context):\n    global seen\n"
                   "    seen += 1\n    time.sleep(float(event['query'].get('t', '0')))\n"
                   "    return {'instance': me, 'seen': seen}\n"}, key={})
        assert wait_until(lambda: metric(s, "soulbox_function_instances", function=n) == 1,
                          timeout=30), "min_instances was not started"
        first = invoke(s, n, key={}).json()
        second = invoke(s, n, key={}).json()
        assert second["seen"] == first["seen"] + 1   # the same warm instance
        results = []

        def call():
            results.append(invoke(s, n, path="?t=1", key={}).json())
        # one runs on the ready instance, four wait (functions.max_queue)
        threads = [threading.Thread(target=call) for _ in range(5)]
        for t in threads:
            t.start()
        assert wait_until(lambda: metric(s, "soulbox_function_instances", function=n) == 3,
                          timeout=30), "did not scale to max_instances"
        for t in threads:
            t.join(60)
        assert len(results) == 5 and len({r["instance"] for r in results}) >= 2, results
        assert metric(s, "soulbox_function_instances", function=n) <= 3
        # idle: back to min_instances
        assert wait_until(lambda: metric(s, "soulbox_function_instances", function=n) == 1,
                          timeout=30), "did not scale back down"
        assert metric(s, "soulbox_function_invocations_total", function=n, status="ok",
                      start="warm") >= 1


def test_without_reuse_every_invocation_is_fresh(srv):
    n = name("fresh")
    deploy(srv, {"name": n, "language": "python", "code":
                 "import os\ncount = 0\ndef handler(event, context):\n    global count\n"
                 "    count += 1\n    seen = os.path.exists('/tmp/mark')\n"
                 "    open('/tmp/mark', 'w').write('x')\n    return [count, seen]\n"})
    assert [invoke(srv, n).json() for _ in range(3)] == [[1, False]] * 3


def test_functions_do_not_see_each_other(srv):
    a, b = name("iso-a"), name("iso-b")
    code = ("import os, glob\ndef handler(event, context):\n"
            "    if event['method'] == 'PUT':\n        open('/tmp/secret', 'w').write('mine')\n"
            "    return {'tmp': sorted(glob.glob('/tmp/*')), 'env': os.environ.get('TOKEN'),"
            " 'files': sorted(os.listdir('.'))}\n")
    deploy(srv, {"name": a, "language": "python", "reuse": True, "code": code,
                 "env": {"TOKEN": {"value": "a-token", "secret": True}}})
    deploy(srv, {"name": b, "language": "python", "reuse": True, "code": code})
    assert invoke(srv, a, method="PUT").json()["env"] == "a-token"
    assert invoke(srv, a).json()["tmp"] == ["/tmp/secret"]   # reuse: the same instance
    other = invoke(srv, b).json()
    assert other["tmp"] == [] and other["env"] is None
    # the secret's value is nowhere in what the API shows
    for path in (f"/api/functions/{a}", f"/api/functions/{a}/versions", "/api/functions",
                 f"/api/functions/{a}/logs"):
        text = requests.get(srv.url + path, headers=A).text
        assert "a-token" not in text, path
    assert requests.get(f"{srv.url}/api/functions/{a}", headers=A).json()["active"]["env"] == \
        {"TOKEN": {"secret": True}}


# ---- async, schedules, logs ----

def test_async_invocation_keeps_its_result(srv):
    n = name("async")
    deploy(srv, {"name": n, "language": "python",
                 "code": "def handler(event, context):\n    return {'status': 201, 'body': "
                         "event['body'][::-1]}\n"})
    r = requests.post(f"{srv.url}/api/functions/{n}/invocations", headers=A,
                      json={"event": {"method": "POST", "path": "/", "query": {}, "headers": {},
                                      "body": "abc", "is_base64": False}})
    assert r.status_code == 202 and r.json()["state"] == "running"
    iid = r.json()["id"]

    def done():
        j = requests.get(f"{srv.url}/api/functions/{n}/invocations/{iid}", headers=A).json()
        return j if j["state"] == "done" else None
    assert wait_until(done, timeout=30)
    j = done()
    assert j["status"] == "ok" and j["http_status"] == 201 and j["async"] is True
    assert j["response"]["body"] == "cba" and j["response"]["status"] == 201
    assert requests.get(f"{srv.url}/api/functions/{n}/invocations/nope",
                        headers=A).status_code == 404


def test_a_schedule_fires():
    with Server(CFG, all_languages=True) as s:
        s.wait_languages()
        n = name("cron")
        deploy(s, {"name": n, "language": "python", "schedule": ["@every 1s"], "code":
                   "def handler(event, context):\n    print(event['source'], event['schedule'])\n"
                   "    return 'tick'\n"}, key={})

        def fired():
            inv = s.get(f"/api/functions/{n}/logs").json()["invocations"]
            return [i for i in inv if i["state"] == "done"]
        assert wait_until(lambda: len(fired()) >= 2, timeout=30), "the schedule did not fire"
        inv = fired()
        assert all(i["status"] == "ok" and i["logs"].startswith("schedule @every 1s")
                   for i in inv)
        bad = deploy(s, {"name": name("cronbad"), "language": "python", "schedule": "61 * * * *",
                         "code": "def handler(e, c):\n    return 1\n"}, key={}, status=400)
        assert "minute: 61 is out of range 0-59" in bad["error"]["message"]


# ---- limits, auth, validation ----

def test_a_full_queue_is_429_with_retry_after(srv):
    n = name("queue")
    deploy(srv, {"name": n, "language": "python", "reuse": True, "max_instances": 1,
                 "code": "import time\ndef handler(event, context):\n    time.sleep(1.5)\n"
                         "    return 'done'\n"})
    statuses = []

    def call():
        r = invoke(srv, n)
        statuses.append((r.status_code, r.headers.get("retry-after")))
    threads = [threading.Thread(target=call) for _ in range(7)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(60)
    assert sorted(s for s, _ in statuses).count(429) >= 1, statuses
    assert all(ra == "1" for s, ra in statuses if s == 429)
    assert sum(1 for s, _ in statuses if s == 200) >= 2


def test_keys_own_functions_and_public_ones_need_none(srv):
    n = name("priv")
    deploy(srv, {"name": n, "language": "python", "code": "def handler(e, c):\n    return 'hi'\n"})
    assert invoke(srv, n, key={}).status_code == 401
    assert invoke(srv, n, key=B).status_code == 404
    assert requests.get(f"{srv.url}/api/functions/{n}", headers=B).status_code == 404
    assert n not in requests.get(f"{srv.url}/api/functions", headers=B).text
    r = requests.post(srv.url + "/api/functions", headers=B, json={
        "name": n, "language": "python", "code": "def handler(e, c):\n    return 'b'\n"})
    assert r.status_code == 409
    assert invoke(srv, n).text == "hi"
    p = name("pub")
    deploy(srv, {"name": p, "language": "python", "public": True,
                 "code": "def handler(e, c):\n    return 'public'\n"})
    assert invoke(srv, p, key={}).text == "public"


@pytest.mark.parametrize("spec,message", [
    ({"name": "Bad Name", "language": "python", "code": "x"}, "name: 'Bad Name'"),
    ({"name": "ok", "language": "cobol9", "code": "x"}, "language: 'cobol9'"),
    ({"name": "ok", "language": "bash", "code": "echo", "reuse": True}, "reuse:"),
    ({"name": "ok", "language": "python", "code": "x", "min_instances": 2}, "min_instances:"),
    ({"name": "ok", "language": "python", "code": "x", "max_instances": 100000},
     "max_instances:"),
    ({"name": "ok", "language": "python", "code": "x", "colour": 1}, "colour: unknown field"),
    ({"name": "ok", "language": "python", "code": "x", "timeout_ms": 0}, "timeout_ms:"),
    ({"name": "ok", "language": "python", "code": "x", "env": {"SOULBOX_X": "1"}}, "env.SOULBOX_X"),
    ({"name": "ok", "language": "python", "code": "x", "limits": {"wall_time_ms": 5}},
     "timeout_ms"),
    ({"name": "ok", "language": "python", "code": "x", "handler": "nodot"}, "handler:"),
    ({"name": "ok", "language": "bash", "code": "x", "handler": "main.handler"}, "handler:"),
])
def test_bad_specs_are_refused(srv, spec, message):
    r = requests.post(srv.url + "/api/functions", json=spec, headers=A)
    assert r.status_code in (400, 422), r.text
    assert message in r.json()["error"]["message"], r.text


def test_deploys_and_deletes_are_audited_without_secrets():
    with Server(CFG, all_languages=True) as s:
        s.wait_languages()
        n = name("aud")
        deploy(s, {"name": n, "language": "python", "env": {"K": {"value": "s3cr3t-v",
                                                                   "secret": True}},
                   "code": "def handler(e, c):\n    return 1\n"}, key={})
        assert requests.delete(f"{s.url}/api/functions/{n}").status_code == 204
        out = subprocess.run([SOULBOX, "audit", "--data-dir", s.data_dir, "--json"],
                             capture_output=True, text=True, check=True).stdout
        assert "s3cr3t-v" not in out and "s3cr3t-v" not in open(s.log).read()
        events = [json.loads(l) for l in out.splitlines() if l.strip()]
        kinds = [(e["event"], e["detail"]) for e in events
                 if (e.get("detail") or "").startswith(f"function {n}")]
        assert kinds == [("function_deploy", f"function {n}: version 1"),
                         ("function_delete", f"function {n}")], kinds


def test_functions_survive_a_restart():
    with Server(CFG, all_languages=True) as s:
        s.wait_languages()
        n = name("keep")
        deploy(s, {"name": n, "language": "python", "code": "def handler(e, c):\n    return 1\n"},
               key={})
        deploy(s, {"name": n, "language": "python", "code": "def handler(e, c):\n    return 2\n"},
               key={})
        requests.put(f"{s.url}/api/functions/{n}/aliases/old", json={"version": 1})
        s.stop()
        s.start()
        s.wait_languages()
        assert wait_until(lambda: invoke(s, n, key={}).status_code == 200, timeout=30)
        assert invoke(s, n, key={}).json() == 2 and invoke(s, f"{n}@old", key={}).json() == 1
        assert s.get(f"/api/functions/{n}").json()["aliases"] == {"old": 1}


def test_an_async_invocation_calls_back():
    from http.server import BaseHTTPRequestHandler, HTTPServer
    got = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass
    httpd = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with Server(CFG + "server:\n  callbacks:\n    allow_private: true\n",
                    all_languages=True) as s:
            s.wait_languages()
            n = name("cb")
            deploy(s, {"name": n, "language": "python",
                       "code": "def handler(event, context):\n    return {'got': event['body']}\n"},
                   key={})
            cb = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
            r = requests.post(f"{s.url}/api/functions/{n}/invocations",
                              json={"event": {"body": "ping"}, "callback_url": cb})
            assert r.status_code == 202, r.text
            assert wait_until(lambda: got, timeout=30)
            p = got[0]
            assert p["function"] == n and p["invocation_id"] == r.json()["id"]
            inv = p["invocation"]
            assert inv["status"] == "ok" and inv["http_status"] == 200
            assert json.loads(inv["response"]["body"]) == {"got": "ping"}
            r = requests.post(f"{s.url}/api/functions/{n}/invocations",
                              json={"callback_url": "ftp://x/"})
            assert r.status_code == 400
    finally:
        httpd.shutdown()
