#!/bin/sh
# Streaming: time to the first output byte over WebSocket, SSE and gRPC beside
# the REST round trip, and events/s of a chatty program, in one invocation.
# Usage: bench/stream.sh [RUNS]   (default 20; needs root)
set -eu
cd "$(dirname "$0")/.."
make -s build/soulbox
exec /usr/bin/python3 bench/lib/stream.py --soulbox build/soulbox --runs "${1:-20}"
