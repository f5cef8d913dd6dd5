"""Two SoulBox binaries side by side in one invocation: the cold CLI, a hot
(warm pool) and a cold execution over HTTP, each timed alternately for the
baseline binary and the candidate, with the bare process as the floor. It
answers "did this change make a run slower?" on whatever machine runs it.

Usage: versus.py --base OLD_BINARY --new NEW_BINARY [--runs N]
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import pct, run_once  # noqa: E402
from run import PRINT, Server  # noqa: E402

POOL = "  pools:\n    - {language: python, size: 2}\n"


def summary(xs):
    return statistics.median(xs), pct(xs, 90)


def cold_cli(base, new, runs):
    cases = {"bare": ["/usr/bin/python3", "-c", PRINT],
             "base": [base, "run", "-l", "python", "-c", PRINT],
             "new": [new, "run", "-l", "python", "-c", PRINT],
             "base bash": [base, "run", "-l", "bash", "-c", "true"],
             "new bash": [new, "run", "-l", "bash", "-c", "true"]}
    times = {n: [] for n in cases}
    for _ in range(runs):
        order = list(cases)
        random.shuffle(order)
        for n in order:
            times[n].append(run_once(cases[n]))
    return times


def http(servers, runs, hot):
    """Requests alternate between the servers, each timed once its pool (if
    any) is full again, so no refill runs beside a timed request."""
    times = {n: [] for n in servers}
    sessions = {n: requests.Session() for n in servers}
    for _ in range(runs):
        order = list(servers)
        random.shuffle(order)
        for n in order:
            if hot:
                for s in servers.values():
                    s.wait_pool(2)
            ms, r = servers[n].execute(PRINT, sessions[n])
            assert r["warm"] == hot, r
            times[n].append(ms)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--runs", type=int, default=100)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="soulbox-versus-")
    servers = []
    try:
        cli = cold_cli(a.base, a.new, a.runs)
        hot = {"base": Server(a.base, tmp, "hot-base", POOL, ""),
               "new": Server(a.new, tmp, "hot-new", POOL, "")}
        servers += hot.values()
        hot_t = http(hot, a.runs, True)
        for s in hot.values():
            s.stop()
        servers = []
        cold = {"base": Server(a.base, tmp, "cold-base", "  pool_memory_mb: 0\n", ""),
                "new": Server(a.new, tmp, "cold-new", "  pool_memory_mb: 0\n", "")}
        servers += cold.values()
        cold_t = http(cold, a.runs, False)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# {os.cpu_count()} CPUs, kernel {os.uname().release}, {a.runs} alternating runs per "
          "case, one invocation; times in ms\n")
    print("| case | base p50 | new p50 | new - base | base p90 | new p90 |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = [("cold CLI python print(1)", cli["base"], cli["new"]),
            ("cold CLI bash true", cli["base bash"], cli["new bash"]),
            ("hot python print(1) over HTTP", hot_t["base"], hot_t["new"]),
            ("cold python print(1) over HTTP", cold_t["base"], cold_t["new"])]
    for name, b, n in rows:
        (b50, b90), (n50, n90) = summary(b), summary(n)
        print(f"| {name} | {b50:.1f} | {n50:.1f} | {n50 - b50:+.1f} | {b90:.1f} | {n90:.1f} |")
    print(f"\nbare python3 print(1): p50 {summary(cli['bare'])[0]:.1f} ms")


if __name__ == "__main__":
    main()
