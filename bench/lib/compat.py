"""The compatibility APIs' overhead (docs/benchmarks.md, "Compatibility APIs"):
Piston's POST /api/v2/execute and Judge0's POST /submissions?wait=true, each
against POST /api/execute on the same server, same run (--api piston|judge0|both).

1. Latency: one keep-alive connection each, the native API and the compat API
   alternating request by request (bash `echo 1`, warm pool), p50 / p90 of each
   and the p50 difference.
2. Throughput at concurrency 16: 16 threads, each with its own keep-alive
   connection, for --secs seconds per API, native / compat / compat / native ...;
   executions per second of each (median of --tp-rounds alternating rounds) and the ratio.

Every response is checked (200 and the expected body). Prints Markdown and the
goals of issue 20 ("met" / "NOT MET"): overhead <= 0.5 ms p50, ratio >= 0.95.

Usage: compat.py --soulbox build/soulbox [--api piston|judge0|both] [--rounds N] [--secs S] [--json F]
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
# name: (path, body, headers, the status it answers, its stdout from the answer)
APIS = {
    "piston": ("/api/v2/execute", json.dumps({"language": "bash", "version": "*",
                                              "files": [{"content": "echo 1"}]}),
               {"Content-Type": "text/plain;charset=UTF-8"}, 200, lambda b: b["run"]["stdout"]),
    "judge0": ("/submissions?wait=true", json.dumps({"language_id": 46, "source_code": "echo 1"}),
               {"Content-Type": "application/json"}, 201, lambda b: b["stdout"]),
}
NATIVE = NATIVE + (200, lambda b: b["stdout"])
LABEL = {"piston": "POST /api/v2/execute", "judge0": "POST /submissions?wait=true"}


def once(conn, api):
    path, body, headers, status, stdout = api
    t = time.perf_counter()
    conn.request("POST", path, body, headers)
    r = conn.getresponse()
    data = r.read()
    dt = time.perf_counter() - t
    assert r.status == status, data
    assert stdout(json.loads(data)) == "1\n", data
    return dt * 1000


def latency(port, rounds, compat):
    conns = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(2)]
    res = ([], [])
    for i in range(rounds + 20):
        for k in ((0, 1) if i % 2 else (1, 0)):
            ms = once(conns[k], (NATIVE, compat)[k])
            if i >= 20:
                res[k].append(ms)
    return res


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
    ap.add_argument("--api", choices=["piston", "judge0", "both"], default="both")
    ap.add_argument("--json")
    a = ap.parse_args()
    names = ["piston", "judge0"] if a.api == "both" else [a.api]
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-compat-")
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
        out = {}
        for name in names:
            nat, com = latency(port, a.rounds, APIS[name])
            tp = {"native": [], name: []}
            for i in range(a.tp_rounds):  # alternating, each API first in turn
                for n, api in ((("native", NATIVE), (name, APIS[name])) if i % 2 == 0
                               else ((name, APIS[name]), ("native", NATIVE))):
                    tp[n].append(throughput(port, api, a.secs))
            out[name] = (nat, com, tp)
    finally:
        srv.terminate()
        srv.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    report = {}
    for name, (nat, com, tp) in out.items():
        over = statistics.median(com) - statistics.median(nat)
        ratio = statistics.median(tp[name]) / statistics.median(tp["native"])
        print(f"\n### {name}\n\n| case | p50 ms | p90 ms |\n| --- | --- | --- |")
        print(f"| POST /api/execute (bash) | {statistics.median(nat):.2f} | {pct(nat, .9):.2f} |")
        print(f"| {LABEL[name]} (bash) | {statistics.median(com):.2f} | {pct(com, .9):.2f} |")
        print(f"\n{name} overhead p50: {over:+.3f} ms (goal <= 0.5 ms: "
              f"{'met' if over <= 0.5 else 'NOT MET'})")
        print(f"Throughput c=16 (median of {a.tp_rounds} rounds): native "
              f"{statistics.median(tp['native']):.0f}/s, {name} {statistics.median(tp[name]):.0f}/s, "
              f"ratio {ratio:.3f} (goal >= 0.95: {'met' if ratio >= 0.95 else 'NOT MET'})")
        report[name] = {"native_ms": nat, "compat_ms": com, "overhead_p50_ms": over,
                        "throughput": tp, "ratio": ratio}
    if a.json:
        json.dump(report, open(a.json, "w"))


if __name__ == "__main__":
    main()
