// The examples in examples/ run against the real server and print what they should.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (file, ...args) => promisify(execFile)(process.execPath, [join(root, 'examples', file), ...args],
  { cwd: root, timeout: 180000 });

test('examples/agent.mjs: CSV, pandas, matplotlib chart saved as PNG', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sbx-agent-'));
  try {
    const png = join(dir, 'chart.png');
    const { stdout } = await run('agent.mjs', png);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'rows=5 total_profit=260');
    assert.equal(lines[1], 'best_month=Apr profit=60');
    const bytes = readFileSync(png);
    assert.equal(lines[2], `chart saved to ${png} (${bytes.length} bytes)`);
    assert.equal(lines.length, 3);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(bytes.length > 2000);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('examples/judge.mjs: per-case verdicts', async () => {
  const { stdout } = await run('judge.mjs');
  const lines = stdout.trimEnd().split('\n').map((l) => l.replace(/\(\d+ ms\)/, '(T ms)'));
  assert.deepEqual(lines, [
    'case 1: accepted (T ms) output="6\\n"',
    'case 2: accepted (T ms) output="42\\n"',
    'case 3: wrong_answer (T ms) output="4\\n"',
    'case 4: accepted (T ms) output="0\\n"',
    'summary: 3/4 accepted, verdict wrong_answer',
  ]);
});

test('examples/stream.mjs: interactive stdin over the stream', async () => {
  const { stdout } = await run('stream.mjs');
  const lines = stdout.trimEnd().split('\n');
  assert.match(lines[0], /^started [0-9a-f-]{36}$/);
  assert.deepEqual(lines.slice(1), [
    'number? << 5', 'running total: 5', 'number? << 10', 'running total: 15', 'number? << 27',
    'running total: 42', 'number? << done', 'final: 42', 'exit: status=ok exit_code=0',
  ]);
});
