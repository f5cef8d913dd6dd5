#!/bin/sh
# Serverless functions, in one invocation: a python and a javascript hello
# handler on /fn/{name}, with `reuse` (warm instances) and without (a fresh
# pooled sandbox each), sequential latency and throughput at concurrency 32
# with wrk, beside bare processes and POST /api/execute measured in the same
# run (docs/benchmarks.md, "Functions").
# Usage: bench/functions.sh [--quick] [--soulbox PATH] [--secs S] [--runs N] [--json F]
#        (needs root; without --soulbox it builds and uses build/soulbox)
set -eu
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || apt-get install -y -qq --no-install-recommends wrk >/dev/null
SOULBOX=""
for a in "$@"; do
    case "$a" in --soulbox|--soulbox=*) SOULBOX=given ;; esac
done
if [ -z "$SOULBOX" ]; then
    make -s build/soulbox
    set -- --soulbox build/soulbox "$@"
fi
exec /usr/bin/python3 bench/lib/functions.py "$@"
