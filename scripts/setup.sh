#!/bin/sh
# Installs the Debian packages SoulBox needs to build, run and test, and the
# language runtimes listed in languages/*.yaml. Idempotent and quiet when
# everything is present. Run as root (or via sudo).
#
#   scripts/setup.sh                          build, run and test deps + every language
#   SOULBOX_LANGUAGES="python c go" scripts/setup.sh   only those languages
#   SOULBOX_LANGUAGES=none scripts/setup.sh   build, run and test deps only
#   SOULBOX_SETUP=run scripts/setup.sh        what `make run` needs: no test tools
#                                             (no Docker engine, promtool, npm packages)
set -eu
cd "$(dirname "$0")/.."

# Build and library dependencies (clang and libclang-rt-dev, its libFuzzer and
# sanitizer runtimes, for `make fuzz`).
BUILD_PKGS="gcc make pkg-config libc6-dev libuv1-dev libjansson-dev libcyaml-dev libyaml-dev libwslay-dev
libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler
libseccomp-dev libcriterion-dev libsqlite3-dev libhttp-parser-dev zlib1g-dev libpq-dev
clang libclang-rt-dev"
# What serving needs beyond the build: QEMU and its virtiofsd for microVMs,
# kmod's depmod for their kernel (unpacked below).
RUN_PKGS="qemu-system-x86 kmod libpq5"
# What tests use (the fourth line: building and testing the SDKs in sdk/; the
# fifth: cpio for make check-cgroup2's initramfs, systemd for systemd-analyze, PostgreSQL
# for the cluster tests;
# the sixth: make check-container's engine and base image; the last: the
# browser make ui-test drives).
TEST_PKGS="python3 python3-pytest python3-requests python3-yaml python3-jsonschema python3-websockets
python3-grpcio python3-grpc-tools python3-h2 curl bash coreutils procps
iproute2 nftables tar
python3-build python3-setuptools python3-wheel python3-venv golang-go
cpio systemd postgresql
docker.io debootstrap docker-compose
chromium fonts-dejavu-core"
# The web UI's build (ui/, esbuild) and the Node tests run npm: Debian's (with
# its nodejs) only when there is no npm at all, so that another node stays.
NODE_PKGS=""
command -v npm >/dev/null 2>&1 || NODE_PKGS="npm"
# kubectl, for `kubectl kustomize deploy/k8s` (tests/integration/test_k8s.py):
# Debian's kubernetes-client only when there is no kubectl at all.
command -v kubectl >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS kubernetes-client"
FOR_TESTS=true
if [ "${SOULBOX_SETUP:-test}" = run ]; then
    TEST_PKGS="" FOR_TESTS=false
fi

# The `packages: [a, b]` line of each selected language file.
lang_pkgs() {
    want="${SOULBOX_LANGUAGES:-all}"
    [ "$want" = none ] && return 0
    for f in languages/*.yaml; do
        name=$(sed -n 's/^name: *//p' "$f")
        if [ "$want" != all ]; then
            case " $want " in *" $name "*) ;; *) continue ;; esac
        fi
        sed -n 's/^packages: *\[\(.*\)\]/\1/p' "$f" | tr ',' ' '
    done
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# One dpkg-query for all of them (a per-package loop takes seconds).
dpkg-query -W -f='${Package} ${Status}\n' $BUILD_PKGS $RUN_PKGS $TEST_PKGS $NODE_PKGS $(lang_pkgs) 2>/dev/null |
    awk '$NF == "installed" && $(NF-1) == "ok" {print $1}' | sort -u > "$tmp"
missing=$(printf '%s\n' $BUILD_PKGS $RUN_PKGS $TEST_PKGS $NODE_PKGS $(lang_pkgs) | sort -u |
          comm -23 - "$tmp" | tr '\n' ' ')

# The npm packages of tests/grpc_node (a gRPC client), tests/e2b_node (the
# real E2B SDKs), tests/k8s_node (the Kubernetes schemas deploy/k8s is
# validated against), tests/ui (playwright-core, driving the web UI) and sdk/node (the Node SDK's build and test tools), as
# their package-lock.json pins them; again whenever that file changes
# (node_modules/.setup-lock: the one installed).
npm_deps() {
    for d in tests/grpc_node tests/e2b_node tests/piston_node tests/k8s_node tests/ui sdk/node; do
        cmp -s "$d/package-lock.json" "$d/node_modules/.setup-lock" 2>/dev/null && continue
        echo "setup: npm ci in $d" >&2
        (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        cp "$d/package-lock.json" "$d/node_modules/.setup-lock"
    done
}
# The microVM guests' kernel (docs/microvm.md): Debian's cloud kernel,
# unpacked into /var/lib/soulbox/guest-kernel (boot/, lib/modules/) rather
# than installed, so that the host's boot loader never offers it (on a GRUB
# host an installed cloud kernel would sort first and become the default).
# Nothing to do when a cloud kernel with its modules is there already, in
# /boot (the package installed) or unpacked.
GUEST_KERNEL_DIR=/var/lib/soulbox/guest-kernel
guest_kernel() {
    # make check-cgroup2's guest binds the unpacked modules over the host's
    # /lib/modules (where the guest's modprobe looks): a host without kernel
    # modules has no such directory to bind onto. An empty one changes nothing.
    [ -d /lib/modules ] || $SUDO mkdir -p /lib/modules
    for k in /boot/vmlinuz-*-cloud-amd64 "$GUEST_KERNEL_DIR"/boot/vmlinuz-*-cloud-amd64; do
        [ -e "$k" ] || continue
        rel=${k##*/vmlinuz-}
        if [ -d "/lib/modules/$rel/kernel" ] || [ -d "$GUEST_KERNEL_DIR/lib/modules/$rel/kernel" ]; then
            return 0
        fi
    done
    pkg_of() {
        apt-cache depends linux-image-cloud-amd64 2>/dev/null |
            sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1
    }
    pkg=$(pkg_of)
    [ -n "$pkg" ] || { $SUDO apt-get update -qq >/dev/null; pkg=$(pkg_of); }
    [ -n "$pkg" ] || { echo "setup: no linux-image-cloud-amd64 in the package lists" >&2; exit 1; }
    echo "setup: unpacking $pkg into $GUEST_KERNEL_DIR" >&2
    dl=$(mktemp -d)
    chown _apt "$dl" 2>/dev/null || true
    (cd "$dl" && $SUDO apt-get download -qq "$pkg" >/dev/null)
    $SUDO rm -rf "$GUEST_KERNEL_DIR.new"
    $SUDO mkdir -p "$GUEST_KERNEL_DIR.new"
    $SUDO dpkg-deb -x "$dl"/*.deb "$GUEST_KERNEL_DIR.new"
    $SUDO rm -rf "$dl"
    # modules.dep and the rest: the package's postinst would have made them
    for m in "$GUEST_KERNEL_DIR.new"/lib/modules/*; do
        $SUDO depmod -b "$GUEST_KERNEL_DIR.new" "${m##*/}"
    done
    $SUDO rm -rf "$GUEST_KERNEL_DIR"
    $SUDO mv "$GUEST_KERNEL_DIR.new" "$GUEST_KERNEL_DIR"
}

# promtool, for the monitoring tests (deploy/monitoring): unpacked from
# Debian's prometheus package into /var/lib/soulbox/tools, not installed
# (installing it would start a Prometheus server on hosts with systemd).
PROMTOOL=/var/lib/soulbox/tools/promtool
promtool_tool() {
    [ -x "$PROMTOOL" ] && return 0
    echo "setup: unpacking promtool into ${PROMTOOL%/*}" >&2
    dl=$(mktemp -d)
    chown _apt "$dl" 2>/dev/null || true
    if ! (cd "$dl" && $SUDO apt-get download -qq prometheus >/dev/null 2>&1); then
        $SUDO apt-get update -qq >/dev/null
        (cd "$dl" && $SUDO apt-get download -qq prometheus >/dev/null)
    fi
    $SUDO dpkg-deb -x "$dl"/prometheus_*.deb "$dl/x"
    $SUDO mkdir -p "${PROMTOOL%/*}"
    $SUDO install -m 755 "$dl/x/usr/bin/promtool" "$PROMTOOL"
    $SUDO rm -rf "$dl"
}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ -z "$missing" ]; then
    guest_kernel
    scripts/ui-deps.sh
    if $FOR_TESTS; then promtool_tool; npm_deps; fi
    exit 0
fi

echo "setup: installing $missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
guest_kernel
scripts/ui-deps.sh
if $FOR_TESTS; then promtool_tool; npm_deps; fi
