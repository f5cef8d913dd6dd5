// API.md is generated from the TSDoc comments and up to date; every public symbol has a doc comment.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generate } from '../scripts/gen-api.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('every public symbol has a doc comment', () => {
  assert.deepEqual(generate().missing, []);
});

test('API.md is what `npm run docs` generates', () => {
  const { markdown } = generate();
  assert.equal(readFileSync(join(root, 'API.md'), 'utf8'), markdown, 'API.md is out of date: run `npm run docs`');
  for (const name of ['Client', 'Sandbox', 'Commands', 'Files', 'ExecutionStream', 'SoulboxError', 'RateLimitError', 'ExecuteRequest', 'ExecuteResult']) {
    assert.match(markdown, new RegExp(`^### ${name}$`, 'm'), name);
  }
});

test('the README has the brief\'s example in both module systems and links API.md', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.match(readme, /const \{ Client \} = require\('@soulbox\/sdk'\);/);
  assert.match(readme, /import \{ Client \} from '@soulbox\/sdk';/);
  assert.match(readme, /new Client\('localhost:8080'\)/);
  assert.match(readme, /\(API\.md\)/);
});

test('every type and class of src/ is exported (and so documented)', () => {
  const { markdown } = generate();
  for (const f of ['types.ts', 'errors.ts', 'sandbox.ts', 'client.ts', 'stream.ts', 'functions.ts', 'shares.ts']) {
    const src = readFileSync(join(root, 'src', f), 'utf8');
    for (const m of src.matchAll(/(\/\*\*(?:[^*]|\*(?!\/))*\*\/\n)?^export (?:interface|type|class) (\w+)/gm)) {
      if (m[1]?.includes('@internal')) continue;
      m[1] = m[2];
      assert.match(markdown, new RegExp(`^### ${m[1]}$`, 'm'), `${f}: ${m[1]} is not exported from index.ts`);
    }
  }
});
