#!/bin/sh
# Sessions beside a local Jupyter kernel (what E2B's code interpreter runs), in
# one invocation: create, command round trip, cells, files, a chart, memory of
# 200 idle sessions (docs/benchmarks.md, "Sessions").
# Usage: bench/sessions.sh [--quick]   (needs root)
set -eu
cd "$(dirname "$0")/.."
/usr/bin/python3 -c "import jupyter_client, ipykernel" 2>/dev/null ||
    apt-get install -y -qq --no-install-recommends python3-ipykernel python3-jupyter-client >/dev/null
make -s build/soulbox
exec /usr/bin/python3 bench/lib/sessions.py --soulbox build/soulbox "$@"
