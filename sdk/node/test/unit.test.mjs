// Behaviour that needs no server: dedent, URL and key resolution, Retry-After parsing, errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sdk } from './helpers.mjs';

const { Client, dedent, parseRetryAfter } = sdk;

test('dedent removes the common indentation and a first empty line', () => {
  assert.equal(dedent('\n    import numpy as np\n    print(np.random.rand(3, 3))\n    '),
    'import numpy as np\nprint(np.random.rand(3, 3))\n');
  assert.equal(dedent('\n    if x:\n        y()\n\n    z()\n'), 'if x:\n    y()\n\nz()\n');
  assert.equal(dedent('\tа\n\tb'), 'а\nb');
});

test('dedent leaves code without a common margin unchanged', () => {
  for (const code of ['print(1)\n  print(2)\n', '\nprint(1)\n', '  a\n\tb\n', '', 'x = 1\n   \ny = 2']) {
    assert.equal(dedent(code), code);
  }
  // Tabs and spaces must match exactly: only the shared part goes.
  assert.equal(dedent('  \ta\n  b\n'), '\ta\nb\n');
});

test('server URL: argument, SOULBOX_URL, default; host:port; prefix kept', () => {
  const saved = process.env.SOULBOX_URL;
  try {
    assert.equal(new Client('localhost:8080').baseUrl, 'http://localhost:8080');
    assert.equal(new Client('https://box.example.com/soulbox/').baseUrl, 'https://box.example.com/soulbox');
    assert.equal(new Client('http://10.0.0.1:9/x/y').baseUrl, 'http://10.0.0.1:9/x/y');
    process.env.SOULBOX_URL = 'example.org:1234';
    assert.equal(new Client().baseUrl, 'http://example.org:1234');
    assert.equal(new Client({ apiKey: 'k' }).baseUrl, 'http://example.org:1234');
    delete process.env.SOULBOX_URL;
    assert.equal(new Client().baseUrl, 'http://localhost:8080');
  } finally {
    process.env.SOULBOX_URL = saved;
  }
});

test('Retry-After: seconds, HTTP date, capped at 30 s, garbage ignored', () => {
  assert.equal(parseRetryAfter('2'), 2);
  assert.equal(parseRetryAfter('0'), 0);
  assert.equal(parseRetryAfter('120'), 30);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now), 3);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 01:00:00 GMT', now), 30);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('error classes extend SoulboxError and carry their fields', () => {
  const names = ['InvalidRequestError', 'AuthenticationError', 'NotFoundError', 'ConflictError',
    'PayloadTooLargeError', 'UnknownLanguageError', 'RateLimitError', 'UnavailableError', 'ServerError',
    'ConnectionError', 'TimeoutError'];
  for (const n of names) {
    const e = new sdk[n]('m', { code: 'c', status: 499, requestId: 'r' });
    assert.ok(e instanceof sdk.SoulboxError, n);
    assert.ok(e instanceof Error, n);
    assert.equal(e.name, n);
    assert.deepEqual([e.message, e.code, e.status, e.requestId], ['m', 'c', 499, 'r']);
  }
  const c = new sdk.ConnectionError('x');
  assert.equal(c.status, 0);
  assert.equal(c.requestId, '');
});
