/**
 * The native routes of `api/openapi.yaml` this SDK implements (`/health`, `/metrics`,
 * `/api/...` and a function's invocation `/fn/...`): every request the SDK makes goes
 * through one of these (method and path template exactly as in the spec).
 */

/** One route: an HTTP method and a path template such as `/api/sandboxes/{id}`. */
export interface Route {
  /** `GET`, `POST`, `PUT`, `PATCH` or `DELETE`. */
  readonly method: string;
  /** The path template as written in the OpenAPI spec. */
  readonly path: string;
}

function r(method: string, path: string): Route {
  return Object.freeze({ method, path });
}

/** Every native route, by the name the SDK uses internally. */
export const ROUTES = Object.freeze({
  health: r('GET', '/health'),
  metrics: r('GET', '/metrics'),
  languages: r('GET', '/api/languages'),
  cluster: r('GET', '/api/cluster'),
  ws: r('GET', '/api/ws'),
  execute: r('POST', '/api/execute'),
  submit: r('POST', '/api/executions'),
  listExecutions: r('GET', '/api/executions'),
  getExecution: r('GET', '/api/executions/{id}'),
  audit: r('GET', '/api/audit'),
  createShare: r('POST', '/api/shares'),
  getShare: r('GET', '/api/shares/{id}'),
  templates: r('GET', '/api/templates'),
  createSandbox: r('POST', '/api/sandboxes'),
  listSandboxes: r('GET', '/api/sandboxes'),
  getSandbox: r('GET', '/api/sandboxes/{id}'),
  killSandbox: r('DELETE', '/api/sandboxes/{id}'),
  setTimeout: r('POST', '/api/sandboxes/{id}/timeout'),
  pause: r('POST', '/api/sandboxes/{id}/pause'),
  resume: r('POST', '/api/sandboxes/{id}/resume'),
  runCommand: r('POST', '/api/sandboxes/{id}/commands'),
  listCommands: r('GET', '/api/sandboxes/{id}/commands'),
  getCommand: r('GET', '/api/sandboxes/{id}/commands/{pid}'),
  commandStdin: r('POST', '/api/sandboxes/{id}/commands/{pid}/stdin'),
  commandSignal: r('POST', '/api/sandboxes/{id}/commands/{pid}/signal'),
  readFile: r('GET', '/api/sandboxes/{id}/files'),
  writeFile: r('PUT', '/api/sandboxes/{id}/files'),
  writeFiles: r('POST', '/api/sandboxes/{id}/files'),
  removeFile: r('DELETE', '/api/sandboxes/{id}/files'),
  listFiles: r('GET', '/api/sandboxes/{id}/files/list'),
  statFile: r('GET', '/api/sandboxes/{id}/files/stat'),
  watchFiles: r('GET', '/api/sandboxes/{id}/files/watch'),
  mkdir: r('POST', '/api/sandboxes/{id}/files/mkdir'),
  move: r('POST', '/api/sandboxes/{id}/files/move'),
  createContext: r('POST', '/api/sandboxes/{id}/contexts'),
  listContexts: r('GET', '/api/sandboxes/{id}/contexts'),
  deleteContext: r('DELETE', '/api/sandboxes/{id}/contexts/{ctx}'),
  restartContext: r('POST', '/api/sandboxes/{id}/contexts/{ctx}/restart'),
  interruptContext: r('POST', '/api/sandboxes/{id}/contexts/{ctx}/interrupt'),
  runCode: r('POST', '/api/sandboxes/{id}/execute'),
  deployFunction: r('POST', '/api/functions'),
  listFunctions: r('GET', '/api/functions'),
  getFunction: r('GET', '/api/functions/{name}'),
  deleteFunction: r('DELETE', '/api/functions/{name}'),
  functionVersions: r('GET', '/api/functions/{name}/versions'),
  rollbackFunction: r('POST', '/api/functions/{name}/rollback'),
  setFunctionAlias: r('PUT', '/api/functions/{name}/aliases/{alias}'),
  deleteFunctionAlias: r('DELETE', '/api/functions/{name}/aliases/{alias}'),
  functionLogs: r('GET', '/api/functions/{name}/logs'),
  invokeFunctionAsync: r('POST', '/api/functions/{name}/invocations'),
  getInvocation: r('GET', '/api/functions/{name}/invocations/{id}'),
  invokeGet: r('GET', '/fn/{name}'),
  invokePost: r('POST', '/fn/{name}'),
  invokePut: r('PUT', '/fn/{name}'),
  invokePatch: r('PATCH', '/fn/{name}'),
  invokeDelete: r('DELETE', '/fn/{name}'),
  invokeGetPath: r('GET', '/fn/{name}/{path}'),
  invokePostPath: r('POST', '/fn/{name}/{path}'),
  invokePutPath: r('PUT', '/fn/{name}/{path}'),
  invokePatchPath: r('PATCH', '/fn/{name}/{path}'),
  invokeDeletePath: r('DELETE', '/fn/{name}/{path}'),
} as const);

/** The name of a route in {@link ROUTES}. */
export type RouteName = keyof typeof ROUTES;
