/**
 * The native routes of `api/openapi.yaml` this SDK implements: every request the SDK
 * makes goes through one of these (method and path template exactly as in the spec).
 */

/** One route: an HTTP method and a path template such as `/api/sandboxes/{id}`. */
export interface Route {
  /** `GET`, `POST`, `PUT` or `DELETE`. */
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
} as const);

/** The name of a route in {@link ROUTES}. */
export type RouteName = keyof typeof ROUTES;
