// Asynchronous executions: submit, get, wait, list, iterate; another key sees nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, sdk } from './helpers.mjs';

const c = client();

test('submit, then wait for the result', async () => {
  const h = await c.submit({ language: 'python', code: 'import time\ntime.sleep(0.3)\nprint("done")' });
  assert.equal(h.status, 'queued');
  assert.match(h.id, /^[0-9a-f-]{36}$/);
  const early = await c.getExecution(h.id);
  assert.equal(early.id, h.id);
  assert.ok(['queued', 'running', 'ok'].includes(early.status), early.status);
  const ex = await c.waitExecution(h.id, { pollIntervalMs: 50 });
  assert.equal(ex.status, 'ok');
  assert.equal(ex.stdout, 'done\n');
  assert.equal(ex.mode, 'async');
  assert.equal(ex.language, 'python');
  assert.ok(ex.created_at && ex.finished_at);
});

test('waitExecution has its own timeout', async () => {
  const h = await c.submit({ language: 'bash', code: 'sleep 3' });
  const t0 = Date.now();
  await assert.rejects(c.waitExecution(h.id, { timeoutMs: 400, pollIntervalMs: 100 }),
    (e) => e instanceof sdk.TimeoutError && e.status === 0 && /still (queued|running)/.test(e.message));
  assert.ok(Date.now() - t0 < 2000);
});

test('list pages with a cursor, and iterate them all', async () => {
  // The other key: no other test file runs executions with it, so "newest first" is exact.
  const o = new sdk.Client({ apiKey: process.env.SOULBOX_TEST_OTHER_KEY });
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await o.execute({ language: 'bash', code: `echo ${i}` })).id);
  const p1 = await o.listExecutions({ limit: 2 });
  assert.equal(p1.items.length, 2);
  assert.equal(typeof p1.next_cursor, 'string');
  // Newest first.
  assert.deepEqual(p1.items.map((e) => e.id), [ids[2], ids[1]]);
  const p2 = await o.listExecutions({ limit: 2, cursor: p1.next_cursor });
  assert.equal(p2.items[0].id, ids[0]);
  assert.equal(p2.items[0].stdout, '0\n');
  const seen = [];
  for await (const e of o.iterExecutions({ limit: 2 })) seen.push(e.id);
  assert.deepEqual(seen.slice(0, 3), [ids[2], ids[1], ids[0]]);
  assert.equal(new Set(seen).size, seen.length);
  // The first key's list does not show them.
  const mine = [];
  for await (const e of c.iterExecutions({ limit: 100 })) mine.push(e.id);
  assert.ok(!ids.some((id) => mine.includes(id)));
});

test('another key cannot see these executions (404)', async () => {
  const mine = await c.execute({ language: 'bash', code: 'echo mine' });
  const other = new sdk.Client({ apiKey: process.env.SOULBOX_TEST_OTHER_KEY });
  await assert.rejects(other.getExecution(mine.id), (e) => e instanceof sdk.NotFoundError && e.status === 404 && e.code === 'not_found');
  const page = await other.listExecutions({ limit: 100 });
  assert.ok(!page.items.some((e) => e.id === mine.id));
  assert.equal((await c.getExecution(mine.id)).stdout, 'mine\n');
});
