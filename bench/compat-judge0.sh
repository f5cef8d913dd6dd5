#!/bin/sh
# Judge0 compatibility overhead over the native API, in one run: Judge0's
# POST /submissions?wait=true against POST /api/execute on the same server (p50
# latency difference, alternating; throughput at concurrency 16 of both).
# Usage: bench/compat-judge0.sh [--soulbox PATH] [--rounds N] [--secs S] [--json F]
#        (needs root; without --soulbox it builds and uses build/soulbox)
set -eu
cd "$(dirname "$0")/.."
SOULBOX=""
for a in "$@"; do
    case "$a" in --soulbox|--soulbox=*) SOULBOX=given ;; esac
done
if [ -z "$SOULBOX" ]; then
    make -s build/soulbox
    set -- --soulbox build/soulbox "$@"
fi
exec /usr/bin/python3 bench/lib/compat_judge0.py "$@"
