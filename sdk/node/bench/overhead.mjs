#!/usr/bin/env node
// SDK overhead per execute call over a raw keep-alive HTTP call, same server, same run.
//
//   SOULBOX_URL=http://127.0.0.1:8080 SOULBOX_API_KEY=... node bench/overhead.mjs [N]
//
// Runs N (default 200, or $N) executes of trivial python code, alternating a raw
// node:http request (keep-alive agent) and Client.execute, after a short warm-up, and
// prints p50/p90 of each and their differences in ms. The sandbox's own time varies by
// milliseconds from run to run (more on a busy machine), so the final figure,
// `overhead_p50_ms=<x>` (last line), is the median of the differences of adjacent
// SDK/raw pairs; `diff_p50_ms` is the plain difference of the two p50s. The same
// comparison against a local stub server (no sandbox: the client's cost alone) is
// printed as `stub_*`. Needs `npm run build` first. SOULBOX_BENCH_GAP_MS: see below.
import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { Client } from '../dist/esm/index.js';

const n = Number(process.argv[2] ?? process.env.N ?? 200);
const client = new Client();
const base = new URL(client.baseUrl);
const mod = base.protocol === 'https:' ? https : http;
const agent = new mod.Agent({ keepAlive: true });
const key = process.env.SOULBOX_API_KEY;
const code = 'print(1)';

function raw(target = base, check = true) {
  const body = JSON.stringify({ language: 'python', code });
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (key) headers.authorization = `Bearer ${key}`;
  return new Promise((resolve, reject) => {
    const req = mod.request({ agent, host: target.hostname, port: target.port || (target.protocol === 'https:' ? 443 : 80),
      method: 'POST', path: target.pathname.replace(/\/$/, '') + '/api/execute', headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const r = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (check && (res.statusCode !== 200 || r.stdout !== '1\n')) reject(new Error(`raw: ${res.statusCode} ${JSON.stringify(r)}`));
        else resolve(r);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function viaSdk(c = client) {
  const r = await c.execute({ language: 'python', code });
  if (r.stdout !== '1\n') throw new Error(`sdk: ${JSON.stringify(r)}`);
  return r;
}

// A run takes a warm sandbox from the server's pool when one is ready, else a cold one
// (tens of ms more): each real-server call first waits SOULBOX_BENCH_GAP_MS (default 50,
// untimed) so the pool can refill, as the Python and Go benchmarks do.
const GAP_MS = Number(process.env.SOULBOX_BENCH_GAP_MS ?? 50);
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/** Alternates raw and SDK calls n times; returns the two lists of times and the pair differences. */
async function measure(n, rawFn, sdkFn, gap = 0) {
  for (let i = 0; i < 10; i++) { await rawFn(); await sdkFn(); }
  const tr = [];
  const ts = [];
  const d = [];
  for (let i = 0; i < n; i++) {
    // Alternate which goes first so drift hits both alike.
    const order = i % 2 ? [['raw', rawFn], ['sdk', sdkFn]] : [['sdk', sdkFn], ['raw', rawFn]];
    const pair = {};
    for (const [name, fn] of order) {
      if (gap) await pause(gap);
      const t0 = performance.now();
      await fn();
      pair[name] = performance.now() - t0;
    }
    tr.push(pair.raw);
    ts.push(pair.sdk);
    d.push(pair.sdk - pair.raw);
  }
  return { tr, ts, d };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// The client's own cost: the same calls against a local stub that answers at once.
const RESULT = JSON.stringify({ stdout: '1\n', stderr: '', exit_code: 0, execution_time: '1ms', status: 'ok', signal: null,
  wall_time_ms: 1, cpu_time_ms: 1, memory_kb: 1, truncated: false, id: '00000000-0000-0000-0000-000000000000' });
const stubServer = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': RESULT.length }); res.end(RESULT); });
});
await new Promise((r) => stubServer.listen(0, '127.0.0.1', r));
const stubUrl = new URL(`http://127.0.0.1:${stubServer.address().port}`);
const stubClient = new Client(stubUrl.href, { apiKey: key });
const stub = await measure(Math.max(n, 500), () => raw(stubUrl, false), () => viaSdk(stubClient));
stubServer.close();
stubClient.close();

const { tr, ts, d } = await measure(n, () => raw(), () => viaSdk(), GAP_MS);
const f = (x) => x.toFixed(3);
console.log(`n=${n}`);
console.log(`stub_raw_p50_ms=${f(pct(stub.tr, 50))}`);
console.log(`stub_sdk_p50_ms=${f(pct(stub.ts, 50))}`);
console.log(`stub_overhead_p50_ms=${f(pct(stub.d, 50))}`);
console.log(`raw_p50_ms=${f(pct(tr, 50))}`);
console.log(`raw_p90_ms=${f(pct(tr, 90))}`);
console.log(`sdk_p50_ms=${f(pct(ts, 50))}`);
console.log(`sdk_p90_ms=${f(pct(ts, 90))}`);
console.log(`diff_p50_ms=${f(pct(ts, 50) - pct(tr, 50))}`);
console.log(`diff_p90_ms=${f(pct(ts, 90) - pct(tr, 90))}`);
console.log(`overhead_p50_ms=${f(pct(d, 50))}`);
client.close();
agent.destroy();
