// Sessions: lifecycle, commands, files, watch, code contexts and rich results.
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { after, before, test } from 'node:test';
import { client, sdk } from './helpers.mjs';

const c = client();
let sbx;

before(async () => {
  sbx = await c.createSandbox({ template: 'code-interpreter', timeout_s: 600, metadata: { suite: 'node-sdk' } });
});
after(async () => {
  await sbx?.kill().catch(() => undefined);
});

test('create, get, list, set timeout; another key gets 404', async () => {
  assert.match(sbx.id, /^[a-z0-9]{20}$/);
  assert.equal(sbx.info.template, 'code-interpreter');
  assert.equal(sbx.info.state, 'running');
  assert.deepEqual(sbx.info.metadata, { suite: 'node-sdk' });
  assert.equal(sbx.info.isolation, 'namespaces');
  const again = await c.getSandbox(sbx.id);
  assert.equal(again.id, sbx.id);
  const page = await c.listSandboxes({ metadata: { suite: 'node-sdk' }, state: 'running' });
  assert.deepEqual(page.sandboxes.map((s) => s.id), [sbx.id]);
  assert.equal(page.total, 1);
  const info = await sbx.setTimeout(400);
  assert.ok(info.timeout_s <= 400 && info.timeout_s >= 395, String(info.timeout_s));
  const other = new sdk.Client({ apiKey: process.env.SOULBOX_TEST_OTHER_KEY });
  await assert.rejects(other.getSandbox(sbx.id), (e) => e instanceof sdk.NotFoundError && e.message === 'no such sandbox');
  await assert.rejects((new sdk.Sandbox(other.transport, sbx.info)).commands.run('true'), sdk.NotFoundError);
  assert.equal((await other.listSandboxes()).total, 0);
});

test('commands: foreground result, argv, cwd/env, stdin', async () => {
  const r = await sbx.commands.run('echo out; echo err >&2; exit 3');
  assert.deepEqual([r.stdout, r.stderr, r.exit_code, r.status, r.state], ['out\n', 'err\n', 3, 'runtime_error', 'exited']);
  const a = await sbx.commands.run(['printf', '%s|', 'a b', 'c']);
  assert.equal(a.stdout, 'a b|c|');
  const e = await sbx.commands.run('pwd; echo $FOO; cat', { cwd: '/tmp', env: { FOO: 'bar' }, stdin: 'piped' });
  assert.equal(e.stdout, '/tmp\nbar\npiped');
});

test('commands: streaming callbacks and the iterator form', async () => {
  const chunks = [];
  const r = await sbx.commands.run('for i in 1 2 3; do echo line $i; sleep 0.1; done; echo oops >&2', {
    onStdout: (d) => chunks.push(['out', d]), onStderr: (d) => chunks.push(['err', d]),
  });
  assert.equal(chunks.filter((x) => x[0] === 'out').map((x) => x[1]).join(''), 'line 1\nline 2\nline 3\n');
  assert.deepEqual(chunks.at(-1), ['err', 'oops\n']);
  assert.equal(r.stdout, 'line 1\nline 2\nline 3\n');
  assert.equal(r.stderr, 'oops\n');
  assert.equal(r.status, 'ok');
  const evs = [];
  for await (const ev of sbx.commands.stream('echo a; exit 4')) evs.push(ev);
  assert.equal(evs[0].type, 'start');
  assert.equal(typeof evs[0].pid, 'number');
  assert.deepEqual(evs[1], { type: 'stdout', data: 'a\n' });
  assert.equal(evs.at(-1).type, 'exit');
  assert.equal(evs.at(-1).command.exit_code, 4);
  assert.equal(evs.at(-1).command.pid, evs[0].pid);
});

test('commands: background, stdin, reattach, wait, list, get, signal, kill', async () => {
  const h = await sbx.commands.run('read name; echo hello $name; sleep 0.2; echo again', { background: true, stdin_open: true, tag: 'greeter' });
  assert.ok(h instanceof sdk.CommandHandle);
  assert.equal(h.info.state, 'running');
  await h.sendStdin('Ada\n', { close: true });
  const done = await h.wait();
  assert.equal(done.stdout, 'hello Ada\nagain\n');
  assert.equal(done.status, 'ok');
  // Reattach after the end: the replay then exit.
  const replay = [];
  for await (const ev of h) replay.push(ev.type === 'stdout' ? ev.data : ev.type);
  assert.deepEqual(replay.filter((x) => x !== 'start'), ['hello Ada\n', 'again\n', 'exit']);
  const listed = await sbx.commands.list();
  const mine = listed.find((x) => x.pid === h.pid);
  assert.equal(mine.tag, 'greeter');
  assert.equal(mine.stdout, undefined);
  assert.equal((await sbx.commands.get(h.pid)).stdout, 'hello Ada\nagain\n');

  // One process with a handler (a shell's trap races with the children it forks).
  const sleeper = await sbx.commands.run(['python3', '-c', 'import signal, sys, time\n' +
    'signal.signal(signal.SIGTERM, lambda *a: (print("got TERM", flush=True), sys.exit(7)))\n' +
    'print("ready", flush=True)\ntime.sleep(60)'], { background: true });
  let out = '';
  let signalled = false;
  let exit;
  for await (const ev of sbx.commands.connect(sleeper.pid)) {
    // Output comes in chunks as read: "ready" and "\n" may be two.
    if (ev.type === 'stdout') out += ev.data;
    if (!signalled && out.includes('ready\n')) { signalled = true; await sleeper.signal('SIGTERM'); }
    if (ev.type === 'exit') { exit = ev.command; break; }
  }
  assert.equal(out, 'ready\ngot TERM\n');
  assert.deepEqual([exit.status, exit.exit_code], ['runtime_error', 7]);
  await assert.rejects(sleeper.signal('TERM'), (e) => e instanceof sdk.ConflictError && e.status === 409);

  const k = await sbx.commands.run('sleep 30', { background: true });
  await k.kill();
  const kr = await k.wait();
  assert.equal(kr.status, 'killed');
  await assert.rejects(sbx.commands.get(99999), sdk.NotFoundError);
});

test('files: write, read ranges, multipart, list, stat, exists, mkdir, move, remove', async () => {
  const e = await sbx.files.write('data/hello.txt', 'hello, file');
  assert.deepEqual([e.path, e.type, e.size, e.permissions], ['/home/user/data/hello.txt', 'file', 11, '-rw-r--r--']);
  assert.equal(await sbx.files.readText('/workspace/data/hello.txt'), 'hello, file');
  assert.equal(await sbx.files.readText('~/data/hello.txt', { offset: 7, length: 4 }), 'file');
  const bin = Buffer.from([0, 1, 2, 250, 255]);
  await sbx.files.write('/tmp/b.bin', bin);
  assert.deepEqual(await sbx.files.read('/tmp/b.bin'), bin);
  const up = await sbx.files.writeFiles([{ path: 'a.txt', data: 'A' }, { path: 'sub/b.txt', data: Buffer.from('BB') }], { dir: '/home/user/up' });
  assert.deepEqual(up.map((x) => [x.path, x.size]), [['/home/user/up/a.txt', 1], ['/home/user/up/sub/b.txt', 2]]);
  const l1 = await sbx.files.list('/home/user/up');
  assert.deepEqual(l1.map((x) => [x.name, x.type]).sort(), [['a.txt', 'file'], ['sub', 'dir']]);
  const l2 = await sbx.files.list('/home/user/up', { depth: 2 });
  assert.deepEqual(l2.map((x) => x.path).sort(), ['/home/user/up/a.txt', '/home/user/up/sub', '/home/user/up/sub/b.txt']);
  assert.equal((await sbx.files.stat('up/sub')).type, 'dir');
  assert.equal(await sbx.files.exists('up/a.txt'), true);
  assert.equal(await sbx.files.exists('up/nope.txt'), false);
  await sbx.files.mkdir('deep/er/dir');
  assert.equal((await sbx.files.stat('deep/er/dir')).type, 'dir');
  await assert.rejects(sbx.files.mkdir('up/a.txt'), sdk.ConflictError);
  await sbx.files.move('up/a.txt', '/tmp/moved.txt');
  assert.equal(await sbx.files.readText('/tmp/moved.txt'), 'A');
  await sbx.files.remove('up');
  assert.equal(await sbx.files.exists('up'), false);
  await assert.rejects(sbx.files.readText('nope.txt'), (err) => err instanceof sdk.NotFoundError && /ENOENT/.test(err.message));
  await assert.rejects(sbx.files.write('/usr/x', 'x'), (err) => err instanceof sdk.InvalidRequestError && /EROFS/.test(err.message));
});

test('files: watch yields created/modified/removed events and closes', async () => {
  await sbx.files.mkdir('w');
  const events = [];
  const w = await sbx.files.watch('/home/user/w', { recursive: true });
  const reader = (async () => {
    for await (const ev of w) {
      events.push(`${ev.type} ${ev.path}`);
      if (ev.type === 'removed') w.close();
    }
  })();
  await sbx.files.write('w/a.txt', '1');
  await sbx.commands.run('sleep 0.2; echo more >> w/a.txt; sleep 0.2; rm w/a.txt');
  await reader;
  assert.equal(events[0], 'created /home/user/w/a.txt');
  assert.ok(events.includes('modified /home/user/w/a.txt'), events.join(','));
  assert.equal(events.at(-1), 'removed /home/user/w/a.txt');
  // A watch that cannot start yields its end.
  const bad = await sbx.files.watch('/home/user/no-such-dir');
  const evs = [];
  for await (const ev of bad) evs.push(ev);
  assert.equal(evs.length, 1);
  assert.equal(evs[0].type, 'end');
  assert.equal(typeof evs[0].reason, 'string');
});

test('code: runCode keeps state; rich results (PNG bytes, HTML, JSON); errors', async () => {
  const a = await sbx.runCode('x = 6 * 7\nprint("computing")\nx');
  assert.deepEqual(a.logs.stdout, ['computing\n']);
  assert.equal(a.text, '42');
  assert.equal(a.results.length, 1);
  assert.equal(a.results[0].is_main, true);
  assert.equal(a.error, undefined);
  const b = await sbx.runCode('x + 1');
  assert.equal(b.text, '43');
  assert.equal(b.execution_count, a.execution_count + 1);
  const outs = [];
  const chart = await sbx.runCode(`
    import matplotlib.pyplot as plt
    import pandas as pd
    plt.plot([1, 2, 3], [1, 4, 9])
    plt.show()
    print("plotted")
    pd.DataFrame({"a": [1, 2]})
    `, { onStdout: (t) => outs.push(t), onResult: (r) => outs.push(r.is_main ? 'main' : 'chart') });
  assert.deepEqual(outs, ['chart', 'plotted\n', 'main']);
  const png = chart.results.find((r) => !r.is_main).png;
  assert.ok(Buffer.isBuffer(png));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const main = chart.results.find((r) => r.is_main);
  assert.match(main.html, /<table/);
  assert.equal(typeof main.data['text/html'], 'string');
  assert.equal(main.raw, main.data);
  assert.equal((await sbx.getInfo()).id, sbx.id);
  const j = await sbx.runCode('{"k": [1, 2]}');
  assert.deepEqual(j.results[0].json, { k: [1, 2] });
  const err = await sbx.runCode('1/0');
  assert.equal(err.error.name, 'ZeroDivisionError');
  assert.equal(err.error.value, 'division by zero');
  assert.match(err.error.traceback, /ZeroDivisionError/);
  const js = await sbx.runCode('[1, 2].map((v) => v * 2)', { language: 'javascript' });
  assert.deepEqual(js.results[0].json, [2, 4]);
});

test('contexts: create, list, run in one, interrupt, restart, delete', async () => {
  const ctx = await sbx.createContext({ language: 'python', cwd: '/tmp/ctx' });
  assert.equal(ctx.language, 'python');
  assert.equal(ctx.cwd, '/tmp/ctx');
  assert.ok((await sbx.listContexts()).some((x) => x.id === ctx.id));
  await sbx.runCode('y = 5', { context: ctx });
  assert.equal((await sbx.runCode('import os; (y, os.getcwd())', { context: ctx.id })).text, "(5, '/tmp/ctx')");
  // Not in the default context.
  assert.equal((await sbx.runCode('y')).error.name, 'NameError');
  const running = sbx.runCode('import time\nfor i in range(100): time.sleep(0.1)', { context: ctx });
  await new Promise((r) => setTimeout(r, 500));
  await sbx.interruptContext(ctx);
  assert.equal((await running).error.name, 'KeyboardInterrupt');
  assert.equal((await sbx.runCode('y', { context: ctx })).text, '5');
  const re = await sbx.restartContext(ctx);
  assert.equal(re.id, ctx.id);
  assert.equal((await sbx.runCode('y', { context: ctx })).error.name, 'NameError');
  const b = await sbx.createContext({ language: 'bash' });
  const out = await sbx.runCode('echo $((2+3))', { context: b });
  assert.deepEqual(out.logs.stdout.join(''), '5\n');
  await sbx.deleteContext(ctx);
  assert.ok(!(await sbx.listContexts()).some((x) => x.id === ctx.id));
  await assert.rejects(sbx.runCode('1', { context: ctx }), sdk.NotFoundError);
});

test('pause and resume keep the files; paused sessions refuse commands (409)', async () => {
  const s = await c.createSandbox({ template: 'base' });
  try {
    await s.files.write('keep.txt', 'kept');
    const p = await s.pause();
    assert.equal(p.state, 'paused');
    await assert.rejects(s.commands.run('true'), (e) => e instanceof sdk.ConflictError && /paused/.test(e.message));
    const r = await s.resume();
    assert.equal(r.state, 'running');
    assert.equal((await s.commands.run('cat keep.txt')).stdout, 'kept');
  } finally {
    await s.kill();
  }
  await assert.rejects(c.getSandbox(s.id), sdk.NotFoundError);
});

test('withSandbox and Symbol.asyncDispose kill the session afterwards', async () => {
  let id;
  const out = await c.withSandbox({}, async (s) => { id = s.id; return (await s.commands.run('echo hi')).stdout; });
  assert.equal(out, 'hi\n');
  await assert.rejects(c.getSandbox(id), sdk.NotFoundError);
  // \`await using s = ...\` (TypeScript 5.2+, newer Node) calls Symbol.asyncDispose at the block's end.
  const s = await c.createSandbox();
  id = s.id;
  assert.equal((await s.refresh()).state, 'running');
  await s[Symbol.asyncDispose]();
  await assert.rejects(c.getSandbox(id), sdk.NotFoundError);
});

test('streamed calls read to their end leave the connection in the pool', async () => {
  const c2 = client();
  const s = await c2.getSandbox(sbx.id);
  const agent = c2.transport.agent;
  let made = 0;
  const orig = agent.createConnection.bind(agent);
  agent.createConnection = (...a) => { made++; return orig(...a); };
  for (let i = 0; i < 3; i++) {
    assert.equal((await s.runCode('2 + 2')).text, '4');
    assert.equal((await s.commands.run('echo hi', { onStdout: () => undefined })).stdout, 'hi\n');
    const evs = [];
    for await (const ev of s.commands.stream('echo x')) evs.push(ev.type);
    assert.deepEqual(evs, ['start', 'stdout', 'exit']);
  }
  assert.equal(made, 0, 'the connection getSandbox made is reused');
  c2.close();
});

test('commands: a pty, resized; a handle on an existing pid; watch with onEvent and a signal', async () => {
  const h = await sbx.commands.run('stty size; echo ready; read x; stty size; echo "got $x"', { background: true, pty: true, rows: 10, cols: 50 });
  // Resize once the program runs: a resize sent right after the 201 can be lost (a server race).
  let out = '';
  for await (const ev of h) {
    if (ev.type !== 'stdout') continue;
    out += ev.data;
    if (out.endsWith('ready\r\n')) { await h.resize(33, 77); await h.sendStdin('hi\n'); break; }
  }
  const r = await (await sbx.commands.handle(h.pid)).wait();
  assert.equal(r.stdout, '10 50\r\nready\r\nhi\r\n33 77\r\ngot hi\r\n');
  const ac = new AbortController();
  const seen = [];
  const w = await sbx.files.watch('/home/user', { signal: ac.signal, onEvent: (e) => seen.push(e.type) });
  const it = (async () => { for await (const ev of w) if (ev.type === 'created') ac.abort(); })();
  await sbx.files.write('watched.txt', 'x');
  // Aborting rejects like any cancelled call (close() ends the iteration quietly instead).
  await assert.rejects(it, { name: 'AbortError' });
  assert.equal(seen[0], 'created');
});

test('isolation microvm: the session says so and runs on its own kernel', async () => {
  const vm = await c.createSandbox({ template: 'base', timeout_s: 120, isolation: 'microvm' });
  try {
    assert.equal(vm.info.isolation, 'microvm');
    assert.equal((await c.getSandbox(vm.id)).info.isolation, 'microvm');
    const r = await vm.commands.run('uname -r');
    assert.equal(r.exit_code, 0);
    assert.ok(r.stdout.trim() && r.stdout.trim() !== os.release(), r.stdout);
  } finally { await vm.kill(); }
});
