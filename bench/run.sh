#!/bin/sh
# The headline benchmarks (docs/benchmarks.md), each beside its baselines in
# one invocation: hot and cold executions over HTTP vs the bare process, the
# cold CLI vs bare/bwrap/firejail, throughput at concurrency 16, 1000
# concurrent sleeps, CPU per execution, memory.
# Usage: bench/run.sh [--quick] [--goals] [--plots docs/img]   (needs root)
set -eu
cd "$(dirname "$0")/.."
command -v bwrap >/dev/null || apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
command -v firejail >/dev/null || apt-get install -y -qq --no-install-recommends firejail >/dev/null
make -s build/soulbox
/usr/bin/python3 -c "import matplotlib" 2>/dev/null || apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null
exec /usr/bin/python3 bench/lib/run.py --soulbox build/soulbox "$@"
