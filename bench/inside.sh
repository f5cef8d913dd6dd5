#!/bin/sh
# What the per-sandbox overlay, seccomp filter and cgroup each cost the
# program inside (python3 -c 'print(1)'), each against the same run without
# it, interleaved. Usage: bench/inside.sh [RUNS]   (needs root)
set -eu
cd "$(dirname "$0")/.."
make -s build/soulbox
mkdir -p build/bench
cc -O2 -o build/bench/inside_exec bench/lib/inside_exec.c
exec /usr/bin/python3 bench/lib/inside.py --helper build/bench/inside_exec \
    --filter build/seccomp-kill.bpf --runs "${1:-100}"
