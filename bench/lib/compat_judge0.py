"""Judge0 CE 1.13.x compatibility overhead (docs/benchmarks.md, "Compatibility APIs"):
POST /submissions?wait=true against POST /api/execute on the same server, same run.

1. Latency: one keep-alive connection each, the two APIs alternating request by
   request (bash `:`, warm pool), p50 / p90 of each and the p50 difference.
2. Throughput at concurrency 16: 16 threads, each with its own keep-alive
   connection, for --secs seconds per API, native / judge0 / native / judge0;
   executions per second of each API (median of --tp-rounds alternating rounds) and the ratio.

Every response is checked (200 and the expected body). Prints Markdown and the
goals of issue 20 ("met" / "NOT MET"): overhead <= 0.5 ms p50, ratio >= 0.95.

Usage: compat_judge0.py --soulbox build/soulbox [--rounds N] [--secs S] [--json F]
"""
import argparse
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ports import free_ports  # noqa: E402

CONFIG = ("server:\n  log_level: warn\n  max_concurrent: 64\n  max_queue: 4096\n"
          "  max_connections_per_client: 4096\n"
          "sandbox:\n  languages: [bash]\n  pools:\n"
          "    - {language: bash, size: 4, max_size: 16}\n  pool_memory_mb: 1024\n")
NATIVE = ("/api/execute", json.dumps({"language": "bash", "code": "echo 1"}),
          {"Content-Type": "application/json"})
JUDGE0 = ("/submissions?wait=true", json.dumps({"language_id": 46, "source_code": "echo 1"}),
          {"Content-Type": "application/json"})


def check(api, body):
    b = json.loads(body)
    out = b["stdout"]
    assert out == "1\n", body


def once(conn, api):
    path, body, headers = api
    t = time.perf_counter()
    conn.request("POST", path, body, headers)
    r = conn.getresponse()
    data = r.read()
    dt = time.perf_counter() - t
    assert r.status == (201 if api is JUDGE0 else 200), data
    check(api, data)
    return dt * 1000


def latency(port, rounds):
    conns = {id(a): http.client.HTTPConnection("127.0.0.1", port) for a in (NATIVE, JUDGE0)}
    res = {id(NATIVE): [], id(JUDGE0): []}
    for i in range(rounds + 20):
        for api in ((NATIVE, JUDGE0) if i % 2 else (JUDGE0, NATIVE)):
            ms = once(conns[id(api)], api)
            if i >= 20:
                res[id(api)].append(ms)
    return res[id(NATIVE)], res[id(JUDGE0)]


def throughput(port, api, secs, conc=16):
    stop = time.perf_counter() + secs
    counts = [0] * conc

    def worker(k):
        c = http.client.HTTPConnection("127.0.0.1", port)
        while time.perf_counter() < stop:
            once(c, api)
            counts[k] += 1

    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(conc) as pool:
        list(pool.map(worker, range(conc)))
    return sum(counts) / (time.perf_counter() - t)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soulbox", required=True)
    ap.add_argument("--rounds", type=int, default=400)
    ap.add_argument("--secs", type=float, default=5)
    ap.add_argument("--tp-rounds", type=int, default=4)
    ap.add_argument("--json")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-judge0-")
    port, gport = free_ports(2)
    cfg = os.path.join(tmp, "soulbox.yaml")
    open(cfg, "w").write(CONFIG)
    log = open(os.path.join(tmp, "server.log"), "wb")
    srv = subprocess.Popen([a.soulbox, "serve", "--config", cfg, "--port", str(port),
                            "--grpc-port", str(gport), "--data-dir", os.path.join(tmp, "d")],
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port)
        for _ in range(600):
            try:
                c.request("GET", "/health")
                if json.loads(c.getresponse().read()).get("languages_ready"):
                    break
            except (OSError, http.client.HTTPException, ValueError):
                c = http.client.HTTPConnection("127.0.0.1", port)
            time.sleep(0.1)
        nat, j0 = latency(port, a.rounds)
        tp = {"native": [], "judge0": []}
        for i in range(a.tp_rounds):  # alternating, each API first in turn
            for name, api in ((("native", NATIVE), ("judge0", JUDGE0)) if i % 2 == 0
                              else (("judge0", JUDGE0), ("native", NATIVE))):
                tp[name].append(throughput(port, api, a.secs))
    finally:
        srv.terminate()
        srv.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    over = statistics.median(j0) - statistics.median(nat)
    ratio = statistics.median(tp["judge0"]) / statistics.median(tp["native"])
    print("| case | p50 ms | p90 ms |\n| --- | --- | --- |")
    print(f"| POST /api/execute (bash) | {statistics.median(nat):.2f} | {pct(nat, .9):.2f} |")
    print(f"| POST /submissions?wait=true (bash) | {statistics.median(j0):.2f} | {pct(j0, .9):.2f} |")
    print(f"\nJudge0 overhead p50: {over:+.3f} ms (goal <= 0.5 ms: "
          f"{'met' if over <= 0.5 else 'NOT MET'})")
    print(f"Throughput c=16 (median of {a.tp_rounds} rounds): native "
          f"{statistics.median(tp['native']):.0f}/s, judge0 {statistics.median(tp['judge0']):.0f}/s, "
          f"ratio {ratio:.3f} (goal >= 0.95: {'met' if ratio >= 0.95 else 'NOT MET'})")
    if a.json:
        json.dump({"native_ms": nat, "judge0_ms": j0, "overhead_p50_ms": over,
                   "throughput": tp, "ratio": ratio}, open(a.json, "w"))


if __name__ == "__main__":
    main()
