#!/bin/sh
# Installs the Debian packages SoulBox needs to build, run and test.
# Idempotent and quiet when everything is present. Run as root (or via sudo).
set -eu

# Build and library dependencies.
BUILD_PKGS="gcc make pkg-config libc6-dev libuv1-dev libjansson-dev libcyaml-dev libyaml-dev
libseccomp-dev libcriterion-dev libsqlite3-dev libhttp-parser-dev zlib1g-dev"
# What tests and the default languages use.
TEST_PKGS="python3 python3-pytest python3-requests python3-yaml curl bash coreutils procps iproute2"

missing=""
for p in $BUILD_PKGS $TEST_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "setup: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
