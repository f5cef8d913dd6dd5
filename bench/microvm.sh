#!/bin/sh
# The microVM backend next to the namespace backend, in one run against one
# server: cold runs (a guest boots per run), runs from a pool of booted
# guests, a hot CPU-bound run (execution speed inside the guest), and a
# command in a live session, each for both isolations. Prints the medians and
# the microvm / namespaces ratios, and whether guests ran under KVM or TCG
# (auto-detected: docs/microvm.md, "KVM").
# Usage: bench/microvm.sh [N]   (N runs of each kind; default 10; root)
set -eu
cd "$(dirname "$0")/.."
N=${1:-10}
make -s build/soulbox
exec /usr/bin/python3 bench/lib/microvm.py "$N"
