"""Reads wrk --latency output on stdin; prints one JSON line: rps, p50, p99 (ms)."""
import json
import re
import sys


def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


text = sys.stdin.read()
out = {"label": sys.argv[1]}
m = re.search(r"Requests/sec:\s+([\d.]+)", text)
out["rps"] = float(m.group(1)) if m else None
for pct in ("50", "90", "99"):
    m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    out[f"p{pct}_ms"] = round(ms(*m.groups()), 2) if m else None
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
out["errors"] = int(m.group(1)) if m else 0
print(json.dumps(out))
