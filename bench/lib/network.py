"""Network-enabled sandboxes against network-less ones, and a download inside
a sandbox against the same download on the host, measured in this one
invocation (docs/benchmarks.md, "Network"). The destination is the test
internet of tests/integration/netlab.py (an HTTP server in a namespace).

  cold:   `bash -c true` in a fresh sandbox, with and without network, interleaved
  pooled: the same from warm pools (one plain, one plumbed for network), with
          a pause between runs so that every run finds its pool refilled
  download: GET /bytes/N from the lab's server by python3 inside a sandbox
          (through SoulBox's proxy) and by the same python3 on the host

Usage: network.py --soulbox build/soulbox [--quick]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from compare import pct  # noqa: E402
from netlab import NetLab  # noqa: E402
import sessions  # noqa: E402
from sessions import Client  # noqa: E402

DOWNLOAD = r'''
import socket, sys, time
n = int(sys.argv[1])
s = socket.create_connection(("203.0.113.10", 80))
t = time.perf_counter()
s.sendall(b"GET /bytes/%d HTTP/1.0\r\n\r\n" % n)
buf = bytearray(1 << 20)
got = 0
while True:
    k = s.recv_into(buf)
    if not k:
        break
    got += k
t = time.perf_counter() - t
print(got, t)
'''


class Server(sessions.Server):
    def __init__(self, soulbox, tmp, lab, pools):
        pool = ("  pools:\n    - {language: bash, size: 2}\n"
                "    - {language: bash, size: 2, network: true}\n"
                "    - {language: python, size: 1, network: true}\n") if pools else \
            "  pool_memory_mb: 0\n"
        super().__init__(soulbox, tmp, "server:\n  log_level: warn\nsandbox:\n"
                         "  languages: [python, bash]\n" + pool +
                         "  security:\n    enable_network: true\n  network:\n"
                         f"    allow: [\"203.0.113.0/24\"]\n    dns: [\"{lab.dns_v4}\"]\n")
        self.c = Client(self.port)

    def run(self, body):
        st, out = self.c.call("POST", "/api/execute", body)
        assert st == 200, out
        return json.loads(out)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def start_latency(srv, n, pause):
    plain, net = [], []
    for i in range(n):
        for network, xs in ((False, plain), (True, net)) if i % 2 else ((True, net), (False, plain)):
            body = {"language": "bash", "code": "true"}
            if network:
                body["network"] = {"enabled": True}
            time.sleep(pause)
            t = time.perf_counter()
            r = srv.run(body)
            xs.append((time.perf_counter() - t) * 1000)
            assert r["status"] == "ok", r
    return plain, net


def row(name, plain, net):
    p, q = statistics.median(plain), statistics.median(net)
    return (f"| {name} | {p:.2f} | {q:.2f} | {q - p:+.2f} | {pct(plain, 90):.2f} | "
            f"{pct(net, 90):.2f} |")


def download(srv, n, reps):
    inside, host = [], []
    for _ in range(reps):
        r = srv.run({"language": "python", "code": DOWNLOAD, "args": [str(n)],
                     "network": {"enabled": True}, "limits": {"wall_time_ms": 60000}})
        got, t = r["stdout"].split()
        assert int(got) > n, r
        inside.append(n / float(t) / 1e6)
        out = subprocess.run(["/usr/bin/python3", "-c", DOWNLOAD, str(n)], capture_output=True,
                             text=True, check=True).stdout
        got, t = out.split()
        host.append(n / float(t) / 1e6)
    return inside, host


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soulbox", required=True)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n = 20 if a.quick else 100
    size = (256 << 20) if a.quick else (1 << 30)
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-net-")
    with NetLab() as lab:
        cold = Server(a.soulbox, tmp, lab, pools=False)
        try:
            cold_plain, cold_net = start_latency(cold, n, 0)
            inside, host = download(cold, size, 3 if a.quick else 5)
        finally:
            cold.stop()
        pooled = Server(a.soulbox, tmp, lab, pools=True)
        try:
            time.sleep(1)
            pool_plain, pool_net = start_latency(pooled, n, 0.15)
        finally:
            pooled.stop()
    print(f"## Network ({n} runs each, interleaved; ms, over HTTP)\n")
    print("| start | without network p50 | with network p50 | difference | without p90 | with p90 |")
    print("|---|---|---|---|---|---|")
    print(row("cold `bash -c true`", cold_plain, cold_net))
    print(row("pooled `bash -c true`", pool_plain, pool_net))
    i, h = statistics.median(inside), statistics.median(host)
    print(f"\nDownload of {size >> 20} MiB from the lab's HTTP server (MB/s, median of "
          f"{len(inside)}): inside a sandbox {i:.0f}, on the host {h:.0f}: **{i / h:.2f}x**")


if __name__ == "__main__":
    main()
