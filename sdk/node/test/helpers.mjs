// Shared helpers of the tests.
import * as http from 'node:http';

export const sdk = await import('../dist/esm/index.js');

/** A client for the real server (SOULBOX_URL / SOULBOX_API_KEY). */
export function client(opts = {}) {
  return new sdk.Client(opts);
}

/**
 * A stub HTTP server on 127.0.0.1: `handler(req, res, n)` answers the n-th request.
 * Counts the TCP connections it accepted.
 */
export async function stub(handler) {
  let n = 0;
  const state = { connections: 0, requests: [] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      state.requests.push({ method: req.method, url: req.url, headers: req.headers, body, at: Date.now() });
      handler(req, res, n++, body);
    });
  });
  server.on('connection', () => { state.connections++; });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${server.address().port}`;
  state.close = () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); });
  return state;
}

export function json(res, status, body, headers = {}) {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s), 'x-request-id': 'req-stub-1', ...headers });
  res.end(s);
}
