// `npm pack` output installs into an empty directory and runs the README's example with
// both require() and import, and its types check from TypeScript.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sh = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir;

/** The README's example in the block after `<!-- example:NAME -->`, pointed at the test server. */
function example(name) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- example:${name} -->\\n\`\`\`js\\n([\\s\\S]*?)\`\`\``).exec(readme);
  assert.ok(m, `README example ${name}`);
  assert.match(m[1], /new Client\('localhost:8080'\)/);
  return m[1].replace("'localhost:8080'", JSON.stringify(process.env.SOULBOX_URL));
}

/** numpy's 3x3 matrix of floats, then console.log's own newline (as tests/sdk/test_brief.py checks). */
function checkMatrix(stdout) {
  assert.match(stdout, /^\[\[[0-9. e-]+\]\n \[[0-9. e-]+\]\n \[[0-9. e-]+\]\]\n\n$/);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'soulbox-pack-'));
  const { stdout } = await sh(npm, ['pack', '--json', '--pack-destination', dir], { cwd: root, timeout: 120000 });
  const [info] = JSON.parse(stdout);
  const files = info.files.map((f) => f.path);
  assert.ok(files.includes('dist/cjs/index.js') && files.includes('dist/esm/index.js') && files.includes('dist/esm/index.d.ts'));
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('node_modules/')), files.join(' '));
  const app = join(dir, 'app');
  await sh('mkdir', [app]);
  await sh(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', join(dir, info.filename)], { cwd: app, timeout: 300000 });
  dir = app;
});
after(() => { if (dir) rmSync(dirname(dir), { recursive: true, force: true }); });

test('the tarball installs with its ws dependency', () => {
  const pkg = JSON.parse(readFileSync(join(dir, 'node_modules/@soulbox/sdk/package.json'), 'utf8'));
  assert.equal(pkg.version, '0.1.0');
  assert.ok(existsSync(join(dir, 'node_modules/ws/package.json')));
  assert.deepEqual(readdirSync(join(dir, 'node_modules/@soulbox')), ['sdk']);
});

test('require(\'@soulbox/sdk\') runs the README example', async () => {
  writeFileSync(join(dir, 'example.cjs'), example('cjs'));
  const { stdout } = await sh(process.execPath, ['example.cjs'], { cwd: dir, timeout: 120000 });
  checkMatrix(stdout);
});

test('import { Client } from \'@soulbox/sdk\' runs the README example', async () => {
  writeFileSync(join(dir, 'example.mjs'), example('esm'));
  const { stdout } = await sh(process.execPath, ['example.mjs'], { cwd: dir, timeout: 120000 });
  checkMatrix(stdout);
});

test('both builds give the same classes and a stream works from CommonJS (ws)', async () => {
  writeFileSync(join(dir, 'stream.cjs'), `
    const sdk = require('@soulbox/sdk');
    (async () => {
      const esm = await import('@soulbox/sdk');
      const names = Object.keys(sdk).sort().join(',');
      if (names !== Object.keys(esm).sort().join(',')) throw new Error('exports differ');
      const c = new sdk.Client();
      const s = await c.stream({ language: 'bash', code: 'read x; echo "<$x>"' });
      s.sendStdin('abc\\n');
      const r = await s.result;
      let err;
      try { await c.execute({ language: 'nope', code: '' }); } catch (e) { err = e; }
      console.log(JSON.stringify([r.stdout, err instanceof sdk.UnknownLanguageError, err instanceof sdk.SoulboxError, names.includes('Sandbox')]));
    })().catch((e) => { console.error(e); process.exit(1); });
  `);
  const { stdout } = await sh(process.execPath, ['stream.cjs'], { cwd: dir, timeout: 120000 });
  assert.deepEqual(JSON.parse(stdout), ['<abc>\n', true, true, true]);
});

test('the types resolve through the exports map (TypeScript, node16 resolution)', async () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  writeFileSync(join(dir, 'check.mts'), `
    import { Client, type ExecuteResult, SoulboxError } from '@soulbox/sdk';
    const client = new Client('localhost:8080');
    const r: ExecuteResult = await client.execute({ language: 'python', code: 'print(1)' });
    const code: number | null = r.exit_code;
    const e: SoulboxError | undefined = undefined;
    // @ts-expect-error: no such field in a request
    await client.execute({ language: 'python', kode: 'x' });
    const ex = await client.waitExecution('id');
    const out: string = ex.stdout;
    const st: 'queued' | 'running' | string = ex.status;
    const verdicts: string[] = (r.test_cases ?? []).map((t) => t.verdict);
    const s = await client.stream({ language: 'python', code: 'print(1)' });
    for await (const ev of s) {
      if (ev.type === 'stdout') { const d: string = ev.data; void d; }
      if (ev.type === 'exit') { const x: number | null = ev.exit_code; void x; }
    }
    const sbx = await client.createSandbox({ template: 'code-interpreter', timeout_s: 60 });
    const cr = await sbx.commands.run('echo hi');
    const h = await sbx.commands.run('sleep 1', { background: true });
    const hw: string = (await h.wait()).stdout;
    const cell = await sbx.runCode('1');
    const png: Buffer | undefined = cell.results[0]?.png;
    export { code, e, out, st, verdicts, cr, hw, png };
  `);
  writeFileSync(join(dir, 'check.cts'), `
    import { Client } from '@soulbox/sdk';
    export const c: Client = new Client();
    export const s: Promise<string> = c.execute({ language: 'python', code: '' }).then((r) => r.stdout);
  `);
  await sh(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16',
    '--target', 'es2022', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), 'check.mts', 'check.cts'],
    { cwd: dir, timeout: 120000 }).catch((e) => { throw new Error(e.stdout + e.stderr); });
});
