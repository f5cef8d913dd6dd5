"""The headline benchmarks of docs/benchmarks.md, each beside its baselines in
this one invocation: hot (warm pool) and cold executions over HTTP against
the bare process, an agent-like client loop, the cold CLI start against
bare/bwrap/firejail, sustained throughput against bare processes, 1000
concurrent sleeps, SoulBox's own CPU per execution, and memory.

Usage: run.py --soulbox build/soulbox [--quick] [--goals] [--plots DIR]
(prints a Markdown report; --goals adds each goal of issue 12 with its
measured ratio and met / not met; --plots draws the latency distributions)
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

    def __init__(self, soulbox, tmp, name, extra="", server_extra=PER_CLIENT, log=False,
                 slots=64):
        self.port, gport = free_ports(2)
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(tmp, name + ".yaml")
        level = "info" if log else "warn"
        with open(cfg, "w") as f:
            f.write(f"server:\n  log_level: {level}\n  max_concurrent: {slots}\n"
                    "  max_queue: 4096\n" +
                    server_extra + "sandbox:\n  languages: [python, bash]\n" + extra)
        self.log = os.path.join(tmp, name + ".log") if log else None
        with open(self.log or os.devnull, "w") as err:
            self.proc = subprocess.Popen([soulbox, "serve", "--config", cfg, "--port",
                                          str(self.port), "--grpc-port", str(gport), "--data-dir",
                                          os.path.join(tmp, name)], stderr=err)
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
        """A metric's value (labelled by language, or unlabelled with lang=None)."""
        key = f'{name}{{language="{lang}"}} ' if lang else name + " "
        for line in requests.get(self.url + "/metrics").text.splitlines():
            if line.startswith(key):
                return float(line.split()[1])
        return 0.0

    def own_cpu(self):
        """Seconds of CPU the server and its sandbox agents used so far."""
        return (self.metric("process_cpu_seconds_total", None) +
                self.metric("soulbox_agent_cpu_seconds_total", None))

    def setup_ms(self):
        """setup_ms of every execution logged so far (claim or start to started)."""
        out = []
        with open(self.log) as f:
            for line in f:
                if '"msg":"execution"' in line:
                    v = json.loads(line).get("setup_ms")
                    if v is not None:
                        out.append(v)
        return out

    def wait_pool(self, n):
        deadline = time.time() + 60
        while self.metric("soulbox_pool_ready") < n and time.time() < deadline:
            time.sleep(0.02)

    def execute(self, code, session, language="python", **extra):
        body = dict({"language": language, "code": code}, **extra)
        t0 = time.perf_counter()
        r = session.post(self.url + "/api/execute", json=body, timeout=120).json()
        ms = (time.perf_counter() - t0) * 1000
        assert r.get("status") == "ok", r
        return ms, r

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def stats(xs):
    return {"p50": statistics.median(xs), "p90": pct(xs, 90), "p99": pct(xs, 99), "xs": xs}


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


BWRAP = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
         "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib",
         "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
         "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache", "--proc", "/proc", "--dev", "/dev",
         "--tmpfs", "/tmp", "--dir", "/workspace", "--chdir", "/workspace"]


def traced_run(argv):
    """Runs `soulbox run` with SOULBOX_TRACE=1: (wall ms, {phase: ms})."""
    t0 = time.perf_counter_ns()
    p = subprocess.run(argv, env=dict(os.environ, SOULBOX_TRACE="1"), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, check=True)
    ms = (time.perf_counter_ns() - t0) / 1e6
    line = [x for x in p.stderr.splitlines() if "trace" in x][-1]
    return ms, {k: float(v) for k, v in (kv.split("=") for kv in line.split()[2:])}


def cold_cli(soulbox, runs):
    """Cold starts from the command line, interleaved: python and `bash -c true`,
    bare, soulbox run (with its phase trace), bwrap (the same isolation flags:
    namespaces, read-only system dirs, fresh /tmp, /proc, /dev) and firejail."""
    progs = {"python": ["/usr/bin/python3", "-c", PRINT], "bash": ["/bin/bash", "-c", "true"]}
    cases = []
    for lang, prog in progs.items():
        cases.append((f"{lang} bare", prog))
        cases.append((f"{lang} soulbox run", [soulbox, "run", "-l", lang, "-c", prog[-1]]))
        if shutil.which("bwrap"):
            cases.append((f"{lang} bwrap", BWRAP + prog))
        if shutil.which("firejail") and lang == "python":
            cases.append((f"{lang} firejail", ["firejail", "--quiet", "--noprofile",
                                               "--net=none", "--private", "--private-dev",
                                               "--private-tmp", "--caps.drop=all",
                                               "--nonewprivs", "--seccomp"] + prog))
    times = {n: [] for n, _ in cases}
    inside = {lang: [] for lang in progs}  # started -> exited inside the sandbox
    for _ in range(runs):
        for n, argv in cases:
            if "soulbox" in n:
                ms, ph = traced_run(argv)
                inside[n.split()[0]].append(ph["exited"] - ph["started"])
            else:
                ms = run_once(argv)
            times[n].append(ms)
    return {n: stats(v) for n, v in times.items()}, {k: stats(v) for k, v in inside.items()}


def agent_loop(srv, code, n, think_s):
    """An agent's loop: each request sent think_s after the previous answer."""
    out, warm = [], 0
    with requests.Session() as s:
        for _ in range(n):
            ms, r = srv.execute(code, s)
            out.append(ms)
            warm += r["warm"]
            time.sleep(think_s)
    return stats(out), warm


def own_cpu_per_exec(srv, code, runs, language="python"):
    """SoulBox's own CPU (server + agents, programs excluded) per execution, ms."""
    with requests.Session() as s:
        srv.execute(code, s, language=language)
        time.sleep(0.5)  # refills of the warm-up done
        before = srv.own_cpu()
        for _ in range(runs):
            srv.execute(code, s, language=language)
        time.sleep(0.5)  # the refills these runs caused count too
        return (srv.own_cpu() - before) * 1000 / runs


def sleeps(port, n):
    out = subprocess.run([sys.executable, os.path.join(HERE, "concurrent_exec.py"), "--port",
                          str(port), "--n", str(n)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def row(name, s, base=None):
    r = f"| {name} | {s['p50']:.1f} | {s['p90']:.1f} | {s['p99']:.1f} |"
    return r + (f" {s['p50'] / base['p50']:.2f} |" if base else " 1.00 |")


def measure(a, runs, tmp):
    R = {"runs": runs}
    pools = "  pools:\n    - {language: python, size: 4}\n"
    hot = Server(a.soulbox, tmp, "hot", pools, log=True)
    cold = Server(a.soulbox, tmp, "cold", "  pool_memory_mb: 0\n")
    # the cold CLI and 1000-sleeps cases run with no pool refilling beside them
    try:
        hot.wait_pool(4)
        time.sleep(1)
        R["idle_pss"] = pss_kb(cold.proc.pid)
        R["per_sandbox"] = pooled_python_pss(hot.proc.pid)
        R["hot"], R["cold"], R["bare"], R["warm"] = hot_vs_cold(hot, cold, PRINT, runs, 4)
        R["setup"] = stats(hot.setup_ms())
        with requests.Session() as sc:
            R["cold_bash"] = stats([cold.execute("true", sc, language="bash")[0]
                                    for _ in range(runs)])
        R["cpu_hot"] = own_cpu_per_exec(hot, PRINT, runs)
        R["cpu_cold"] = own_cpu_per_exec(cold, PRINT, runs)
        R["cpu_cold_bash"] = own_cpu_per_exec(cold, "true", runs, "bash")
        hot.stop()
        numpy_pool = "  pools:\n    - {language: python, size: 4, preload: [numpy]}\n"
        hot = Server(a.soulbox, tmp, "numpy", numpy_pool)
        hot.wait_pool(4)
        R["hot_np"], R["cold_np"], R["bare_np"], R["warm_np"] = hot_vs_cold(
            hot, cold, NUMPY, max(10, runs // 4), 4)
        hot.stop()
        # the default pool size (2): it must grow to keep the loop warm
        hot = Server(a.soulbox, tmp, "loop", "  pools:\n    - {language: python, size: 2, "
                     "preload: [numpy]}\n")
        hot.wait_pool(2)
        time.sleep(1)
        R["loop_np"], R["loop_warm"] = agent_loop(hot, NUMPY, 10, 0.05)
        R["loop_target"] = hot.metric("soulbox_pool_target")
        hot.stop()
        hot = Server(a.soulbox, tmp, "sustained", "  pools:\n    - {language: python, size: 8}\n")
        hot.wait_pool(8)
        R["http_rate"], R["bare_rate"] = throughput(hot, 16, 10 if a.quick else 30)
        hot.stop()
        hot = None
        R["cli"], R["inside"] = cold_cli(a.soulbox, runs)
        # 1000 at once need 1000 slots (the default, 64, would queue them)
        hot = Server(a.soulbox, tmp, "sleeps", "  pool_memory_mb: 0\n", slots=1000)
        R["sleeps"] = sleeps(hot.port, 1000)
    finally:
        if hot:
            hot.stop()
        cold.stop()
    return R


def report(R):
    runs, cli, b, bn = R["runs"], R["cli"], R["bare"], R["bare_np"]
    print(f"# {os.cpu_count()} CPUs, kernel {os.uname().release}, {runs} runs per case, "
          "all in one invocation; times in ms\n")
    print("| case | p50 | p90 | p99 | x baseline |\n|---|---:|---:|---:|---:|")
    print(row("bare `python3 -c 'print(1)'` (baseline)", b))
    print(row(f"SoulBox hot `print(1)` over HTTP ({R['warm']}/{runs} warm)", R["hot"], b))
    print(row("SoulBox cold `print(1)` over HTTP", R["cold"], b))
    print(row("bare numpy import + zeros (baseline)", bn))
    print(row(f"SoulBox hot numpy over HTTP ({R['warm_np']} warm, numpy preloaded)",
              R["hot_np"], bn))
    print(row(f"SoulBox numpy, client loop with 50 ms think time ({R['loop_warm']}/10 warm, "
              f"pool size 2 grew to {R['loop_target']:.0f})", R["loop_np"], bn))
    print(row("SoulBox cold numpy over HTTP", R["cold_np"], bn))
    for lang in ("python", "bash"):
        base = cli[f"{lang} bare"]
        for n, st in cli.items():
            if n.startswith(lang):
                label = f"cold CLI: {n}" + (" (baseline)" if n.endswith("bare") else "")
                print(row(label, st, None if n.endswith("bare") else base))
        if lang == "bash":
            print(row("SoulBox cold `bash -c true` over HTTP", R["cold_bash"], base))
    print()
    print(f"- python inside the sandbox (`started`->`exited`, cold CLI): p50 "
          f"{R['inside']['python']['p50']:.1f} ms against the whole bare process "
          f"{cli['python bare']['p50']:.1f} ms")
    print(f"- warm claim to started (`setup_ms`): p50 {R['setup']['p50']:.2f} ms, "
          f"p90 {R['setup']['p90']:.2f} ms")
    print(f"- SoulBox's own CPU per execution (server + agent, programs excluded): hot python "
          f"{R['cpu_hot']:.2f} ms, cold python {R['cpu_cold']:.2f} ms, cold bash "
          f"{R['cpu_cold_bash']:.2f} ms")
    print(f"- sustained print(1) at concurrency 16: SoulBox {R['http_rate']:.1f}/s over HTTP, "
          f"bare processes {R['bare_rate']:.1f}/s: {R['http_rate'] / R['bare_rate']:.2f}x")
    sl = R["sleeps"]
    print(f"- 1000 concurrent `sleep 1` over HTTP (`max_concurrent: 1000`): {sl['ok']}/{sl['n']} "
          f"ok in {sl['total_s']} s")
    print(f"- idle server PSS (no pools): {R['idle_pss'] / 1024:.1f} MB; per pooled python "
          "sandbox (agent + interpreter, no preloads): "
          + ", ".join(f"{x / 1024:.1f}" for x in R["per_sandbox"]) + " MB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soulbox", required=True)
    ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    ap.add_argument("--goals", action="store_true", help="each goal: measured, met or not")
    ap.add_argument("--plots", metavar="DIR", help="draw the latency distributions into DIR")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-")
    try:
        R = measure(a, 20 if a.quick else 100, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(R)
    if a.goals:
        from goals import print_goals
        print_goals(R)
    if a.plots:
        from plots import draw
        for path in draw(R, a.plots):
            print(f"\n(plot: {path})")


if __name__ == "__main__":
    main()
