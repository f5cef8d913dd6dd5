#!/usr/bin/python3
"""A/B of two soulbox binaries on `soulbox run`, alternating in random order
in one invocation: wall time, and the medians of the SOULBOX_TRACE phases
(ms since the CLI started), so a difference can be placed in a phase.

  bench/lib/cli_ab.py --base OLD/soulbox --new build/soulbox \
      [--lang python] [--code 'print(1)'] [--runs 200]

(bench/versus.sh builds a baseline commit; this compares any two binaries.)"""
import argparse
import os
import random
import re
import statistics
import subprocess
import time

PHASES = ["engine", "launch", "spawned", "attached", "ready", "started", "exited", "finished",
          "exit"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--lang", default="python")
    ap.add_argument("--code", default="print(1)")
    ap.add_argument("--runs", type=int, default=200)
    a = ap.parse_args()
    bins = {"base": a.base, "new": a.new}
    wall = {k: [] for k in bins}
    phases = {k: [] for k in bins}
    for _ in range(a.runs):
        order = list(bins)
        random.shuffle(order)
        for k in order:
            t = time.perf_counter()
            p = subprocess.run([bins[k], "run", "-l", a.lang, "-c", a.code],
                               env=dict(os.environ, SOULBOX_TRACE="1"),
                               capture_output=True, text=True)
            wall[k].append((time.perf_counter() - t) * 1000)
            phases[k].append({n: float(v) for n, v in re.findall(r"(\w+)=([\d.]+)", p.stderr)})
    print(f"# {a.lang} {a.code!r}, {a.runs} alternating runs each; p50 in ms")
    for k in bins:
        med = " ".join(f"{n}={statistics.median(d.get(n, 0) for d in phases[k]):.2f}"
                       for n in PHASES)
        print(f"{k:4} wall={statistics.median(wall[k]):.2f}  {med}")
    print(f"new - base wall p50: {statistics.median(wall['new']) - statistics.median(wall['base']):+.2f}")


if __name__ == "__main__":
    main()
