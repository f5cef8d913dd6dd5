/**
 * Sessions: long-lived sandboxes with commands, files and code contexts.
 */
import type { IncomingMessage } from 'node:http';
import { dedent as dedentCode } from './dedent.js';
import { NotFoundError, SoulboxError } from './errors.js';
import type { RequestOptions, Transport } from './http.js';
import { ROUTES } from './routes.js';
import { ndjson, sseEvents } from './sse.js';
import type {
  CellEvent, CommandEvent, CommandInfo, Context, FileEntry, SandboxInfo, WatchEvent,
} from './types.js';

/** Fields of a command request (`CommandRequest` in the spec, except `cmd`/`argv`/`background`). */
export interface CommandOptions {
  /** Working directory (default /home/user). */
  cwd?: string;
  /** This command's extra variables. */
  env?: Record<string, string>;
  /** Written to stdin first; then stdin closes unless `stdin_open`. */
  stdin?: string;
  /** Bytes written to stdin first (sent as `stdin_base64`). */
  stdin_bytes?: Uint8Array;
  /** Keep stdin open for {@link CommandHandle.sendStdin}. */
  stdin_open?: boolean;
  /** The command's wall-clock limit in ms (0: none). Not the HTTP timeout (`timeoutMs`). */
  timeout_ms?: number;
  /** Run on a pseudo-terminal. */
  pty?: boolean;
  /** Terminal rows. */
  rows?: number;
  /** Terminal columns. */
  cols?: number;
  /** Your label. */
  tag?: string;
  /** `user` or `root` (accepted for E2B compatibility; commands always run as `user`). */
  user?: 'user' | 'root';
}

/** Options of {@link Commands.run}. */
export interface RunOptions extends CommandOptions, RequestOptions {
  /** Start it in the background and return a {@link CommandHandle} at once. */
  background?: boolean;
  /** Called with stdout as it comes (uses the streaming form). */
  onStdout?: (data: string) => void;
  /** Called with stderr as it comes (uses the streaming form). */
  onStderr?: (data: string) => void;
}

/** A finished command with all its output. */
export interface CommandResult extends CommandInfo {
  /** All its stdout. */
  stdout: string;
  /** All its stderr. */
  stderr: string;
}

function commandBody(cmd: string | string[], o: CommandOptions & { background?: boolean }): Record<string, unknown> {
  const body: Record<string, unknown> = Array.isArray(cmd) ? { argv: cmd } : { cmd };
  if (o.cwd !== undefined) body.cwd = o.cwd;
  if (o.env !== undefined) body.env = o.env;
  if (o.stdin !== undefined) body.stdin = o.stdin;
  if (o.stdin_bytes !== undefined) body.stdin_base64 = Buffer.from(o.stdin_bytes).toString('base64');
  if (o.stdin_open !== undefined) body.stdin_open = o.stdin_open;
  if (o.timeout_ms !== undefined) body.timeout_ms = o.timeout_ms;
  if (o.pty !== undefined) body.pty = o.pty;
  if (o.rows !== undefined) body.rows = o.rows;
  if (o.cols !== undefined) body.cols = o.cols;
  if (o.tag !== undefined) body.tag = o.tag;
  if (o.user !== undefined) body.user = o.user;
  if (o.background) body.background = true;
  return body;
}

async function* commandEvents(res: IncomingMessage, signal?: AbortSignal): AsyncGenerator<CommandEvent> {
  for await (const ev of sseEvents(res, signal)) {
    const d = ev.data as Record<string, unknown>;
    if (ev.event === 'start') yield { type: 'start', pid: d.pid as number };
    else if (ev.event === 'stdout' || ev.event === 'stderr') yield { type: ev.event, data: String(d.data ?? '') };
    else if (ev.event === 'exit') yield { type: 'exit', command: d as unknown as CommandInfo };
  }
}

/** A command running (or run) in a session: wait for it, follow its output, talk to it. */
export class CommandHandle implements AsyncIterable<CommandEvent> {
  /** The session's own number for it. */
  readonly pid: number;
  /** Its state when last seen. */
  info: CommandInfo;

  /** @internal */
  constructor(private readonly cmds: Commands, info: CommandInfo) {
    this.pid = info.pid;
    this.info = info;
  }

  /** Waits until it ends; returns it with all its output. */
  async wait(opts: RequestOptions = {}): Promise<CommandResult> {
    const r = await this.cmds.get(this.pid, { ...opts, wait: true });
    this.info = r;
    return r as CommandResult;
  }

  /** Its state now, with its output so far. */
  async refresh(opts: RequestOptions = {}): Promise<CommandInfo> {
    this.info = await this.cmds.get(this.pid, opts);
    return this.info;
  }

  /** Reattaches: every output event so far, then the live ones, then `exit`. */
  events(opts: { signal?: AbortSignal } = {}): AsyncGenerator<CommandEvent> {
    return this.cmds.connect(this.pid, opts);
  }

  /** Same as {@link events}. */
  [Symbol.asyncIterator](): AsyncIterator<CommandEvent> {
    return this.events();
  }

  /** Writes to its stdin (it must have been started with `stdin_open` or `pty`). */
  sendStdin(data: string | Uint8Array, opts: { close?: boolean } & RequestOptions = {}): Promise<void> {
    return this.cmds.sendStdin(this.pid, data, opts);
  }

  /** Closes its stdin. */
  closeStdin(opts: RequestOptions = {}): Promise<void> {
    return this.cmds.closeStdin(this.pid, opts);
  }

  /** Sends a signal (`SIGTERM`, `INT`, 15, ...; default SIGKILL, which kills its whole tree). */
  signal(signal?: string | number, opts: RequestOptions = {}): Promise<void> {
    return this.cmds.signal(this.pid, signal, opts);
  }

  /** Kills it (SIGKILL): status `killed`. */
  kill(opts: RequestOptions = {}): Promise<void> {
    return this.cmds.signal(this.pid, 'SIGKILL', opts);
  }

  /** Resizes its terminal (`pty` commands). */
  resize(rows: number, cols: number, opts: RequestOptions = {}): Promise<void> {
    return this.cmds.resize(this.pid, rows, cols, opts);
  }
}

/** A session's commands: `sandbox.commands`. */
export class Commands {
  /** @internal */
  constructor(private readonly t: Transport, private readonly id: string) {}

  /**
   * Runs a command: a shell line (`string`, run by `/bin/bash -c`) or an argv (`string[]`).
   * Foreground (default): resolves when it ends, with its output; with `onStdout`/`onStderr`
   * it streams (SSE) and calls them as output comes. `background: true`: resolves at once
   * with a {@link CommandHandle}.
   */
  run(cmd: string | string[], opts: RunOptions & { background: true }): Promise<CommandHandle>;
  run(cmd: string | string[], opts?: RunOptions & { background?: false }): Promise<CommandResult>;
  async run(cmd: string | string[], opts: RunOptions = {}): Promise<CommandResult | CommandHandle> {
    const body = commandBody(cmd, opts);
    if (opts.background) {
      const info = await this.t.call<CommandInfo>(ROUTES.runCommand, { params: { id: this.id }, json: body, ...reqOpts(opts) });
      return new CommandHandle(this, info);
    }
    if (!opts.onStdout && !opts.onStderr) {
      return this.t.call<CommandResult>(ROUTES.runCommand, { params: { id: this.id }, json: body, ...reqOpts(opts) });
    }
    let out = '';
    let err = '';
    let result: CommandResult | undefined;
    for await (const ev of this.streamBody(body, opts)) {
      if (ev.type === 'stdout') { out += ev.data; opts.onStdout?.(ev.data); }
      else if (ev.type === 'stderr') { err += ev.data; opts.onStderr?.(ev.data); }
      else if (ev.type === 'exit') result = { ...ev.command, stdout: out, stderr: err };
    }
    if (result) return result;
    throw new SoulboxError('the command stream ended without its exit event', { code: 'connection_error' });
  }

  /** Runs a command in the foreground and yields its events as they come (`start`, `stdout`/`stderr`, `exit`). */
  stream(cmd: string | string[], opts: CommandOptions & RequestOptions = {}): AsyncGenerator<CommandEvent> {
    return this.streamBody(commandBody(cmd, opts), opts);
  }

  private async *streamBody(body: Record<string, unknown>, opts: RequestOptions): AsyncGenerator<CommandEvent> {
    const res = await this.t.call<IncomingMessage>(ROUTES.runCommand, {
      params: { id: this.id }, json: body, accept: 'text/event-stream', expect: 'stream', ...reqOpts(opts),
    });
    yield* commandEvents(res, opts.signal);
  }

  /** The session's commands, running and finished, without their output. */
  async list(opts: RequestOptions = {}): Promise<CommandInfo[]> {
    const r = await this.t.call<{ commands: CommandInfo[] }>(ROUTES.listCommands, { params: { id: this.id }, ...opts });
    return r.commands;
  }

  /** One command with its output so far (`wait: true`: once it has ended). */
  get(pid: number, opts: RequestOptions & { wait?: boolean } = {}): Promise<CommandInfo> {
    return this.t.call<CommandInfo>(ROUTES.getCommand, {
      params: { id: this.id, pid }, query: opts.wait ? { wait: 'true' } : undefined, ...reqOpts(opts),
    });
  }

  /** A handle on an existing command. */
  async handle(pid: number, opts: RequestOptions = {}): Promise<CommandHandle> {
    return new CommandHandle(this, await this.get(pid, opts));
  }

  /** Reattaches to a command (SSE): its output so far, then live output, then `exit`. */
  async *connect(pid: number, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): AsyncGenerator<CommandEvent> {
    const res = await this.t.call<IncomingMessage>(ROUTES.getCommand, {
      params: { id: this.id, pid }, accept: 'text/event-stream', expect: 'stream', ...reqOpts(opts),
    });
    yield* commandEvents(res, opts.signal);
  }

  /** Writes text or bytes to a command's stdin; `close: true` closes it afterwards. */
  async sendStdin(pid: number, data: string | Uint8Array, opts: { close?: boolean } & RequestOptions = {}): Promise<void> {
    const body: Record<string, unknown> = typeof data === 'string' ? { data } : { data_base64: Buffer.from(data).toString('base64') };
    if (opts.close) body.close = true;
    await this.t.call(ROUTES.commandStdin, { params: { id: this.id, pid }, json: body, expect: 'none', ...reqOpts(opts) });
  }

  /** Closes a command's stdin. */
  async closeStdin(pid: number, opts: RequestOptions = {}): Promise<void> {
    await this.t.call(ROUTES.commandStdin, { params: { id: this.id, pid }, json: { close: true }, expect: 'none', ...reqOpts(opts) });
  }

  /** Signals a command (default SIGKILL). */
  async signal(pid: number, signal?: string | number, opts: RequestOptions = {}): Promise<void> {
    await this.t.call(ROUTES.commandSignal, {
      params: { id: this.id, pid }, json: signal === undefined ? {} : { signal }, expect: 'none', ...reqOpts(opts),
    });
  }

  /** Kills a command (SIGKILL). */
  kill(pid: number, opts: RequestOptions = {}): Promise<void> {
    return this.signal(pid, 'SIGKILL', opts);
  }

  /** Resizes a command's terminal. */
  async resize(pid: number, rows: number, cols: number, opts: RequestOptions = {}): Promise<void> {
    await this.t.call(ROUTES.commandSignal, { params: { id: this.id, pid }, json: { rows, cols }, expect: 'none', ...reqOpts(opts) });
  }
}

function reqOpts(o: RequestOptions): RequestOptions {
  const r: RequestOptions = {};
  if (o.timeoutMs !== undefined) r.timeoutMs = o.timeoutMs;
  if (o.signal !== undefined) r.signal = o.signal;
  if (o.maxRetries !== undefined) r.maxRetries = o.maxRetries;
  return r;
}

/** A file to upload with {@link Files.writeFiles}. */
export interface WriteEntry {
  /** Its path: absolute, or relative to the upload's directory. */
  path: string;
  /** Its content. */
  data: string | Uint8Array;
}

/**
 * A directory watch: iterate it (`for await`) for `created`, `modified`, `removed`,
 * `renamed` events; it ends after `end` or when {@link close} is called.
 */
export class Watcher implements AsyncIterable<WatchEvent> {
  private closed = false;
  /** @internal */
  constructor(private readonly gen: AsyncGenerator<WatchEvent>, private readonly ac: AbortController,
    private readonly onEvent?: (e: WatchEvent) => void) {}

  /** Stops watching (the iteration ends). */
  close(): void {
    this.closed = true;
    this.ac.abort();
  }

  /** The events, until `end` (yielded) or {@link close}. */
  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    try {
      for (;;) {
        let r: IteratorResult<WatchEvent>;
        try { r = await this.gen.next(); } catch (e) { if (this.closed) return; throw e; }
        if (r.done) return;
        this.onEvent?.(r.value);
        yield r.value;
        if (r.value.type === 'end') return;
      }
    } finally {
      if (!this.closed) this.close();
    }
  }
}

/** A session's files: `sandbox.files`. Paths are absolute or relative to /home/user. */
export class Files {
  /** @internal */
  constructor(private readonly t: Transport, private readonly id: string) {}

  /** Reads a file's bytes; `offset`/`length` read a range. */
  read(path: string, opts: { offset?: number; length?: number } & RequestOptions = {}): Promise<Buffer> {
    return this.t.call<Buffer>(ROUTES.readFile, {
      params: { id: this.id }, query: { path, offset: opts.offset, length: opts.length },
      accept: 'application/octet-stream', expect: 'bytes', ...reqOpts(opts),
    });
  }

  /** Reads a file as UTF-8 text. */
  async readText(path: string, opts: { offset?: number; length?: number } & RequestOptions = {}): Promise<string> {
    return (await this.read(path, opts)).toString('utf8');
  }

  /** Writes one file (created or truncated, parents made); returns its entry. */
  async write(path: string, data: string | Uint8Array, opts: RequestOptions = {}): Promise<FileEntry> {
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const r = await this.t.call<{ files: FileEntry[] }>(ROUTES.writeFile, {
      params: { id: this.id }, query: { path }, body, contentType: 'application/octet-stream', ...reqOpts(opts),
    });
    return r.files[0];
  }

  /** Uploads several files in one multipart request; relative paths go under `dir` (default /home/user). */
  async writeFiles(files: WriteEntry[], opts: { dir?: string } & RequestOptions = {}): Promise<FileEntry[]> {
    const boundary = '----soulbox' + Math.random().toString(16).slice(2) + Date.now().toString(16);
    const parts: Buffer[] = [];
    for (const f of files) {
      const name = f.path.replace(/["\r\n]/g, (c) => encodeURIComponent(c));
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n'));
      parts.push(typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : Buffer.from(f.data));
      parts.push(Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const r = await this.t.call<{ files: FileEntry[] }>(ROUTES.writeFiles, {
      params: { id: this.id }, query: { path: opts.dir }, body: Buffer.concat(parts),
      contentType: `multipart/form-data; boundary=${boundary}`, ...reqOpts(opts),
    });
    return r.files;
  }

  /** Removes a file, or a directory with everything in it. */
  async remove(path: string, opts: RequestOptions = {}): Promise<void> {
    await this.t.call(ROUTES.removeFile, { params: { id: this.id }, query: { path }, expect: 'none', ...reqOpts(opts) });
  }

  /** Lists a directory (default /home/user); `depth` 2+ goes into sub-directories. */
  async list(path = '/home/user', opts: { depth?: number } & RequestOptions = {}): Promise<FileEntry[]> {
    const r = await this.t.call<{ entries: FileEntry[] }>(ROUTES.listFiles, {
      params: { id: this.id }, query: { path, depth: opts.depth }, ...reqOpts(opts),
    });
    return r.entries;
  }

  /** One entry's metadata (a symbolic link itself, not its target). */
  stat(path: string, opts: RequestOptions = {}): Promise<FileEntry> {
    return this.t.call<FileEntry>(ROUTES.statFile, { params: { id: this.id }, query: { path }, ...reqOpts(opts) });
  }

  /** Whether something exists at `path`. */
  async exists(path: string, opts: RequestOptions = {}): Promise<boolean> {
    try {
      await this.stat(path, opts);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  /** Makes a directory and its missing parents (an existing directory is fine). */
  async mkdir(path: string, opts: RequestOptions = {}): Promise<void> {
    await this.t.call(ROUTES.mkdir, { params: { id: this.id }, json: { path }, expect: 'none', ...reqOpts(opts) });
  }

  /** Renames or moves a file or directory. */
  async move(from: string, to: string, opts: RequestOptions = {}): Promise<void> {
    await this.t.call(ROUTES.move, { params: { id: this.id }, json: { from, to }, expect: 'none', ...reqOpts(opts) });
  }

  /**
   * Watches a directory (default /home/user). Resolves once the watch is in place
   * (`ready`), so changes made after it are seen; a watch that cannot start yields
   * just its `end` event (with the reason). {@link Watcher.close} ends the iteration;
   * aborting `signal` makes it throw the signal's reason (an `AbortError`).
   */
  async watch(path = '/home/user', opts: { recursive?: boolean; signal?: AbortSignal; onEvent?: (e: WatchEvent) => void; timeoutMs?: number } = {}): Promise<Watcher> {
    const ac = new AbortController();
    if (opts.signal) {
      if (opts.signal.aborted) ac.abort(opts.signal.reason);
      else opts.signal.addEventListener('abort', () => ac.abort(opts.signal!.reason), { once: true });
    }
    const res = await this.t.call<IncomingMessage>(ROUTES.watchFiles, {
      params: { id: this.id }, query: { path, recursive: opts.recursive ? 'true' : undefined },
      accept: 'text/event-stream', expect: 'stream', signal: ac.signal, timeoutMs: opts.timeoutMs,
    });
    const gen = (async function* (): AsyncGenerator<WatchEvent> {
      for await (const ev of sseEvents(res, ac.signal)) {
        const d = (ev.data && typeof ev.data === 'object' ? ev.data : {}) as Record<string, unknown>;
        yield { ...d, type: ev.event } as WatchEvent;
      }
    })();
    const first = await gen.next();
    if (first.done) return new Watcher((async function* () { /* empty */ })(), ac);
    if (first.value.type === 'ready') return new Watcher(gen, ac, opts.onEvent);
    const head = first.value;
    return new Watcher((async function* () { yield head; yield* gen; })(), ac, opts.onEvent);
  }
}

/** One value a cell produced (`result` event), with its representations decoded. */
export interface CodeResult {
  /** The raw MIME bundle (`text/plain`, `image/png` base64, ...), the event's `data`. */
  data: Record<string, unknown>;
  /** The same bundle as {@link CodeResult.data} (the Python SDK's name). */
  raw: Record<string, unknown>;
  /** `true` for the cell's last expression, `false` for a chart. */
  is_main: boolean;
  /** `text/plain`. */
  text?: string;
  /** `text/html`. */
  html?: string;
  /** `text/markdown`. */
  markdown?: string;
  /** `image/svg+xml`. */
  svg?: string;
  /** `image/png`, decoded from base64. */
  png?: Buffer;
  /** `image/jpeg`, decoded from base64. */
  jpeg?: Buffer;
  /** `text/latex`. */
  latex?: string;
  /** `application/json`. */
  json?: unknown;
  /** `application/javascript`. */
  javascript?: string;
}

/** The error a cell ended with. */
export interface CellError {
  /** The exception's class (`ZeroDivisionError`, `ContextRestarted`, `ExitCode`...). */
  name: string;
  /** Its message. */
  value: string;
  /** The formatted traceback (cell frames only). */
  traceback: string;
}

/** What a cell did: its results, output, error and the context's cell count. */
export interface CodeExecution {
  /** Every value, in order (the main one has `is_main`). */
  results: CodeResult[];
  /** The output, as the chunks arrived. */
  logs: { stdout: string[]; stderr: string[] };
  /** The error, when the cell failed. */
  error?: CellError;
  /** The context's cell count after this cell (0 if the interpreter died). */
  execution_count: number;
  /** The main result's `text/plain`, if there is one. */
  text?: string;
}

/** Options of {@link Sandbox.runCode}. */
export interface RunCodeOptions extends RequestOptions {
  /** The default context of this language (without `context`). */
  language?: string;
  /** A context (or its id) from {@link Sandbox.createContext}. */
  context?: string | Context;
  /** Environment variables for this cell only. */
  env?: Record<string, string>;
  /** Interrupt the cell after this long (ms). */
  timeout_ms?: number;
  /** python: charts also as SVG. */
  svg?: boolean;
  /** `false` sends the code as it is (default: remove the common indentation). */
  dedent?: boolean;
  /** Called with stdout as it comes. */
  onStdout?: (text: string) => void;
  /** Called with stderr as it comes. */
  onStderr?: (text: string) => void;
  /** Called with each result as it comes. */
  onResult?: (result: CodeResult) => void;
  /** Called with the error, if the cell fails. */
  onError?: (error: CellError) => void;
}

const MIME: [string, keyof CodeResult, 'text' | 'b64' | 'json'][] = [
  ['text/plain', 'text', 'text'], ['text/html', 'html', 'text'], ['text/markdown', 'markdown', 'text'],
  ['image/svg+xml', 'svg', 'text'], ['image/png', 'png', 'b64'], ['image/jpeg', 'jpeg', 'b64'],
  ['text/latex', 'latex', 'text'], ['application/json', 'json', 'json'], ['application/javascript', 'javascript', 'text'],
];

/** Decodes a `result` event's MIME bundle. @internal */
export function codeResult(data: Record<string, unknown>, main: boolean): CodeResult {
  const r: CodeResult = { data, raw: data, is_main: main };
  for (const [mime, key, kind] of MIME) {
    if (!(mime in data)) continue;
    const v = data[mime];
    if (kind === 'b64') (r as unknown as Record<string, unknown>)[key] = Buffer.from(String(v), 'base64');
    else if (kind === 'json') r.json = v;
    else (r as unknown as Record<string, unknown>)[key] = String(v);
  }
  return r;
}

/**
 * A session: a long-lived sandbox. Get one with {@link Client.createSandbox} or
 * {@link Client.getSandbox}; end it with {@link kill} (or `await using`, or
 * {@link Client.withSandbox}).
 */
export class Sandbox {
  /** The session's id. */
  readonly id: string;
  /** Its state when last seen (the raw `Session` object). */
  info: SandboxInfo;
  /** Its commands. */
  readonly commands: Commands;
  /** Its files. */
  readonly files: Files;

  /** @internal */
  constructor(private readonly t: Transport, info: SandboxInfo) {
    this.id = info.id;
    this.info = info;
    this.commands = new Commands(t, info.id);
    this.files = new Files(t, info.id);
  }

  /** Its state, fetched now (also updates {@link info}). */
  async refresh(opts: RequestOptions = {}): Promise<SandboxInfo> {
    this.info = await this.t.call<SandboxInfo>(ROUTES.getSandbox, { params: { id: this.id }, ...reqOpts(opts) });
    return this.info;
  }

  /** Same as {@link Sandbox.refresh}. */
  getInfo(opts: RequestOptions = {}): Promise<SandboxInfo> {
    return this.refresh(opts);
  }

  /** Sets the session to end `seconds` from now. */
  async setTimeout(seconds: number, opts: RequestOptions = {}): Promise<SandboxInfo> {
    this.info = await this.t.call<SandboxInfo>(ROUTES.setTimeout, { params: { id: this.id }, json: { timeout_s: seconds }, ...reqOpts(opts) });
    return this.info;
  }

  /** Pauses it: saves its files and releases its sandbox. */
  async pause(opts: RequestOptions = {}): Promise<SandboxInfo> {
    this.info = await this.t.call<SandboxInfo>(ROUTES.pause, { params: { id: this.id }, ...reqOpts(opts) });
    return this.info;
  }

  /** Resumes it in a new sandbox with its saved files. */
  async resume(opts: RequestOptions = {}): Promise<SandboxInfo> {
    this.info = await this.t.call<SandboxInfo>(ROUTES.resume, { params: { id: this.id }, ...reqOpts(opts) });
    return this.info;
  }

  /** Ends it: every process is killed and its files are gone. */
  async kill(opts: RequestOptions = {}): Promise<void> {
    await this.t.call(ROUTES.killSandbox, { params: { id: this.id }, expect: 'none', ...reqOpts(opts) });
  }

  /** Starts a code context (`python`, `javascript` or `bash`). */
  createContext(opts: { language?: string; cwd?: string } & RequestOptions = {}): Promise<Context> {
    const body: Record<string, unknown> = {};
    if (opts.language !== undefined) body.language = opts.language;
    if (opts.cwd !== undefined) body.cwd = opts.cwd;
    return this.t.call<Context>(ROUTES.createContext, { params: { id: this.id }, json: body, ...reqOpts(opts) });
  }

  /** The session's contexts. */
  async listContexts(opts: RequestOptions = {}): Promise<Context[]> {
    const r = await this.t.call<{ contexts: Context[] }>(ROUTES.listContexts, { params: { id: this.id }, ...reqOpts(opts) });
    return r.contexts;
  }

  /** Ends a context. */
  async deleteContext(context: string | Context, opts: RequestOptions = {}): Promise<void> {
    await this.t.call(ROUTES.deleteContext, { params: { id: this.id, ctx: ctxId(context) }, expect: 'none', ...reqOpts(opts) });
  }

  /** Restarts a context's interpreter (same id; state lost). */
  restartContext(context: string | Context, opts: RequestOptions = {}): Promise<Context> {
    return this.t.call<Context>(ROUTES.restartContext, { params: { id: this.id, ctx: ctxId(context) }, ...reqOpts(opts) });
  }

  /** Interrupts a context's running cell. */
  async interruptContext(context: string | Context, opts: RequestOptions = {}): Promise<void> {
    await this.t.call(ROUTES.interruptContext, { params: { id: this.id, ctx: ctxId(context) }, expect: 'none', ...reqOpts(opts) });
  }

  /**
   * Runs a cell of code in a context (the given one, else the default context of
   * `language`, else the template's default) and returns what it did. The code is
   * dedented unless `dedent: false`.
   */
  async runCode(code: string, opts: RunCodeOptions = {}): Promise<CodeExecution> {
    const body: Record<string, unknown> = { code: opts.dedent === false ? code : dedentCode(code) };
    if (opts.context !== undefined) body.context_id = ctxId(opts.context);
    else if (opts.language !== undefined) body.language = opts.language;
    if (opts.env !== undefined) body.env = opts.env;
    if (opts.timeout_ms !== undefined) body.timeout_ms = opts.timeout_ms;
    if (opts.svg !== undefined) body.svg = opts.svg;
    const res = await this.t.call<IncomingMessage>(ROUTES.runCode, {
      params: { id: this.id }, json: body, accept: 'application/x-ndjson', expect: 'stream', ...reqOpts(opts),
    });
    const ex: CodeExecution = { results: [], logs: { stdout: [], stderr: [] }, execution_count: 0 };
    let ended = false;
    for await (const raw of ndjson(res, opts.signal)) {
      const ev = raw as CellEvent;
      if (ev.type === 'stdout') { ex.logs.stdout.push(ev.text); opts.onStdout?.(ev.text); }
      else if (ev.type === 'stderr') { ex.logs.stderr.push(ev.text); opts.onStderr?.(ev.text); }
      else if (ev.type === 'result') {
        const r = codeResult(ev.data ?? {}, ev.main === true);
        ex.results.push(r);
        if (r.is_main && r.text !== undefined) ex.text = r.text;
        opts.onResult?.(r);
      } else if (ev.type === 'error') {
        ex.error = { name: ev.name, value: ev.value, traceback: ev.traceback };
        opts.onError?.(ex.error);
      } else if (ev.type === 'end') {
        // The body ends right after; reading it to the end keeps the connection reusable.
        ex.execution_count = ev.execution_count;
        ended = true;
      }
    }
    if (!ended) throw new SoulboxError('the cell stream ended without its end event', { code: 'connection_error' });
    return ex;
  }

  /** `await using sandbox = await client.createSandbox()` kills it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    try { await this.kill(); } catch (e) { if (!(e instanceof NotFoundError)) throw e; }
  }
}

function ctxId(c: string | Context): string {
  return typeof c === 'string' ? c : c.id;
}
