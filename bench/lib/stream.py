"""Streaming benchmark: time to the first output byte over WebSocket, SSE and
gRPC ExecuteStream, beside the REST round trip of the same program (the
baseline), and the events/s and MB/s of a chatty program, in one invocation.

Usage: stream.py --soulbox build/soulbox [--runs 20]
"""
import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import grpc
import requests
import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import free_ports  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRST = "print('ready', flush=True)\nimport time\ntime.sleep(0.3)\n"
CHATTY = "import sys\nfor i in range(200000):\n    sys.stdout.write('line %d\\n' % i)\n    sys.stdout.flush()\n"



def stubs(tmp):
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", "proto", f"--python_out={tmp}",
                    f"--grpc_python_out={tmp}", "soulbox/v1/soulbox.proto"], cwd=ROOT, check=True)
    sys.path.insert(0, tmp)
    from soulbox.v1 import soulbox_pb2, soulbox_pb2_grpc
    return soulbox_pb2, soulbox_pb2_grpc


def rest(url, code):
    t0 = time.perf_counter()
    r = requests.post(url + "/api/execute", json={"language": "python", "code": code}, timeout=60)
    assert r.json()["status"] == "ok"
    return time.perf_counter() - t0


def sse_first(url, code):
    t0 = time.perf_counter()
    with requests.post(url + "/api/execute", json={"language": "python", "code": code},
                       headers={"Accept": "text/event-stream"}, stream=True, timeout=60) as r:
        for line in r.iter_lines():
            if line.startswith(b"event: stdout"):
                first = time.perf_counter() - t0
                break
        for _ in r.iter_lines():
            pass
    return first


async def ws_run(port, code):
    """(seconds to the first stdout event, events, bytes, seconds in all)."""
    t0 = time.perf_counter()
    first, events, nbytes = None, 0, 0
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/ws", max_size=None) as ws:
        await ws.send(json.dumps({"type": "execute", "language": "python", "code": code,
                                  "limits": {"output_kb": 65536, "wall_time_ms": 60000}}))
        async for m in ws:
            ev = json.loads(m)
            if ev["type"] == "stdout":
                first = first or time.perf_counter() - t0
                events += 1
                nbytes += len(ev["data"])
    return first, events, nbytes, time.perf_counter() - t0


def grpc_run(stub, pb, code):
    t0 = time.perf_counter()
    first, events, nbytes = None, 0, 0
    req = pb.ExecuteRequest(language="python", code=code,
                            limits=pb.Limits(output_kb=65536, wall_time_ms=60000))
    for ev in stub.ExecuteStream(req, timeout=120):
        if ev.WhichOneof("event") == "stdout":
            first = first or time.perf_counter() - t0
            events += 1
            nbytes += len(ev.stdout.data)
    return first, events, nbytes, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soulbox", required=True)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-")
    pb, pbg = stubs(tmp)
    port, gport = free_ports(2)
    cfg = os.path.join(tmp, "c.yaml")
    with open(cfg, "w") as f:
        f.write("server:\n  log_level: warn\nsandbox:\n  languages: [python]\n"
                "  maximums:\n    output_kb: 65536\n")
    srv = subprocess.Popen([a.soulbox, "serve", "--config", cfg, "--port", str(port),
                            "--grpc-port", str(gport), "--data-dir", os.path.join(tmp, "d")],
                           stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(url + "/health", timeout=1).json().get("languages_ready"):
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        stub = pbg.SoulBoxStub(grpc.insecure_channel(f"127.0.0.1:{gport}"))
        rows = {"REST round trip (print only)": [], "WebSocket first output": [],
                "SSE first output": [], "gRPC stream first output": []}
        for _ in range(a.runs):  # interleaved
            rows["REST round trip (print only)"].append(rest(url, "print('ready')"))
            rows["WebSocket first output"].append(asyncio.run(ws_run(port, FIRST))[0])
            rows["SSE first output"].append(sse_first(url, FIRST))
            rows["gRPC stream first output"].append(grpc_run(stub, pb, FIRST)[0])
        base = statistics.median(rows["REST round trip (print only)"])
        print(f"# {os.cpu_count()} CPUs, kernel {os.uname().release}, {a.runs} interleaved runs")
        print(f"{'case':34} {'p50 ms':>8} {'p90 ms':>8} {'x REST':>7}")
        for name, v in rows.items():
            v.sort()
            print(f"{name:34} {statistics.median(v) * 1000:8.1f} "
                  f"{v[int(len(v) * 0.9)] * 1000:8.1f} {statistics.median(v) / base:7.2f}")
        print("\n# chatty program: 200,000 flushed lines (2.5 MB)")
        print(f"{'transport':12} {'events':>8} {'events/s':>10} {'MB/s':>7} {'s':>6}")
        for name, fn in (("WebSocket", lambda: asyncio.run(ws_run(port, CHATTY))),
                         ("gRPC", lambda: grpc_run(stub, pb, CHATTY))):
            _, events, nbytes, secs = fn()
            print(f"{name:12} {events:8d} {events / secs:10.0f} {nbytes / secs / 1e6:7.2f} "
                  f"{secs:6.2f}")
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
