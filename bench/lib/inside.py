"""What each part of a sandbox costs the program inside it: python3 -c
'print(1)' bare, and with one ingredient at a time, each pair interleaved
in this one invocation (the wrapper's own exec is in both sides of a pair):

- overlay: /usr a private lower-only overlayfs (as every sandbox has it),
  against a private mount namespace alone
- seccomp: SoulBox's own filter (build/seccomp-kill.bpf) loaded
- cgroup: a fresh memory + pids + cpu + cpuacct cgroup (v1 or v2), as a sandbox's

Usage: inside.py --helper build/bench/inside_exec --filter build/seccomp-kill.bpf [--runs N]
"""
import argparse
import os
import random
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import pct, run_once  # noqa: E402

PY = ["/usr/bin/python3", "-c", "print(1)"]


def cgroup_dirs(name):
    """A sandbox's cgroup: memory, pids, cpu and cpuacct (v1: one dir per
    hierarchy, co-mounted ones once), or one v2 dir."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return [f"/sys/fs/cgroup/{name}"]
    roots = []
    for c in ("memory", "pids", "cpu", "cpuacct"):
        root = os.path.realpath(f"/sys/fs/cgroup/{c}")
        if root not in roots:
            roots.append(root)
    return [os.path.join(r, name) for r in roots]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--helper", required=True)
    ap.add_argument("--filter", required=True)
    ap.add_argument("--runs", type=int, default=100)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="soulbox-inside-")
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    cgs = cgroup_dirs(f"soulbox-bench-{os.getpid()}")
    for d in cgs:
        os.makedirs(d, exist_ok=True)
    join = "; ".join(f"echo $$ > {d}/cgroup.procs" for d in cgs)
    sh = "/bin/sh"
    h = a.helper
    pairs = {
        "overlay": ([h, "mountns", "-"] + PY, [h, "overlay", empty] + PY),
        "seccomp": ([h, "none"] + PY, [h, "seccomp", a.filter] + PY),
        "cgroup": ([sh, "-c", 'exec "$@"', "x"] + PY,
                   [sh, "-c", f'{join}; exec "$@"', "x"] + PY),
    }
    times = {(k, side): [] for k in pairs for side in (0, 1)}
    try:
        for _ in range(a.runs):
            order = [(k, side) for k in pairs for side in (0, 1)]
            random.shuffle(order)
            for k, side in order:
                times[(k, side)].append(run_once(pairs[k][side]))
    finally:
        for d in cgs:
            try:
                os.rmdir(d)
            except OSError:
                pass
        os.rmdir(empty)
        os.rmdir(tmp)
    print(f"# python3 -c 'print(1)', {a.runs} interleaved runs per case; ms")
    print("| ingredient | without p50 | with p50 | cost p50 | with p90 |\n|---|---:|---:|---:|---:|")
    for k in pairs:
        w0, w1 = times[(k, 0)], times[(k, 1)]
        m0, m1 = statistics.median(w0), statistics.median(w1)
        print(f"| {k} | {m0:.2f} | {m1:.2f} | {m1 - m0:+.2f} | {pct(w1, 90):.2f} |")


if __name__ == "__main__":
    main()
