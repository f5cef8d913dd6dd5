// Streaming over the WebSocket: events as they come, interactive stdin, kill, signal, errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { client, sdk } from './helpers.mjs';

const c = client();

test('events come in order; stdin is interactive; exit ends the iteration', async () => {
  const s = await c.stream({ language: 'python', code: `
    name = input("Name? ")
    print("Hello,", name)
    import sys; print("bye", file=sys.stderr)
    ` });
  assert.match(s.id, /^[0-9a-f-]{36}$/);
  const types = [];
  let out = '';
  let err = '';
  let exit;
  for await (const ev of s) {
    types.push(ev.type);
    if (ev.type === 'stdout') {
      out += ev.data;
      if (out === 'Name? ') { s.sendStdin('Ada\n'); s.closeStdin(); }
    } else if (ev.type === 'stderr') err += ev.data;
    else if (ev.type === 'exit') exit = ev;
  }
  assert.equal(types[0], 'started');
  assert.equal(types.at(-1), 'exit');
  assert.equal(out, 'Name? Hello, Ada\n');
  assert.equal(err, 'bye\n');
  assert.equal(exit.status, 'ok');
  assert.equal(exit.stdout, 'Name? Hello, Ada\n');
  const result = await s.result;
  assert.equal(result.exit_code, 0);
  assert.equal(result.id, s.id);
  assert.equal(result.type, undefined);
});

test('callbacks see the output as it is produced, before the end', async () => {
  const seen = [];
  const s = await c.stream({ language: 'bash', code: 'for i in 1 2 3; do echo $i; sleep 0.2; done' }, {
    onStdout: (d) => seen.push([d, Date.now()]),
  });
  const r = await s.wait();
  const end = Date.now();
  assert.equal(seen.map((x) => x[0]).join(''), '1\n2\n3\n');
  assert.ok(end - seen[0][1] >= 300, 'the first line came well before the end');
  assert.equal(r.stdout, '1\n2\n3\n');
});

test('kill ends the program: runtime_error, signal 9', async () => {
  const s = await c.stream({ language: 'bash', code: 'echo start; sleep 30' });
  for await (const ev of s) {
    if (ev.type === 'stdout') s.kill();
  }
  const r = await s.result;
  assert.equal(r.status, 'runtime_error');
  assert.equal(r.signal, 9);
  assert.equal(r.message, 'killed on request');
});

test('signal reaches the program, which may catch it', async () => {
  const s = await c.stream({ language: 'python', code: `
    import signal, sys, time
    def on_int(*_):
        print('caught', flush=True)
        sys.exit(3)
    signal.signal(signal.SIGINT, on_int)
    print('ready', flush=True)
    time.sleep(30)
    ` });
  let out = '';
  for await (const ev of s) {
    if (ev.type === 'stdout') {
      out += ev.data;
      if (out === 'ready\n') s.signal('SIGINT');
    }
  }
  const r = await s.result;
  assert.equal(r.status, 'runtime_error');
  assert.equal(r.exit_code, 3);
  assert.equal(r.stdout, 'ready\ncaught\n');
});

test('an unknown language is refused with UnknownLanguageError', async () => {
  await assert.rejects(c.stream({ language: 'cobol', code: 'x' }), (e) =>
    e instanceof sdk.UnknownLanguageError && e.code === 'unknown_language');
});

test('a wrong key is an AuthenticationError', async () => {
  const bad = new sdk.Client({ apiKey: 'wrong-key-0123456789' });
  await assert.rejects(bad.stream({ language: 'python', code: 'print(1)' }), (e) =>
    e instanceof sdk.AuthenticationError && e.status === 401);
});

test('aborting the signal closes the stream', async () => {
  const ac = new AbortController();
  const s = await c.stream({ language: 'bash', code: 'sleep 30' }, { signal: ac.signal });
  setTimeout(() => ac.abort(), 200);
  const t0 = Date.now();
  await assert.rejects((async () => { for await (const _ of s) { /* wait */ } })(), { name: 'AbortError' });
  assert.ok(Date.now() - t0 < 5000);
});

test('with a global WebSocket (no ws package) the key goes in an auth message', async () => {
  const script = `
    const { Client } = await import(${JSON.stringify(new URL('../dist/esm/index.js', import.meta.url).href)});
    if (typeof WebSocket !== 'function') throw new Error('no global WebSocket');
    const c = new Client();
    const s = await c.stream({ language: 'python', code: 'print(input()[::-1])' });
    s.sendStdin('olleh\\n');
    const r = await s.result;
    const bad = new Client({ apiKey: 'wrong-key-0123456789' });
    let err = '';
    try { await bad.stream({ language: 'python', code: 'print(1)' }); } catch (e) { err = e.name + ' ' + e.status; }
    console.log(JSON.stringify([r.stdout, r.status, err]));
  `;
  const { stdout } = await promisify(execFile)(process.execPath,
    ['--experimental-websocket', '--no-warnings', '--input-type=module', '-e', script], { timeout: 60000 });
  assert.deepEqual(JSON.parse(stdout), ['hello\n', 'ok', 'AuthenticationError 401']);
});

test('close() before the end fails the iteration with code closed', async () => {
  const s = await c.stream({ language: 'bash', code: 'echo one; sleep 30' });
  const got = [];
  await assert.rejects((async () => {
    for await (const ev of s) { got.push(ev.type); if (ev.type === 'stdout') s.close(); }
  })(), (e) => e instanceof sdk.SoulboxError && e.code === 'closed');
  assert.deepEqual(got, ['started', 'stdout']);
  await assert.rejects(s.result, { code: 'closed' });
});
