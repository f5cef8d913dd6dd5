// Retries, connection reuse, timeouts and headers, against a local stub HTTP server.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { json, sdk, stub } from './helpers.mjs';

const { Client } = sdk;
const RESULT = { stdout: '1\n', stderr: '', exit_code: 0, execution_time: '3ms', status: 'ok', signal: null,
  wall_time_ms: 3, cpu_time_ms: 2, memory_kb: 100, truncated: false, id: 'abc' };

test('429 with Retry-After in seconds is retried after that long (POST too)', async () => {
  const s = await stub((req, res, n) => {
    if (n === 0) return json(res, 429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '1' });
    json(res, 200, RESULT);
  });
  try {
    const c = new Client(s.url, { apiKey: 'k1' });
    const t0 = Date.now();
    const r = await c.execute({ language: 'python', code: 'print(1)' });
    const waited = s.requests[1].at - s.requests[0].at;
    assert.equal(r.stdout, '1\n');
    assert.equal(s.requests.length, 2);
    assert.ok(waited >= 950 && waited < 2500, `waited ${waited} ms`);
    assert.ok(Date.now() - t0 >= 950);
    assert.equal(s.requests[0].method, 'POST');
    assert.equal(s.requests[1].body, s.requests[0].body);
    assert.equal(s.requests[0].headers.authorization, 'Bearer k1');
  } finally { await s.close(); }
});

test('503 with Retry-After as an HTTP date is retried', async () => {
  const s = await stub((req, res, n) => {
    if (n === 0) {
      const at = new Date(Date.now() + 2000).toUTCString();
      return json(res, 503, { error: { code: 'unavailable', message: 'queue full' } }, { 'retry-after': at });
    }
    json(res, 200, { status: 'ok', version: '0.1.0' });
  });
  try {
    const r = await new Client(s.url).health();
    const waited = s.requests[1].at - s.requests[0].at;
    assert.equal(r.version, '0.1.0');
    // An HTTP date has a one-second resolution: between 1 and 2 s.
    assert.ok(waited >= 950 && waited < 3000, `waited ${waited} ms`);
  } finally { await s.close(); }
});

test('without Retry-After the waits are 0.5 s, 1 s; then the typed error', async () => {
  const s = await stub((req, res) => json(res, 503, { error: { code: 'unavailable', message: 'queue full' } }));
  try {
    const c = new Client(s.url, { maxRetries: 2 });
    await assert.rejects(c.execute({ language: 'python', code: 'x' }), (e) => {
      assert.ok(e instanceof sdk.UnavailableError);
      assert.ok(e instanceof sdk.SoulboxError);
      assert.equal(e.code, 'unavailable');
      assert.equal(e.message, 'queue full');
      assert.equal(e.status, 503);
      assert.equal(e.requestId, 'req-stub-1');
      assert.equal(e.retryAfter, undefined);
      return true;
    });
    assert.equal(s.requests.length, 3);
    const w1 = s.requests[1].at - s.requests[0].at;
    const w2 = s.requests[2].at - s.requests[1].at;
    assert.ok(w1 >= 450 && w1 < 900, `first wait ${w1}`);
    assert.ok(w2 >= 950 && w2 < 1600, `second wait ${w2}`);
  } finally { await s.close(); }
});

test('maxRetries 0 raises the 429 at once with its retryAfter', async () => {
  const s = await stub((req, res) => json(res, 429, { error: { code: 'rate_limited', message: 'rate limit' } }, { 'retry-after': '7' }));
  try {
    const c = new Client(s.url, { maxRetries: 0 });
    await assert.rejects(c.languages(), (e) => e instanceof sdk.RateLimitError && e.retryAfter === 7 && e.status === 429);
    assert.equal(s.requests.length, 1);
    // Per call too.
    await assert.rejects(new Client(s.url).languages({ maxRetries: 0 }), sdk.RateLimitError);
    assert.equal(s.requests.length, 2);
  } finally { await s.close(); }
});

test('other errors are not retried and map to their classes', async () => {
  const table = [[400, 'invalid_argument', sdk.InvalidRequestError], [401, 'unauthenticated', sdk.AuthenticationError],
    [404, 'not_found', sdk.NotFoundError], [409, 'conflict', sdk.ConflictError], [413, 'payload_too_large', sdk.PayloadTooLargeError],
    [422, 'unknown_language', sdk.UnknownLanguageError], [500, 'internal_error', sdk.ServerError], [502, undefined, sdk.ServerError],
    [415, 'unsupported_media_type', sdk.SoulboxError]];
  for (const [status, code, Cls] of table) {
    const s = await stub((req, res) => (code ? json(res, status, { error: { code, message: 'because' } })
      : (res.writeHead(status, { 'content-type': 'text/html' }), res.end('<h1>bad gateway</h1>'))));
    try {
      await assert.rejects(new Client(s.url).execute({ language: 'x', code: 'y' }), (e) => {
        assert.equal(e.constructor, Cls, `status ${status}`);
        assert.equal(e.status, status);
        assert.equal(e.code, code ?? `http_${status}`);
        assert.equal(e.message, code ? 'because' : '<h1>bad gateway</h1>');
        return true;
      });
      assert.equal(s.requests.length, 1, `status ${status} retried`);
    } finally { await s.close(); }
  }
});

test('connections are kept alive and reused across calls', async () => {
  const s = await stub((req, res) => json(res, 200, RESULT));
  try {
    const c = new Client(s.url);
    for (let i = 0; i < 10; i++) await c.execute({ language: 'python', code: 'print(1)' });
    for (let i = 0; i < 5; i++) await c.health();
    assert.equal(s.requests.length, 15);
    assert.equal(s.connections, 1);
    // Parallel calls open a few, and those are reused afterwards.
    await Promise.all([1, 2, 3].map(() => c.health()));
    const after = s.connections;
    assert.ok(after <= 3);
    for (let i = 0; i < 5; i++) await c.health();
    assert.equal(s.connections, after);
    // Another client has its own pool.
    await new Client(s.url).health();
    assert.equal(s.connections, after + 1);
  } finally { await s.close(); }
});

test('the client timeout and a per-call timeout raise TimeoutError (status 0)', async () => {
  const s = await stub((req, res) => setTimeout(() => json(res, 200, RESULT), 1500));
  try {
    const c = new Client(s.url, { timeoutMs: 300, maxRetries: 0 });
    const t0 = Date.now();
    await assert.rejects(c.execute({ language: 'python', code: 'x' }), (e) => {
      assert.ok(e instanceof sdk.TimeoutError);
      assert.equal(e.status, 0);
      assert.equal(e.code, 'timeout');
      return true;
    });
    const took = Date.now() - t0;
    assert.ok(took >= 280 && took < 1000, `took ${took}`);
    const t1 = Date.now();
    await assert.rejects(new Client(s.url).health({ timeoutMs: 200 }), sdk.TimeoutError);
    assert.ok(Date.now() - t1 < 1000);
    // A longer per-call timeout wins over the client's.
    const r = await c.execute({ language: 'python', code: 'x' }, { timeoutMs: 5000 });
    assert.equal(r.stdout, '1\n');
  } finally { await s.close(); }
});

test('AbortSignal cancels a call', async () => {
  const s = await stub((req, res) => setTimeout(() => json(res, 200, RESULT), 2000));
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(new Client(s.url).execute({ language: 'python', code: 'x' }, { signal: ac.signal }), { name: 'AbortError' });
  } finally { await s.close(); }
});

test('a refused connection is a ConnectionError, retried for GET only', async () => {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r));
  const c = new Client(`127.0.0.1:${port}`, { maxRetries: 2 });
  let t0 = Date.now();
  await assert.rejects(c.health(), (e) => e instanceof sdk.ConnectionError && e.status === 0 && e.code === 'connection_error');
  const getTook = Date.now() - t0;
  assert.ok(getTook >= 1400, `GET retried for ${getTook} ms (0.5 + 1 s expected)`);
  t0 = Date.now();
  await assert.rejects(c.execute({ language: 'python', code: 'x' }), sdk.ConnectionError);
  assert.ok(Date.now() - t0 < 400, 'POST not retried');
});

test('SOULBOX_API_KEY is used when no key is given; the path prefix is kept', async () => {
  const s = await stub((req, res) => json(res, 200, { languages: [], unavailable: [], probing: [] }));
  const saved = process.env.SOULBOX_API_KEY;
  try {
    process.env.SOULBOX_API_KEY = 'env-key';
    await new Client(s.url + '/prefix/').languages();
    await new Client(s.url, { apiKey: 'arg-key' }).languages();
    delete process.env.SOULBOX_API_KEY;
    await new Client(s.url).languages();
    assert.deepEqual(s.requests.map((r) => [r.url, r.headers.authorization]),
      [['/prefix/api/languages', 'Bearer env-key'], ['/api/languages', 'Bearer arg-key'], ['/api/languages', undefined]]);
  } finally {
    if (saved === undefined) delete process.env.SOULBOX_API_KEY; else process.env.SOULBOX_API_KEY = saved;
    await s.close();
  }
});

test('the request body is the API request, dedented unless dedent: false', async () => {
  const s = await stub((req, res) => json(res, 200, RESULT));
  try {
    const c = new Client(s.url);
    const code = '\n    print(1)\n    print(2)\n';
    await c.execute({ language: 'python', code, stdin: 'in', args: ['a'], env: { A: '1' }, limits: { wall_time_ms: 1000 } });
    await c.execute({ language: 'python', code, dedent: false });
    await c.submit({ language: 'python', code, callback_url: 'http://x/y' });
    assert.deepEqual(JSON.parse(s.requests[0].body), { language: 'python', code: 'print(1)\nprint(2)\n', stdin: 'in', args: ['a'], env: { A: '1' }, limits: { wall_time_ms: 1000 } });
    assert.deepEqual(JSON.parse(s.requests[1].body), { language: 'python', code });
    assert.deepEqual(JSON.parse(s.requests[2].body), { language: 'python', code: 'print(1)\nprint(2)\n', callback_url: 'http://x/y' });
    assert.equal(s.requests[0].headers['content-type'], 'application/json');
  } finally { await s.close(); }
});

test('compile_args is in the body only when given, after args', async () => {
  const s = await stub((req, res) => json(res, 200, RESULT));
  try {
    const c = new Client(s.url);
    await c.execute({ language: 'c', code: 'x', args: ['a'], compile_args: ['-O0', '-DDEBUG'] });
    await c.submit({ language: 'cpp', code: 'x', compile_args: ['-std=c++20'] });
    await c.execute({ language: 'c', code: 'x' });
    assert.deepEqual(s.requests.map((r) => r.body), [
      '{"language":"c","code":"x","args":["a"],"compile_args":["-O0","-DDEBUG"]}',
      '{"language":"cpp","code":"x","compile_args":["-std=c++20"]}',
      '{"language":"c","code":"x"}']);
  } finally { await s.close(); }
});

test('compile_limits is in the body only when given', async () => {
  const s = await stub((req, res) => json(res, 200, RESULT));
  try {
    const c = new Client(s.url);
    await c.execute({ language: 'c', code: 'x', compile_args: ['-O0'], limits: { wall_time_ms: 900 },
      compile_limits: { wall_time_ms: 700, cpu_time_ms: 600, memory_mb: 64 } });
    await c.submit({ language: 'cpp', code: 'x', compile_limits: { memory_mb: 256 } });
    await c.execute({ language: 'c', code: 'x', limits: { memory_mb: 128 } });
    assert.deepEqual(s.requests.map((r) => r.body), [
      '{"language":"c","code":"x","compile_args":["-O0"],"limits":{"wall_time_ms":900},' +
        '"compile_limits":{"wall_time_ms":700,"cpu_time_ms":600,"memory_mb":64}}',
      '{"language":"cpp","code":"x","compile_limits":{"memory_mb":256}}',
      '{"language":"c","code":"x","limits":{"memory_mb":128}}']);
  } finally { await s.close(); }
});

test('isolation is in the body only when given; the session says which it got', async () => {
  const s = await stub((req, res, n, body) => json(res, 200, req.url === '/api/sandboxes'
    ? { id: 's1', isolation: JSON.parse(body).isolation ?? 'namespaces' } : RESULT));
  try {
    const c = new Client(s.url);
    await c.execute({ language: 'python', code: '1', isolation: 'microvm' });
    await c.submit({ language: 'python', code: '1', isolation: 'namespaces' });
    assert.equal((await c.createSandbox({ template: 'base', isolation: 'microvm' })).info.isolation, 'microvm');
    assert.equal((await c.createSandbox({ template: 'base' })).info.isolation, 'namespaces');
    assert.deepEqual(s.requests.map((r) => JSON.parse(r.body)), [
      { language: 'python', code: '1', isolation: 'microvm' }, { language: 'python', code: '1', isolation: 'namespaces' },
      { template: 'base', isolation: 'microvm' }, { template: 'base' }]);
  } finally { await s.close(); }
});

test('waitExecution polls until the end, and times out with the last status', async () => {
  const s = await stub((req, res, n) => json(res, 200, { id: 'x', status: n < 2 ? 'running' : 'ok', stdout: 'done\n' }));
  try {
    const c = new Client(s.url);
    const ex = await c.waitExecution('x', { pollIntervalMs: 100 });
    assert.equal(ex.stdout, 'done\n');
    assert.equal(s.requests.length, 3);
    assert.deepEqual(s.requests.map((r) => r.url), ['/api/executions/x', '/api/executions/x', '/api/executions/x']);
    const gap = s.requests[1].at - s.requests[0].at;
    assert.ok(gap >= 90 && gap < 400, `poll gap ${gap}`);
  } finally { await s.close(); }
  const slow = await stub((req, res) => setTimeout(() => json(res, 200, { id: 'y', status: 'queued' }), 30));
  try {
    const t0 = Date.now();
    await assert.rejects(new Client(slow.url).waitExecution('y', { timeoutMs: 250, pollIntervalMs: 100 }),
      (e) => e instanceof sdk.TimeoutError && e.message === 'execution y still queued after 250 ms');
    const took = Date.now() - t0;
    assert.ok(took >= 250 && took < 700, `took ${took}`);
  } finally { await slow.close(); }
});

test('cluster() is GET /api/cluster with the key; health carries store and cluster', async () => {
  const node = { id: 'n1', name: 'n1', state: 'up', self: true, capacity: 8, max_queue: 256, running: 1, queued: 0,
    languages: ['bash', 'python'], started_ms: 1700000000000, heartbeat_age_ms: 0 };
  const cluster = { store: 'sqlite', node: 'n1', name: 'n1', database: 'up', queued: 0, nodes: [node] };
  const s = await stub((req, res) => {
    if (req.url === '/api/cluster') return json(res, 200, cluster);
    json(res, 200, { status: 'degraded', version: '0.1.0', store: 'postgres',
      cluster: { ...cluster, store: 'postgres', database: 'unreachable', error: 'timeout' } });
  });
  try {
    const c = new Client(s.url, { apiKey: 'k' });
    const cl = await c.cluster();
    assert.deepEqual(cl, cluster);
    assert.equal(cl.nodes.length, 1);
    assert.equal(cl.nodes[0].self, true);
    const h = await c.health();
    assert.equal(h.status, 'degraded');
    assert.equal(h.store, 'postgres');
    assert.equal(h.cluster.database, 'unreachable');
    assert.equal(h.cluster.nodes[0].state, 'up');
    assert.deepEqual(s.requests.map((r) => [r.method, r.url, r.headers.authorization]),
      [['GET', '/api/cluster', 'Bearer k'], ['GET', '/health', 'Bearer k']]);
  } finally { await s.close(); }
});
