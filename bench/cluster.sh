#!/bin/sh
# Cluster mode, in one invocation: one node on PostgreSQL against one on
# SQLite (the store's cost per execution), and how long a request one node
# hands to another waits in the shared queue (docs/benchmarks.md, "Cluster").
# Usage: bench/cluster.sh [--quick]   (needs root and Debian's postgresql)
set -eu
cd "$(dirname "$0")/.."
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
make -s build/soulbox
exec /usr/bin/python3 bench/lib/cluster.py --soulbox build/soulbox "$@"
