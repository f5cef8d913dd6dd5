// The audit log (admin keys only) and share links, against the real server.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { client, sdk } from './helpers.mjs';

const c = client();
const other = new sdk.Client({ apiKey: process.env.SOULBOX_TEST_OTHER_KEY });
const admin = new sdk.Client({ apiKey: process.env.SOULBOX_TEST_ADMIN_KEY });
const sha256 = (s) => createHash('sha256').update(s).digest('hex');

test('the audit log needs an admin key (PermissionDeniedError)', async () => {
  for (const k of [c, other]) {
    await assert.rejects(k.audit({ limit: 1 }), (e) => e instanceof sdk.PermissionDeniedError &&
      e instanceof sdk.SoulboxError && e.status === 403 && e.code === 'permission_denied' &&
      e.message === 'the audit log needs an admin key' && e.requestId !== '');
  }
  // refused before its parameters are read
  await assert.rejects(c.iterAudit({ limit: 0 }).next(), sdk.PermissionDeniedError);
});

test('audit: an execution is there; filters; pages with a cursor', async () => {
  const t0 = Date.now() - 1000;
  const codes = [0, 1, 2].map((i) => `print('audit ${randomUUID()} ${i}')`);
  for (const code of codes) assert.equal((await c.execute({ language: 'python', code })).status, 'ok');
  // other test files run executions meanwhile: find ours by their code's hash, page by page
  const wanted = new Set(codes.map(sha256));
  const found = [];
  let page = await admin.audit({ event: 'execution', key_id: 'sdk', limit: 2 });
  assert.equal(page.records.length, 2);
  assert.equal(typeof page.next_cursor, 'string');
  let lastSeq = Infinity;
  for (let n = 0; n < 50; n++) {
    for (const r of page.records) {
      assert.ok(r.seq < lastSeq, 'newest first');
      lastSeq = r.seq;
      assert.equal(r.event, 'execution');
      assert.equal(r.key_id, 'sdk');
      if (wanted.has(r.code_sha256)) found.push(r);
    }
    if (found.length === 3 || !page.next_cursor) break;
    page = await admin.audit({ event: 'execution', key_id: 'sdk', limit: 2, cursor: page.next_cursor });
  }
  assert.deepEqual(found.map((r) => r.code_sha256), [...codes].reverse().map(sha256));
  const r = found[0];
  assert.equal(r.language, 'python');
  assert.equal(r.status, 'ok');
  assert.equal(r.client, '127.0.0.1');
  assert.equal(r.detail, null);
  assert.ok(r.ts_ms >= t0 && r.time.endsWith('Z') && r.request_id);
  assert.ok(r.limits.wall_time_ms > 0);
  // since (ms, ISO-8601, Date), status, an unknown key
  const recent = await admin.audit({ since: t0, status: 'ok', key_id: 'sdk', limit: 500 });
  assert.ok(recent.records.every((x) => x.ts_ms >= t0 && x.status === 'ok'));
  assert.ok(codes.every((code) => recent.records.some((x) => x.code_sha256 === sha256(code))));
  const iso = new Date(t0).toISOString().replace(/\.\d+Z$/, 'Z');
  assert.ok((await admin.audit({ since: iso, event: 'execution', limit: 500 })).records.some((x) => x.code_sha256 === sha256(codes[0])));
  assert.deepEqual((await admin.audit({ since: new Date(Date.now() + 3600_000) })).records, []);
  assert.deepEqual(await admin.audit({ key_id: 'no-such-key' }), { records: [], next_cursor: null });
  // every page
  const seqs = [];
  for await (const x of admin.iterAudit({ event: 'execution', limit: 3 })) seqs.push(x.seq);
  assert.ok(seqs.length >= 3);
  assert.equal(new Set(seqs).size, seqs.length);
  await assert.rejects(admin.audit({ limit: 501 }), (e) => e instanceof sdk.InvalidRequestError &&
    e.message === 'limit: an integer from 1 to 500');
});

test('share code; any key opens it', async () => {
  const link = await c.shares.create({
    language: 'py', stdin: 'hi', args: ['a'], limits: { wall_time_ms: 2000 },
    code: `
      import sys
      print(sys.stdin.read().upper(), sys.argv[1:])
      `,
  });
  assert.match(link.id, /^[A-Za-z0-9_-]{22,}$/);
  assert.equal(link.url, `/?share=${link.id}`);
  for (const k of [c, other]) {
    const s = await k.shares.get(link.id);
    assert.equal(s.id, link.id);
    assert.equal(s.created, link.created);
    assert.equal(s.language, 'python');
    assert.equal(s.code, 'import sys\nprint(sys.stdin.read().upper(), sys.argv[1:])\n');
    assert.equal(s.stdin, 'hi');
    assert.deepEqual(s.args, ['a']);
    assert.deepEqual(s.limits, { wall_time_ms: 2000 });
    assert.equal(s.test_cases, null);
    assert.equal(s.result, null);
    assert.equal(s.files, undefined);
  }
  const f = await other.shares.get((await c.shares.create({
    language: 'bash', files: [{ name: 'main.sh', content: 'read a; echo $((a * 2))' }],
    test_cases: [{ stdin: '2', expected_output: '4' }],
  })).id);
  assert.deepEqual(f.files, [{ name: 'main.sh', content: 'read a; echo $((a * 2))', encoding: 'utf8' }]);
  assert.deepEqual(f.test_cases, [{ stdin: '2', expected_output: '4' }]);
  assert.equal(f.stdin, null);
});

test('share a finished execution: its result is copied', async () => {
  const res = await c.execute({ language: 'python', code: 'print(6 * 7)' });
  const link = await c.shares.create({ language: 'python', code: 'print(6 * 7)', execution_id: res.id });
  const s = await other.shares.get(link.id);
  assert.equal(s.code, 'print(6 * 7)');
  assert.equal(s.result.id, res.id);
  assert.equal(s.result.stdout, '42\n');
  assert.equal(s.result.status, 'ok');
  assert.equal(s.result.language, 'python');
  assert.ok(s.result.finished_at);
  // another key's execution, or an unknown one: not found; one still running: a conflict
  await assert.rejects(other.shares.create({ language: 'python', code: 'x', execution_id: res.id }),
    (e) => e instanceof sdk.NotFoundError && e.message === 'execution_id: no such execution');
  await assert.rejects(c.shares.create({ language: 'python', code: 'x', execution_id: '00000000-0000-0000-0000-000000000000' }),
    sdk.NotFoundError);
  const h = await c.submit({ language: 'bash', code: 'sleep 3' });
  await assert.rejects(c.shares.create({ language: 'bash', code: 'sleep 3', execution_id: h.id }),
    (e) => e instanceof sdk.ConflictError && e.status === 409);
  await c.waitExecution(h.id, { timeoutMs: 60_000 });
});

test('share errors: unknown share, unknown language, unknown field', async () => {
  await assert.rejects(c.shares.get('AAAAAAAAAAAAAAAAAAAAAA'), (e) => e instanceof sdk.NotFoundError &&
    e.status === 404 && e.code === 'not_found' && e.message === 'no such share');
  await assert.rejects(c.shares.create({ language: 'cobol', code: 'x' }), sdk.UnknownLanguageError);
  await assert.rejects(c.shares.create({ language: 'python', code: 'x', env: { A: '1' } }),
    (e) => e instanceof sdk.InvalidRequestError && e.message === 'env: unknown field');
});
