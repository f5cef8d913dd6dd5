/**
 * The SoulBox client.
 */
import { dedent as dedentCode } from './dedent.js';
import { NotFoundError, TimeoutError } from './errors.js';
import { Functions } from './functions.js';
import { sleep, Transport, type RequestOptions } from './http.js';
import { ROUTES } from './routes.js';
import { Sandbox } from './sandbox.js';
import { Shares } from './shares.js';
import { ExecutionStream, type StreamOptions } from './stream.js';
import type {
  AuditPage, AuditRecord, Cluster, ExecuteRequest, ExecuteResult, Execution, ExecutionPage, Health, Languages, SandboxInfo,
  SandboxOptions, SandboxPage, SubmitRequest, SubmittedExecution, Template,
} from './types.js';

/** Options of the {@link Client} constructor. */
export interface ClientOptions {
  /** The server (same rules as the first argument); the first argument wins. */
  server?: string;
  /** The API key (default: `SOULBOX_API_KEY`), sent as `Authorization: Bearer KEY`. */
  apiKey?: string;
  /** Timeout of each HTTP call in ms (default 300000). Each method also takes its own. */
  timeoutMs?: number;
  /** Retries of 429/503 answers (and of refused/reset connections for GET/DELETE); default 3, 0 turns them off. */
  maxRetries?: number;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /**
   * The WebSocket class for {@link Client.stream} (default: the global `WebSocket` where
   * Node has one, else the `ws` package).
   */
  webSocket?: unknown;
}

/** Options of {@link Client.waitExecution}. */
export interface WaitOptions {
  /** How long to wait in all, ms (default: the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Time between polls, ms (default 200). */
  pollIntervalMs?: number;
  /** Cancels the wait. */
  signal?: AbortSignal;
}

/** Filters and paging of {@link Client.audit}. */
export interface AuditOptions extends RequestOptions {
  /** Records per page, 1-500 (default 100). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string | null;
  /** Only this event (exact), e.g. `execution`, `auth_failure`, `session_created`. */
  event?: string;
  /** Only records of this key (its id, not its secret). */
  key_id?: string;
  /** Only this status (exact), e.g. `ok`, `time_limit_exceeded`. */
  status?: string;
  /**
   * Only records at or after this time: milliseconds since the epoch, an ISO-8601 UTC time
   * (`2026-12-06T04:00:00Z`, optional `.mmm`) or date (`2026-12-06`), or a `Date`.
   */
  since?: number | string | Date;
}

/** Filters of {@link Client.listSandboxes}. */
export interface ListSandboxesOptions extends RequestOptions {
  /** Only sessions whose metadata has every one of these pairs. */
  metadata?: Record<string, string>;
  /** Only these states (`running`, `paused`). */
  state?: string | string[];
  /** Page size (default 100). */
  limit?: number;
  /** `next_offset` of the previous page. */
  offset?: number;
}

function requestBody(req: ExecuteRequest): Record<string, unknown> {
  const { dedent, ...body } = req;
  if (dedent !== false && typeof body.code === 'string') body.code = dedentCode(body.code);
  return body;
}

/**
 * A client for one SoulBox server: `new Client('localhost:8080')`.
 *
 * The server comes from the argument, else `SOULBOX_URL`, else `http://localhost:8080`
 * (`host:port` means `http://host:port`; a path prefix is kept). The API key comes from
 * `options.apiKey`, else `SOULBOX_API_KEY`. Connections are kept alive and reused (one
 * pool per client); call {@link close} to drop them.
 */
export class Client {
  /** @internal */
  readonly transport: Transport;
  /** Serverless functions: deploy, invoke, versions, aliases, logs. */
  readonly functions: Functions;
  /** Share links: a program (and a finished execution's result) under an unguessable id. */
  readonly shares: Shares;
  private readonly webSocket: unknown;

  /** Makes a client; `server` is `host:port` or an `http(s)://` URL. */
  constructor(server?: string | ClientOptions, options: ClientOptions = {}) {
    if (server !== undefined && typeof server === 'object') { options = server; server = undefined; }
    this.transport = new Transport(server ?? options.server, options.apiKey, options.timeoutMs ?? 300_000,
      options.maxRetries ?? 3, options.headers);
    this.webSocket = options.webSocket;
    this.functions = new Functions(this.transport);
    this.shares = new Shares(this.transport);
  }

  /** The server's base URL, e.g. `http://localhost:8080` (with its path prefix, if any). */
  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /**
   * Runs a program and waits for its result (`POST /api/execute`). `code` is dedented
   * unless `dedent: false`. A program that fails is not an error: see `result.status`.
   * With `test_cases`, the result has `test_cases` (per-case verdicts) and `summary`.
   */
  execute(request: ExecuteRequest, options?: RequestOptions): Promise<ExecuteResult> {
    return this.transport.call<ExecuteResult>(ROUTES.execute, { json: requestBody(request), ...options });
  }

  /** Queues a program (`POST /api/executions`); poll it with {@link getExecution} / {@link waitExecution}. */
  submit(request: SubmitRequest, options?: RequestOptions): Promise<SubmittedExecution> {
    return this.transport.call<SubmittedExecution>(ROUTES.submit, { json: requestBody(request), ...options });
  }

  /** One execution: queued, running, or its final result. */
  getExecution(id: string, options?: RequestOptions): Promise<Execution> {
    return this.transport.call<Execution>(ROUTES.getExecution, { params: { id }, ...options });
  }

  /** Polls an execution until it is neither `queued` nor `running`; throws {@link TimeoutError} past `timeoutMs`. */
  async waitExecution(id: string, options: WaitOptions = {}): Promise<Execution> {
    const timeoutMs = options.timeoutMs ?? this.transport.timeoutMs;
    const poll = options.pollIntervalMs ?? 200;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Each poll is an ordinary call (the client's timeout); the last one comes at the deadline.
      const ex = await this.getExecution(id, { signal: options.signal });
      if (ex.status !== 'queued' && ex.status !== 'running') return ex;
      const rest = deadline - Date.now();
      if (rest <= 0) {
        throw new TimeoutError(`execution ${id} still ${ex.status} after ${timeoutMs} ms`, { code: 'timeout' });
      }
      await sleep(Math.min(poll, rest), options.signal);
    }
  }

  /** A page of executions, newest first. */
  async listExecutions(options: { limit?: number; cursor?: string | null } & RequestOptions = {}): Promise<ExecutionPage> {
    const { limit, cursor, ...o } = options;
    const r = await this.transport.call<{ executions: Execution[]; next_cursor: string | null }>(ROUTES.listExecutions, {
      query: { limit, cursor: cursor ?? undefined }, ...o,
    });
    return { items: r.executions, next_cursor: r.next_cursor ?? null };
  }

  /** Every execution, newest first, fetching pages of `limit` as needed. */
  async *iterExecutions(options: { limit?: number } & RequestOptions = {}): AsyncGenerator<Execution> {
    let cursor: string | null = null;
    do {
      const page: ExecutionPage = await this.listExecutions({ ...options, cursor });
      yield* page.items;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /**
   * Starts an interactive execution over the WebSocket `/api/ws` and resolves once it has
   * started. Iterate the returned {@link ExecutionStream} for `stdout`/`stderr` events;
   * `exit` ends the iteration. `test_cases` are not allowed here.
   */
  stream(request: ExecuteRequest, options: StreamOptions = {}): Promise<ExecutionStream> {
    const u = new URL(this.transport.url.href);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.pathname = this.transport.prefix + ROUTES.ws.path;
    const s = new ExecutionStream(
      { url: u.href, headers: this.transport.authHeaders(), apiKey: this.transport.apiKey, webSocket: this.webSocket },
      { type: 'execute', ...requestBody(request) },
      { ...options, timeoutMs: options.timeoutMs ?? this.transport.timeoutMs, maxRetries: options.maxRetries ?? this.transport.maxRetries },
    );
    return s.open();
  }

  /** The languages this server runs, with their versions. */
  languages(options?: RequestOptions): Promise<Languages> {
    return this.transport.call<Languages>(ROUTES.languages, options);
  }

  /** Liveness and load (`GET /health`). */
  health(options?: RequestOptions): Promise<Health> {
    return this.transport.call<Health>(ROUTES.health, options);
  }

  /**
   * The nodes sharing this server's store (`GET /api/cluster`). On SQLite the server alone
   * (`store: 'sqlite'`, one node with `self: true`); in cluster mode (PostgreSQL) every node
   * registered, as the server saw it at its last heartbeat.
   */
  cluster(options?: RequestOptions): Promise<Cluster> {
    return this.transport.call<Cluster>(ROUTES.cluster, options);
  }

  /** The Prometheus metrics, as text. */
  metrics(options?: RequestOptions): Promise<string> {
    return this.transport.call<string>(ROUTES.metrics, { accept: 'text/plain', expect: 'text', ...options });
  }

  /** The session templates this server offers. */
  async templates(options?: RequestOptions): Promise<Template[]> {
    const r = await this.transport.call<{ templates: Template[] }>(ROUTES.templates, options);
    return r.templates;
  }

  /**
   * A page of the audit log, newest first (`GET /api/audit`): every execution, security
   * event, refusal, session, function change and share the server recorded. With auth on
   * only an admin key may read it: another gets {@link PermissionDeniedError} (403
   * `permission_denied`); bad parameters are {@link InvalidRequestError}.
   */
  async audit(options: AuditOptions = {}): Promise<AuditPage> {
    const { limit, cursor, event, key_id, status, since, ...o } = options;
    const r = await this.transport.call<AuditPage>(ROUTES.audit, {
      query: { limit, cursor: cursor ?? undefined, event, key_id, status, since: since instanceof Date ? since.getTime() : since },
      ...o,
    });
    return { records: r.records, next_cursor: r.next_cursor ?? null };
  }

  /** Every audit record matching the filters, newest first, fetching pages of `limit` as needed. */
  async *iterAudit(options: Omit<AuditOptions, 'cursor'> = {}): AsyncGenerator<AuditRecord> {
    let cursor: string | null = null;
    do {
      const page: AuditPage = await this.audit({ ...options, cursor });
      yield* page.records;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /** Creates a session and resolves once it is running. */
  async createSandbox(options: SandboxOptions = {}, request?: RequestOptions): Promise<Sandbox> {
    const info = await this.transport.call<SandboxInfo>(ROUTES.createSandbox, { json: options, ...request });
    return new Sandbox(this.transport, info);
  }

  /** An existing session by id ({@link NotFoundError} if it is unknown, ended or another key's). */
  async getSandbox(id: string, options?: RequestOptions): Promise<Sandbox> {
    const info = await this.transport.call<SandboxInfo>(ROUTES.getSandbox, { params: { id }, ...options });
    return new Sandbox(this.transport, info);
  }

  /** The caller's live sessions, oldest first. */
  listSandboxes(options: ListSandboxesOptions = {}): Promise<SandboxPage> {
    const { metadata, state, limit, offset, ...o } = options;
    const md = metadata ? Object.entries(metadata).map(([k, v]) => `${k}=${v}`).join('&') : undefined;
    return this.transport.call<SandboxPage>(ROUTES.listSandboxes, {
      query: { metadata: md, state: Array.isArray(state) ? state.join(',') : state, limit, offset }, ...o,
    });
  }

  /** Creates a session, runs `fn` with it, and kills it afterwards (whatever `fn` did). */
  async withSandbox<T>(options: SandboxOptions, fn: (sandbox: Sandbox) => Promise<T>): Promise<T> {
    const sbx = await this.createSandbox(options);
    try {
      return await fn(sbx);
    } finally {
      try { await sbx.kill(); } catch (e) { if (!(e instanceof NotFoundError)) throw e; }
    }
  }

  /** Closes the kept-alive connections (the client stays usable: new ones are made). */
  close(): void {
    this.transport.close();
  }
}
