#!/bin/sh
# The web UI's build tools (ui/node_modules: esbuild, CodeMirror, xterm.js), as
# ui/package-lock.json pins them: npm ci when that file changed since the last
# install (ui/node_modules/.setup-lock is the one installed). Called by make
# before bundling the UI, and by scripts/setup.sh.
set -eu
cd "$(dirname "$0")/../ui"
cmp -s package-lock.json node_modules/.setup-lock 2>/dev/null && exit 0
if ! command -v npm >/dev/null 2>&1; then
    echo "ui-deps: building the web UI needs Node.js and npm: run scripts/setup.sh (or apt-get install npm)" >&2
    exit 1
fi
echo "ui-deps: npm ci in ui" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
cp package-lock.json node_modules/.setup-lock
