"""Serverless functions measured in this one invocation (docs/benchmarks.md,
"Functions"): a Python and a JavaScript hello handler invoked on /fn/{name},
with `reuse` (a warm instance: a long-lived runtime in its sandbox) and
without (a fresh sandbox from the language's warm pool per invocation),
beside baselines from the same run:

- bare: `/usr/bin/python3 -c 'print(1)'` and `/usr/bin/node -e
  'console.log(1)'` as processes (posix_spawn + wait, wall time);
- execute: `POST /api/execute` of the same programs, warm pool.

1. Sequential latency: one keep-alive http.client connection, the cases
   interleaved in a shuffled order each round; before every timed request the
   pools are waited for (untimed) until full and not refilling, so every
   pooled run is warm and no refill runs beside any case (as bench/lib/run.py
   does for its hot runs). The server's own `duration_ms` of the same
   invocations comes from GET /api/functions/{name}/logs. Not a goal, for
   where the time goes: the javascript handler as a CommonJS module, and the
   function runtime run by POST /api/execute, timed from inside node.
2. Back-to-back: wrk -t1 -c1 for a fixed time (no pause: fresh sandboxes and
   executions then find the pool refilling).
3. Throughput: wrk -t2 -c32 against the reuse functions, beside POST
   /api/execute at c=32 and bare python processes 32 at a time.

Every wrk response is checked (status 200 and the expected body) by a Lua
script; so is every http.client one. Prints Markdown: the cases, p50 / p90 /
p99, ratios, and the goals of the issue ("met" / "NOT MET").

Usage: functions.py --soulbox build/soulbox [--quick] [--secs S] [--runs N] [--json F]
"""
import argparse
import concurrent.futures
import datetime
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import pct, run_once  # noqa: E402
from ports import free_ports  # noqa: E402

LANGS = ("python", "javascript")
HANDLER = {
    "python": 'def handler(event, context):\n    return "hello"\n',
    "javascript": 'export function handler(event, context) { return "hello"; }\n',
}
# The same handler as a CommonJS module (not a goal: where the time goes).
HANDLER_CJS = 'exports.handler = function (event, context) { return "hello"; };\n'
PROGRAM = {"python": "print(1)", "javascript": "console.log(1)"}
BARE = {"python": ["/usr/bin/python3", "-c", "print(1)"],
        "javascript": ["/usr/bin/node", "-e", "console.log(1)"]}
SHORT = {"python": "py", "javascript": "js"}
# The reuse functions (latency and throughput): the suggested settings.
REUSE_SCALING = {"min_instances": 2, "max_instances": 8, "concurrency": 1}
POOL = {"python": 2, "javascript": 2}
POOL_MAX = 8

CONFIG = ("server:\n  log_level: warn\n  max_concurrent: 64\n  max_queue: 4096\n"
          "  max_connections_per_client: 4096\n"
          "sandbox:\n  languages: [python, javascript]\n"
          "  pools:\n" +
          "".join(f"    - {{language: {l}, size: {POOL[l]}, max_size: {POOL_MAX}}}\n"
                  for l in LANGS) +
          "  pool_memory_mb: 1024\n"
          "functions:\n  max_queue: 1024\n  log_entries: 1000\n")

# wrk: one request repeated; every response checked; the counts printed at the end.
WRK_LUA = r'''
wrk.method = os.getenv("METHOD") or "GET"
if os.getenv("BODY") then
  wrk.body = os.getenv("BODY")
  wrk.headers["Content-Type"] = "application/json"
end
local expect = os.getenv("EXPECT")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) checked = 0; bad = 0 end
function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 or not body:find(expect, 1, true) then
    if bad < 3 then
      io.stderr:write("unexpected response " .. status .. ": " .. body:sub(1, 200) .. "\n")
    end
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local c, b = 0, 0
  for _, t in ipairs(threads) do c = c + t:get("checked"); b = b + t:get("bad") end
  io.write(string.format("checked: %d bad: %d\n", c, b))
end
'''


def stats(xs):
    return {"p50": statistics.median(xs), "p90": pct(xs, 90), "p99": pct(xs, 99), "n": len(xs)}


class Server:
    def __init__(self, soulbox, tmp):
        self.port, gport = free_ports(2)
        cfg = os.path.join(tmp, "functions.yaml")
        with open(cfg, "w") as f:
            f.write(CONFIG)
        self.log = os.path.join(tmp, "server.log")
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen([soulbox, "serve", "--config", cfg, "--port",
                                          str(self.port), "--grpc-port", str(gport),
                                          "--data-dir", os.path.join(tmp, "data")], stderr=err)
        self.conn = None
        deadline = time.time() + 60
        while True:
            try:
                st, body = self.call("GET", "/health")
                if st == 200 and json.loads(body).get("languages_ready"):
                    break
            except OSError:
                self.conn = None
            if time.time() > deadline or self.proc.poll() is not None:
                with open(self.log) as f:
                    sys.stderr.write(f.read()[-2000:])
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        self.url = f"http://127.0.0.1:{self.port}"

    def call(self, method, path, body=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        h, data = {}, None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=h)
            r = self.conn.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise

    def metrics(self):
        st, body = self.call("GET", "/metrics")
        out = {}
        for line in body.decode().splitlines():
            m = re.match(r'(soulbox_pool_\w+)\{language="(\w+)"\} (\S+)$', line)
            if m:
                out[(m.group(1), m.group(2))] = float(m.group(3))
        return out

    def wait_pools(self, timeout=10):
        """Until every pool is full (ready >= its target) and nothing refills."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.metrics()
            if all(m.get(("soulbox_pool_ready", l), 0) >= m.get(("soulbox_pool_target", l), 1)
                   and m.get(("soulbox_pool_refilling", l), 0) == 0 for l in LANGS):
                return True
            time.sleep(0.01)
        return False

    def deploy(self, name, language, reuse, code=None, **scaling):
        body = dict({"name": name, "language": language, "code": code or HANDLER[language],
                     "reuse": reuse}, **scaling)
        st, out = self.call("POST", "/api/functions", body)
        assert st in (200, 201), out
        return json.loads(out)

    def instances_running(self, name):
        st, out = self.call("GET", f"/api/functions/{name}")
        assert st == 200, out
        return json.loads(out)["instances"]["running"]

    def logs(self, name, n):
        st, out = self.call("GET", f"/api/functions/{name}/logs?limit={min(n, 1000)}")
        assert st == 200, out
        return json.loads(out)["invocations"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


# ---- one request, checked ----

def invoke(srv, name):
    t0 = time.perf_counter()
    st, body = srv.call("GET", f"/fn/{name}")
    ms = (time.perf_counter() - t0) * 1000
    assert st == 200 and body == b"hello", (name, st, body[:200])
    return ms


def execute(srv, language):
    t0 = time.perf_counter()
    st, body = srv.call("POST", "/api/execute", {"language": language, "code": PROGRAM[language]})
    ms = (time.perf_counter() - t0) * 1000
    r = json.loads(body)
    assert st == 200 and r.get("status") == "ok" and r.get("stdout") == "1\n", (st, body[:300])
    return ms, r


def bare(language):
    return run_once(BARE[language])


# ---- wrk ----

def wrk(url, threads, conns, secs, lua, method="GET", body=None, expect="hello"):
    env = dict(os.environ, METHOD=method, EXPECT=expect)
    if body is not None:
        env["BODY"] = json.dumps(body)
    p = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--latency",
                        "-s", lua, url], env=env, capture_output=True, text=True, check=True)
    text = p.stdout
    out = {}

    def ms(v, unit):
        return float(v) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
    for q in ("50", "90", "99"):
        m = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        out[f"p{q}"] = ms(*m.groups())
    out["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    out["requests"] = int(re.search(r"(\d+) requests in", text).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(map(int, m.groups())) if m else 0
    m = re.search(r"checked: (\d+) bad: (\d+)", text)
    out["checked"], out["bad"] = int(m.group(1)), int(m.group(2))
    out["n"] = out["requests"]
    if p.stderr.strip():
        sys.stderr.write(p.stderr)
    return out


def bare_rate(language, conns, secs):
    """Bare processes per second, `conns` at a time."""
    stop = time.time() + secs
    counts = [0] * conns

    def loop(i):
        while time.time() < stop:
            run_once(BARE[language])
            counts[i] += 1
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(conns) as ex:
        list(ex.map(loop, range(conns)))
    return sum(counts) / (time.time() - t0)


def server_durations(srv, name, n):
    """duration_ms of the last n invocations of name (the server's own: from
    admission to the response), and how many of them started cold."""
    logs = [l for l in srv.logs(name, n) if l.get("state") == "done"]
    failed = [l for l in logs if l["http_status"] != 200]
    assert not failed, failed[:3]
    return stats([l["duration_ms"] for l in logs]), sum(l["cold"] for l in logs), len(logs)


# ---- the measurements ----

def sequential(srv, runs, warmup):
    cases = []
    for l in LANGS:
        cases.append((f"bare {l}", lambda l=l: bare(l)))
        cases.append((f"execute {l}", lambda l=l: execute(srv, l)))
        cases.append((f"fn reuse {l}", lambda l=l: invoke(srv, f"reuse-{SHORT[l]}")))
        cases.append((f"fn fresh {l}", lambda l=l: invoke(srv, f"fresh-{SHORT[l]}")))
    cases.append(("fn cjs javascript", lambda: invoke(srv, "cjs-js")))
    times = {n: [] for n, _ in cases}
    warm = {l: 0 for l in LANGS}
    not_ready = 0
    for i in range(warmup + runs):
        order = cases[:]
        random.shuffle(order)
        for name, fn in order:
            not_ready += not srv.wait_pools()
            r = fn()
            ms, resp = r if isinstance(r, tuple) else (r, None)
            if i >= warmup:
                times[name].append(ms)
                if resp is not None:
                    warm[name.split()[1]] += bool(resp.get("warm"))
    R = {n: stats(xs) for n, xs in times.items()}
    for l in LANGS:
        R[f"execute {l}"]["warm"] = warm[l]
        for kind in ("reuse", "fresh"):
            s, cold, n = server_durations(srv, f"{kind}-{SHORT[l]}", runs)
            R[f"fn {kind} {l}"]["server"] = s
            R[f"fn {kind} {l}"]["cold"] = cold
            R[f"fn {kind} {l}"]["logged"] = n
    s, cold, n = server_durations(srv, "cjs-js", runs)
    R["fn cjs javascript"].update(server=s, cold=cold, logged=n)
    R["pools_not_ready"] = not_ready
    return R


def back_to_back(srv, secs, lua):
    R = {}
    for l in LANGS:
        for kind in ("reuse", "fresh"):
            name = f"{kind}-{SHORT[l]}"
            srv.wait_pools()
            w = wrk(f"{srv.url}/fn/{name}", 1, 1, secs, lua)
            w["server"], w["cold"], w["logged"] = server_durations(srv, name, w["requests"])
            R[f"fn {kind} {l}"] = w
        srv.wait_pools()
        R[f"execute {l}"] = wrk(f"{srv.url}/api/execute", 1, 1, secs, lua, "POST",
                                {"language": l, "code": PROGRAM[l]}, '"stdout":"1\\n"')
    return R


# ---- where a fresh javascript invocation's time goes ----

JS_TIMED_RUNTIME = """const t0 = performance.now();
const fs = require('fs');
const ws = fs.writeSync;
let tr = 0;
fs.writeSync = function (...a) { if (!tr) tr = performance.now() - t0; return ws.apply(this, a); };
process.on('exit', () => process.stderr.write(`@@ ${tr} ${performance.now() - t0}\\n`));
process.argv = [process.argv[0], 'rt.cjs', 'once', 'main.mjs', 'handler'];
require('./rt.cjs');
"""
JS_TIMED_PLAIN = """const t0 = performance.now();
process.on('exit', () => process.stderr.write(`@@ ${performance.now() - t0}\\n`));
console.log(1);
"""
JS_TIMED_LOAD = """let t = performance.now();
require('./main.cjs');
const c = performance.now() - t;
t = performance.now();
import('./main.mjs').then(m => { m.handler();
  process.stderr.write(`@@ ${c} ${performance.now() - t}\\n`); });
"""


def js_breakdown(srv, runs):
    """The javascript runtime of a fresh invocation run by POST /api/execute
    (its file from src/service/fnrt/, the handler, the invocation on stdin),
    timed from inside node, beside console.log(1); and what loading the
    handler's module costs as ESM (import()) and as CommonJS (require())."""
    rt_src = os.path.join(HERE, "..", "..", "src", "service", "fnrt", "javascript.js")
    if not os.path.exists(rt_src):
        return None
    with open(rt_src) as f:
        rt = f.read()
    line = json.dumps({"id": "1", "event": {"method": "GET", "path": "/", "query": {},
                                            "raw_query": "", "headers": {}, "body": "",
                                            "is_base64": False},
                       "context": {"function_name": "x", "function_version": 1,
                                   "request_id": "r",
                                   "deadline_ms": int(time.time() * 1000) + 60000,
                                   "memory_limit_mb": 512}}) + "\n"
    mjs = {"name": "main.mjs", "content": HANDLER["javascript"]}
    cjs = {"name": "main.cjs", "content": 'exports.handler = function (event, context) '
                                          '{ return "hello"; };\n'}
    cases = {
        "plain": {"language": "javascript", "code": JS_TIMED_PLAIN},
        "runtime": {"language": "javascript", "stdin": line,
                    "files": [{"name": "run.js", "content": JS_TIMED_RUNTIME},
                              {"name": "rt.cjs", "content": rt}, mjs]},
        "load": {"language": "javascript",
                 "files": [{"name": "run.js", "content": JS_TIMED_LOAD}, mjs, cjs]},
    }
    got = {k: [] for k in cases}
    for i in range(2 + runs):
        order = list(cases)
        random.shuffle(order)
        for k in order:
            srv.wait_pools()
            st, body = srv.call("POST", "/api/execute", cases[k])
            r = json.loads(body)
            assert st == 200 and r.get("status") == "ok", (k, body[:400])
            if k == "runtime":
                assert '"value":"hello"' in r["stdout"], r["stdout"][:300]
            nums = [float(x) for x in r["stderr"].rsplit("@@", 1)[1].split()]
            if i >= 2:
                got[k].append([r["wall_time_ms"]] + nums)

    def col(k, j):
        return statistics.median(x[j] for x in got[k])
    return {"n": runs,
            "plain_wall": col("plain", 0), "plain_exit": col("plain", 1),
            "rt_wall": col("runtime", 0), "rt_response": col("runtime", 1),
            "rt_exit": col("runtime", 2),
            "require_cjs": col("load", 1), "import_esm": col("load", 2)}


def throughput(srv, secs, lua, conns=32):
    R = {}
    for l in LANGS:
        name = f"reuse-{SHORT[l]}"
        srv.wait_pools()
        wrk(f"{srv.url}/fn/{name}", 2, conns, 1, lua)     # instances scaled up first
        R[f"fn reuse {l}"] = wrk(f"{srv.url}/fn/{name}", 2, conns, secs, lua)
        R[f"fn reuse {l}"]["instances"] = srv.instances_running(name)
    srv.wait_pools()
    R["execute python"] = wrk(f"{srv.url}/api/execute", 2, conns, secs, lua, "POST",
                              {"language": "python", "code": PROGRAM["python"]},
                              '"stdout":"1\\n"')
    srv.wait_pools()
    R["bare python"] = {"rps": bare_rate("python", conns, secs)}
    return R


# ---- the report ----

def f2(x):
    return f"{x:.2f}"


def report(S, X, B, T, args):
    print("## Functions\n")
    print(f"{os.cpu_count()} CPUs, kernel {os.uname().release}, "
          f"{datetime.date.today().isoformat()}; reuse functions: "
          f"min_instances {REUSE_SCALING['min_instances']}, max_instances "
          f"{REUSE_SCALING['max_instances']}, concurrency {REUSE_SCALING['concurrency']}; "
          f"pools: python {POOL['python']}, javascript {POOL['javascript']} "
          f"(max_size {POOL_MAX}), pool_memory_mb 1024\n")
    print(f"Sequential, one keep-alive connection, {args.runs} interleaved rounds, every pool "
          "full before each request (ms):\n")
    print("| case | p50 | p90 | p99 | x bare | x execute | server `duration_ms` p50 / p99 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for l in LANGS:
        b, e = S[f"bare {l}"], S[f"execute {l}"]
        print(f"| bare `{' '.join(BARE[l][:1] + [BARE[l][1], repr(BARE[l][2])])}` (baseline) | "
              f"{f2(b['p50'])} | {f2(b['p90'])} | {f2(b['p99'])} | 1.00 | | |")
        print(f"| POST /api/execute {l} ({e['warm']}/{e['n']} warm; baseline) | {f2(e['p50'])} | "
              f"{f2(e['p90'])} | {f2(e['p99'])} | {e['p50'] / b['p50']:.3f} | 1.00 | |")
        for kind, what in (("reuse", "`reuse: true` (warm instance)"),
                           ("fresh", "without `reuse` (fresh pooled sandbox)")):
            s = S[f"fn {kind} {l}"]
            warm = f", {s['logged'] - s['cold']}/{s['logged']} warm" if kind == "fresh" else ""
            print(f"| /fn {l} hello, {what}{warm} | {f2(s['p50'])} | {f2(s['p90'])} | "
                  f"{f2(s['p99'])} | {s['p50'] / b['p50']:.3f} | {s['p50'] / e['p50']:.3f} | "
                  f"{f2(s['server']['p50'])} / {f2(s['server']['p99'])} |")
        if l == "javascript":
            s = S["fn cjs javascript"]
            print(f"| /fn {l} hello as CommonJS (`exports.handler = ...`), without `reuse`, "
                  f"{s['logged'] - s['cold']}/{s['logged']} warm (not a goal) | "
                  f"{f2(s['p50'])} | {f2(s['p90'])} | {f2(s['p99'])} | "
                  f"{s['p50'] / b['p50']:.3f} | {s['p50'] / e['p50']:.3f} | "
                  f"{f2(s['server']['p50'])} / {f2(s['server']['p99'])} |")
    if S["pools_not_ready"]:
        print(f"\n({S['pools_not_ready']} requests were sent with a pool not yet full after 10 s)")
    if X:
        print(f"\nInside the sandbox, javascript without `reuse` ({X['n']} interleaved "
              "POST /api/execute of the function runtime with the hello handler and the "
              "invocation on stdin, beside `console.log(1)`; p50, ms from node's side): "
              f"`console.log(1)`: `wall_time_ms` {X['plain_wall']:.1f}, code start to the "
              f"`exit` event {X['plain_exit']:.2f}; the runtime: `wall_time_ms` "
              f"{X['rt_wall']:.1f}, code start to the response line {X['rt_response']:.2f}, "
              f"to the `exit` event {X['rt_exit']:.2f}. Loading the handler's module: "
              f"`import()` of `main.mjs` (ES module) {X['import_esm']:.2f}, `require()` of "
              f"the same as CommonJS {X['require_cjs']:.2f}.")
    print(f"\nBack-to-back, `wrk -t1 -c1 -d{args.secs}s` (no pause: pooled runs find the pool "
          "refilling; ms):\n")
    print("| case | p50 | p90 | p99 | requests/s | x execute (p50) | server `duration_ms` p50 "
          "| cold starts (of those logged) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for l in LANGS:
        e = B[f"execute {l}"]
        print(f"| POST /api/execute {l} (baseline) | {f2(e['p50'])} | {f2(e['p90'])} | "
              f"{f2(e['p99'])} | {e['rps']:.0f} | 1.00 | | |")
        for kind in ("reuse", "fresh"):
            s = B[f"fn {kind} {l}"]
            print(f"| /fn {l} hello, {'`reuse: true`' if kind == 'reuse' else 'fresh'} | "
                  f"{f2(s['p50'])} | {f2(s['p90'])} | {f2(s['p99'])} | {s['rps']:.0f} | "
                  f"{s['p50'] / e['p50']:.3f} | {f2(s['server']['p50'])} | "
                  f"{s['cold']}/{s['logged']} |")
    print(f"\nThroughput, `wrk -t2 -c32 -d{args.secs}s` (invocations or executions per second):\n")
    print("| case | per s | p50 | p99 | x execute | x bare python |")
    print("|---|---:|---:|---:|---:|---:|")
    bp, ep = T["bare python"]["rps"], T["execute python"]
    print(f"| bare `python3 -c 'print(1)'`, 32 at a time (baseline) | {bp:.0f} | | | | 1.00 |")
    print(f"| POST /api/execute python (baseline) | {ep['rps']:.0f} | {f2(ep['p50'])} | "
          f"{f2(ep['p99'])} | 1.00 | {ep['rps'] / bp:.2f} |")
    for l in LANGS:
        t = T[f"fn reuse {l}"]
        print(f"| /fn {l} hello, `reuse: true` ({t['instances']} instances at the end) | "
              f"{t['rps']:.0f} | {f2(t['p50'])} | {f2(t['p99'])} | {t['rps'] / ep['rps']:.1f} | "
              f"{t['rps'] / bp:.1f} |")
    wrks = list(B.values()) + [v for v in T.values() if "checked" in v]
    total = sum(w["checked"] for w in wrks)
    bad = sum(w["bad"] + w["non2xx"] + w["socket_errors"] for w in wrks)
    print(f"\nLoad average (1 min) at the start {args.load0:.2f}, at the end "
          f"{os.getloadavg()[0]:.2f}: other work on the machine shows here.")
    print(f"\nResponses checked (status 200 and the expected body): {total} by wrk, "
          f"{sum(S[k]['n'] for k in S if isinstance(S[k], dict) and not k.startswith('bare'))}"
          f" sequential; bad, non-2xx or socket errors: {bad}.")

    rows = []
    for l in LANGS:
        b, e = S[f"bare {l}"]["p50"], S[f"execute {l}"]["p50"]
        for kind, limit in (("reuse", 3), ("fresh", 15)):
            v = S[f"fn {kind} {l}"]["p50"]
            rows.append((f"{l} hello {'with' if kind == 'reuse' else 'without'} `reuse`: "
                         f"p50 <= {limit} ms",
                         f"{v:.2f} ms ({v / b:.3f}x bare, {v / e:.3f}x execute)", v <= limit))
    for l in LANGS:
        r = T[f"fn reuse {l}"]["rps"]
        rows.append((f"{l} `reuse` at concurrency 32 >= 2,000 invocations/s",
                     f"{r:.0f}/s ({r / ep['rps']:.1f}x execute, {r / bp:.1f}x bare python)",
                     r >= 2000))
    rows.append(("every response 200 with the expected body",
                 f"{bad} bad of {total} (wrk) + the sequential ones", bad == 0))
    print(f"\n### Goals ({sum(ok for _, _, ok in rows)} of {len(rows)} met)\n")
    print("| goal | measured | |\n|---|---|---|")
    for g, m, ok in rows:
        print(f"| {g} | {m} | {'met' if ok else 'NOT MET'} |")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soulbox", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, help="sequential rounds (default 200, --quick 40)")
    ap.add_argument("--secs", type=int, help="seconds per wrk run (default 10, --quick 3)")
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args()
    args.runs = args.runs or (40 if args.quick else 200)
    args.secs = args.secs or (3 if args.quick else 10)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    args.load0 = os.getloadavg()[0]
    soulbox = os.path.abspath(args.soulbox)
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-functions-")
    lua = os.path.join(tmp, "check.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    srv = None
    try:
        srv = Server(soulbox, tmp)
        for l in LANGS:
            srv.deploy(f"reuse-{SHORT[l]}", l, True, **REUSE_SCALING)
            srv.deploy(f"fresh-{SHORT[l]}", l, False)
        srv.deploy("cjs-js", "javascript", False, code=HANDLER_CJS)
        deadline = time.time() + 30
        while any(srv.instances_running(f"reuse-{SHORT[l]}") < REUSE_SCALING["min_instances"]
                  for l in LANGS) and time.time() < deadline:
            time.sleep(0.05)
        srv.wait_pools()
        time.sleep(1.5)          # pools filled and settled
        S = sequential(srv, args.runs, 5)
        X = js_breakdown(srv, max(10, args.runs // 4))
        B = back_to_back(srv, args.secs, lua)
        T = throughput(srv, args.secs, lua)
        bad = report(S, X, B, T, args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"sequential": S, "js_breakdown": X, "back_to_back": B,
                           "throughput": T}, f, indent=1)
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
