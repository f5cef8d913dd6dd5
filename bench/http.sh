#!/bin/sh
# HTTP benchmark with wrk: GET /health, and POST /api/execute of python
# print(1) at concurrency 1 and 32, beside the same program through
# `soulbox run` and as a bare process, all in one invocation.
# Usage: bench/http.sh [SECONDS]   (default 10; needs root)
set -eu
cd "$(dirname "$0")/.."
SECS="${1:-10}"
command -v wrk >/dev/null || apt-get install -y -qq --no-install-recommends wrk >/dev/null
make -s build/soulbox
TMP=$(mktemp -d)
set -- $(/usr/bin/python3 -c 'import sys; sys.path.insert(0, "bench/lib"); from ports import free_ports; print(*free_ports(2))')
PORT=$1 GPORT=$2
printf 'server:\n  max_concurrent: 64\n  max_queue: 4096\n  log_level: warn\n' > "$TMP/c.yaml"
build/soulbox serve --config "$TMP/c.yaml" --port "$PORT" --grpc-port "$GPORT" \
    --data-dir "$TMP/data" 2>"$TMP/log" &
SRV=$!
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null; rm -rf "$TMP"' EXIT
for i in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
U="http://127.0.0.1:$PORT"
S=bench/lib/wrk_summary.py
echo "# $(nproc) CPUs, kernel $(uname -r), ${SECS}s per wrk run"
wrk -t2 -c32 -d"$SECS"s --latency "$U/health" | /usr/bin/python3 $S "GET /health c=32"
wrk -t1 -c1 -d"$SECS"s --latency -s bench/lib/post_execute.lua "$U/api/execute" \
    | /usr/bin/python3 $S "POST /api/execute python c=1"
wrk -t2 -c32 -d"$SECS"s --latency -s bench/lib/post_execute.lua "$U/api/execute" \
    | /usr/bin/python3 $S "POST /api/execute python c=32"
/usr/bin/python3 bench/lib/compare.py --runs 50 --warmup 5 \
  --case "bare=/usr/bin/python3 -c print(1)" \
  --case "soulbox_run=build/soulbox run -l python -c print(1)" --baseline bare
