/**
 * `@soulbox/sdk`: the official Node.js/TypeScript client for SoulBox.
 *
 * ```ts
 * import { Client } from '@soulbox/sdk';
 * const client = new Client('localhost:8080');
 * const result = await client.execute({ language: 'python', code: 'print(1)' });
 * console.log(result.stdout);
 * ```
 * @packageDocumentation
 */
export { Client } from './client.js';
export type { ClientOptions, WaitOptions, ListSandboxesOptions, AuditOptions } from './client.js';
export { Shares } from './shares.js';
export type { RequestOptions } from './http.js';
export { parseRetryAfter } from './http.js';
export { ExecutionStream } from './stream.js';
export type { StreamEvent, StreamOptions } from './stream.js';
export { Sandbox, Commands, CommandHandle, Files, Watcher } from './sandbox.js';
export type {
  CommandOptions, RunOptions, CommandResult, WriteEntry, CodeResult, CellError, CodeExecution, RunCodeOptions,
} from './sandbox.js';
export {
  SoulboxError, InvalidRequestError, AuthenticationError, PermissionDeniedError, NotFoundError, ConflictError,
  PayloadTooLargeError, UnknownLanguageError, RateLimitError, UnavailableError, ServerError,
  ConnectionError, TimeoutError,
} from './errors.js';
export type { SoulboxErrorInit } from './errors.js';
export { Functions, FunctionResponse, secret, invocationBody, invocationResponse } from './functions.js';
export type {
  SecretValue, DeployRequest, FunctionVersion, FunctionInstances, FunctionSummary, FunctionInfo, InvocationHandle,
  InvocationResponse, Invocation, FunctionErrorInfo, InvokeOptions, InvokeAsyncOptions, WaitInvocationOptions,
} from './functions.js';
export { dedent } from './dedent.js';
export { ROUTES } from './routes.js';
export type { Route, RouteName } from './routes.js';
export { VERSION } from './version.js';
export type {
  Limits, CompileLimits, FileInput, TestCaseInput, NetworkRequest, Isolation, ExecuteRequest, SubmitRequest, Status,
  NetworkUsage, TestCaseResult, TestSummary, ReturnedFile, ResultFields, ExecuteResult, Execution, SubmittedExecution,
  ExecutionPage, Health, Cluster, ClusterNode, Language, Languages, Template, SessionLimits, SandboxOptions,
  SandboxInfo, SandboxPage, CommandInfo, CommandEvent, FileEntry, WatchEvent, Context, CellEvent,
  AuditRecord, AuditPage, ShareRequest, ShareLink, Share,
} from './types.js';
