#!/bin/sh
# Network-enabled sandboxes beside network-less ones (cold and pooled start),
# and a download inside a sandbox beside the same on the host, in one
# invocation (docs/benchmarks.md, "Network").
# Usage: bench/network.sh [--quick]   (needs root)
set -eu
cd "$(dirname "$0")/.."
make -s build/soulbox
exec /usr/bin/python3 bench/lib/network.py --soulbox build/soulbox "$@"
