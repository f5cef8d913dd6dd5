#!/bin/bash
# Runs inside the check-cgroup2 VM (tests/vm/init.c starts it as root, the
# host's / read-only over virtiofs, tmpfs on /tmp, /run, /var/tmp, /root).
# Every check prints "SBX-RESULT <name> <exit status>"; the host side
# (tests/vm/run_in_vm.py) fails the run on any non-zero one or a missing one.
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(sed -n 's/.*sbx_build=\([^ ]*\).*/\1/p' /proc/cmdline)
build=${build:-build}
cd "$repo" || exit 1

result() { echo "SBX-RESULT $1 $2"; }
step() { echo; echo "===== $1"; }

# ---- pure cgroup v2, or nothing here proves anything
step "cgroup-v2-only"
(
    stat -f -c %T /sys/fs/cgroup | grep -qx cgroup2fs || { echo "/sys/fs/cgroup is not cgroup2"; exit 1; }
    test -f /sys/fs/cgroup/cgroup.controllers || { echo "no cgroup.controllers"; exit 1; }
    if awk '$3 == "cgroup"' /proc/mounts | grep .; then echo "a cgroup v1 hierarchy is mounted"; exit 1; fi
    grep -qw cgroup_no_v1=all /proc/cmdline || { echo "cgroup_no_v1=all missing"; exit 1; }
    # no controller is in a v1 hierarchy (column 2 of /proc/cgroups: 0 is v2) ...
    if awk 'NR > 1 && $2 != 0' /proc/cgroups | grep .; then echo "controllers in v1 hierarchies"; exit 1; fi
    # ... and mounting one fails
    mkdir -p /tmp/v1probe
    if mount -t cgroup -o memory none /tmp/v1probe 2>/dev/null; then
        umount /tmp/v1probe; echo "cgroup v1 memory could be mounted"; exit 1
    fi
    echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
    for c in cpu memory pids io; do
        grep -qw $c /sys/fs/cgroup/cgroup.controllers || { echo "controller $c missing"; exit 1; }
    done
    # what systemd does on a v2 host: controllers on for the children, and
    # the test runner in a leaf of its own (processes only in leaves)
    echo "+cpu +memory +pids +io" > /sys/fs/cgroup/cgroup.subtree_control || exit 1
    echo "subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
    mkdir -p /sys/fs/cgroup/init.scope && echo $$ > /sys/fs/cgroup/init.scope/cgroup.procs || exit 1
    echo "runner cgroup: $(cat /proc/$$/cgroup)"
) 2>&1
rc=$?
result cgroup-v2-only $rc
[ $rc -eq 0 ] || exit 1

# the host's files stay the host's: even remounted read-write in the guest,
# its / refuses writes (virtiofsd serves a read-only bind mount)
step host-fs-read-only
(
    mount -o remount,rw / && echo "remounted / read-write in the guest"
    if touch "$repo/.vm-write-probe" 2>/dev/null; then
        rm -f "$repo/.vm-write-probe"; echo "the guest could write to the host's /"; exit 1
    fi
    echo "write refused: $(touch "$repo/.vm-write-probe" 2>&1)"
    mount -o remount,ro / 2>/dev/null
    exit 0
) 2>&1
result host-fs-read-only $?

ip link set lo up 2>/dev/null
echo "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"

# ---- the engine's unit tests (Criterion), as `make unit` runs them
for t in test_cgroup test_sandbox test_pool; do
    step "$t"
    start=$SECONDS
    "$build/tests/$t" --jobs 2 --verbose=0 2>&1
    rc=$?
    echo "($t: $((SECONDS - start)) s in the VM)"
    result "$t" $rc
done

# ---- the CLI end to end: a run, and limit breaches that cgroup v2 enforces
sb="$build/soulbox"
check() { # name, expected exit status, expected stderr/stdout pattern, args...
    local name=$1 want=$2 pat=$3; shift 3
    step "$name"
    out=$("$sb" run "$@" 2>&1); rc=$?
    echo "$out" | tail -n 20
    echo "(exit $rc, want $want, output matching '$pat')"
    if { [ "$want" = any ] || [ "$rc" = "$want" ]; } && echo "$out" | grep -Eq -- "$pat"; then result "$name" 0; else result "$name" 1; fi
}
check run-echo 0 '^hi$' -l bash -c 'echo hi'
check run-memory-breach 137 'memory_limit_exceeded' --memory 64 -l python3 -c 'b = bytearray(512 << 20); print("allocated")'
check run-time-limit 137 'time_limit_exceeded' --time-limit 2 -l bash -c 'sleep 30'
check run-cpu-time-limit 137 'CPU time limit of 1000 ms exceeded' --cpu-time 1 -l bash -c 'while :; do :; done'
check run-pids-breach any 'fork: .*(Resource temporarily unavailable|retry)' --processes 8 -l bash -c 'for i in $(seq 50); do sleep 5 & done; wait'

# ---- what a run reports from its cgroup v2 files (memory.peak, cpu.stat)
step run-json-stats
(
    out=$("$sb" run --json -l python3 -c 'b = bytearray(40 << 20); sum(range(3000000))') || exit 1
    echo "$out"
    echo "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
ok = r["status"] == "ok" and r["memory_kb"] >= 40 * 1024 and r["cpu_time_ms"] > 0
print("memory_kb %d (>= 40960), cpu_time_ms %d (> 0): %s" % (r["memory_kb"], r["cpu_time_ms"], "ok" if ok else "WRONG"))
sys.exit(0 if ok else 1)'
) 2>&1
result run-json-stats $?

# ---- the limits as written to the sandbox's cgroup v2 files, and no
# cgroup left behind once the run is over
step run-cgroup-files
(
    "$sb" run --memory 64 --processes 20 -l bash -c 'sleep 4' &
    run=$!
    dir=
    for i in $(seq 100); do
        dir=$(ls -d /sys/fs/cgroup/soulbox/sbx-* 2>/dev/null | head -1)
        [ -n "$dir" ] && grep -q . "$dir/cgroup.procs" && break
        sleep 0.1
    done
    [ -n "$dir" ] || { echo "no sandbox cgroup under /sys/fs/cgroup/soulbox"; exit 1; }
    ok=0
    for f in memory.max memory.swap.max pids.max cpu.max cpu.weight; do
        echo "$dir/$f: $(cat "$dir/$f")"
    done
    echo "processes in it: $(wc -l < "$dir/cgroup.procs")"
    [ "$(cat "$dir/memory.max")" = 67108864 ] || ok=1
    [ "$(cat "$dir/memory.swap.max")" = 0 ] || ok=1
    [ "$(cat "$dir/pids.max")" = 21 ] || ok=1 # 20 and the agent (the same on v1)
    wait $run || ok=1
    left=$(ls -d /sys/fs/cgroup/soulbox/sbx-* 2>/dev/null)
    [ -z "$left" ] || { echo "left behind: $left"; ok=1; }
    exit $ok
) 2>&1
result run-cgroup-files $?
exit 0
