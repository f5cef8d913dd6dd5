/**
 * The HTTP transport: one keep-alive connection pool per client (node:http / node:https
 * agents), retries of 429/503 honouring `Retry-After`, timeouts and cancellation.
 * @internal
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { apiError, ConnectionError, SoulboxError, TimeoutError } from './errors.js';
import type { Route } from './routes.js';
import { VERSION } from './version.js';

/** Options every method takes as its last argument. */
export interface RequestOptions {
  /** This call's timeout in milliseconds (default: the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Cancels the call (the promise rejects with the signal's reason, an `AbortError`). */
  signal?: AbortSignal;
  /** This call's retry budget for 429/503 (default: the client's `maxRetries`). */
  maxRetries?: number;
}

/** @internal */
export type Expect = 'json' | 'text' | 'bytes' | 'none' | 'stream';

/** @internal */
export interface CallOptions extends RequestOptions {
  params?: Record<string, string | number>;
  /** The params are already percent-encoded (a function's `name@version`, its path). */
  rawParams?: boolean;
  query?: Record<string, string | number | boolean | undefined | null>;
  /** A ready query string (without `?`), used instead of `query`. */
  rawQuery?: string;
  json?: unknown;
  body?: Buffer | string;
  contentType?: string;
  accept?: string;
  /** More request headers (they win over the SDK's). */
  headers?: Record<string, string>;
  expect?: Expect;
  /**
   * An error status that is a function's own answer (`/fn/...`, see
   * {@link isFunctionAnswer}) is resolved like a success (with `expect`), not rejected,
   * and never retried.
   */
  passthrough?: boolean;
}

/** The header SoulBox puts on a function's own answer. @internal */
export const FUNCTION_STATUS_HEADER = 'x-soulbox-function-status';

/** The error codes of SoulBox's own refusals (`{"error": {"code", "message"}}`). @internal */
export const REFUSAL_CODES = new Set([
  'invalid_argument', 'limit_exceeds_max', 'unauthenticated', 'permission_denied', 'not_found',
  'method_not_allowed', 'request_timeout', 'payload_too_large', 'unsupported_media_type',
  'conflict', 'unknown_language',
  'upgrade_required', 'rate_limited', 'headers_too_large', 'internal_error', 'sandbox_setup_failed',
  'unavailable', 'http_version_not_supported', 'invalid_config',
]);

/**
 * Whether an error answer on `/fn/...` is the function's own (to return) rather than SoulBox
 * refusing: it has `X-SoulBox-Function-Status`, or its body is not SoulBox's error body
 * `{"error": {"code", "message"}}` with one of its codes (`function_error` and
 * `function_timeout` are the function's). @internal
 */
export function isFunctionAnswer(headers: http.IncomingHttpHeaders, body: Buffer): boolean {
  if (headers[FUNCTION_STATUS_HEADER] !== undefined) return true;
  let d: unknown;
  try {
    d = JSON.parse(body.toString('utf8'));
  } catch {
    return true;
  }
  if (!d || typeof d !== 'object' || Array.isArray(d) || Object.keys(d).length !== 1) return true;
  const code = (d as { error?: { code?: unknown } }).error?.code;
  return !(typeof code === 'string' && REFUSAL_CODES.has(code));
}

const RETRY_STATUS = new Set([429, 503]);
const RETRY_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ENOTCONN']);
const MAX_RETRY_AFTER_S = 30;
const IDLE_SOCKET_MS = 15_000;

/** Parses a `Retry-After` value (seconds or an HTTP date) into seconds, capped at 30. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  if (v === undefined) return undefined;
  const s = (Array.isArray(v) ? v[0] : v).trim();
  if (s === '') return undefined;
  let secs: number;
  if (/^\d+(\.\d+)?$/.test(s)) secs = Number(s);
  else {
    const t = Date.parse(s);
    if (Number.isNaN(t)) return undefined;
    secs = Math.max(0, (t - now) / 1000);
  }
  return Math.min(secs, MAX_RETRY_AFTER_S);
}

/** Sleeps `ms`, or rejects when `signal` aborts. @internal */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = (): void => { clearTimeout(t); reject(signal!.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves the server URL per the shared conventions. @internal */
export function resolveBaseUrl(server?: string): URL {
  let s = (server ?? process.env.SOULBOX_URL ?? '').trim();
  if (s === '') s = 'http://localhost:8080';
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(s)) s = 'http://' + s;
  const u = new URL(s);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SoulboxError(`unsupported server URL scheme: ${u.protocol}`, { code: 'invalid_argument' });
  }
  u.search = '';
  u.hash = '';
  return u;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  value: unknown;
}

/** @internal */
export class Transport {
  readonly url: URL;
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly host: string;
  private readonly port: number;
  /** The URL's path prefix without a trailing slash ('' for none). */
  readonly prefix: string;
  private readonly headers: Record<string, string>;

  constructor(server: string | undefined, apiKey: string | undefined, timeoutMs: number, maxRetries: number,
    extraHeaders: Record<string, string> = {}) {
    this.url = resolveBaseUrl(server);
    this.prefix = this.url.pathname.replace(/\/+$/, '');
    this.baseUrl = this.url.origin + this.prefix;
    this.apiKey = apiKey ?? (process.env.SOULBOX_API_KEY || undefined);
    this.timeoutMs = timeoutMs;
    this.maxRetries = maxRetries;
    const https_ = this.url.protocol === 'https:';
    this.mod = https_ ? https : http;
    // Idle pooled connections are dropped after 15 s, well before the server's keep-alive
    // timeout (server.idle_timeout_ms, 60 s by default), so a request is never written
    // into a connection the server is closing. Busy connections are not affected.
    this.agent = new this.mod.Agent({ keepAlive: true, keepAliveMsecs: 1000, scheduling: 'lifo', timeout: IDLE_SOCKET_MS });
    this.host = this.url.hostname.replace(/^\[|\]$/g, '');
    this.port = this.url.port ? Number(this.url.port) : https_ ? 443 : 80;
    this.headers = { 'user-agent': `soulbox-node/${VERSION}`, ...extraHeaders };
    if (this.apiKey) this.headers.authorization = `Bearer ${this.apiKey}`;
  }

  /** Headers for the WebSocket upgrade and similar. */
  authHeaders(): Record<string, string> {
    return { ...this.headers };
  }

  /** Fills a route's path template and appends the query. */
  path(route: Route, params?: Record<string, string | number>, query?: CallOptions['query'], rawParams = false,
    rawQuery?: string): string {
    let p = route.path;
    if (params) p = p.replace(/\{(\w+)\}/g, (_, k: string) => (rawParams ? String(params[k]) : encodeURIComponent(String(params[k]))));
    let q = '';
    if (rawQuery !== undefined) {
      if (rawQuery !== '') q = '?' + rawQuery;
    } else if (query) {
      for (const k in query) {
        const v = query[k];
        if (v === undefined || v === null) continue;
        q += (q ? '&' : '?') + encodeURIComponent(k) + '=' + encodeURIComponent(String(v));
      }
    }
    return this.prefix + p + q;
  }

  /** Makes one call with retries; returns the decoded body (or the response for `stream`). */
  async call<T = unknown>(route: Route, o: CallOptions = {}): Promise<T> {
    const a = await this.answer(route, o);
    return a.value as T;
  }

  /** Like {@link call} but also returns status and headers. */
  async answer(route: Route, o: CallOptions): Promise<Answer> {
    const path = this.path(route, o.params, o.query, o.rawParams, o.rawQuery);
    const headers: Record<string, string | number> = { ...this.headers };
    let body: Buffer | string | undefined = o.body;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['content-type'] = 'application/json';
    } else if (o.contentType) headers['content-type'] = o.contentType;
    if (body !== undefined) headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    else if (route.method === 'POST' || route.method === 'PUT') headers['content-length'] = 0;
    headers.accept = o.accept ?? 'application/json';
    if (o.headers) for (const [k, v] of Object.entries(o.headers)) headers[k.toLowerCase()] = v;
    const expect = o.expect ?? 'json';
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const maxRetries = o.maxRetries ?? this.maxRetries;
    const idempotent = route.method === 'GET' || route.method === 'DELETE';
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(route.method, path, headers, body, expect, timeoutMs, o.signal, o.passthrough);
      } catch (err) {
        if (attempt >= maxRetries || !(err instanceof SoulboxError)) throw err;
        let wait: number;
        if (RETRY_STATUS.has(err.status)) {
          const ra = (err as { retryAfter?: number }).retryAfter;
          wait = ra !== undefined ? ra * 1000 : 500 * 2 ** attempt;
        } else if (idempotent && err instanceof ConnectionError && RETRY_NET.has(netCode(err))) {
          wait = 500 * 2 ** attempt;
        } else throw err;
        await sleep(wait, o.signal);
      }
    }
  }

  private once(method: string, path: string, headers: Record<string, string | number>,
    body: Buffer | string | undefined, expect: Expect, timeoutMs: number, signal?: AbortSignal,
    passthrough = false): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: unknown, a?: Answer): void => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err); else resolve(a!);
      };
      const req = this.mod.request({
        agent: this.agent, host: this.host, port: this.port, method, path, headers,
      }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 400 || expect !== 'stream') {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => finish(new ConnectionError(`reading the answer: ${e.message}`, { code: 'connection_error', cause: e })));
          res.on('end', () => {
            const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
            const rid = (res.headers['x-request-id'] as string | undefined) ?? '';
            if (status >= 400 && !(passthrough && isFunctionAnswer(res.headers, buf))) {
              let parsed: unknown = buf.toString('utf8');
              try { parsed = JSON.parse(parsed as string); } catch { /* not JSON */ }
              return finish(apiError(status, parsed, rid, parseRetryAfter(res.headers['retry-after'])));
            }
            let value: unknown;
            try {
              if (expect === 'json') value = buf.length ? JSON.parse(buf.toString('utf8')) : undefined;
              else if (expect === 'text') value = buf.toString('utf8');
              else if (expect === 'bytes') value = buf;
            } catch (e) {
              return finish(new SoulboxError(`the server sent invalid JSON: ${(e as Error).message}`,
                { code: 'invalid_response', status, requestId: rid, cause: e }));
            }
            finish(null, { status, headers: res.headers, value });
          });
          return;
        }
        // A stream: the caller reads it; the timeout covered getting the headers only.
        finish(null, { status, headers: res.headers, value: res });
      });
      const onAbort = (): void => { req.destroy(); finish(signal!.reason); };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          req.destroy();
          finish(new TimeoutError(`${method} ${path}: no answer within ${timeoutMs} ms`, { code: 'timeout' }));
        }, timeoutMs);
      }
      req.on('error', (e: NodeJS.ErrnoException) => {
        finish(new ConnectionError(`${method} ${path}: ${e.message}`, { code: 'connection_error', cause: e }));
      });
      if (body !== undefined) req.end(body); else req.end();
    });
  }

  /** Closes the pooled connections. */
  close(): void {
    this.agent.destroy();
  }
}

function netCode(err: SoulboxError): string {
  const c = (err as { cause?: { code?: string } }).cause;
  return c?.code ?? (/socket hang up/.test(err.message) ? 'ECONNRESET' : '');
}

/** Reads a whole stream response into text. @internal */
export async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
