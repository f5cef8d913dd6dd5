/**
 * Serverless functions: deploy versions, invoke them over HTTP or asynchronously, roll
 * back, alias, read their logs.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { dedent as dedentCode } from './dedent.js';
import { TimeoutError } from './errors.js';
import { sleep, type RequestOptions, type Transport } from './http.js';
import { ROUTES, type Route } from './routes.js';
import type { FileInput, Isolation, Limits, NetworkRequest } from './types.js';

/** A secret environment value: sent once, never shown again (a version's `env` lists it as `{ secret: true }`). */
export interface SecretValue {
  /** The value. */
  value: string;
  /** Always `true`. */
  secret: true;
}

/**
 * A secret environment value for {@link DeployRequest.env}:
 * `env: { TOKEN: secret(process.env.TOKEN!) }` sends `{ value, secret: true }`.
 */
export function secret(value: string): SecretValue {
  return { value, secret: true };
}

/** The body of `POST /api/functions` (plus `dedent`): a new version of a function. */
export interface DeployRequest {
  /** 1-63 characters of a-z, 0-9, `-` and `_`; a new name makes the function. */
  name: string;
  /** `python` or `javascript` for a handler; any language in stdio mode. */
  language: string;
  /** The entry file's source (exactly one of `code` and `files`); dedented unless `dedent: false`. */
  code?: string;
  /** Source files instead of `code`; never changed. */
  files?: FileInput[];
  /**
   * `module.function` (default `main.handler` / `index.handler` when the code defines
   * `handler`); `''` for stdio mode (the event on stdin, stdout the body).
   */
  handler?: string;
  /** Environment: plain strings, or {@link secret} values. */
  env?: Record<string, string | SecretValue>;
  /** Resource limits, but the wall time, which is `timeout_ms`. */
  limits?: Omit<Limits, 'wall_time_ms'>;
  /** Egress policy. */
  network?: NetworkRequest;
  /** `namespaces` or `microvm`. */
  isolation?: Isolation;
  /** Keep warm instances between invocations (default: a fresh sandbox per invocation). */
  reuse?: boolean;
  /** Warm instances kept even when idle (with `reuse`). */
  min_instances?: number;
  /** At most this many instances at once. */
  max_instances?: number;
  /** Invocations one instance serves at once (with `reuse`). */
  concurrency?: number;
  /** An invocation's time limit in ms. */
  timeout_ms?: number;
  /** An idle instance above `min_instances` ends after this many ms. */
  idle_timeout_ms?: number;
  /** Cron expression(s) invoking the function on their own. */
  schedule?: string | string[];
  /** Anyone may invoke it over `/fn/...` without a key. */
  public?: boolean;
  /** Your description. */
  description?: string;
  /** `false` sends `code` exactly as given (default: remove the common indentation). */
  dedent?: boolean;
}

/** One deployed version of a function. */
export interface FunctionVersion {
  /** The function's name. */
  name: string;
  /** This version's number (1, 2, ...). */
  version: number;
  /** The function's active version (when the answer says). */
  active_version?: number;
  /** When it was deployed (RFC 3339). */
  created_at: string;
  /** The key that deployed it. */
  created_by: string;
  /** Its language. */
  language: string;
  /** `handler` (`handler(event, context)`) or `stdio` (event on stdin, stdout the body). */
  mode: 'handler' | 'stdio';
  /** `module.function`, `null` in stdio mode. */
  handler: string | null;
  /** Warm instances are kept between invocations. */
  reuse: boolean;
  /** Invocable without a key. */
  public: boolean;
  /** Warm instances kept when idle. */
  min_instances: number;
  /** Instances at most. */
  max_instances: number;
  /** Invocations per instance at once. */
  concurrency: number;
  /** An invocation's time limit, ms. */
  timeout_ms: number;
  /** Idle time before an instance ends, ms. */
  idle_timeout_ms: number;
  /** Its resource limits. */
  limits: Record<string, number>;
  /** Its environment; secrets are `{ secret: true }`. */
  env: Record<string, string | { secret: true }>;
  /** Its files' names. */
  files: string[];
  /** Its cron expressions. */
  schedule: string[];
  /** Its egress policy, `null` for none. */
  network: unknown;
  /** `namespaces` or `microvm`. */
  isolation: Isolation;
  /** SHA-256 of its code. */
  code_sha256: string;
  /** Your description, or `null`. */
  description: string | null;
}

/** A function's load now. */
export interface FunctionInstances {
  /** Warm instances. */
  running: number;
  /** Invocations running. */
  invocations_running: number;
  /** Invocations waiting for an instance. */
  invocations_queued: number;
}

/** A function as `list` shows it. */
export interface FunctionSummary {
  /** Its name. */
  name: string;
  /** When its first version was deployed. */
  created_at: string;
  /** When it last changed. */
  updated_at: string;
  /** The version `/fn/{name}` runs. */
  active_version: number;
  /** The newest version. */
  latest_version: number;
  /** Aliases: name to version. */
  aliases: Record<string, number>;
  /** How many versions are kept. */
  versions: number;
  /** Its load now. */
  instances: FunctionInstances;
}

/** A function with its active version's details (`get`, `setAlias`, `deleteAlias`). */
export interface FunctionInfo extends FunctionSummary {
  /** The active version. */
  active: FunctionVersion;
}

/** The answer of {@link Functions.invokeAsync}: the invocation's id. */
export interface InvocationHandle {
  /** The invocation's id (for {@link Functions.invocation} and {@link Functions.wait}). */
  id: string;
  /** The function's name. */
  function: string;
  /** The version that runs it. */
  version: number;
  /** `running`. */
  state: string;
}

/**
 * The HTTP answer an asynchronous invocation made (in {@link Invocation.response}, from
 * `invocation`, `wait` and `logs`, and in the callback's payload).
 */
export interface InvocationResponse {
  /** Its status. */
  status: number;
  /** Its `Content-Type`, or `null`. */
  content_type: string | null;
  /** The function's own headers: lower-case names to values (`Content-Type` is `content_type`). */
  headers: Record<string, string>;
  /** Its body: text, or base64 when `is_base64`; `''` when `body_dropped`. */
  body: string;
  /** `true` when the server did not keep the body (a node keeps at most 256 MiB of asynchronous answers' bodies): `body` is `''`. */
  body_dropped?: boolean;
  /** Whether `body` is base64. */
  is_base64: boolean;
}

/** One invocation of a function (`logs`, `invocation`, `wait`). */
export interface Invocation {
  /** Its id. */
  id: string;
  /** The request id (`X-Request-Id` of the answer). */
  request_id: string;
  /** The version that ran it. */
  version: number;
  /** When it started (RFC 3339). */
  started_at: string;
  /** `running` or `done`. */
  state: 'running' | 'done';
  /** A new sandbox was made for it. */
  cold: boolean;
  /** Made by {@link Functions.invokeAsync}. */
  async: boolean;
  /** The run's status (`ok`, `runtime_error`, `time_limit_exceeded`, ...) once done. */
  status: string | null;
  /** Its error message, if it failed. */
  error: string | null;
  /** What the handler printed. */
  logs: string | null;
  /** How long it took, ms. */
  duration_ms: number | null;
  /** The answer's status. */
  http_status: number | null;
  /** The answer itself: only for an asynchronous invocation that is done. */
  response?: InvocationResponse;
}

/** Why a function failed: its 502 (`function_error`) or 504 (`function_timeout`) answer's body. */
export interface FunctionErrorInfo {
  /** `function_error` or `function_timeout`. */
  code: 'function_error' | 'function_timeout';
  /** The message (`ValueError: ...`). */
  message: string;
  /** The run's status (`runtime_error`, `time_limit_exceeded`, ...). */
  status?: string;
  /** The exception's type, when the handler threw. */
  type?: string;
  /** Its stack trace. */
  stack?: string;
  /** The invocation's request id. */
  request_id?: string;
}

/** Options of {@link Functions.invoke}. */
export interface InvokeOptions extends RequestOptions {
  /** `GET`, `POST` (default), `PUT`, `PATCH` or `DELETE`. */
  method?: string;
  /** The path the function sees (default `/`); percent-encoded by the SDK. */
  path?: string;
  /** The query: an object (array values repeat the name), pairs, `URLSearchParams` or a string. */
  query?: Record<string, string | number | boolean | Array<string | number | boolean>> | Array<[string, string]> | URLSearchParams | string;
  /** Request headers for the function. */
  headers?: Record<string, string>;
  /** A version number or an alias (default: the active version). */
  version?: number | string;
}

/** Options of {@link Functions.invokeAsync}. */
export interface InvokeAsyncOptions extends RequestOptions {
  /** A version number or an alias (default: the active version). */
  version?: number | string;
  /** `http://` URL the ended invocation is POSTed to. */
  callback_url?: string;
}

/** Options of {@link Functions.wait}. */
export interface WaitInvocationOptions {
  /** How long to wait in all, ms (default: the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Time between polls, ms (default 200). */
  pollIntervalMs?: number;
  /** Cancels the wait. */
  signal?: AbortSignal;
}

/** Parses the error of a 502/504 function answer; `undefined` for any other answer. */
function parseFunctionError(status: number, body: Buffer): FunctionErrorInfo | undefined {
  if (status !== 502 && status !== 504) return undefined;
  try {
    const d = JSON.parse(body.toString('utf8')) as { error?: Record<string, unknown>; request_id?: string } | null;
    const e = d?.error;
    if (!e || (e.code !== 'function_error' && e.code !== 'function_timeout')) return undefined;
    return { ...(e as unknown as FunctionErrorInfo), request_id: d?.request_id };
  } catch {
    return undefined;
  }
}

/**
 * A function's HTTP answer to {@link Functions.invoke}, as it is: its status, headers and
 * body, whatever the status (a 404 it chose, its 502 failure with {@link FunctionResponse.error}).
 */
export class FunctionResponse {
  /** The HTTP status. */
  readonly status: number;
  /** The headers (lower-case names; repeated ones joined with `, `). */
  readonly headers: Record<string, string>;
  /** The body's bytes. */
  readonly body: Buffer;

  /** Builds a response; normally {@link Functions.invoke} does this. */
  constructor(status: number, headers: Record<string, string>, body: Buffer) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  /** `true` for a 2xx status. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** The body decoded as UTF-8. */
  get text(): string {
    return this.body.toString('utf8');
  }

  /** The invocation's request id (`X-Request-Id`), also in the function's logs. */
  get requestId(): string {
    return this.headers['x-request-id'] ?? '';
  }

  /** The function's failure (502 `function_error`, 504 `function_timeout`), else `undefined`. */
  get error(): FunctionErrorInfo | undefined {
    return parseFunctionError(this.status, this.body);
  }

  /** The body decoded as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text) as T;
  }
}

/** An {@link InvocationResponse}'s body as bytes. */
export function invocationBody(r: InvocationResponse): Buffer {
  return r.is_base64 ? Buffer.from(r.body, 'base64') : Buffer.from(r.body, 'utf8');
}

/**
 * An {@link InvocationResponse} as a {@link FunctionResponse}: its `headers` with
 * `content-type` added, its body decoded (empty when `body_dropped`).
 */
export function invocationResponse(r: InvocationResponse): FunctionResponse {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) h[k.toLowerCase()] = String(v);
  if (r.content_type) h['content-type'] = r.content_type;
  return new FunctionResponse(r.status, h, invocationBody(r));
}

const INVOKE: Record<string, [Route, Route]> = {
  GET: [ROUTES.invokeGet, ROUTES.invokeGetPath],
  POST: [ROUTES.invokePost, ROUTES.invokePostPath],
  PUT: [ROUTES.invokePut, ROUTES.invokePutPath],
  PATCH: [ROUTES.invokePatch, ROUTES.invokePatchPath],
  DELETE: [ROUTES.invokeDelete, ROUTES.invokeDeletePath],
};

function queryString(q: InvokeOptions['query']): string {
  if (q === undefined) return '';
  if (typeof q === 'string') return q.replace(/^\?/, '');
  if (q instanceof URLSearchParams) return q.toString();
  const u = new URLSearchParams();
  if (Array.isArray(q)) for (const [k, v] of q) u.append(k, v);
  else {
    for (const [k, v] of Object.entries(q)) {
      for (const x of Array.isArray(v) ? v : [v]) if (x !== undefined && x !== null) u.append(k, String(x));
    }
  }
  return u.toString();
}

function headerMap(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/**
 * Serverless functions (`client.functions`): deploy a version, invoke it over plain HTTP
 * (the request becomes the function's event, its answer is returned as it is) or
 * asynchronously, roll back, alias, read the logs.
 */
export class Functions {
  /** @internal */
  constructor(private readonly t: Transport) {}

  /** Deploys a new version of a function (`POST /api/functions`); it becomes the active one. */
  deploy(request: DeployRequest, options?: RequestOptions): Promise<FunctionVersion> {
    const { dedent, ...body } = request;
    if (dedent !== false && typeof body.code === 'string') body.code = dedentCode(body.code);
    return this.t.call<FunctionVersion>(ROUTES.deployFunction, { json: body, ...options });
  }

  /** The caller's functions (without `active`). */
  async list(options?: RequestOptions): Promise<FunctionSummary[]> {
    const r = await this.t.call<{ functions: FunctionSummary[] }>(ROUTES.listFunctions, options);
    return r.functions;
  }

  /** One function with its active version ({@link NotFoundError} if unknown). */
  get(name: string, options?: RequestOptions): Promise<FunctionInfo> {
    return this.t.call<FunctionInfo>(ROUTES.getFunction, { params: { name }, ...options });
  }

  /** Deletes a function with all its versions. */
  async delete(name: string, options?: RequestOptions): Promise<void> {
    await this.t.call(ROUTES.deleteFunction, { params: { name }, expect: 'none', ...options });
  }

  /** Every version kept, newest first (each with `name` and `active_version`). */
  async versions(name: string, options?: RequestOptions): Promise<FunctionVersion[]> {
    const r = await this.t.call<{ name: string; active_version: number; versions: FunctionVersion[] }>(
      ROUTES.functionVersions, { params: { name }, ...options });
    return r.versions.map((v) => Object.assign({ name: r.name, active_version: r.active_version }, v));
  }

  /** Makes `version` (default: the one before the active one) the active version. */
  rollback(name: string, version?: number, options?: RequestOptions): Promise<FunctionVersion> {
    return this.t.call<FunctionVersion>(ROUTES.rollbackFunction, {
      params: { name }, json: version === undefined ? {} : { version }, ...options,
    });
  }

  /** Points `alias` at `version` (made or moved); invoke it with `version: alias`. */
  setAlias(name: string, alias: string, version: number, options?: RequestOptions): Promise<FunctionInfo> {
    return this.t.call<FunctionInfo>(ROUTES.setFunctionAlias, { params: { name, alias }, json: { version }, ...options });
  }

  /** Removes an alias (the version stays). */
  deleteAlias(name: string, alias: string, options?: RequestOptions): Promise<FunctionInfo> {
    return this.t.call<FunctionInfo>(ROUTES.deleteFunctionAlias, { params: { name, alias }, ...options });
  }

  /** The function's last invocations, newest first (`limit` 1-1000, default 20). */
  async logs(name: string, options: { limit?: number } & RequestOptions = {}): Promise<Invocation[]> {
    const { limit, ...o } = options;
    const r = await this.t.call<{ invocations: Invocation[] }>(ROUTES.functionLogs, {
      params: { name }, query: { limit }, ...o,
    });
    return r.invocations;
  }

  /**
   * Invokes a function over HTTP (`/fn/{name}[@version][/path]`) and resolves to its
   * answer. The request (`method`, `path`, `query`, `headers`, `body`) becomes the
   * function's event; `body` is bytes (`Buffer`/`Uint8Array`, sent as they are), a string
   * (UTF-8) or anything else as JSON.
   *
   * The function's answer is returned as it is, whatever its status: a 404 it chose is a
   * {@link FunctionResponse} with status 404, and its failure a 502 (504: its timeout)
   * whose parsed body is {@link FunctionResponse.error}. Only SoulBox's own refusals
   * reject, with the usual errors: {@link NotFoundError} (no such function, version or
   * alias), {@link AuthenticationError}, {@link RateLimitError} / {@link UnavailableError}
   * (after the retries; a function's own 429/503 is never retried)... An answer with
   * `X-SoulBox-Function-Status` is the function's; without it, SoulBox's error body
   * (`{"error": {"code", "message"}}` with one of its codes) is a refusal.
   */
  async invoke(name: string, body?: unknown, options: InvokeOptions = {}): Promise<FunctionResponse> {
    const { method = 'POST', path = '/', query, headers, version, ...o } = options;
    const pair = INVOKE[method.toUpperCase()];
    if (!pair) {
      throw new RangeError(`method must be GET, POST, PUT, PATCH or DELETE, not ${method}`);
    }
    const sub = path.replace(/^\//, '');
    let target = encodeURIComponent(name);
    if (version !== undefined) target += '@' + encodeURIComponent(String(version));
    const h: Record<string, string> = { accept: '*/*' };
    let data: Buffer | string | undefined;
    if (body === undefined || body === null) data = undefined;
    else if (body instanceof Uint8Array) { data = Buffer.from(body.buffer, body.byteOffset, body.byteLength); h['content-type'] = 'application/octet-stream'; }
    else if (typeof body === 'string') { data = body; h['content-type'] = 'text/plain; charset=utf-8'; }
    else { data = JSON.stringify(body); h['content-type'] = 'application/json'; }
    if (headers) for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v;
    const a = await this.t.answer(sub ? pair[1] : pair[0], {
      params: { name: target, path: sub.split('/').map(encodeURIComponent).join('/') }, rawParams: true,
      rawQuery: queryString(query), body: data, headers: h, accept: h.accept, expect: 'bytes', passthrough: true, ...o,
    });
    return new FunctionResponse(a.status, headerMap(a.headers), a.value as Buffer);
  }

  /**
   * Starts an invocation with `event` (a JSON object, default `{}`) as the handler's event
   * and resolves at once; follow it with {@link invocation} or {@link wait}.
   */
  invokeAsync(name: string, event?: Record<string, unknown>, options: InvokeAsyncOptions = {}): Promise<InvocationHandle> {
    const { version, callback_url, ...o } = options;
    const body: Record<string, unknown> = {};
    if (event !== undefined) body.event = event;
    if (version !== undefined) body.version = version;
    if (callback_url !== undefined) body.callback_url = callback_url;
    return this.t.call<InvocationHandle>(ROUTES.invokeFunctionAsync, { params: { name }, json: body, ...o });
  }

  /** One invocation: running, or done (an asynchronous one with its `response`). */
  invocation(name: string, id: string, options?: RequestOptions): Promise<Invocation> {
    return this.t.call<Invocation>(ROUTES.getInvocation, { params: { name, id }, ...options });
  }

  /** Polls an invocation until it is done; throws {@link TimeoutError} past `timeoutMs`. */
  async wait(name: string, id: string, options: WaitInvocationOptions = {}): Promise<Invocation> {
    const timeoutMs = options.timeoutMs ?? this.t.timeoutMs;
    const poll = options.pollIntervalMs ?? 200;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const inv = await this.invocation(name, id, { signal: options.signal });
      if (inv.state === 'done') return inv;
      const rest = deadline - Date.now();
      if (rest <= 0) {
        throw new TimeoutError(`invocation ${id} still ${inv.state} after ${timeoutMs} ms`, { code: 'timeout' });
      }
      await sleep(Math.min(poll, rest), options.signal);
    }
  }
}
