// execute, its request fields, judge mode and the typed errors, against the real server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, sdk } from './helpers.mjs';

const c = client();

test('the brief\'s example: indented python code is dedented and runs', async () => {
  const code = `
    import numpy as np
    print(np.random.rand(3, 3).shape)
    `;
  const result = await c.execute({ language: 'python', code });
  assert.equal(result.stderr, '');
  assert.equal(result.stdout, '(3, 3)\n');
  assert.equal(result.status, 'ok');
  assert.equal(result.exit_code, 0);
});

test('a result has every field of the API\'s Result', async () => {
  const r = await c.execute({ language: 'python', code: 'print("Hello, SoulBox!")\nprint(2 + 2)' });
  assert.equal(r.stdout, 'Hello, SoulBox!\n4\n');
  assert.equal(r.stderr, '');
  assert.equal(r.exit_code, 0);
  assert.equal(r.status, 'ok');
  assert.equal(r.signal, null);
  assert.equal(r.truncated, false);
  assert.match(r.execution_time, /^\d+ms$/);
  for (const f of ['wall_time_ms', 'cpu_time_ms', 'memory_kb']) assert.equal(typeof r[f], 'number', f);
  assert.match(r.id, /^[0-9a-f-]{36}$/);
});

test('stdin, args, env and files', async () => {
  const r = await c.execute({
    language: 'python',
    code: 'import sys, os\nprint(sys.stdin.read().upper(), sys.argv[1:], os.environ["GREETING"])',
    stdin: 'abc', args: ['x', 'y z'], env: { GREETING: 'hej' },
  });
  assert.equal(r.stdout, "ABC ['x', 'y z'] hej\n");
  const f = await c.execute({
    language: 'python',
    files: [
      { name: 'main.py', content: 'from lib.util import f\nprint(f(), open("data.bin","rb").read())' },
      { name: 'lib/__init__.py', content: '' },
      { name: 'lib/util.py', content: '    def f():\n        return 42\n'.replace(/^ {4}/gm, '') },
      { name: 'data.bin', content: Buffer.from([0, 1, 255]).toString('base64'), encoding: 'base64' },
    ],
  });
  assert.equal(f.stdout, "42 b'\\x00\\x01\\xff'\n");
});

test('compile_args: more of the compiler\'s arguments; refused for a language without a compile step', async () => {
  const code = '#include <stdio.h>\nint main(void) { printf("%d\\n", ANSWER); return 0; }\n';
  const r = await c.execute({ language: 'c', code, compile_args: ['-DANSWER=42'] });
  assert.deepEqual([r.stdout, r.status, r.exit_code], ['42\n', 'ok', 0]);
  assert.equal((await c.execute({ language: 'c', code })).status, 'compile_error');
  const s = await c.stream({ language: 'c', code, compile_args: ['-DANSWER=43'] });
  for await (const ev of s) void ev;
  assert.equal((await s.result).stdout, '43\n');
  const h = await c.submit({ language: 'c', code, compile_args: ['-DANSWER=44'] });
  assert.equal((await c.waitExecution(h.id, { timeoutMs: 60_000 })).stdout, '44\n');
  await assert.rejects(c.execute({ language: 'python', code: 'print(1)', compile_args: ['-O0'] }), (e) => {
    assert.ok(e instanceof sdk.InvalidRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.code, 'invalid_argument');
    assert.equal(e.message, 'compile_args: python has no compile step');
    return true;
  });
});

test('compile_limits: lower limits for the compile stage; refused for a language without a compile step', async () => {
  // the compiler driver waits 2 s before each tool it runs (which then never runs)
  const req = { language: 'c', code: 'int main(void) { return 0; }\n', compile_args: ['-wrapper', '/bin/sh,-c,sleep 2'],
    compile_limits: { wall_time_ms: 700 } };
  const r = await c.execute(req);
  assert.deepEqual([r.status, r.compile?.status], ['compile_error', 'time_limit_exceeded'], JSON.stringify(r));
  assert.equal(r.message, 'compilation failed: wall time limit of 700 ms exceeded');
  const h = await c.submit(req);
  const ex = await c.waitExecution(h.id, { timeoutMs: 60_000 });
  assert.deepEqual([ex.status, ex.message], ['compile_error', 'compilation failed: wall time limit of 700 ms exceeded']);
  await assert.rejects(c.execute({ language: 'python', code: 'print(1)', compile_limits: { wall_time_ms: 5 } }), (e) => {
    assert.ok(e instanceof sdk.InvalidRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.code, 'invalid_argument');
    assert.equal(e.message, 'compile_limits: python has no compile step');
    return true;
  });
});

test('dedent: false sends the code as it is', async () => {
  const r = await c.execute({ language: 'python', code: '  print(1)\n', dedent: false });
  assert.equal(r.status, 'runtime_error');
  assert.match(r.stderr, /IndentationError/);
  const ok = await c.execute({ language: 'python', code: '  print(1)\n' });
  assert.equal(ok.stdout, '1\n');
});

test('program failures are results, not errors', async () => {
  const r = await c.execute({ language: 'bash', code: 'echo out; echo err >&2; exit 3' });
  assert.deepEqual([r.stdout, r.stderr, r.exit_code, r.status], ['out\n', 'err\n', 3, 'runtime_error']);
  const t = await c.execute({ language: 'python', code: 'while True: pass', limits: { wall_time_ms: 500, cpu_time_ms: 300 } });
  assert.equal(t.status, 'time_limit_exceeded');
  assert.equal(t.exit_code, null);
  assert.equal(t.signal, 9);
  const ce = await c.execute({ language: 'c', code: 'int main( { return 0; }' });
  assert.equal(ce.status, 'compile_error');
  assert.match(ce.compile_output, /error/);
});

test('judge mode: per-case verdicts and summary', async () => {
  const code = `
    #include <stdio.h>
    int main(void) { long a, b; scanf("%ld %ld", &a, &b); printf("%ld\\n", a + b); return 0; }
    `;
  const r = await c.execute({
    language: 'c', code,
    test_cases: [{ stdin: '1 2', expected_output: '3' }, { stdin: '2 2', expected_output: '5' }, { stdin: '5 5' }],
  });
  assert.deepEqual(r.test_cases.map((t) => [t.index, t.verdict, t.status, t.stdout]),
    [[0, 'accepted', 'ok', '3\n'], [1, 'wrong_answer', 'ok', '4\n'], [2, 'ok', 'ok', '10\n']]);
  assert.deepEqual(r.summary, { total: 3, accepted: 1, verdict: 'wrong_answer' });
});

test('errors: unknown language (422), invalid request (400), limit above the maximum (400)', async () => {
  await assert.rejects(c.execute({ language: 'cobol', code: 'x' }), (e) => {
    assert.ok(e instanceof sdk.UnknownLanguageError);
    assert.equal(e.status, 422);
    assert.equal(e.code, 'unknown_language');
    assert.match(e.message, /cobol/);
    assert.match(e.requestId, /^\S{8,}$/);
    return true;
  });
  await assert.rejects(c.execute({ language: 'python' }), (e) => e instanceof sdk.InvalidRequestError && e.status === 400
    && e.code === 'invalid_argument' && e.requestId !== '');
  await assert.rejects(c.execute({ language: 'python', code: 'x', limits: { wall_time_ms: 10 ** 9 } }),
    (e) => e instanceof sdk.InvalidRequestError && e.code === 'limit_exceeds_max' && /wall_time_ms/.test(e.message));
});

test('a wrong API key is an AuthenticationError (401)', async () => {
  const bad = new sdk.Client({ apiKey: 'not-a-key-0123456789' });
  await assert.rejects(bad.execute({ language: 'python', code: 'print(1)' }), (e) =>
    e instanceof sdk.AuthenticationError && e.status === 401 && e.code === 'unauthenticated' && e.requestId !== '');
  // /health needs no key.
  assert.equal((await bad.health()).status, 'ok');
});

test('health, languages, cluster, metrics, templates', async () => {
  const h = await c.health();
  assert.equal(h.status, 'ok');
  assert.equal(h.version, sdk.VERSION);
  const l = await c.languages();
  assert.deepEqual(l.languages.map((x) => x.name).sort(), ['bash', 'c', 'cpp', 'go', 'javascript', 'python']);
  assert.equal(l.languages.find((x) => x.name === 'c').compiled, true);
  assert.equal(h.store, 'sqlite');
  const cl = await c.cluster();
  assert.equal(cl.store, 'sqlite');
  assert.equal(cl.database, 'up');
  assert.equal(cl.nodes.length, 1);
  const [me] = cl.nodes;
  assert.equal(me.self, true);
  assert.equal(me.state, 'up');
  assert.equal(me.id, cl.node);
  assert.ok(me.languages.includes('python'), me.languages.join(','));
  const m = await c.metrics();
  assert.match(m, /^# (HELP|TYPE) soulbox_/m);
  const t = await c.templates();
  const ci = t.find((x) => x.name === 'code-interpreter');
  assert.ok(ci, 'code-interpreter template');
  assert.equal(ci.default_context, 'python');
});

test('return_files hands back files; network the server does not allow is refused', async () => {
  const r = await c.execute({ language: 'bash', code: 'mkdir -p out; printf abc > out/a.txt; echo x > b.log', return_files: ['out/**'] });
  assert.equal(r.status, 'ok');
  assert.deepEqual(r.files.map((f) => [f.name, f.size, Buffer.from(f.content, 'base64').toString()]), [['out/a.txt', 3, 'abc']]);
  await assert.rejects(c.execute({ language: 'python', code: 'print(1)', network: { enabled: true } }),
    (e) => e instanceof sdk.InvalidRequestError && /^network: this server does not allow network access/.test(e.message));
});

test('submit refuses a loopback callback_url', async () => {
  await assert.rejects(c.submit({ language: 'python', code: 'print(1)', callback_url: 'http://127.0.0.1:9/cb' }),
    (e) => e instanceof sdk.InvalidRequestError && e.status === 400 && /callback_url/.test(e.message));
});
