"""The microVM backend against the namespace backend, measured in one run
against one server (bench/microvm.sh): for each isolation,

- cold: `bash -c true` with no pool: for microvm, a VM restored from the
  snapshot of a booted guest per run (the default), and again on a second
  server with `sandbox.microvm.snapshot: false`, where each VM boots its
  kernel (boot-to-ready next to restore-to-ready),
- pooled: `python print(1)` from a pool of one ready sandbox (a booted guest
  with the interpreter started), waiting for the refill between runs,
- hot: a CPU-bound python loop, its cpu_time_ms (execution speed in the guest),
- session: an `echo` command in a live session (the guest already up).

Prints medians, the microvm / namespaces ratio of each, and the accelerator
the guests ran under (GET /health: kvm or tcg, auto-detected).

Usage: microvm.py N
"""
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sessions import Client, Server  # noqa: E402

SOULBOX = os.environ.get("SOULBOX", "build/soulbox")
CONFIG = ("server:\n  log_level: warn\n"
          "sandbox:\n  languages: [python, bash]\n  pool_memory_mb: 8192\n"
          "  pools:\n    - {language: python, size: 1}\n"
          "    - {language: python, size: 1, isolation: microvm}\n")
HOT = "s = 0\nfor i in range(3_000_000):\n    s += i * i\nprint(s)\n"


def run(c, body):
    t0 = time.perf_counter()
    st, out = c.call("POST", "/api/execute", body)
    ms = (time.perf_counter() - t0) * 1000
    assert st == 200, out
    res = json.loads(out)
    assert res["status"] == "ok", res
    return ms, res


def pool_ready(c, iso):
    label = 'soulbox_pool_ready{language="python"%s}' % (
        ',isolation="microvm"' if iso == "microvm" else "")
    for _ in range(1200):
        st, m = c.call("GET", "/metrics")
        for line in m.decode().splitlines():
            if line.startswith(label + " ") and float(line.split()[-1]) >= 1:
                return
        time.sleep(0.05)
    raise SystemExit("the %s pool did not fill" % iso)


def measure(c, iso, n):
    out = {}
    out["cold"] = [run(c, {"language": "bash", "code": "true", "isolation": iso})[0]
                   for _ in range(n)]
    pooled = []
    for _ in range(n):
        pool_ready(c, iso)
        ms, res = run(c, {"language": "python", "code": "print(1)", "isolation": iso})
        assert res["warm"], res
        pooled.append(ms)
    out["pooled"] = pooled
    out["hot_cpu"] = [run(c, {"language": "python", "code": HOT, "isolation": iso})[1]
                      ["cpu_time_ms"] for _ in range(max(3, n // 3))]
    st, body = c.call("POST", "/api/sandboxes", {"template": "base", "isolation": iso,
                                                 "timeout_s": 600})
    assert st == 201, body
    sid = json.loads(body)["id"]
    cmd = []
    for _ in range(n):
        t0 = time.perf_counter()
        st, body = c.call("POST", "/api/sandboxes/%s/commands" % sid, {"cmd": "echo hi"})
        cmd.append((time.perf_counter() - t0) * 1000)
        assert st == 200 and json.loads(body)["stdout"] == "hi\n", body
    c.call("DELETE", "/api/sandboxes/%s" % sid)
    out["session_cmd"] = cmd
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory(prefix="soulbox-bench-vm-") as tmp:
        srv = Server(SOULBOX, tmp, CONFIG)
        try:
            c = Client(srv.port)
            res = {iso: measure(c, iso, n) for iso in ("namespaces", "microvm")}
            st, h = c.call("GET", "/health")
            vm = json.loads(h).get("microvm", {})
        finally:
            srv.stop()
        srv = Server(SOULBOX, tmp, CONFIG + "  microvm:\n    snapshot: false\n")
        try:
            c = Client(srv.port)
            res["microvm"]["cold_boot"] = [
                run(c, {"language": "bash", "code": "true", "isolation": "microvm"})[0]
                for _ in range(n)]
        finally:
            srv.stop()
    res["namespaces"]["cold_boot"] = res["namespaces"]["cold"]
    snaps = vm.get("snapshots", {})
    print("microVM guests ran under: %s (kernel %s); snapshots: %d made, %d restores, "
          "%d boots" % (vm.get("accel"), vm.get("kernel"), snaps.get("saved", 0),
                        snaps.get("restores", 0), snaps.get("boots", 0)))
    print("%-22s %14s %14s %10s" % ("median", "namespaces", "microvm", "ratio"))
    names = {"cold": "cold, restored (ms)", "cold_boot": "cold, booted (ms)",
             "pooled": "pooled run (ms)",
             "hot_cpu": "hot loop CPU (ms)", "session_cmd": "session command (ms)"}
    for k, label in names.items():
        a = statistics.median(res["namespaces"][k])
        b = statistics.median(res["microvm"][k])
        print("%-22s %14.1f %14.1f %9.1fx" % (label, a, b, b / a if a else float("nan")))
    print("(N=%d; under TCG every guest instruction is emulated: with KVM expect boots of "
          "150-300 ms, restores of tens of ms and a hot ratio near 1, docs/microvm.md)" % n)


if __name__ == "__main__":
    main()
