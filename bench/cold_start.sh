#!/bin/sh
# Cold start: `soulbox run -l python -c 'print(1)'` against the bare process,
# bwrap and (if installed) firejail with equivalent isolation, interleaved in
# one invocation. Prints median / p90 / p99 and the overhead over bare.
# Usage: bench/cold_start.sh [RUNS]   (default 200; needs root)
set -eu
cd "$(dirname "$0")/.."
RUNS="${1:-200}"
command -v bwrap >/dev/null || apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
make -s build/soulbox
exec /usr/bin/python3 bench/lib/compare.py --runs "$RUNS" \
  --case "bare=/usr/bin/python3 -c print(1)" \
  --case "soulbox=build/soulbox run -l python -c print(1)" \
  --case "bwrap=bwrap --unshare-all --die-with-parent --new-session --cap-drop ALL \
--ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
--symlink usr/sbin /sbin --ro-bind /etc/ld.so.cache /etc/ld.so.cache --proc /proc --dev /dev \
--tmpfs /tmp --dir /workspace --chdir /workspace /usr/bin/python3 -c print(1)" \
  --case-if "firejail" "firejail=firejail --quiet --noprofile --net=none --private --private-dev \
--private-tmp --caps.drop=all --nonewprivs --seccomp /usr/bin/python3 -c print(1)" \
  --baseline bare
