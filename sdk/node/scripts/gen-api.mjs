#!/usr/bin/env node
// Generates API.md from the TSDoc comments of src/ with the TypeScript compiler API.
//   node scripts/gen-api.mjs          writes API.md
//   node scripts/gen-api.mjs --check  exits 1 if API.md is out of date or a public symbol has no doc comment
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Returns { markdown, missing } for the package's public API. */
export function generate() {
  const entry = join(root, 'src/index.ts');
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true, lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'], types: ['node'],
  });
  const checker = program.getTypeChecker();
  const mod = checker.getSymbolAtLocation(program.getSourceFile(entry));
  const missing = [];
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope |
    ts.TypeFormatFlags.WriteArrowStyleSignature;

  const docOf = (sym) => ts.displayPartsToString(sym.getDocumentationComment(checker)).trim()
    .replace(/\{@link\s+([^}\s]+)\s*\}/g, '`$1`');
  const isInternal = (sym) => sym.getJsDocTags(checker).some((t) => t.name === 'internal');
  const oneLine = (s) => s.replace(/\s*\n\s*/g, ' ');
  const decl = (sym) => sym.declarations?.[0];
  const isPrivate = (d) => d && (ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;

  const sections = { Classes: [], Functions: [], Constants: [], Interfaces: [], Types: [] };

  function members(owner, sym, isClass) {
    const out = [];
    const all = checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(sym));
    // A class lists its own members (inherited ones are on its base class).
    const list = isClass ? all.filter((m) => decl(m)?.parent === decl(sym)) : all;
    for (const m of list) {
      const d = decl(m);
      if (!d || isPrivate(d) || isInternal(m) || m.name.startsWith('#')) continue;
      if (!isClass && d.getSourceFile().fileName.includes('node_modules')) continue;
      const doc = docOf(m);
      if (!doc) missing.push(`${owner}.${m.name}`);
      let sig;
      const name = m.name.startsWith('__@') ? `[Symbol.${m.name.slice(3).replace(/@\d+$/, '')}]` : m.name;
      if (ts.isMethodDeclaration(d) || ts.isMethodSignature(d)) {
        const t = checker.getTypeOfSymbolAtLocation(m, d);
        sig = t.getCallSignatures().map((s) => `${name}${checker.signatureToString(s, d, flags)}`).join('\u0000');
        if (ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Static) sig = 'static ' + sig;
      } else if (ts.isGetAccessorDeclaration(d)) {
        sig = `get ${name}(): ${checker.typeToString(checker.getTypeOfSymbolAtLocation(m, d), d, flags)}`;
      } else {
        const t = checker.getTypeOfSymbolAtLocation(m, d);
        const opt = m.flags & ts.SymbolFlags.Optional ? '?' : '';
        const ro = ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Readonly ? 'readonly ' : '';
        sig = `${ro}${name}${opt}: ${checker.typeToString(t, d, flags)}`;
      }
      out.push(`- \`${oneLine(sig).replace(/`/g, "'").replace(/\u0000/g, '`; `')}\`${doc ? ' — ' + oneLine(doc) : ''}`);
    }
    return out;
  }

  for (let sym of checker.getExportsOfModule(mod)) {
    const name = sym.name;
    if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
    const d = decl(sym);
    if (!d) continue;
    const doc = docOf(sym);
    if (!doc) missing.push(name);
    const lines = [`### ${name}`, ''];
    if (doc) lines.push(doc, '');
    if (sym.flags & ts.SymbolFlags.Class) {
      const ctor = sym.members?.get('__constructor');
      const cd = ctor && decl(ctor);
      if (cd && !isInternal(ctor) && !isPrivate(cd)) {
        const sigs = checker.getTypeOfSymbolAtLocation(sym, d).getConstructSignatures();
        for (const s of sigs) lines.push('```ts', `new ${name}${checker.signatureToString(s, d, flags).replace(/ => .*$/, '')}`, '```', '');
      }
      const heritage = d.heritageClauses?.map((h) => h.getText()).join(' ');
      if (heritage) lines.push(`\`class ${name} ${heritage}\``, '');
      lines.push(...members(name, sym, true), '');
      sections.Classes.push(lines);
    } else if (sym.flags & ts.SymbolFlags.Function) {
      const t = checker.getTypeOfSymbolAtLocation(sym, d);
      for (const s of t.getCallSignatures()) lines.splice(2, 0, '```ts', `function ${name}${checker.signatureToString(s, d, flags)}`, '```', '');
      sections.Functions.push(lines);
    } else if (sym.flags & ts.SymbolFlags.Variable) {
      const t = checker.getTypeOfSymbolAtLocation(sym, d);
      const text = checker.typeToString(t, d, flags);
      lines.splice(2, 0, '```ts', `const ${name}: ${text.length > 200 ? 'Readonly<{ ... }>' : text}`, '```', '');
      if (name === 'ROUTES') {
        const src = readFileSync(join(root, 'src/routes.ts'), 'utf8');
        lines.push('| name | method | path |', '|---|---|---|');
        for (const m of src.matchAll(/^\s+(\w+): r\('(\w+)', '([^']+)'\)/gm)) lines.push(`| ${m[1]} | ${m[2]} | \`${m[3]}\` |`);
        lines.push('');
      }
      sections.Constants.push(lines);
    } else if (sym.flags & ts.SymbolFlags.Interface) {
      const ext = ts.isInterfaceDeclaration(d) ? d.heritageClauses?.map((h) => h.getText()).join(' ') : '';
      if (ext) lines.push(`\`interface ${name} ${ext}\``, '');
      lines.push(...members(name, sym, false), '');
      sections.Interfaces.push(lines);
    } else if (sym.flags & ts.SymbolFlags.TypeAlias) {
      lines.splice(2, 0, '```ts', oneLine(d.getText()).replace(/^\/\*\*[\s\S]*?\*\/\s*/, '').replace(/^export /, ''), '```', '');
      sections.Types.push(lines);
    }
  }
  const md = ['# @soulbox/sdk API reference', '',
    '<!-- Generated by `npm run docs` (scripts/gen-api.mjs) from the TSDoc comments in src/. Do not edit. -->', '',
    'Results are the API\'s JSON objects, so their fields use the API\'s snake_case names. ' +
    'Every method also takes `RequestOptions` (`timeoutMs`, `signal`, `maxRetries`) where shown.', ''];
  for (const [title, items] of Object.entries(sections)) {
    if (!items.length) continue;
    md.push(`## ${title}`, '');
    items.sort((a, b) => a[0].localeCompare(b[0]));
    for (const it of items) md.push(...it);
  }
  return { markdown: md.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n', missing };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { markdown, missing } = generate();
  const out = join(root, 'API.md');
  if (missing.length) console.error(`no doc comment: ${missing.join(', ')}`);
  if (process.argv.includes('--check')) {
    let cur = '';
    try { cur = readFileSync(out, 'utf8'); } catch { /* none */ }
    if (cur !== markdown) { console.error('API.md is out of date: run npm run docs'); process.exit(1); }
    process.exit(missing.length ? 1 : 0);
  }
  writeFileSync(out, markdown);
  console.log(`wrote ${out}`);
  if (missing.length) process.exit(1);
}
