// The test suite talks to a real SoulBox server: refuse to run without one.
if (!process.env.SOULBOX_URL) {
  console.error('SOULBOX_URL is not set: run the tests through tests/sdk/with_server.py, e.g.\n' +
    "  cd /work/main && tests/sdk/with_server.py --name sdknode --uid-base 2020000000 -- sh -c 'cd sdk/node && npm test'");
  process.exit(1);
}
