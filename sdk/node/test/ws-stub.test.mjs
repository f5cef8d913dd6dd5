// The WebSocket stream against a local stub: retries of refused upgrades and of
// rate-limited executes, the key in the upgrade headers, events in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import * as http from 'node:http';
import { json, sdk } from './helpers.mjs';

function wsStub(onMessage) {
  const wss = new WebSocketServer({ noServer: true });
  let upgrades = 0;
  return {
    wss,
    get upgrades() { return upgrades; },
    attach(server, refuse) {
      server.on('upgrade', (req, socket, head) => {
        const n = upgrades++;
        const r = refuse?.(n, req);
        if (r) {
          socket.end(`HTTP/1.1 ${r.status} X\r\ncontent-type: application/json\r\nx-request-id: rid-${n}\r\n` +
            (r.retryAfter ? `retry-after: ${r.retryAfter}\r\n` : '') + `content-length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`);
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => onMessage(ws, JSON.parse(String(m)), n, req)));
      });
    },
  };
}

async function server(refuse, onMessage) {
  const w = wsStub(onMessage);
  const srv = http.createServer((req, res) => json(res, 404, { error: { code: 'not_found', message: 'no' } }));
  w.attach(srv, refuse);
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}`, w, close: () => new Promise((r) => { w.wss.close(); srv.closeAllConnections(); srv.close(r); }) };
}

const exitMsg = { type: 'exit', stdout: 'hi\n', stderr: '', exit_code: 0, status: 'ok', signal: null, id: 'e1' };

test('a 429 refusal of the upgrade is retried after Retry-After; the key is in the headers', async () => {
  const seen = [];
  const s = await server((n) => (n === 0 ? { status: 429, retryAfter: '1', body: '{"error":{"code":"rate_limited","message":"slow"}}' } : null),
    (ws, msg, n, req) => {
      seen.push([msg, req.headers.authorization]);
      ws.send(JSON.stringify({ type: 'started', id: 'e1' }));
      ws.send(JSON.stringify({ type: 'stdout', data: 'hi\n' }));
      ws.send(JSON.stringify(exitMsg));
      ws.close(1000);
    });
  try {
    const c = new sdk.Client(s.url, { apiKey: 'wskey' });
    const t0 = Date.now();
    const st = await c.stream({ language: 'python', code: '\n  print("hi")\n' });
    assert.ok(Date.now() - t0 >= 950);
    const evs = [];
    for await (const ev of st) evs.push(ev.type);
    assert.deepEqual(evs, ['started', 'stdout', 'exit']);
    assert.equal(s.w.upgrades, 2);
    assert.deepEqual(seen, [[{ type: 'execute', language: 'python', code: 'print("hi")\n' }, 'Bearer wskey']]);
    assert.equal((await st.result).stdout, 'hi\n');
  } finally { await s.close(); }
});

test('a rate-limited execute (error then close 4429) is retried; then the typed error', async () => {
  const s = await server(null, (ws) => {
    ws.send(JSON.stringify({ type: 'error', error: { code: 'rate_limited', message: 'rate limit exceeded' } }));
    ws.close(4429);
  });
  try {
    const c = new sdk.Client(s.url, { maxRetries: 1 });
    await assert.rejects(c.stream({ language: 'python', code: 'x' }), (e) =>
      e instanceof sdk.RateLimitError && e.status === 429 && e.code === 'rate_limited' && e.message === 'rate limit exceeded');
    assert.equal(s.w.upgrades, 2);
  } finally { await s.close(); }
});

test('stream sends isolation in the execute message', async () => {
  const seen = [];
  const s = await server(null, (ws, msg) => {
    seen.push(msg);
    ws.send(JSON.stringify({ type: 'started', id: 'e1' }));
    ws.send(JSON.stringify(exitMsg));
    ws.close(1000);
  });
  try {
    const st = await new sdk.Client(s.url).stream({ language: 'python', code: 'x', isolation: 'microvm' });
    for await (const ev of st) void ev;
    assert.deepEqual(seen, [{ type: 'execute', language: 'python', code: 'x', isolation: 'microvm' }]);
  } finally { await s.close(); }
});

test('stream sends compile_args in the execute message', async () => {
  const seen = [];
  const s = await server(null, (ws, msg) => {
    seen.push(msg);
    ws.send(JSON.stringify({ type: 'started', id: 'e1' }));
    ws.send(JSON.stringify(exitMsg));
    ws.close(1000);
  });
  try {
    const st = await new sdk.Client(s.url).stream({ language: 'c', code: 'x', args: ['a'], compile_args: ['-DANSWER=42'] });
    for await (const ev of st) void ev;
    assert.deepEqual(seen, [{ type: 'execute', language: 'c', code: 'x', args: ['a'], compile_args: ['-DANSWER=42'] }]);
  } finally { await s.close(); }
});

test('stream sends compile_limits in the execute message', async () => {
  const seen = [];
  const s = await server(null, (ws, msg) => {
    seen.push(msg);
    ws.send(JSON.stringify({ type: 'started', id: 'e1' }));
    ws.send(JSON.stringify(exitMsg));
    ws.close(1000);
  });
  try {
    const st = await new sdk.Client(s.url).stream({ language: 'c', code: 'x', compile_limits: { wall_time_ms: 700, memory_mb: 64 } });
    for await (const ev of st) void ev;
    assert.deepEqual(seen, [{ type: 'execute', language: 'c', code: 'x', compile_limits: { wall_time_ms: 700, memory_mb: 64 } }]);
  } finally { await s.close(); }
});

test('a 401 on the upgrade is an AuthenticationError with the request id, not retried', async () => {
  const s = await server(() => ({ status: 401, body: '{"error":{"code":"unauthenticated","message":"bad key"}}' }), () => undefined);
  try {
    await assert.rejects(new sdk.Client(s.url).stream({ language: 'python', code: 'x' }), (e) =>
      e instanceof sdk.AuthenticationError && e.requestId === 'rid-0' && e.message === 'bad key');
    assert.equal(s.w.upgrades, 1);
  } finally { await s.close(); }
});

test('a connection that drops before exit fails the iteration with ConnectionError', async () => {
  const s = await server(null, (ws) => {
    ws.send(JSON.stringify({ type: 'started', id: 'e2' }));
    ws.send(JSON.stringify({ type: 'stdout', data: 'partial' }));
    setTimeout(() => ws.terminate(), 50);
  });
  try {
    const st = await new sdk.Client(s.url).stream({ language: 'python', code: 'x' });
    const got = [];
    await assert.rejects((async () => { for await (const ev of st) got.push(ev.type); })(), sdk.ConnectionError);
    assert.deepEqual(got, ['started', 'stdout']);
    await assert.rejects(st.result, sdk.ConnectionError);
  } finally { await s.close(); }
});

test('after a 4429 refusal the retried stream works and its result resolves', async () => {
  const s = await server(null, (ws, msg, n) => {
    if (n === 0) {
      ws.send(JSON.stringify({ type: 'error', error: { code: 'rate_limited', message: 'rate limit exceeded' } }));
      ws.close(4429);
      return;
    }
    ws.send(JSON.stringify({ type: 'started', id: 'e3' }));
    ws.send(JSON.stringify(exitMsg));
    ws.close(1000);
  });
  try {
    const st = await new sdk.Client(s.url).stream({ language: 'python', code: 'x' });
    assert.equal(st.id, 'e3');
    const evs = [];
    for await (const ev of st) evs.push(ev.type);
    assert.deepEqual(evs, ['started', 'exit']);
    assert.equal((await st.result).status, 'ok');
    assert.equal(s.w.upgrades, 2);
  } finally { await s.close(); }
});

test('signal() sends {"type":"signal","signal":NAME}; a number goes as its decimal string', async () => {
  const seen = [];
  const s = await server(null, (ws, msg) => {
    seen.push(msg);
    if (msg.type === 'execute') {
      ws.send(JSON.stringify({ type: 'started', id: 'e4' }));
      ws.send(JSON.stringify({ type: 'stdout', data: 'ready\n' }));
    } else if (seen.length === 3) {
      ws.send(JSON.stringify(exitMsg));
      ws.close(1000);
    }
  });
  try {
    const st = await new sdk.Client(s.url).stream({ language: 'python', code: 'x' });
    for await (const ev of st) {
      if (ev.type === 'stdout') { st.signal('SIGINT'); st.signal(15); }
    }
    assert.equal((await st.result).status, 'ok');
    assert.deepEqual(seen.slice(1), [{ type: 'signal', signal: 'SIGINT' }, { type: 'signal', signal: '15' }]);
  } finally { await s.close(); }
});
