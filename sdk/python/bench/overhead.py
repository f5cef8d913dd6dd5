#!/usr/bin/python3
"""SDK overhead per execute call over a raw keep-alive HTTP call (http.client), same run.

    SOULBOX_URL=http://127.0.0.1:8080 SOULBOX_API_KEY=... python3 bench/overhead.py [N]

Alternates N (default 200) raw and N SDK executes of a trivial python program, after
a warm-up, and prints p50/p90 of each and their difference in ms, one figure a line;
the last line is ``overhead_p50_ms=<x>`` (SDK p50 minus raw p50).

A run takes a warm sandbox from the server's pool when one is ready, else a cold
one (tens of ms more): that dominates the noise, so each call waits
SOULBOX_BENCH_GAP_MS (default 50) first to let the pool refill, and the order
of the pair alternates. ``sdk_cpu_us`` is the SDK's own work per call (request
body and result object), measured without I/O.
"""
import http.client
import json
import os
import sys
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

import soulbox  # noqa: E402

CODE = "print(1)"


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    url = os.environ.get("SOULBOX_URL", "http://localhost:8080")
    if "://" not in url:
        url = "http://" + url
    u = urlsplit(url)
    key = os.environ.get("SOULBOX_API_KEY")
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    raw = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=60)
    body = json.dumps({"language": "python", "code": CODE}).encode()
    path = u.path.rstrip("/") + "/api/execute"

    def raw_call():
        raw.request("POST", path, body, headers)
        r = raw.getresponse()
        d = json.loads(r.read())
        assert r.status == 200 and d["stdout"] == "1\n", d

    client = soulbox.Client(url, api_key=key)

    def sdk_call():
        r = client.execute(language="python", code=CODE)
        assert r.stdout == "1\n", r

    gap = float(os.environ.get("SOULBOX_BENCH_GAP_MS", "50")) / 1000.0
    for _ in range(10):
        raw_call()
        sdk_call()
    t_raw, t_sdk = [], []
    for i in range(n):
        order = (raw_call, sdk_call) if i % 2 == 0 else (sdk_call, raw_call)
        for fn in order:
            if gap:
                time.sleep(gap)
            t = time.perf_counter()
            fn()
            (t_raw if fn is raw_call else t_sdk).append((time.perf_counter() - t) * 1000)
    diffs = [s - r for s, r in zip(t_sdk, t_raw)]
    sample = json.dumps({"stdout": "1\n", "stderr": "", "exit_code": 0, "execution_time": "3ms",
                         "status": "ok", "signal": None, "wall_time_ms": 3, "cpu_time_ms": 2,
                         "memory_kb": 5132, "truncated": False, "warm": True,
                         "id": "9dde3dfe-ded4-4e1c-b6ad-ce0c380c6c4b"}).encode()
    from soulbox._core import dumps, execute_body
    k = 20000
    t = time.perf_counter()
    for _ in range(k):
        dumps(execute_body("python", CODE, None, None, None, None, None, None, None, None, None, None,
                           None, True, None))
        soulbox.ExecutionResult.from_dict(json.loads(sample))
    cpu_us = (time.perf_counter() - t) / k * 1e6
    print(f"runs={n}")
    print(f"raw_p50_ms={pct(t_raw, 50):.3f}")
    print(f"raw_p90_ms={pct(t_raw, 90):.3f}")
    print(f"sdk_p50_ms={pct(t_sdk, 50):.3f}")
    print(f"sdk_p90_ms={pct(t_sdk, 90):.3f}")
    print(f"sdk_cpu_us={cpu_us:.1f}")
    print(f"paired_diff_p50_ms={pct(diffs, 50):.3f}")
    print(f"overhead_p90_ms={pct(t_sdk, 90) - pct(t_raw, 90):.3f}")
    print(f"overhead_p50_ms={pct(t_sdk, 50) - pct(t_raw, 50):.3f}")


if __name__ == "__main__":
    main()
