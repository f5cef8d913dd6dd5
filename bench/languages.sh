#!/bin/sh
# Per-language hello world, cold sandboxes: median wall time through the HTTP
# API with the compile cache cold and warm, beside the bare host commands, in
# one invocation. The table goes in docs/languages.md.
# Usage: bench/languages.sh [RUNS] [LANG,LANG...]   (default 5, all; needs root)
set -eu
cd "$(dirname "$0")/.."
make -s build/soulbox
exec /usr/bin/python3 bench/lib/languages.py --soulbox build/soulbox --runs "${1:-5}" \
    --only "${2:-}"
