"""Fires N POST /api/execute requests at once over N connections (asyncio, raw
HTTP/1.1) and reports how many succeeded and how long the whole batch took."""
import argparse
import asyncio
import json
import sys
import time


async def one(host, port, body, results):
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /api/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    ok = head.startswith(b"HTTP/1.1 200") and json.loads(payload).get("status") == "ok"
    results.append((ok, time.perf_counter() - t0, head.split(b"\r\n")[0]))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--code", default="sleep 1")
    ap.add_argument("--language", default="bash")
    a = ap.parse_args()
    body = json.dumps({"language": a.language, "code": a.code,
                       "limits": {"wall_time_ms": 60000}}).encode()
    results = []
    t0 = time.perf_counter()
    await asyncio.gather(*(one("127.0.0.1", a.port, body, results) for _ in range(a.n)))
    total = time.perf_counter() - t0
    ok = sum(r[0] for r in results)
    lat = sorted(r[1] for r in results)
    print(json.dumps({"n": a.n, "ok": ok, "total_s": round(total, 2),
                      "p50_s": round(lat[len(lat) // 2], 3), "max_s": round(lat[-1], 3),
                      "failures": sorted({r[2].decode() for r in results if not r[0]})[:5]}))
    return 0 if ok == a.n else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
