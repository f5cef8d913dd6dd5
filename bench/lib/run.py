"""The headline benchmarks of docs/benchmarks.md, each beside its baselines in
this one invocation: hot (warm pool) and cold executions over HTTP against
the bare process, the cold CLI start against bare/bwrap/firejail, sustained
throughput against bare processes, 1000 concurrent sleeps, and memory.

Usage: run.py --soulbox build/soulbox [--quick]   (prints a Markdown report)
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import pct, run_once  # noqa: E402
from ports import free_ports  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PRINT = "print(1)"
NUMPY = "import numpy as np; print(np.zeros(3))"


class Server:
    # 1000 concurrent requests come from one address (the default per-client
    # cap, 256, is for real clients); `server_extra` replaces this line for a
    # binary that predates the key (bench/lib/versus.py).
    PER_CLIENT = "  max_connections_per_client: 4096\n"

    def __init__(self, soulbox, tmp, name, extra="", server_extra=PER_CLIENT):
        self.port, gport = free_ports(2)
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(tmp, name + ".yaml")
        with open(cfg, "w") as f:
            f.write("server:\n  log_level: warn\n  max_concurrent: 64\n  max_queue: 4096\n" +
                    server_extra + "sandbox:\n  languages: [python, bash]\n" + extra)
        self.proc = subprocess.Popen([soulbox, "serve", "--config", cfg, "--port", str(self.port),
                                      "--grpc-port", str(gport), "--data-dir",
                                      os.path.join(tmp, name)], stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(self.url + "/health", timeout=1).json().get("languages_ready"):
                    break
            except requests.RequestException:
                pass
            assert time.time() < deadline and self.proc.poll() is None, name
            time.sleep(0.1)

    def metric(self, name, lang="python"):
        for line in requests.get(self.url + "/metrics").text.splitlines():
            if line.startswith(f'{name}{{language="{lang}"}} '):
                return float(line.split()[1])
        return 0.0

    def wait_pool(self, n):
        deadline = time.time() + 60
        while self.metric("soulbox_pool_ready") < n and time.time() < deadline:
            time.sleep(0.02)

    def execute(self, code, session, **extra):
        body = dict({"language": "python", "code": code}, **extra)
        t0 = time.perf_counter()
        r = session.post(self.url + "/api/execute", json=body, timeout=120).json()
        ms = (time.perf_counter() - t0) * 1000
        assert r.get("status") == "ok", r
        return ms, r

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def stats(xs):
    return {"p50": statistics.median(xs), "p90": pct(xs, 90), "p99": pct(xs, 99)}


def bare(code):
    return run_once(["/usr/bin/python3", "-c", code])


def hot_vs_cold(hot, cold, code, runs, size):
    """Sequential requests. The pool refills between them (as on a server
    that is not saturated), and the cold and bare runs are timed only once it
    is full again, so no refill runs beside them."""
    h, c, b, warm = [], [], [], 0
    with requests.Session() as sh, requests.Session() as sc:
        for _ in range(runs):
            hot.wait_pool(size)
            ms, r = hot.execute(code, sh)
            h.append(ms)
            warm += r["warm"]
            hot.wait_pool(size)
            c.append(cold.execute(code, sc)[0])
            b.append(bare(code))
    return stats(h), stats(c), stats(b), warm


def throughput(srv, conc, seconds):
    """Executions/s of print(1) at this concurrency, over HTTP and as bare processes."""
    def loop(fn):
        n, t_end = 0, time.time() + seconds
        while time.time() < t_end:
            fn()
            n += 1
        return n
    sessions = [requests.Session() for _ in range(conc)]
    with concurrent.futures.ThreadPoolExecutor(conc) as pool:
        t0 = time.time()
        ok = sum(pool.map(lambda s: loop(lambda: srv.execute(PRINT, s)), sessions))
        http_rate = ok / (time.time() - t0)
        t0 = time.time()
        ok = sum(pool.map(lambda _: loop(lambda: bare(PRINT)), range(conc)))
        bare_rate = ok / (time.time() - t0)
    return http_rate, bare_rate


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pooled_python_pss(server_pid):
    """PSS of each pooled python sandbox (its agent + interpreter)."""
    out = []
    for agent in subprocess.run(["ps", "-o", "pid=", "--ppid", str(server_pid)],
                                capture_output=True, text=True).stdout.split():
        kids = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", agent], capture_output=True,
                              text=True).stdout.split("\n")
        py = [k.split()[0] for k in kids if k.strip().endswith("python3")]
        if py:
            out.append(pss_kb(agent) + sum(pss_kb(p) for p in py))
    return out


def cold_cli(soulbox, runs):
    cases = [("bare", ["/usr/bin/python3", "-c", PRINT]),
             ("soulbox run", [soulbox, "run", "-l", "python", "-c", PRINT])]
    if shutil.which("bwrap"):
        cases.append(("bwrap", ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
                                "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr", "--symlink",
                                "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink",
                                "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
                                "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache", "--proc",
                                "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir",
                                "/workspace", "--chdir", "/workspace", "/usr/bin/python3", "-c",
                                PRINT]))
    if shutil.which("firejail"):
        cases.append(("firejail", ["firejail", "--quiet", "--noprofile", "--net=none",
                                   "--private", "--private-dev", "--private-tmp",
                                   "--caps.drop=all", "--nonewprivs", "--seccomp",
                                   "/usr/bin/python3", "-c", PRINT]))
    times = {n: [] for n, _ in cases}
    for _ in range(runs):
        for n, argv in cases:
            times[n].append(run_once(argv))
    return {n: stats(v) for n, v in times.items()}


def sleeps(port, n):
    out = subprocess.run([sys.executable, os.path.join(HERE, "concurrent_exec.py"), "--port",
                          str(port), "--n", str(n)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def row(name, s, base=None):
    r = f"| {name} | {s['p50']:.1f} | {s['p90']:.1f} | {s['p99']:.1f} |"
    return r + (f" {s['p50'] / base['p50']:.2f} |" if base else " 1.00 |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soulbox", required=True)
    ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    a = ap.parse_args()
    runs = 20 if a.quick else 100
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-")
    pools = "  pools:\n    - {language: python, size: 4}\n"
    numpy_pool = "  pools:\n    - {language: python, size: 4, preload: [numpy]}\n"
    hot = Server(a.soulbox, tmp, "hot", pools)
    cold = Server(a.soulbox, tmp, "cold", "  pool_memory_mb: 0\n")
    # the cold CLI and 1000-sleeps cases run with no pool refilling beside them
    try:
        hot.wait_pool(4)
        time.sleep(1)
        idle_rss = pss_kb(cold.proc.pid)
        per_sandbox = pooled_python_pss(hot.proc.pid)
        h, c, b, warm = hot_vs_cold(hot, cold, PRINT, runs, 4)
        hot.stop()
        hot = Server(a.soulbox, tmp, "numpy", numpy_pool)
        hot.wait_pool(4)
        hn, cn, bn, warm_n = hot_vs_cold(hot, cold, NUMPY, max(10, runs // 4), 4)
        hot.stop()
        hot = Server(a.soulbox, tmp, "sustained", "  pools:\n    - {language: python, size: 8}\n")
        hot.wait_pool(8)
        http_rate, bare_rate = throughput(hot, 16, 10 if a.quick else 30)
        hot.stop()
        hot = None
        cli = cold_cli(a.soulbox, runs)
        sl = sleeps(cold.port, 1000)
    finally:
        if hot:
            hot.stop()
        cold.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# {os.cpu_count()} CPUs, kernel {os.uname().release}, {runs} runs per case, "
          "all in one invocation; times in ms\n")
    print("| case | p50 | p90 | p99 | x baseline |\n|---|---:|---:|---:|---:|")
    print(row("bare `python3 -c 'print(1)'` (baseline)", b))
    print(row(f"SoulBox hot `print(1)` over HTTP ({warm}/{runs} warm)", h, b))
    print(row("SoulBox cold `print(1)` over HTTP", c, b))
    print(row("bare numpy import + zeros (baseline)", bn))
    print(row(f"SoulBox hot numpy over HTTP ({warm_n} warm, numpy preloaded)", hn, bn))
    print(row("SoulBox cold numpy over HTTP", cn, bn))
    for n, s in cli.items():
        print(row(f"cold CLI: {n}" + (" (baseline)" if n == "bare" else ""), s,
                  None if n == "bare" else cli["bare"]))
    print()
    print(f"- sustained print(1) at concurrency 16: SoulBox {http_rate:.1f}/s over HTTP, bare "
          f"processes {bare_rate:.1f}/s: {http_rate / bare_rate:.2f}x")
    print(f"- 1000 concurrent `sleep 1` over HTTP: {sl['ok']}/{sl['n']} ok in {sl['total_s']} s")
    print(f"- idle server PSS (no pools): {idle_rss / 1024:.1f} MB; per pooled python sandbox "
          f"(agent + interpreter, no preloads): "
          + ", ".join(f"{x / 1024:.1f}" for x in per_sandbox) + " MB")


if __name__ == "__main__":
    main()
