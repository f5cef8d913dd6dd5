"""Cluster mode measured in this one invocation (docs/benchmarks.md, "Cluster"):

1. The store's cost per execution: the same sync request (`bash -c :`, warm
   pool) to a node on SQLite and to a node on PostgreSQL (Debian's, local,
   started here), interleaved so that both see the same machine. Goal: the
   PostgreSQL node's p50 is at most 1 ms above the SQLite node's.
2. Hand-off: node A has its one slot taken, so the sync requests it receives
   go to the shared queue and node B (idle) runs them. Reported: the
   hand-off's added latency (A's answer against B's own for the same request)
   and the queue wait recorded in the database (claimed - created).

Usage: cluster.py --soulbox build/soulbox [--quick]
"""
import argparse
import hashlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "cluster"))
from compare import pct  # noqa: E402
from pg import Postgres, psql_db, new_database  # noqa: E402
from ports import free_ports  # noqa: E402

REQ = {"language": "bash", "code": ":"}
VIA_A = {"language": "bash", "code": ": handed over"}


class Node:
    def __init__(self, soulbox, tmp, name, store, max_concurrent=4, extra=""):
        self.port, gport = free_ports(2)
        cfg = os.path.join(tmp, f"{name}.yaml")
        with open(cfg, "w") as f:
            f.write(f"server:\n  log_level: warn\n  store: {store}\n"
                    f"  max_concurrent: {max_concurrent}\n"
                    f"cluster:\n  node_name: {name}\n  heartbeat_ms: 200\n"
                    f"sandbox:\n  languages: [bash]\n{extra}")
        self.proc = subprocess.Popen([soulbox, "serve", "--config", cfg, "--port", str(self.port),
                                      "--grpc-port", str(gport), "--data-dir",
                                      os.path.join(tmp, f"data-{name}")],
                                     stderr=subprocess.DEVNULL)
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        deadline = time.time() + 60
        while True:
            try:
                st, body = self.call("GET", "/health")
                if st == 200 and json.loads(body).get("languages_ready"):
                    break
            except OSError:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"node {name} did not start")
            time.sleep(0.1)
        time.sleep(0.5)   # pools filled, languages heartbeated

    def call(self, method, path, body=None):
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        return r.status, r.read()

    def timed(self, body=REQ):
        t = time.perf_counter()
        st, out = self.call("POST", "/api/execute", body)
        ms = (time.perf_counter() - t) * 1000
        assert st == 200, out
        return ms, json.loads(out)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def stats(xs):
    return {"p50": statistics.median(xs), "p90": pct(xs, 90), "p99": pct(xs, 99), "n": len(xs)}


def fmt(s):
    return f"{s['p50']:.2f} / {s['p90']:.2f} / {s['p99']:.2f} ms (n={s['n']})"


def store_cost(soulbox, tmp, pg, n):
    url = new_database(pg, "bench_store")
    lite = Node(soulbox, tmp, "lite", "sqlite")
    post = Node(soulbox, tmp, "post", url)
    try:
        for _ in range(30):          # warm up both
            lite.timed(), post.timed()
        a, b = [], []
        for i in range(n):
            first, second = (lite, post) if i % 2 else (post, lite)
            x, _ = first.timed()
            y, _ = second.timed()
            (a if first is lite else b).append(x)
            (b if first is lite else a).append(y)
        return stats(a), stats(b)
    finally:
        lite.stop()
        post.stop()


def hand_off(soulbox, tmp, pg, n):
    url = new_database(pg, "bench_handoff")
    a = Node(soulbox, tmp, "a", url, max_concurrent=1)
    b = Node(soulbox, tmp, "b", url, max_concurrent=1)
    try:
        # A's one slot busy for the whole measurement (async, so A answers at once)
        st, _ = a.call("POST", "/api/executions", {"language": "bash", "code": "sleep 600"})
        assert st == 202
        time.sleep(0.5)
        for _ in range(20):
            a.timed(VIA_A), b.timed()
        via, direct = [], []
        for i in range(n):
            x, r = a.timed(VIA_A)
            y, _ = b.timed()
            via.append(x)
            direct.append(y)
        # the ones sent to A (its code marks them), run by B: handed over
        mark = hashlib.sha256(VIA_A["code"].encode()).hexdigest()
        rows = psql_db(pg, "bench_handoff",
                       "SELECT started_ms - created_ms, node FROM executions "
                       f"WHERE code_sha256 = '{mark}' ORDER BY seq")
        waits = [int(w[0]) for w in rows if w[1].startswith("b-")][-n:]
        handed = len([w for w in rows if w[1].startswith("b-")])
        return stats(via), stats(direct), stats(waits), handed
    finally:
        a.stop()
        b.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soulbox", required=True)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    soulbox = os.path.abspath(args.soulbox)
    n = 100 if args.quick else 400
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-cluster-")
    pg = Postgres()
    try:
        lite, post = store_cost(soulbox, tmp, pg, n)
        via, direct, waits, handed = hand_off(soulbox, tmp, pg, n // 2)
    finally:
        pg.close()
        shutil.rmtree(tmp, ignore_errors=True)
    d = post["p50"] - lite["p50"]
    print("## Cluster\n")
    print("Sync `bash -c :` over one keep-alive connection (p50 / p90 / p99):\n")
    print("| | latency |\n|---|---|")
    print(f"| node on SQLite | {fmt(lite)} |")
    print(f"| node on PostgreSQL (local, same run) | {fmt(post)} |")
    print(f"| sent to a busy node, run by another (hand-off) | {fmt(via)} |")
    print(f"| sent straight to that other node | {fmt(direct)} |")
    print(f"\nQueue wait in the database (claimed - created) of the {handed} handed over: "
          f"p50 {waits['p50']:.0f} ms, p99 {waits['p99']:.0f} ms.\n")
    h = via["p50"] - direct["p50"]
    print(f"- PostgreSQL's cost per execution: {post['p50']:.2f} - {lite['p50']:.2f} ms = "
          f"{d:+.2f} ms p50 (goal <= +1 ms): {'met' if d <= 1 else 'NOT met'}")
    print(f"- hand-off adds {h:+.2f} ms p50 over running on the node with room")


if __name__ == "__main__":
    main()
