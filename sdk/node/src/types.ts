/**
 * Request and result types. Results are the API's JSON objects as they arrive, so their
 * fields keep the API's snake_case names (`exit_code`, `wall_time_ms`, ...), and a field
 * the server adds later is there too even before these types name it.
 */

/** Resource limits of a single execution; each has a server default and maximum. */
export interface Limits {
  /** Wall-clock limit in milliseconds. */
  wall_time_ms?: number;
  /** CPU time of all processes together, in milliseconds. */
  cpu_time_ms?: number;
  /** Memory in MiB (no swap; files in /tmp count). */
  memory_mb?: number;
  /** Processes and threads. */
  processes?: number;
  /** stdout + stderr kept, in KiB. */
  output_kb?: number;
  /** /tmp and /workspace together, in MiB. */
  disk_mb?: number;
  /** Largest file, in KiB. */
  file_size_kb?: number;
  /** Open file descriptors. */
  open_files?: number;
  /** Stack size in KiB. */
  stack_kb?: number;
}

/**
 * Lower limits for a compiled language's compile stage than its own (the language's, else
 * the server's `sandbox.compile`): each up to the stage's own value, else
 * {@link InvalidRequestError} (400).
 */
export interface CompileLimits {
  /** Wall-clock limit of the compile in milliseconds (from 1). */
  wall_time_ms?: number;
  /** CPU time of the compile's processes together, in milliseconds (from 1). */
  cpu_time_ms?: number;
  /** The compile's memory in MiB (from 8). */
  memory_mb?: number;
}

/** A source file of an execution; the first file is the entry point. */
export interface FileInput {
  /** Relative path (sub-directories allowed, no `..`). */
  name: string;
  /** The content: text, or base64 with `encoding: 'base64'`. */
  content: string;
  /** `utf8` (default) or `base64`. */
  encoding?: 'utf8' | 'base64';
}

/** A judge-mode test case. */
export interface TestCaseInput {
  /** The case's stdin. */
  stdin?: string;
  /** The expected stdout; without it the case only runs. */
  expected_output?: string;
}

/** Egress for the sandbox: `true`, `false`, `null` or `{enabled, allow}`. */
export type NetworkRequest = boolean | null | {
  /** Network on (default false). */
  enabled?: boolean;
  /** Narrowing entries (CIDR, host, `*.suffix`, with optional `:port`). */
  allow?: string[];
};

/**
 * How a sandbox is made: `namespaces` (Linux namespaces, a cgroup and seccomp on the
 * host's kernel) or `microvm` (the same sandbox inside a QEMU microVM with its own kernel;
 * slower to start, not with `network`).
 */
export type Isolation = 'namespaces' | 'microvm';

/** What to run: the body of `POST /api/execute` (plus `dedent`). */
export interface ExecuteRequest {
  /** A language name or alias from {@link Client.languages}. */
  language: string;
  /** The program (exactly one of `code` and `files`); dedented unless `dedent: false`. */
  code?: string;
  /** Source files instead of `code`; never changed. */
  files?: FileInput[];
  /** Standard input. */
  stdin?: string;
  /** Arguments after the program. */
  args?: string[];
  /**
   * More of the compiler's arguments (`['-O0', '-DDEBUG', '-std=c++20']`), after the
   * language's own options and before the source files; part of the compile cache's key.
   * Only for languages with a compile step: otherwise {@link InvalidRequestError} (400,
   * `compile_args: <language> has no compile step`).
   */
  compile_args?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Resource limits. */
  limits?: Limits;
  /**
   * Lower limits for the compile stage than its own (`{ wall_time_ms: 5000, memory_mb: 256 }`).
   * Only for languages with a compile step: otherwise {@link InvalidRequestError} (400,
   * `compile_limits: <language> has no compile step`). A compile one stops is `status`
   * `compile_error`, with `compile.status` saying which limit (`time_limit_exceeded`...).
   */
  compile_limits?: CompileLimits;
  /** Egress policy. */
  network?: NetworkRequest;
  /** `namespaces` or `microvm` (default: the server's `sandbox.isolation`). */
  isolation?: Isolation;
  /** Patterns of files to hand back from /workspace after the run. */
  return_files?: string[];
  /** Judge mode: one run per case (not with `stdin`, not for streams). */
  test_cases?: TestCaseInput[];
  /** `false` sends `code` exactly as given (default: remove the common indentation). */
  dedent?: boolean;
}

/** The body of `POST /api/executions`: an {@link ExecuteRequest} plus a callback URL. */
export interface SubmitRequest extends ExecuteRequest {
  /** `http://` URL the final execution is POSTed to. */
  callback_url?: string;
}

/** A run's status. */
export type Status = 'ok' | 'runtime_error' | 'time_limit_exceeded' | 'memory_limit_exceeded' |
  'output_limit_exceeded' | 'compile_error' | 'internal_error';

/** Traffic of a run that had network. */
export interface NetworkUsage {
  /** Bytes sent. */
  bytes_sent: number;
  /** Bytes received. */
  bytes_received: number;
  /** Connections relayed. */
  connections: number;
  /** Connections (and packets) the policy refused. */
  connections_refused: number;
}

/** One test case's result (judge mode). */
export interface TestCaseResult {
  /** The case's index (0-based). */
  index: number;
  /** `accepted`, `wrong_answer`, `ok` (no expected output) or the run's status. */
  verdict: string;
  /** The run's status. */
  status: Status;
  /** The case's stdout. */
  stdout: string;
  /** The case's stderr. */
  stderr: string;
  /** The exit code, null when killed by a signal. */
  exit_code: number | null;
  /** The signal that ended it, if any. */
  signal?: number | null;
  /** Wall time in ms. */
  wall_time_ms?: number;
  /** CPU time in ms. */
  cpu_time_ms?: number;
  /** Peak memory in KiB. */
  memory_kb?: number;
  /** Why, when the status is not ok. */
  message?: string;
  /** Traffic, when the run had network. */
  network?: NetworkUsage;
  /** Fields added later by the server. */
  [field: string]: unknown;
}

/** Judge-mode summary. */
export interface TestSummary {
  /** Number of cases. */
  total: number;
  /** Cases accepted. */
  accepted: number;
  /** The first verdict that is not `accepted` (else `accepted`). */
  verdict: string;
}

/** A file handed back by `return_files`. */
export interface ReturnedFile {
  /** Path relative to /workspace. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** The content, base64. */
  content: string;
}

/** The fields a run's result has besides its `status` (shared by {@link ExecuteResult} and {@link Execution}). */
export interface ResultFields {
  /** Standard output (invalid UTF-8 bytes become U+FFFD). */
  stdout: string;
  /** Standard error. */
  stderr: string;
  /** Exit code; null when a signal ended it. */
  exit_code: number | null;
  /** Wall time as text, e.g. `45ms`. */
  execution_time: string;
  /** The signal that ended it, or null. */
  signal: number | null;
  /** Wall time in ms. */
  wall_time_ms: number;
  /** CPU time in ms. */
  cpu_time_ms: number;
  /** Peak memory in KiB. */
  memory_kb: number;
  /** Output was cut at the output limit. */
  truncated: boolean;
  /** Why, when the status is not ok. */
  message?: string;
  /** Traffic, when the run had network. */
  network?: NetworkUsage;
  /** The execution's id. */
  id?: string;
  /** Compiler output (compiled languages). */
  compile_output?: string;
  /** The compile stage's own result. */
  compile?: Record<string, unknown>;
  /** The compile artifact came from the cache. */
  compile_cached?: boolean;
  /** With `return_files`: the files that matched. */
  files?: ReturnedFile[];
  /** Some matching files were left out. */
  files_truncated?: boolean;
  /** Judge mode: one result per case. */
  test_cases?: TestCaseResult[];
  /** Judge mode: the summary. */
  summary?: TestSummary;
  /** Fields added later by the server. */
  [field: string]: unknown;
}

/**
 * The result of a run (`Result` in the spec): the JSON object the server sent, every
 * field included. A single run has the run fields; a judge run has `test_cases` and
 * `summary`.
 */
export interface ExecuteResult extends ResultFields {
  /** How the run ended. */
  status: Status;
}

/** An execution: a result plus its metadata; `status` is `queued`/`running` before it ends. */
export interface Execution extends ResultFields {
  /** The execution's id. */
  id: string;
  /** `queued`, `running`, or the final {@link Status}. */
  status: Status | 'queued' | 'running';
  /** The language it ran. */
  language: string;
  /** `sync`, `async`, `stream` or `interactive`. */
  mode: 'sync' | 'async' | 'stream' | 'interactive';
  /** When it was recorded. */
  created_at: string;
  /** When it started. */
  started_at?: string;
  /** When it ended. */
  finished_at?: string;
  /** The callback's delivery state. */
  callback?: { url?: string; state?: string; attempts?: number };
}

/** The answer to {@link Client.submit}. */
export interface SubmittedExecution {
  /** The execution's id. */
  id: string;
  /** `queued`. */
  status: string;
}

/** A page of executions, newest first. */
export interface ExecutionPage {
  /** The executions on this page. */
  items: Execution[];
  /** Pass as `cursor` for the next page; null on the last. */
  next_cursor: string | null;
}

/**
 * One record of the audit log (`GET /api/audit`); fields a record does not have are null.
 * `event` is `execution`, a security event (`seccomp_kill`, `limit_exceeded`, ...), a
 * refusal (`auth_failure`, `rate_limited`), a session's (`session_created`, ...), a
 * function change (`function_deploy`, ...) or `share_created` (`detail`: the share's id).
 */
export interface AuditRecord {
  /** Its number in the log (newer is larger). */
  seq: number;
  /** When, e.g. `2026-12-06T04:00:00.123Z`. */
  time: string;
  /** The same time in milliseconds since the epoch. */
  ts_ms: number;
  /** What happened, e.g. `execution`, `auth_failure`, `share_created`. */
  event: string;
  /** The request's id (its `X-Request-Id`). */
  request_id: string | null;
  /** The key's id (not its secret); null without auth. */
  key_id: string | null;
  /** The caller's address. */
  client: string | null;
  /** An execution's language. */
  language: string | null;
  /** The SHA-256 of an execution's code (hex). */
  code_sha256: string | null;
  /** An execution's resolved limits. */
  limits: Limits | null;
  /** An execution's status, e.g. `ok`, `time_limit_exceeded`. */
  status: string | null;
  /** More about it (a session's end reason, a share's id, ...). */
  detail: string | null;
}

/** One page of {@link Client.audit}, newest first. */
export interface AuditPage {
  /** The records on this page. */
  records: AuditRecord[];
  /** Pass as `cursor` for the next page; null on the last. */
  next_cursor: string | null;
}

/**
 * What {@link Shares.create} shares: the fields of an {@link ExecuteRequest} (checked the
 * same way; exactly one of `code` and `files`) and optionally a finished execution.
 */
export interface ShareRequest {
  /** A language name or alias from {@link Client.languages}. */
  language: string;
  /** The program (exactly one of `code` and `files`); dedented unless `dedent: false`. */
  code?: string;
  /** Source files instead of `code`; never changed. */
  files?: FileInput[];
  /** Standard input. */
  stdin?: string;
  /** Arguments after the program. */
  args?: string[];
  /** Resource limits. */
  limits?: Limits;
  /** Judge-mode test cases. */
  test_cases?: TestCaseInput[];
  /**
   * One of the caller's finished executions, whose result is copied into the share
   * (another key's or an unknown one: {@link NotFoundError}; still queued or running:
   * {@link ConflictError}).
   */
  execution_id?: string;
  /** `false` sends `code` exactly as given (default: remove the common indentation). */
  dedent?: boolean;
}

/** The answer of {@link Shares.create}. */
export interface ShareLink {
  /** The share's id (22+ url-safe characters, 128 random bits): the capability. */
  id: string;
  /** The playground's link, `/?share={id}` (relative to the server). */
  url: string;
  /** When it was shared. */
  created: string;
}

/**
 * A shared program ({@link Shares.get}), normalized: `language` is the language's name (an
 * alias resolved), `files` spell out their `encoding`, `limits` are as given (not
 * resolved), absent fields are null; `code` or `files`, whichever was shared.
 */
export interface Share {
  /** Its id. */
  id: string;
  /** When it was shared. */
  created: string;
  /** The language's name. */
  language: string;
  /** The program, when it was shared as code. */
  code?: string;
  /** The files, when it was shared as files. */
  files?: FileInput[];
  /** Standard input. */
  stdin: string | null;
  /** Arguments. */
  args: string[] | null;
  /** Limits, as given. */
  limits: Limits | null;
  /** Test cases. */
  test_cases: TestCaseInput[] | null;
  /** The shared execution as {@link Client.getExecution} returned it, or null. */
  result: Execution | null;
}

/** A node of the cluster, as the server saw it at its last heartbeat. */
export interface ClusterNode {
  /** Its id (its name and a random part: new at each start). */
  id: string;
  /** `cluster.node_name`, or the host's name. */
  name: string;
  /** `lost`: no heartbeat for `cluster.node_timeout_ms` (its work was ended or handed over); `left`: stopped. */
  state: 'up' | 'lost' | 'left';
  /** True for the server that answered. */
  self: boolean;
  /** Its `server.max_concurrent`. */
  capacity: number;
  /** Its `server.max_queue`. */
  max_queue?: number;
  /** Runs in progress on it. */
  running: number;
  /** Runs waiting on it. */
  queued: number;
  /** The languages it can run (it claims only those). */
  languages: string[];
  /** When it started, in milliseconds since the epoch. */
  started_ms?: number;
  /** Milliseconds since its last heartbeat. */
  heartbeat_age_ms: number;
  /** Its `cluster.advertise_url`: where the others forward its sessions' requests. */
  url?: string;
  /** Why it was lost or left. */
  reason?: string;
}

/** `GET /api/cluster` (and the `cluster` of {@link Health} in cluster mode). */
export interface Cluster {
  /** `sqlite` (this server alone) or `postgres` (cluster mode). */
  store: 'sqlite' | 'postgres';
  /** This node's id. */
  node: string;
  /** This node's name. */
  name: string;
  /** Whether the shared database answers. */
  database: 'up' | 'unreachable';
  /** When unreachable, why. */
  error?: string;
  /** Executions waiting in the shared queue at the last heartbeat. */
  queued: number;
  /** This node and the others. */
  nodes: ClusterNode[];
}

/** `GET /health`. */
export interface Health {
  /** `ok`, `degraded` (cluster mode with the database out of reach) or `stopping`. */
  status: 'ok' | 'degraded' | 'stopping';
  /** The server's version. */
  version: string;
  /** Seconds since start. */
  uptime_s: number;
  /** Sandboxes alive. */
  active_sandboxes: number;
  /** Runs in progress. */
  running: number;
  /** Runs waiting. */
  queued: number;
  /** `v1` or `v2`. */
  cgroup: string;
  /** Every configured language has been probed. */
  languages_ready?: boolean;
  /** Live sessions. */
  sessions?: number;
  /** `sqlite`, or `postgres` in cluster mode. */
  store?: 'sqlite' | 'postgres';
  /** In cluster mode: what {@link Client.cluster} returns. */
  cluster?: Cluster;
  /** Fields added later by the server. */
  [field: string]: unknown;
}

/** A language the server runs. */
export interface Language {
  /** Its name. */
  name: string;
  /** Other names it answers to. */
  aliases: string[];
  /** The real version, probed at startup. */
  version: string;
  /** Whether it has a compile stage. */
  compiled: boolean;
}

/** `GET /api/languages`. */
export interface Languages {
  /** Languages ready to run. */
  languages: Language[];
  /** Configured languages that failed their startup check. */
  unavailable: { name: string; reason: string }[];
  /** Languages still being probed. */
  probing: string[];
}

/** A session template. */
export interface Template {
  /** Its name, e.g. `code-interpreter`. */
  name: string;
  /** Other names it answers to. */
  aliases: string[];
  /** What it is for. */
  description: string;
  /** Languages available in it. */
  languages: string[];
  /** The default context's language. */
  default_context: 'python' | 'javascript' | 'bash';
}

/** Limits of a whole session. */
export interface SessionLimits {
  /** Memory in MiB. */
  memory_mb?: number;
  /** Disk in MiB. */
  disk_mb?: number;
  /** Output allowance over the session's life, MiB. */
  output_mb?: number;
  /** CPU quota (100 = one core). */
  max_cpu_percent?: number;
  /** Processes and threads at once. */
  processes?: number;
  /** Open descriptors per process. */
  open_files?: number;
}

/** Options of {@link Client.createSandbox} (the body of `POST /api/sandboxes`). */
export interface SandboxOptions {
  /** Template name or alias (default `base`). */
  template?: string;
  /** Used as the template when `template` is absent. */
  language?: string;
  /** Seconds the session lives (0: the server's default). */
  timeout_s?: number;
  /** Your labels. */
  metadata?: Record<string, string>;
  /** Variables every command and context gets. */
  env?: Record<string, string>;
  /** Limits of the whole session. */
  limits?: SessionLimits;
  /** Egress policy. */
  network?: NetworkRequest;
  /** `namespaces` or `microvm` (default: the server's `sandbox.isolation`). */
  isolation?: Isolation;
}

/** A session's state as the server reports it (`Session` in the spec). */
export interface SandboxInfo {
  /** The session's id. */
  id: string;
  /** The template's name. */
  template: string;
  /** `running`, `paused`, `pausing`, `resuming`, ... */
  state: string;
  /** When it was created. */
  created_at: string;
  /** When its timeout runs out. */
  ends_at: string;
  /** Seconds left. */
  timeout_s: number;
  /** Your labels. */
  metadata: Record<string, string>;
  /** Its limits. */
  limits: Required<SessionLimits>;
  /** What it uses. */
  usage: { memory_bytes: number; output_bytes: number; commands: number; contexts: number };
  /** Its network. */
  network: { enabled: boolean; allow: string[]; usage?: NetworkUsage };
  /** How its sandbox is made: `namespaces` or `microvm`. */
  isolation: Isolation;
  /** Fields added later by the server. */
  [field: string]: unknown;
}

/** A page of sessions. */
export interface SandboxPage {
  /** The sessions on this page, oldest first. */
  sandboxes: SandboxInfo[];
  /** Sessions matching the filters, on every page. */
  total: number;
  /** Pass as `offset` for the next page; absent on the last. */
  next_offset?: number;
}

/** A command in a session (`Command` in the spec). */
export interface CommandInfo {
  /** The session's own number: 1, 2, ... */
  pid: number;
  /** What ran. */
  config: { cmd: string; args: string[]; envs: Record<string, string>; cwd: string };
  /** `running` or `exited`. */
  state: 'running' | 'exited';
  /** Your label. */
  tag?: string;
  /** When it started. */
  started_at: string;
  /** Bytes of stdout so far. */
  stdout_bytes: number;
  /** Bytes of stderr so far. */
  stderr_bytes: number;
  /** When it ended. */
  ended_at?: string;
  /** How it ended: `ok`, `runtime_error`, `killed`, ... */
  status?: string;
  /** Its exit code (-1 when a signal ended it). */
  exit_code?: number;
  /** The signal that ended it. */
  signal?: number | null;
  /** Wall time in ms. */
  wall_time_ms?: number;
  /** CPU time in ms. */
  cpu_time_ms?: number;
  /** Why it could not run. */
  error?: string;
  /** Its output so far (not in listings). */
  stdout?: string;
  /** Its error output so far. */
  stderr?: string;
  /** Fields added later by the server. */
  [field: string]: unknown;
}

/** A command's event: `start` ({pid}), `stdout`/`stderr` ({data}), `exit` (the command). */
export type CommandEvent =
  | { type: 'start'; pid: number }
  | { type: 'stdout' | 'stderr'; data: string }
  | { type: 'exit'; command: CommandInfo };

/** A file or directory in a session. */
export interface FileEntry {
  /** Its name. */
  name: string;
  /** Absolute, clean path. */
  path: string;
  /** `file`, `dir`, `symlink` or `other`. */
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Size in bytes. */
  size: number;
  /** Permission bits (420 = 0644). */
  mode: number;
  /** e.g. `-rw-r--r--`. */
  permissions: string;
  /** Last modification. */
  modified_at: string;
  /** Symbolic links only. */
  symlink_target?: string;
}

/** A file-watch event: `ready`, `created`, `modified`, `removed`, `renamed` or `end` ({reason}). */
export interface WatchEvent {
  /** The event's type. */
  type: 'ready' | 'created' | 'modified' | 'removed' | 'renamed' | 'end' | string;
  /** The path concerned (not for `ready`/`end`). */
  path?: string;
  /** Whether it is a directory. */
  dir?: boolean;
  /** Why the watch ended (`end` only). */
  reason?: string;
}

/** A code context. */
export interface Context {
  /** Its id. */
  id: string;
  /** `python`, `javascript` or `bash`. */
  language: 'python' | 'javascript' | 'bash';
  /** Its working directory. */
  cwd: string;
}

/** An event of a code cell, as the server streams it. */
export type CellEvent =
  | { type: 'stdout' | 'stderr'; text: string }
  | { type: 'result'; data: Record<string, unknown>; main: boolean }
  | { type: 'error'; name: string; value: string; traceback: string }
  | { type: 'end'; execution_count: number };
