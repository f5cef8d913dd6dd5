/**
 * Interactive executions over the WebSocket `/api/ws`.
 */
import { apiError, ConnectionError, SoulboxError, TimeoutError } from './errors.js';
import { parseRetryAfter, sleep } from './http.js';
import type { ExecuteResult } from './types.js';

/** An event of a streamed execution, as the server sends it. */
export type StreamEvent =
  | { type: 'started'; id: string }
  | { type: 'stdout' | 'stderr'; data: string }
  | ({ type: 'exit' } & ExecuteResult)
  | { type: 'error'; error: { code: string; message: string } };

/** Options of {@link Client.stream}. */
export interface StreamOptions {
  /** Timeout for connecting (ms; default the client's `timeoutMs`). The run itself has its own limits. */
  timeoutMs?: number;
  /** Aborting closes the connection, which kills the program. */
  signal?: AbortSignal;
  /** Retries of a 429/503 refusal before the program started (default the client's `maxRetries`). */
  maxRetries?: number;
  /** Called with each piece of stdout as it arrives. */
  onStdout?: (data: string) => void;
  /** Called with each piece of stderr as it arrives. */
  onStderr?: (data: string) => void;
  /** Called with every event (including `started`, `exit`, `error`). */
  onEvent?: (event: StreamEvent) => void;
}

/** Minimal WebSocket surface shared by the global WebSocket and the `ws` package. @internal */
interface Sock {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, fn: (ev: any) => void): void;
  on?: (type: string, fn: (...args: any[]) => void) => void;
  terminate?: () => void;
}

/** What {@link ExecutionStream} needs to open a connection. @internal */
export interface Connector {
  url: string;
  headers: Record<string, string>;
  apiKey?: string;
  webSocket?: unknown;
}

const CODE_STATUS: Record<string, number> = {
  invalid_argument: 400, limit_exceeds_max: 400, unauthenticated: 401, not_found: 404,
  conflict: 409, payload_too_large: 413, unknown_language: 422, rate_limited: 429,
  internal_error: 500, sandbox_setup_failed: 500, unavailable: 503,
};

function killSock(s: Sock): void {
  try {
    if (s.terminate) s.terminate(); else s.close();
  } catch { /* already closed */ }
}

let wsModule: Promise<unknown> | undefined;

async function webSocketClass(override: unknown): Promise<{ ctor: any; isWs: boolean }> {
  if (override) return { ctor: override, isWs: typeof (override as { prototype?: { on?: unknown } }).prototype?.on === 'function' };
  const g = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (g) return { ctor: g, isWs: false };
  wsModule ??= import('ws');
  const m = (await wsModule) as { default?: unknown; WebSocket?: unknown };
  return { ctor: m.WebSocket ?? m.default ?? m, isWs: true };
}

/**
 * A running execution over a WebSocket. Iterate it (`for await`) to get the events as
 * they come (`started`, `stdout`, `stderr`, then `exit`, which ends the iteration);
 * send input with {@link sendStdin}/{@link closeStdin}; signal it with {@link signal}; stop it with {@link kill}.
 * {@link result} is the final result.
 */
export class ExecutionStream implements AsyncIterable<StreamEvent> {
  /** The execution's id, once `started` arrived. */
  id: string | undefined;
  private sock: Sock | undefined;
  private readonly queue: StreamEvent[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private failure: unknown;
  private started = false;
  private lastError: { code: string; message: string } | undefined;
  private readonly resultPromise: Promise<ExecuteResult>;
  private resolveResult!: (r: ExecuteResult) => void;
  private rejectResult!: (e: unknown) => void;

  /** @internal */
  constructor(private readonly c: Connector, private readonly message: Record<string, unknown>,
    private readonly opts: StreamOptions & { timeoutMs: number; maxRetries: number }) {
    this.resultPromise = new Promise((res, rej) => { this.resolveResult = res; this.rejectResult = rej; });
    this.resultPromise.catch(() => undefined);
  }

  /** The final result (the `exit` event without its `type`); rejects if the stream failed. */
  get result(): Promise<ExecuteResult> {
    return this.resultPromise;
  }

  /** @internal Connects (with retries of 429/503 refusals) and sends the execute message. */
  async open(): Promise<this> {
    const { signal } = this.opts;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.connectOnce();
        return this;
      } catch (e) {
        const st = e instanceof SoulboxError ? e.status : 0;
        if ((st !== 429 && st !== 503) || attempt >= this.opts.maxRetries) { this.fail(e); throw e; }
        const ra = (e as { retryAfter?: number }).retryAfter;
        await sleep(ra !== undefined ? ra * 1000 : 500 * 2 ** attempt, signal);
      }
    }
  }

  private async connectOnce(): Promise<void> {
    const { ctor, isWs } = await webSocketClass(this.c.webSocket);
    const { signal, timeoutMs } = this.opts;
    if (signal?.aborted) throw signal.reason;
    const sock: Sock = isWs
      ? new ctor(this.c.url, { headers: this.c.headers, handshakeTimeout: timeoutMs > 0 ? timeoutMs : undefined, perMessageDeflate: false })
      : new ctor(this.c.url);
    this.sock = sock;
    this.lastError = undefined;
    const current = (): boolean => this.sock === sock;
    // Before `started`, problems only reject this attempt (open() may retry it); after it,
    // they fail the stream.
    const failure = (err: unknown): void => {
      if (!current()) return;
      if (!this.started) { settle(err); killSock(sock); } else this.fail(err);
    };
    let settled = false;
    let settle!: (err?: unknown) => void;
    const started = new Promise<void>((resolve, reject) => {
      settle = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err); else resolve();
      };
    });
    const timer = setTimeout(() => failure(new TimeoutError(`WebSocket: not started within ${timeoutMs} ms`, { code: 'timeout' })),
      timeoutMs > 0 ? timeoutMs : 2 ** 31 - 1);
    const onAbort = (): void => {
      if (!current()) return;
      settle(signal!.reason);
      this.fail(signal!.reason);
      killSock(sock);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (isWs && sock.on) {
      sock.on('unexpected-response', (_req: unknown, res: import('node:http').IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: unknown = Buffer.concat(chunks).toString('utf8');
          try { body = JSON.parse(body as string); } catch { /* text */ }
          failure(apiError(res.statusCode ?? 0, body, String(res.headers['x-request-id'] ?? ''),
            parseRetryAfter(res.headers['retry-after'])));
        });
        res.on('error', (e) => failure(new ConnectionError(e.message, { code: 'connection_error', cause: e })));
      });
    }
    sock.addEventListener('open', () => {
      if (!isWs && this.c.apiKey) sock.send(JSON.stringify({ type: 'auth', key: this.c.apiKey }));
      sock.send(JSON.stringify(this.message));
    });
    sock.addEventListener('message', (ev: { data: unknown }) => {
      if (!current()) return;
      let msg: StreamEvent | { type: 'authenticated' };
      try { msg = JSON.parse(String(ev.data)); } catch { return; }
      if (msg.type === 'authenticated') return;
      if (msg.type === 'started') {
        this.started = true;
        this.id = msg.id;
        settle();
      } else if (msg.type === 'error') {
        this.lastError = msg.error;
        if (!this.started) {
          // Refused before the program started (bad request, rate limit, queue full...).
          failure(apiError(CODE_STATUS[msg.error?.code] ?? 400, { error: msg.error }, ''));
          return;
        }
      }
      this.push(msg as StreamEvent);
    });
    sock.addEventListener('error', (ev: { message?: string; error?: Error }) => {
      const e = ev.error ?? new Error(ev.message ?? 'WebSocket error');
      failure(new ConnectionError(`WebSocket: ${e.message}`, { code: 'connection_error', cause: e }));
    });
    sock.addEventListener('close', (ev: { code: number; reason?: string }) => {
      signal?.removeEventListener('abort', onAbort);
      if (this.ended || !current()) return;
      let err: unknown;
      if (ev.code >= 4000 && ev.code < 5000) {
        err = apiError(ev.code - 4000, this.lastError ? { error: this.lastError } : ev.reason ?? '', '');
      } else if (this.lastError) {
        err = new SoulboxError(this.lastError.message, { code: this.lastError.code, status: 0 });
      } else {
        err = new ConnectionError(`WebSocket closed (${ev.code}${ev.reason ? ' ' + ev.reason : ''}) before the exit event`,
          { code: 'connection_error' });
      }
      failure(err);
    });
    await started;
  }

  private abortSocket(): void {
    if (this.sock) killSock(this.sock);
  }

  private push(ev: StreamEvent): void {
    const o = this.opts;
    try {
      if (ev.type === 'stdout') o.onStdout?.(ev.data);
      else if (ev.type === 'stderr') o.onStderr?.(ev.data);
      o.onEvent?.(ev);
    } catch (e) { this.fail(e); this.abortSocket(); return; }
    if (ev.type === 'exit') {
      this.ended = true;
      const { type: _t, ...result } = ev;
      this.resolveResult(result as ExecuteResult);
      // The server closes with 1000 right after; do not let a stray socket hold the process.
      const t = setTimeout(() => this.abortSocket(), 2000);
      t.unref?.();
    }
    this.queue.push(ev);
    this.wake();
  }

  private fail(err: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    this.rejectResult(err);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private send(msg: Record<string, unknown>): void {
    const s = this.sock;
    if (!s || s.readyState !== 1) {
      throw new SoulboxError('the stream is not open', { code: 'closed' });
    }
    s.send(JSON.stringify(msg));
  }

  /** Writes `data` to the program's stdin. */
  sendStdin(data: string): void {
    this.send({ type: 'stdin', data });
  }

  /** Closes the program's stdin (it reads end of file). */
  closeStdin(): void {
    this.send({ type: 'stdin_close' });
  }

  /**
   * Sends a signal (`SIGINT`, `INT`, 2, ...; default SIGKILL, which is {@link kill}) to the running
   * program's process group, which may catch it; one sent while it is queued or compiling does
   * nothing. An unknown signal comes back as an `error` event and the program runs on.
   */
  signal(signal: string | number = 'SIGKILL'): void {
    this.send({ type: 'signal', signal: String(signal) });
  }

  /** Kills the program: the result is `runtime_error`, signal 9, "killed on request". */
  kill(): void {
    this.send({ type: 'kill' });
  }

  /**
   * Closes the connection, which kills the program if it still runs; if the `exit` event
   * had not come, the iteration and {@link result} fail with a {@link SoulboxError} of code `closed`.
   */
  close(): void {
    this.fail(new SoulboxError('the stream was closed before its exit event', { code: 'closed' }));
    this.abortSocket();
  }

  /** Waits for the end and returns the final result (same as `await stream.result`). */
  wait(): Promise<ExecuteResult> {
    return this.resultPromise;
  }

  /** Iterates the events, `started` first; the iteration ends after `exit` (or throws if the stream failed). */
  async *[Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    for (;;) {
      if (this.queue.length) {
        const ev = this.queue.shift()!;
        yield ev;
        if (ev.type === 'exit') return;
        continue;
      }
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((r) => { this.waiter = r; });
    }
  }
}
