/**
 * Errors raised by the SDK. Every one extends {@link SoulboxError}, which carries the
 * API's error `code`, the `message`, the HTTP `status` (0 when there was no answer)
 * and the `requestId` (the response's `X-Request-Id`).
 *
 * A program that fails is not an error: its result says so (`status`).
 */

/** Fields every {@link SoulboxError} is built from. */
export interface SoulboxErrorInit {
  /** The API's `error.code` (e.g. `unknown_language`), or a client-side code. */
  code?: string;
  /** The HTTP status; 0 when no answer came. */
  status?: number;
  /** The response's `X-Request-Id`, when there was a response. */
  requestId?: string;
  /** The parsed error body, when the server sent JSON. */
  body?: unknown;
  /** Seconds the server asked to wait (`Retry-After`), for 429 and 503. */
  retryAfter?: number;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base class of every error the SDK raises. */
export class SoulboxError extends Error {
  /** The API's `error.code` (e.g. `unknown_language`, `not_found`), or `connection_error` / `timeout` / `http_<status>`. */
  readonly code: string;
  /** The HTTP status; 0 when there was no answer (connection problems, client timeouts). */
  readonly status: number;
  /** The response's `X-Request-Id` (empty when there was no response). */
  readonly requestId: string;
  /** The parsed error body, when the server sent JSON. */
  readonly body: unknown;

  /** Builds an error; normally the SDK does this for you. */
  constructor(message: string, init: SoulboxErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code ?? 'unknown';
    this.status = init.status ?? 0;
    this.requestId = init.requestId ?? '';
    this.body = init.body;
  }
}

/** 400: the request is invalid (also `limit_exceeds_max`). */
export class InvalidRequestError extends SoulboxError {}
/** 401: missing or wrong API key. */
export class AuthenticationError extends SoulboxError {}
/** 403 (`permission_denied`): the key may not do this, e.g. read the audit log without the admin role. */
export class PermissionDeniedError extends SoulboxError {}
/** 404: no such execution, sandbox, command, context or file (or another key's). */
export class NotFoundError extends SoulboxError {}
/** 409: a conflict (e.g. the sandbox is paused, stdin is closed, the command ended). */
export class ConflictError extends SoulboxError {}
/** 413: the body (or a file) is too large, or the session's disk is full. */
export class PayloadTooLargeError extends SoulboxError {}
/** 422: the language is not known or not available on this server. */
export class UnknownLanguageError extends SoulboxError {}

/** 429: rate limited or a quota was reached; raised once the retries are used up. */
export class RateLimitError extends SoulboxError {
  /** Seconds the server asked to wait (`Retry-After`), if it said. */
  readonly retryAfter: number | undefined;
  /** Builds the error. */
  constructor(message: string, init: SoulboxErrorInit = {}) {
    super(message, init);
    this.retryAfter = init.retryAfter;
  }
}

/** 503: the server is busy (queue full) or shutting down; raised once the retries are used up. */
export class UnavailableError extends SoulboxError {
  /** Seconds the server asked to wait (`Retry-After`), if it said. */
  readonly retryAfter: number | undefined;
  /** Builds the error. */
  constructor(message: string, init: SoulboxErrorInit = {}) {
    super(message, init);
    this.retryAfter = init.retryAfter;
  }
}

/** Another 5xx: SoulBox failed (e.g. `sandbox_setup_failed`, `internal_error`). */
export class ServerError extends SoulboxError {}
/** No answer: the connection was refused, reset or closed (status 0). */
export class ConnectionError extends SoulboxError {}
/** The client-side timeout ran out (status 0). */
export class TimeoutError extends SoulboxError {}

/** Returns the error class for an HTTP status. */
export function errorClassFor(status: number): typeof SoulboxError {
  switch (status) {
    case 400: return InvalidRequestError;
    case 401: return AuthenticationError;
    case 403: return PermissionDeniedError;
    case 404: return NotFoundError;
    case 409: return ConflictError;
    case 413: return PayloadTooLargeError;
    case 422: return UnknownLanguageError;
    case 429: return RateLimitError;
    case 503: return UnavailableError;
    default: return status >= 500 ? ServerError : SoulboxError;
  }
}

/** Builds the typed error for an API error answer. */
export function apiError(status: number, body: unknown, requestId: string, retryAfter?: number): SoulboxError {
  let code = `http_${status}`;
  let message = `HTTP ${status}`;
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (e && typeof e === 'object') {
    if (typeof e.code === 'string') code = e.code;
    if (typeof e.message === 'string') message = e.message;
  } else if (typeof body === 'string' && body.trim() !== '') {
    message = body.trim().slice(0, 500);
  }
  const Cls = errorClassFor(status);
  return new Cls(message, { code, status, requestId, body, retryAfter });
}
