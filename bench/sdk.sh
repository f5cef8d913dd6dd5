#!/bin/sh
# SDK overhead: each SDK's execute call against a raw keep-alive HTTP call in
# the same language, alternating, in one run against one server (with a warm
# python pool). Prints each SDK's figures and a summary line per SDK with the
# p50 overhead against the 0.5 ms goal (docs/benchmarks.md, "SDKs").
# Usage: bench/sdk.sh [N]   (N calls of each kind per SDK; default 200; root)
set -eu
cd "$(dirname "$0")/.."
N=${1:-200}
make -s build/soulbox
(cd sdk/node && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null; } &&
    npm run -s build >/dev/null)
(cd sdk/go && go build -o ../../build/sdk-go-overhead ./bench)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
SOULBOX=$PWD/build/soulbox /usr/bin/python3 tests/sdk/with_server.py --name bench --python-pool 4 -- sh -c "
    echo '== python (http.client vs soulbox.Client)'; /usr/bin/python3 sdk/python/bench/overhead.py $N
    echo '== node (node:http vs @soulbox/sdk)'; node sdk/node/bench/overhead.mjs $N
    echo '== go (net/http vs soulbox-go)'; build/sdk-go-overhead $N
" | tee "$out"
echo
echo "summary (p50 overhead per execute call; goal <= 0.5 ms):"
awk '/^== /{sdk=$2} /^overhead_p50_ms=/{split($0, a, "="); v=a[2];
     printf "  %-7s %+.3f ms  %s\n", sdk, v, (v <= 0.5 ? "within goal" : "OVER GOAL")}' "$out"
