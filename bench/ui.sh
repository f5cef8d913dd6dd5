#!/bin/sh
# The web UI's cost, in one invocation (docs/benchmarks.md, "Web UI"): page
# load until the playground is usable (cold: an empty cache; warm: a reload,
# assets from the cache), and a python hello world run from the page (click Run
# until the status shows the result) against the same execute sent over a raw
# WebSocket from the same browser page, alternated run by run.
# Usage: bench/ui.sh [RUNS]   (needs root, Chromium and tests/ui's node_modules:
#        make setup installs them; builds build/soulbox)
set -eu
cd "$(dirname "$0")/.."
make -s build/soulbox
exec /usr/bin/python3 tests/sdk/with_server.py --name uibench --uid-base 2140000000 --python-pool 2 \
    -- node bench/lib/ui.mjs "${1:-30}"
