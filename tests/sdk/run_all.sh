#!/bin/sh
# The three SDKs' test suites, one after another, against the server that
# tests/sdk/with_server.py started (make sdk), then the brief's example. Each runs even when an earlier
# one failed; the exit status says whether all passed.
cd "$(dirname "$0")/../.."
failed=""
echo "== sdk/python"
/usr/bin/python3 -m pytest -q -p no:cacheprovider sdk/python/tests || failed="$failed python"
echo "== sdk/node"
(cd sdk/node && npm test --silent) || failed="$failed node"
echo "== sdk/go"
(cd sdk/go && go vet ./... && test -z "$(gofmt -l .)" && go test -count=1 ./...) || failed="$failed go"
echo "== the brief's example in each SDK's README, against a server as make run starts it"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/sdk/test_brief.py || failed="$failed brief"
if [ -n "$failed" ]; then
    echo "SDK tests failed:$failed" >&2
    exit 1
fi
echo "SDK tests passed: python node go"
