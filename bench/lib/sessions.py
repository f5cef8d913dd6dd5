"""Sessions against a local Jupyter kernel (what E2B's code interpreter runs),
measured in this one invocation: session create, an `echo` command round trip,
a python cell `1+1` (p50/p99 and cells/s across 16 sessions), a 1 MB file
write+read, a matplotlib line chart cell, and the memory of 200 idle python
sessions. Prints a Markdown report (docs/benchmarks.md, "Sessions").

Usage: sessions.py --soulbox build/soulbox [--quick]
"""
import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import pct  # noqa: E402
from ports import free_ports  # noqa: E402

CHART = ("import matplotlib.pyplot as plt\n"
         "plt.figure()\nplt.plot([1, 2, 3, 4], [1, 4, 2, 3])\nplt.title('line')\nplt.show()\n")
# E2B's own figure (docs, "Sandbox lifecycle": "starts in ~150ms"), not measured here.
E2B_PUBLISHED_START_MS = 150


def stats(xs):
    return {"p50": statistics.median(xs), "p99": pct(xs, 99), "n": len(xs)}


class Client:
    """One keep-alive HTTP connection (what an SDK holds)."""

    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, method, path, body=None, raw=None, headers=None):
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        self.c.request(method, path, body=data, headers=h)
        r = self.c.getresponse()
        return r.status, r.read()


SESSIONS_CONFIG = ("server:\n  log_level: warn\n  max_connections_per_client: 4096\n"
                   "sessions:\n  max_sessions: 1000\n  max_per_key: 1000\n"
                   "  max_memory_mb_per_key: 1000000\n"
                   "sandbox:\n  languages: [python, bash]\n  pool_memory_mb: 0\n")


class Server:
    """A soulbox server of its own (config: YAML text), ready once its
    languages are probed."""

    def __init__(self, soulbox, tmp, config=SESSIONS_CONFIG):
        self.port, gport = free_ports(2)
        cfg = os.path.join(tmp, f"server-{self.port}.yaml")
        with open(cfg, "w") as f:
            f.write(config)
        self.proc = subprocess.Popen([soulbox, "serve", "--config", cfg, "--port", str(self.port),
                                      "--grpc-port", str(gport), "--data-dir",
                                      os.path.join(tmp, f"data-{self.port}")],
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while True:
            try:
                st, body = Client(self.port).call("GET", "/health")
                if st == 200 and json.loads(body).get("languages_ready"):
                    break
            except OSError:
                pass
            assert time.time() < deadline and self.proc.poll() is None
            time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def create(c, template="python"):
    st, body = c.call("POST", "/api/sandboxes", {"template": template, "timeout_s": 3600})
    assert st == 201, body
    return json.loads(body)["id"]


def cell(c, sid, code):
    st, body = c.call("POST", f"/api/sandboxes/{sid}/execute", {"code": code})
    assert st == 200, body
    evs = [json.loads(x) for x in body.splitlines()]
    assert evs[-1]["type"] == "end" and not any(e["type"] == "error" for e in evs), evs
    return evs


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


# ---- SoulBox ----

def soulbox_numbers(srv, quick):
    n = 20 if quick else 100
    c = Client(srv.port)
    R = {}
    sids = []

    def mk():
        sids.append(create(c))
    R["create"] = stats(timed(mk, 10 if quick else 30))
    for sid in sids:
        c.call("DELETE", f"/api/sandboxes/{sid}")
    sid = create(c)
    echo = {"cmd": "echo hi"}
    timed(lambda: c.call("POST", f"/api/sandboxes/{sid}/commands", echo), 5)
    R["echo"] = stats(timed(lambda: c.call("POST", f"/api/sandboxes/{sid}/commands", echo), n))
    cell(c, sid, "1+1")
    R["cell"] = stats(timed(lambda: cell(c, sid, "1+1"), n * 2))
    data = os.urandom(1 << 20)

    def rw():
        st, _ = c.call("PUT", f"/api/sandboxes/{sid}/files?path=blob.bin", raw=data)
        assert st == 200
        st, got = c.call("GET", f"/api/sandboxes/{sid}/files?path=blob.bin")
        assert st == 200 and got == data
    R["file_1mb"] = stats(timed(rw, n // 2))
    cell(c, sid, "import matplotlib.pyplot as plt")
    cell(c, sid, CHART)

    def chart():
        evs = cell(c, sid, CHART)
        png = [e for e in evs if e["type"] == "result" and "image/png" in e["data"]]
        assert png and base64.b64decode(png[0]["data"]["image/png"])[:4] == b"\x89PNG"
    R["chart"] = stats(timed(chart, n // 4))
    c.call("DELETE", f"/api/sandboxes/{sid}")
    R["throughput"] = throughput(srv, 16, 3 if quick else 8)
    return R


def throughput(srv, sessions, seconds):
    """Cells `1+1` per second, one client per session, all at once."""
    ids = []
    setup = Client(srv.port)
    for _ in range(sessions):
        ids.append(create(setup))
    for sid in ids:
        cell(setup, sid, "1+1")
    stop = time.time() + seconds
    counts = [0] * sessions

    def loop(i):
        c = Client(srv.port)
        while time.time() < stop:
            cell(c, ids[i], "1+1")
            counts[i] += 1
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(sessions) as ex:
        list(ex.map(loop, range(sessions)))
    rate = sum(counts) / (time.time() - t0)
    for sid in ids:
        setup.call("DELETE", f"/api/sandboxes/{sid}")
    return rate


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sandbox_pids():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/status") as f:
                    uid = next(int(l.split()[1]) for l in f if l.startswith("Uid:"))
                if 2100000000 <= uid < 2100000000 + 65536:
                    out.append(int(d))
            except (OSError, StopIteration, ValueError):
                pass
    return out


def idle_memory(srv, n):
    c = Client(srv.port)
    ids = [create(c) for _ in range(n)]
    for sid in ids:
        cell(c, sid, "1+1")          # each with its python context started
    time.sleep(1)
    total = sum(pss_kb(p) for p in sandbox_pids())
    server = rss_kb(srv.proc.pid)
    for sid in ids:
        c.call("DELETE", f"/api/sandboxes/{sid}")
    return {"sessions": n, "pss_mb_per_session": total / n / 1024, "server_rss_mb": server / 1024}


# ---- the Jupyter kernel ----

def jupyter_numbers(quick):
    from jupyter_client.manager import start_new_kernel
    n = 20 if quick else 100
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"   # its debugger's start-up chatter
    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)
    start_ms = (time.perf_counter() - t0) * 1000

    def run(code):
        msg = kc.execute(code)
        got_png = False
        while True:
            m = kc.get_iopub_msg(timeout=60)
            if m["parent_header"].get("msg_id") != msg:
                continue
            if m["msg_type"] == "display_data" and "image/png" in m["content"]["data"]:
                got_png = True
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                return got_png
    run("%matplotlib inline")
    run("1+1")
    R = {"start_ms": start_ms, "cell": stats(timed(lambda: run("1+1"), n * 2))}
    run("import matplotlib.pyplot as plt")
    run(CHART)

    def chart():
        assert run(CHART)
    R["chart"] = stats(timed(chart, n // 4))
    t0 = time.time()
    k = 0
    while time.time() < t0 + (3 if quick else 8):
        run("1+1")
        k += 1
    R["cells_per_s_sequential"] = k / (time.time() - t0)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return R


def report(S, J, M):
    f = lambda s: f"{s['p50']:.2f} / {s['p99']:.2f}"
    print("| measure | SoulBox p50 / p99 (ms) | Jupyter kernel p50 / p99 (ms) | ratio (p50) |")
    print("|---|---|---|---|")
    print(f"| create a python session (E2B publishes ~{E2B_PUBLISHED_START_MS} ms for its "
          f"start) | {f(S['create'])} | kernel start {J['start_ms']:.0f} | "
          f"{S['create']['p50'] / J['start_ms']:.3f}x |")
    print(f"| `echo` command round trip | {f(S['echo'])} | | |")
    print(f"| python cell `1+1` | {f(S['cell'])} | {f(J['cell'])} | "
          f"{S['cell']['p50'] / J['cell']['p50']:.2f}x |")
    print(f"| write + read a 1 MB file | {f(S['file_1mb'])} | | |")
    print(f"| matplotlib line chart cell (PNG back) | {f(S['chart'])} | {f(J['chart'])} | "
          f"{S['chart']['p50'] / J['chart']['p50']:.2f}x |")
    print()
    print(f"- cells/s, `1+1`, 16 sessions at once on {os.cpu_count()} cores: "
          f"**{S['throughput']:.0f}** (one Jupyter kernel, sequential: "
          f"{J['cells_per_s_sequential']:.0f})")
    print(f"- {M['sessions']} idle python sessions (each with its context started): "
          f"**{M['pss_mb_per_session']:.1f} MB PSS per session**, server RSS "
          f"{M['server_rss_mb']:.1f} MB")
    goals = [
        ("create p50 <= 10 ms", S["create"]["p50"] <= 10),
        ("echo round trip p50 <= 3 ms", S["echo"]["p50"] <= 3),
        ("cell 1+1 p50 <= 2 ms", S["cell"]["p50"] <= 2),
        ("cell 1+1 <= 0.4x the kernel's", S["cell"]["p50"] <= 0.4 * J["cell"]["p50"]),
        (">= 1000 cells/s across 16 sessions", S["throughput"] >= 1000),
        ("1 MB write+read <= 10 ms", S["file_1mb"]["p50"] <= 10),
        ("chart cell <= the kernel's", S["chart"]["p50"] <= J["chart"]["p50"]),
        ("PSS per idle session <= 25 MB", M["pss_mb_per_session"] <= 25),
    ]
    print()
    for name, ok in goals:
        print(f"- goal: {name}: {'met' if ok else 'NOT met'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soulbox", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", help="also write the numbers here")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-sessions-")
    try:
        J = jupyter_numbers(a.quick)
        srv = Server(a.soulbox, tmp)
        try:
            S = soulbox_numbers(srv, a.quick)
            M = idle_memory(srv, 50 if a.quick else 200)
        finally:
            srv.stop()
        report(S, J, M)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"soulbox": S, "jupyter": J, "memory": M}, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
