"""Typed errors raised by the SoulBox SDK.

Every error is a :class:`SoulboxError` carrying ``code`` (the API's
``error.code``), ``message``, the HTTP ``status`` (0 when there was no answer)
and the ``request_id`` (the response's ``X-Request-Id``).
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional, Type

__all__ = [
    "SoulboxError",
    "InvalidRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "PayloadTooLargeError",
    "UnknownLanguageError",
    "RateLimitError",
    "UnavailableError",
    "ServerError",
    "ConnectionError",
    "TimeoutError",
]


class SoulboxError(Exception):
    """Base class of every SoulBox error.

    Attributes:
        code: the API's ``error.code`` (e.g. ``unknown_language``), or a client-side
            code (``connection_error``, ``timeout``, ``protocol_error``).
        message: the human-readable message.
        status: the HTTP status, 0 when no answer was received.
        request_id: the response's ``X-Request-Id`` (``None`` without an answer).
        body: the decoded error body when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        status: int = 0,
        request_id: Optional[str] = None,
        body: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        rid = f", request_id={self.request_id}" if self.request_id else ""
        return f"{self.message} (code={self.code}, status={self.status}{rid})"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
                f"status={self.status}, request_id={self.request_id!r})")


class InvalidRequestError(SoulboxError):
    """400: the request is invalid (also ``limit_exceeds_max``)."""


class AuthenticationError(SoulboxError):
    """401: missing or wrong API key."""


class PermissionDeniedError(SoulboxError):
    """403 (``permission_denied``): the key may not do this, e.g. read the audit log
    without the admin role."""


class NotFoundError(SoulboxError):
    """404: no such execution, sandbox, command, context or file."""


class ConflictError(SoulboxError):
    """409: a conflict, e.g. the session is paused or the command has ended."""


class PayloadTooLargeError(SoulboxError):
    """413: the body is too large, or the session's disk is full."""


class UnknownLanguageError(SoulboxError):
    """422: the language is not known or not available on this server."""


class RateLimitError(SoulboxError):
    """429: rate limited or a quota is reached; ``retry_after`` is in seconds (or ``None``)."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class UnavailableError(SoulboxError):
    """503: the queue is full or the server is shutting down; ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(SoulboxError):
    """Any other 5xx: SoulBox itself failed."""


class ConnectionError(SoulboxError):  # noqa: A001 - the shared name of the SDKs
    """No answer: the connection was refused, reset or closed (``status`` 0)."""


class TimeoutError(SoulboxError):  # noqa: A001 - the shared name of the SDKs
    """The client-side timeout ran out (``status`` 0)."""


_BY_STATUS: Dict[int, Type[SoulboxError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnknownLanguageError,
    429: RateLimitError,
    503: UnavailableError,
}


def error_from_response(status: int, body: bytes, request_id: Optional[str],
                        retry_after: Optional[float] = None) -> SoulboxError:
    """Builds the typed error for an HTTP error answer (internal helper)."""
    code, message, decoded = f"http_{status}", "", None
    try:
        decoded = json.loads(body) if body else None
        err = decoded.get("error") if isinstance(decoded, dict) else None
        if isinstance(err, dict):
            code = str(err.get("code") or code)
            message = str(err.get("message") or "")
        elif isinstance(decoded, dict) and "message" in decoded:
            message = str(decoded["message"])
    except (ValueError, AttributeError):
        message = body[:500].decode("utf-8", "replace")
    if not message:
        message = f"HTTP {status}"
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else SoulboxError
    if cls is RateLimitError:
        return RateLimitError(message, code=code, status=status, request_id=request_id,
                              body=decoded, retry_after=retry_after)
    if cls is UnavailableError:
        return UnavailableError(message, code=code, status=status, request_id=request_id,
                                body=decoded, retry_after=retry_after)
    return cls(message, code=code, status=status, request_id=request_id, body=decoded)
