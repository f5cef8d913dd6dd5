#!/bin/sh
# Compatibility APIs' overhead over the native API, in one run: Piston's
# POST /api/v2/execute and Judge0's POST /submissions?wait=true, each against
# POST /api/execute on the same server (p50 latency difference, alternating;
# throughput at concurrency 16 of both).
# Usage: bench/compat.sh [--soulbox PATH] [--api piston|judge0|both] [--rounds N] [--secs S]
#                        [--tp-rounds N] [--json F]
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
exec /usr/bin/python3 bench/lib/compat.py "$@"
