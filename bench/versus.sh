#!/bin/sh
# Before/after: builds the baseline commit (default: main's last commit,
# i.e. HEAD) into a throwaway worktree and times it against the working
# tree's build, alternately, in one invocation (bench/lib/versus.py).
# Usage: bench/versus.sh [BASE_COMMIT] [RUNS]   (needs root)
set -eu
cd "$(dirname "$0")/.."
base=${1:-HEAD}
runs=${2:-100}
dir=$(mktemp -d /tmp/soulbox-base-XXXXXX)
trap 'git worktree remove --force "$dir" >/dev/null 2>&1 || rm -rf "$dir"' EXIT
git worktree add -q --detach "$dir" "$base"
make -s -C "$dir" build/soulbox >/dev/null
make -s build/soulbox
exec /usr/bin/python3 bench/lib/versus.py --base "$dir/build/soulbox" --new build/soulbox --runs "$runs"
