"""Times commands interleaved (round-robin, shuffled each round) and prints
percentiles and the difference and ratio against a baseline measured in the
same invocation. Used by the bench/*.sh scripts."""
import argparse
import os
import random
import shlex
import shutil
import statistics
import sys
import time


def run_once(argv):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0]), argv,
                         os.environ, file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({status}): {' '.join(argv)}")
    return (t1 - t0) / 1e6


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--case", action="append", default=[])
    ap.add_argument("--case-if", nargs=2, action="append", default=[], metavar=("PROG", "CASE"))
    ap.add_argument("--baseline", required=True)
    a = ap.parse_args()
    cases = [c.split("=", 1) for c in a.case]
    for prog, c in a.case_if:
        if shutil.which(prog):
            cases.append(c.split("=", 1))
        else:
            print(f"# {prog} not installed: skipped", file=sys.stderr)
    cases = [(n, shlex.split(cmd)) for n, cmd in cases]
    for _ in range(a.warmup):
        for _, argv in cases:
            run_once(argv)
    times = {n: [] for n, _ in cases}
    for _ in range(a.runs):
        order = cases[:]
        random.shuffle(order)
        for n, argv in order:
            times[n].append(run_once(argv))
    base = statistics.median(times[a.baseline])
    print(f"# {a.runs} interleaved runs each, {os.cpu_count()} CPUs, kernel {os.uname().release}")
    print(f"{'case':<10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'+p50 ms':>8} {'x base':>7}")
    for n, _ in cases:
        xs = times[n]
        m = statistics.median(xs)
        print(f"{n:<10} {m:8.2f} {pct(xs, 90):8.2f} {pct(xs, 99):8.2f} {m - base:8.2f} {m / base:7.2f}")


if __name__ == "__main__":
    main()
