#!/bin/sh
# Installs the Debian packages SoulBox needs to build, run and test, and the
# language runtimes listed in languages/*.yaml. Idempotent and quiet when
# everything is present. Run as root (or via sudo).
#
#   scripts/setup.sh                          build deps + every language
#   SOULBOX_LANGUAGES="python c go" scripts/setup.sh   only those languages
#   SOULBOX_LANGUAGES=none scripts/setup.sh   build and test deps only
set -eu
cd "$(dirname "$0")/.."

# Build and library dependencies (clang and libclang-rt-dev, its libFuzzer and
# sanitizer runtimes, for `make fuzz`).
BUILD_PKGS="gcc make pkg-config libc6-dev libuv1-dev libjansson-dev libcyaml-dev libyaml-dev libwslay-dev
libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler
libseccomp-dev libcriterion-dev libsqlite3-dev libhttp-parser-dev zlib1g-dev
clang libclang-rt-dev"
# What tests use (the fourth line: building and testing the SDKs in sdk/; the
# last: make check-cgroup2's VM, which runs the engine's tests on pure cgroup
# v2: QEMU and its virtiofsd, a kernel for the guest (never booted on the
# host) and cpio for the guest's initramfs).
TEST_PKGS="python3 python3-pytest python3-requests python3-yaml python3-jsonschema python3-websockets
python3-grpcio python3-grpc-tools python3-h2 curl bash coreutils procps
iproute2 nftables tar
python3-build python3-setuptools python3-wheel python3-venv golang-go
qemu-system-x86 linux-image-cloud-amd64 cpio"
# The Node gRPC client test (tests/grpc_node) runs npm: Debian's (with its
# nodejs) only when there is no npm at all, so that another node stays.
NODE_PKGS=""
command -v npm >/dev/null 2>&1 || NODE_PKGS="npm"

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
dpkg-query -W -f='${Package} ${Status}\n' $BUILD_PKGS $TEST_PKGS $NODE_PKGS $(lang_pkgs) 2>/dev/null |
    awk '$NF == "installed" && $(NF-1) == "ok" {print $1}' | sort -u > "$tmp"
missing=$(printf '%s\n' $BUILD_PKGS $TEST_PKGS $NODE_PKGS $(lang_pkgs) | sort -u |
          comm -23 - "$tmp" | tr '\n' ' ')

# The npm packages of tests/grpc_node (a gRPC client), tests/e2b_node (the
# real E2B SDKs) and sdk/node (the Node SDK's build and test tools), as their
# package-lock.json pins them; again whenever that file changes
# (node_modules/.setup-lock: the one installed).
npm_deps() {
    for d in tests/grpc_node tests/e2b_node sdk/node; do
        cmp -s "$d/package-lock.json" "$d/node_modules/.setup-lock" 2>/dev/null && continue
        echo "setup: npm ci in $d" >&2
        (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        cp "$d/package-lock.json" "$d/node_modules/.setup-lock"
    done
}
[ -z "$missing" ] && { npm_deps; exit 0; }

echo "setup: installing $missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
npm_deps
