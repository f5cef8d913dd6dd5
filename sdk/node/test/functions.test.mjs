// Serverless functions against the real server: deploy, invoke over HTTP (text and bytes),
// the function's own error statuses returned (not thrown), versions, rollback, aliases,
// logs, asynchronous invocations, delete.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { client, sdk, stub } from './helpers.mjs';

const c = client();
const fns = c.functions;
const suffix = String(process.pid % 100000);
const echo = `sdknode-echo-${suffix}`;

const ECHO = `
  import base64, os

  def handler(event, context):
      print("invoked")
      if "probe" in event:                         # an asynchronous invocation's event
          if event["probe"] == "boom":
              raise ValueError("bad thing")
          return {"headers": {"X-Probe": "yes"},
                  "body": {"got": event["probe"], "version": context.function_version}}
      path = event["path"]
      if path == "/missing":
          return {"status": 404, "body": {"nope": True}}
      if path == "/busy":
          return {"status": 503, "headers": {"Retry-After": "0"}, "body": "busy"}
      if path == "/mimic":                         # a body like SoulBox's own refusal
          return {"status": 503, "headers": {"Retry-After": "0"},
                  "body": {"error": {"code": "unavailable", "message": "mimic"}}}
      if path == "/boom":
          raise ValueError("bad thing")
      if path == "/bin":
          data = base64.b64decode(event["body"]) if event["is_base64"] else event["body"].encode()
          return data[::-1]
      return {"status": 201, "headers": {"X-Echo": event["headers"].get("x-test", "")},
              "body": {"method": event["method"], "path": path, "query": event["query"],
                       "raw_query": event["raw_query"], "body": event["body"],
                       "content_type": event["headers"].get("content-type"),
                       "env": [os.environ.get("A"), os.environ.get("S")]}}
  `;

let deployed;
before(async () => {
  deployed = await fns.deploy({
    name: echo, language: 'python', code: ECHO, env: { A: 'plain', S: sdk.secret('s3cret') },
    description: "the SDK's echo",
  });
});

after(async () => {
  try { await fns.delete(echo); } catch (e) { if (!(e instanceof sdk.NotFoundError)) throw e; }
});

test('deploy resolves to the version (code dedented, the secret hidden)', () => {
  const v = deployed;
  assert.deepEqual([v.name, v.version, v.active_version, v.language, v.mode], [echo, 1, 1, 'python', 'handler']);
  assert.equal(v.handler, 'main.handler');
  assert.deepEqual(v.files, ['main.py']);
  assert.deepEqual(v.env, { A: 'plain', S: { secret: true } });
  assert.equal(v.code_sha256.length, 64);
  assert.equal(v.description, "the SDK's echo");
});

test('invoke: method, path, query, headers and body round trip', async () => {
  const r = await fns.invoke(echo, 'hello', {
    method: 'PUT', path: '/a b/c', query: { x: '1', y: ['2', '3'] }, headers: { 'X-Test': 'yo' },
  });
  assert.ok(r instanceof sdk.FunctionResponse);
  assert.deepEqual([r.status, r.ok, r.error], [201, true, undefined]);
  assert.equal(r.headers['x-echo'], 'yo');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.requestId.length, 32);
  const ev = r.json();
  assert.deepEqual([ev.method, ev.path, ev.body, ev.raw_query], ['PUT', '/a b/c', 'hello', 'x=1&y=2&y=3']);
  assert.equal(ev.query.x, '1');
  assert.equal(ev.content_type, 'text/plain; charset=utf-8');
  assert.deepEqual(ev.env, ['plain', 's3cret']);
  const j = (await fns.invoke(echo, { k: [1, 2] }, { query: 'q=a%20b' })).json();
  assert.deepEqual([j.method, j.path, j.query, j.content_type, j.body], ['POST', '/', { q: 'a b' }, 'application/json', '{"k":[1,2]}']);
  assert.equal((await fns.invoke(echo, undefined, { method: 'get' })).json().method, 'GET');
});

test('invoke: a binary body round trip', async () => {
  const data = Buffer.alloc(768, 0);
  for (let i = 0; i < data.length; i++) data[i] = i % 256;
  const r = await fns.invoke(echo, data, { path: '/bin' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(r.body, Buffer.from(data).reverse());
  const u8 = new Uint8Array([0xff, 0, 0x61]);
  assert.deepEqual((await fns.invoke(echo, u8, { path: '/bin' })).body, Buffer.from([0x61, 0, 0xff]));
});

test('the function\'s own 404 (and 503) is returned, not thrown', async () => {
  const r = await fns.invoke(echo, undefined, { method: 'GET', path: '/missing' });
  assert.deepEqual([r.status, r.ok, r.json(), r.error], [404, false, { nope: true }, undefined]);
  const t0 = Date.now();
  const b = await fns.invoke(echo, undefined, { path: '/busy' });
  assert.deepEqual([b.status, b.text, b.headers['retry-after']], [503, 'busy', '0']);
  assert.ok(Date.now() - t0 < 2000, 'not retried');
  // Every answer of the function carries X-SoulBox-Function-Status, so even a body shaped
  // like SoulBox's own refusal is its answer: returned, not retried.
  const t1 = Date.now();
  const m = await fns.invoke(echo, undefined, { path: '/mimic' });
  assert.deepEqual([m.status, m.headers['x-soulbox-function-status'], m.json()],
    [503, '503', { error: { code: 'unavailable', message: 'mimic' } }]);
  assert.ok(Date.now() - t1 < 2000, 'not retried');
});

test('a function error is a 502 with its parsed error', async () => {
  const r = await fns.invoke(echo, undefined, { path: '/boom' });
  assert.deepEqual([r.status, r.headers['x-soulbox-function-status']], [502, '502']);
  const e = r.error;
  assert.deepEqual([e.code, e.status, e.type], ['function_error', 'runtime_error', 'ValueError']);
  assert.match(e.message, /bad thing/);
  assert.match(e.stack, /Traceback[\s\S]*raise ValueError/);
  assert.equal(e.request_id, r.requestId);
});

test('a function\'s timeout is its 504 answer', async () => {
  const name = `sdknode-slow-${suffix}`;
  await fns.deploy({ name, language: 'python', timeout_ms: 1000, code: 'import time\n\ndef handler(event, context):\n    time.sleep(30)\n' });
  try {
    const r = await fns.invoke(name);
    assert.deepEqual([r.status, r.headers['x-soulbox-function-status']], [504, '504']);
    const e = r.error;
    assert.deepEqual([e.code, e.status, e.request_id], ['function_timeout', 'time_limit_exceeded', r.requestId]);
  } finally {
    await fns.delete(name);
  }
});

test('SoulBox\'s own refusals reject with the typed errors', async () => {
  await assert.rejects(fns.invoke(`sdknode-no-such-function-${suffix}`),
    (e) => e instanceof sdk.NotFoundError && e.status === 404 && e.code === 'not_found');
  await assert.rejects(fns.invoke(echo, undefined, { version: 99 }), sdk.NotFoundError);
  const other = new sdk.Client({ apiKey: process.env.SOULBOX_TEST_OTHER_KEY });
  await assert.rejects(other.functions.invoke(echo), sdk.NotFoundError);
  await assert.rejects(new sdk.Client({ apiKey: 'wrong-key-0123456789' }).functions.invoke(echo), sdk.AuthenticationError);
  await assert.rejects(fns.get(`sdknode-no-such-function-${suffix}`), sdk.NotFoundError);
  await assert.rejects(fns.deploy({ name: 'Bad Name!', language: 'python', code: 'x = 1' }), sdk.InvalidRequestError);
  await assert.rejects(fns.deploy({ name: `sdknode-cobol-${suffix}`, language: 'cobol', code: 'x' }), sdk.UnknownLanguageError);
  await assert.rejects(fns.invoke(echo, undefined, { method: 'TRACE' }), RangeError);
});

test('invokeAsync, then wait for the invocation', async () => {
  const h = await fns.invokeAsync(echo, { probe: { k: 1 } });
  assert.deepEqual([h.function, h.version, h.state, h.id.length], [echo, 1, 'running', 36]);
  const inv = await fns.wait(echo, h.id, { timeoutMs: 60_000, pollIntervalMs: 50 });
  assert.deepEqual([inv.id, inv.state, inv.async, inv.status, inv.http_status], [h.id, 'done', true, 'ok', 200]);
  assert.equal(inv.logs, 'invoked\n');
  assert.equal(inv.response.status, 200);
  assert.deepEqual([inv.response.content_type, inv.response.headers, inv.response.body_dropped],
    ['application/json', { 'x-probe': 'yes' }, undefined]);
  assert.deepEqual(JSON.parse(sdk.invocationBody(inv.response).toString()), { got: { k: 1 }, version: 1 });
  const fr = sdk.invocationResponse(inv.response);
  assert.deepEqual(fr.json(), { got: { k: 1 }, version: 1 });
  assert.deepEqual(fr.headers, { 'x-probe': 'yes', 'content-type': 'application/json' });
  assert.equal((await fns.invocation(echo, h.id)).id, h.id);
  // A failed asynchronous invocation keeps its 502 answer.
  const f = await fns.wait(echo, (await fns.invokeAsync(echo, { probe: 'boom' }, { version: 1 })).id, { pollIntervalMs: 50 });
  assert.deepEqual([f.status, f.http_status, f.response.status, f.response.headers], ['runtime_error', 502, 502, {}]);
  assert.equal(sdk.invocationResponse(f.response).error.type, 'ValueError');
  await assert.rejects(fns.invocation(echo, '00000000-0000-0000-0000-000000000000'), sdk.NotFoundError);
});

test('versions, rollback, aliases, logs, list, delete', async () => {
  const name = `sdknode-ver-${suffix}`;
  const code = (n) => `def handler(event, context):\n    return "v${n}"\n`;
  try {
    assert.equal((await fns.deploy({ name, language: 'python', code: code(1) })).version, 1);
    const v2 = await fns.deploy({ name, language: 'python', code: code(2) });
    assert.deepEqual([v2.version, v2.active_version], [2, 2]);
    assert.equal((await fns.invoke(name)).text, 'v2');
    const back = await fns.rollback(name);
    assert.deepEqual([back.name, back.version, back.active_version], [name, 1, 1]);
    assert.equal((await fns.invoke(name)).text, 'v1');
    assert.equal((await fns.invoke(name, undefined, { version: 2 })).text, 'v2');

    await fns.setAlias(name, 'beta', 2);
    assert.equal((await fns.invoke(name, undefined, { version: 'beta' })).text, 'v2');
    const info = await fns.get(name);
    assert.deepEqual([info.name, info.active_version, info.latest_version, info.versions], [name, 1, 2, 2]);
    assert.deepEqual(info.aliases, { beta: 2 });
    assert.equal(info.active.version, 1);
    assert.equal(info.instances.invocations_queued, 0);

    const vs = await fns.versions(name);
    assert.deepEqual(vs.map((v) => v.version), [2, 1]);
    assert.ok(vs.every((v) => v.name === name && v.active_version === 1));

    const logs = await fns.logs(name, { limit: 3 });
    assert.deepEqual(logs.map((x) => x.version), [2, 2, 1]);
    assert.ok(logs.every((x) => x.state === 'done' && !x.async && x.status === 'ok' && x.http_status === 200));

    assert.ok((await fns.list()).some((f) => f.name === name));
    await fns.deleteAlias(name, 'beta');
    assert.deepEqual((await fns.get(name)).aliases, {});
    await assert.rejects(fns.invoke(name, undefined, { version: 'beta' }), sdk.NotFoundError);
    assert.equal((await fns.rollback(name, 2)).active_version, 2);
    assert.equal((await fns.invoke(name)).text, 'v2');
  } finally {
    await fns.delete(name);
  }
  await assert.rejects(fns.get(name), sdk.NotFoundError);
  await assert.rejects(fns.invoke(name), sdk.NotFoundError);
  assert.ok(!(await fns.list()).some((f) => f.name === name));
});

test('an asynchronous invocation\'s record: headers an object, a dropped body', () => {
  const rec = JSON.parse('{"status":201,"content_type":"text/plain","headers":{"x-a":"1","set-cookie":"c=1"},' +
    '"body":"","body_dropped":true,"is_base64":false}');
  const r = sdk.invocationResponse(rec);
  assert.deepEqual([r.status, r.headers, r.body.length], [201, { 'x-a': '1', 'set-cookie': 'c=1', 'content-type': 'text/plain' }, 0]);
  const plain = { status: 200, content_type: null, headers: {}, body: 'aGk=', is_base64: true };
  assert.deepEqual([sdk.invocationResponse(plain).headers, sdk.invocationResponse(plain).text], [{}, 'hi']);
  assert.deepEqual(plain.headers, {}, 'the record is not changed');
});

test('secret() and the route table', () => {
  assert.deepEqual(sdk.secret('x'), { value: 'x', secret: true });
  assert.deepEqual(sdk.ROUTES.invokePatchPath, { method: 'PATCH', path: '/fn/{name}/{path}' });
});

test('a function\'s answers and SoulBox\'s refusals are told apart (stub)', async () => {
  // With X-SoulBox-Function-Status, or without SoulBox's error body, an error status is the
  // function's answer (returned, never retried); SoulBox's error body is a refusal (429/503
  // retried, then thrown).
  const refusal = { error: { code: 'not_found', message: 'no such function: f' } };
  const answers = [
    [404, {}, '{"nope":true}'],
    [503, { 'content-type': 'text/plain', 'retry-after': '0' }, 'busy'],
    [302, { location: '/elsewhere', 'x-soulbox-function-status': '302' }, ''],
    [404, { 'x-soulbox-function-status': '404' }, JSON.stringify(refusal)],
    [503, { 'retry-after': '0' }, '{"error":{"code":"unavailable","message":"queue full"}}'],
    [200, { 'content-type': 'text/plain' }, 'ok'],
    [404, {}, JSON.stringify(refusal)],
  ];
  const s = await stub((req, res, n) => {
    const [status, headers, body] = answers[n];
    res.writeHead(status, { 'content-type': 'application/json', ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  try {
    const f = new sdk.Client(s.url, { maxRetries: 1 }).functions;
    let r = await f.invoke('f');
    assert.deepEqual([r.status, r.json(), r.error], [404, { nope: true }, undefined]);
    r = await f.invoke('f');
    assert.deepEqual([r.status, r.text], [503, 'busy']);
    r = await f.invoke('f');
    assert.deepEqual([r.status, r.headers.location], [302, '/elsewhere']);
    assert.deepEqual((await f.invoke('f')).json(), refusal);
    r = await f.invoke('f', undefined, { method: 'GET', path: '/x y', version: 2, query: { a: 1 } });
    assert.equal(r.text, 'ok');
    await assert.rejects(f.invoke('f'), (e) => e instanceof sdk.NotFoundError && e.message === 'no such function: f');
    assert.equal(s.requests.length, 7);
    assert.deepEqual(s.requests.slice(4, 6).map((q) => `${q.method} ${q.url}`), ['GET /fn/f@2/x%20y?a=1', 'GET /fn/f@2/x%20y?a=1']);
    assert.equal(s.requests[0].url, '/fn/f');
  } finally {
    await s.close();
  }
});
