// Every native route of api/openapi.yaml has an SDK method (and none the spec lacks);
// the SDK's version is the spec's.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sdk } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const specPath = join(here, '../../../api/openapi.yaml');
const spec = readFileSync(specPath, 'utf8');

/** The spec's operations as `METHOD /path`, from the `paths:` block. */
function specRoutes() {
  const out = [];
  let inPaths = false;
  let path = null;
  for (const line of spec.split('\n')) {
    if (/^\S/.test(line)) { inPaths = line.startsWith('paths:'); path = null; continue; }
    if (!inPaths) continue;
    let m = /^ {2}(\/\S*):\s*$/.exec(line);
    if (m) { path = m[1]; continue; }
    m = /^ {4}(get|put|post|delete|patch|head|options):/.exec(line);
    if (m && path) out.push(`${m[1].toUpperCase()} ${path}`);
  }
  return out;
}

const native = (r) => { const p = r.split(' ')[1]; return p === '/health' || p === '/metrics' || (p.startsWith('/api/') && !p.startsWith('/api/v2/')) || p.startsWith('/fn/'); };

test('the spec parses into routes (sanity)', () => {
  const all = specRoutes();
  assert.ok(all.includes('GET /api/sandboxes/{id}/files/stat'));
  assert.ok(all.includes('POST /v2/sandboxes'));
  assert.ok(all.filter(native).length >= 36);
});

test('every native route in the spec is in the SDK route table, and only those', () => {
  const want = specRoutes().filter(native).sort();
  const have = Object.values(sdk.ROUTES).map((r) => `${r.method} ${r.path}`).sort();
  assert.deepEqual(have.filter((r) => !want.includes(r)), [], 'routes the spec lacks');
  assert.deepEqual(want.filter((r) => !have.includes(r)), [], 'spec routes without an SDK method');
  assert.equal(new Set(have).size, have.length, 'duplicates');
});

test('the request code uses the table: every route is used, no path is written elsewhere', () => {
  const src = join(here, '../src');
  const code = readdirSync(src).filter((f) => f.endsWith('.ts') && f !== 'routes.ts')
    .map((f) => readFileSync(join(src, f), 'utf8')).join('\n')
    .replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const name of Object.keys(sdk.ROUTES)) {
    assert.match(code, new RegExp(`ROUTES\\.${name}\\b`), `ROUTES.${name} is not used`);
  }
  assert.doesNotMatch(code, /['"`]\/(api|fn)\//, 'a path written outside routes.ts');
});

test('the SDK version is the spec\'s info.version and the package\'s', () => {
  const m = /^info:\n(?: .*\n)*? {2}version: *([^\s]+)/m.exec(spec);
  assert.ok(m, 'info.version not found');
  assert.equal(m[1], '0.1.0');
  assert.equal(sdk.VERSION, m[1]);
  const pkg = JSON.parse(readFileSync(join(here, '../package.json'), 'utf8'));
  assert.equal(pkg.version, m[1]);
  assert.equal(pkg.name, '@soulbox/sdk');
});
