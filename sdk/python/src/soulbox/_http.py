"""The sync transport: http.client connections kept alive in a pool, with retries."""
from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ._core import FUNCTION_STATUS_HEADER, Config, backoff, function_answer, retry_after
from .errors import ConnectionError, SoulboxError, TimeoutError, error_from_response

IDEMPOTENT = frozenset(("GET", "DELETE"))
_NOT_SENT = (ConnectionRefusedError, ConnectionResetError, BrokenPipeError,
             http.client.RemoteDisconnected, ConnectionAbortedError)


class _Conn(http.client.HTTPConnection):
    """An HTTPConnection with TCP_NODELAY."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _SConn(http.client.HTTPSConnection):
    """An HTTPSConnection with TCP_NODELAY."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Response:
    """A finished answer: status, headers and body."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


class SyncTransport:
    """Keeps idle connections and sends requests, retrying 429/503 (internal)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.idle: List[http.client.HTTPConnection] = []
        self.lock = threading.Lock()
        self.closed = False
        self.connections_opened = 0

    def _new(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        self.connections_opened += 1
        if self.cfg.scheme == "https":
            return _SConn(self.cfg.host, self.cfg.port, timeout=timeout,
                          context=ssl.create_default_context())
        return _Conn(self.cfg.host, self.cfg.port, timeout=timeout)

    def _acquire(self, timeout: Optional[float]) -> Tuple[http.client.HTTPConnection, bool]:
        while True:
            with self.lock:
                conn = self.idle.pop() if self.idle else None
            if conn is None:
                return self._new(timeout), False
            sock = conn.sock
            if sock is None:
                return conn, False
            try:
                readable = select.select([sock], [], [], 0)[0]
            except (OSError, ValueError):
                readable = [sock]
            if readable:  # closed by the server (or junk): not reusable
                conn.close()
                continue
            conn.timeout = timeout
            sock.settimeout(timeout)
            return conn, True

    def release(self, conn: http.client.HTTPConnection, resp: Any) -> None:
        """Returns a connection whose answer was read to the end to the pool."""
        if resp.will_close or self.closed:
            conn.close()
            return
        with self.lock:
            self.idle.append(conn)

    def close(self) -> None:
        """Closes every idle connection."""
        self.closed = True
        with self.lock:
            idle, self.idle = self.idle, []
        for c in idle:
            c.close()

    def request(self, method: str, path: str, body: Optional[bytes], headers: Dict[str, str],
                timeout: Optional[float], stream: bool = False, passthrough: bool = False) -> Any:
        """Sends a request; returns a Response (or, with ``stream``, a StreamResponse).

        ``passthrough``: an error status that is a function's own answer (``/fn/...``) is
        returned, not raised, and never retried.
        """
        cfg = self.cfg
        url = cfg.prefix + path
        if timeout is None:
            timeout = cfg.timeout
        attempt = 0
        while True:
            deadline = time.monotonic() + timeout
            conn, reused = self._acquire(timeout)
            sent = False
            try:
                if conn.sock is None:
                    conn.connect()
                conn.request(method, url, body, headers)
                sent = True
                _bound(conn, deadline)
                resp = conn.getresponse()
            except socket.timeout as e:
                conn.close()
                raise TimeoutError(f"{method} {path}: no answer within {timeout} s",
                                   code="timeout") from e
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                not_sent = (not sent and isinstance(e, _NOT_SENT)) or (
                    reused and isinstance(e, _NOT_SENT))
                if not_sent and method in IDEMPOTENT:
                    if reused:
                        continue  # a stale kept-alive connection: try a fresh one at once
                    if attempt < cfg.max_retries:
                        time.sleep(backoff(attempt, None))
                        attempt += 1
                        continue
                raise ConnectionError(f"{method} {path}: {e or type(e).__name__}",
                                      code="connection_error") from e
            status = resp.status
            if status < 400:
                if stream:
                    return StreamResponse(self, conn, resp)
                try:
                    data = _read_all(conn, resp, deadline)
                except socket.timeout as e:
                    conn.close()
                    raise TimeoutError(f"{method} {path}: reading the answer timed out",
                                       code="timeout") from e
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    raise ConnectionError(f"{method} {path}: {e}", code="connection_error") from e
                self.release(conn, resp)
                return Response(status, resp.headers, data)
            try:
                data = _read_all(conn, resp, deadline)
                self.release(conn, resp)
            except (OSError, http.client.HTTPException):
                conn.close()
                data = b""
            fs = resp.getheader(FUNCTION_STATUS_HEADER)
            if passthrough and function_answer(status, fs, data):
                return Response(status, resp.headers, data)
            ra = retry_after(resp.getheader("Retry-After"))
            if status in (429, 503) and attempt < cfg.max_retries:
                time.sleep(backoff(attempt, ra))
                attempt += 1
                continue
            raise error_from_response(status, data, resp.getheader("X-Request-Id"), ra)


def _bound(conn: http.client.HTTPConnection, deadline: float) -> None:
    """Lets the next socket wait last at most until ``deadline``."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("the call's timeout ran out")
    if conn.sock is not None:
        conn.sock.settimeout(left)


def _read_all(conn: http.client.HTTPConnection, resp: http.client.HTTPResponse,
              deadline: float) -> bytes:
    """The whole body, read before ``deadline`` (a trickling answer cannot stretch it)."""
    parts: List[bytes] = []
    while True:
        _bound(conn, deadline)
        b = resp.read1(1 << 16)  # at most one socket read, so the deadline holds
        if not b:
            resp.close()  # complete: the connection can take the next request
            return b"".join(parts)
        parts.append(b)


class StreamResponse:
    """A streamed answer read line by line; closing it early drops the connection."""

    def __init__(self, t: SyncTransport, conn: http.client.HTTPConnection,
                 resp: http.client.HTTPResponse) -> None:
        self.t, self.conn, self.resp = t, conn, resp
        self.done = False
        self.reading = False
        self.request_id = resp.getheader("X-Request-Id")
        self.content_type = resp.getheader("Content-Type") or ""

    def settimeout(self, timeout: Optional[float]) -> None:
        """Sets the read timeout of the rest of the stream (``None``: wait for ever)."""
        if self.conn.sock is not None:
            self.conn.sock.settimeout(timeout)

    def lines(self) -> Iterator[str]:
        """The body's lines, without their ends, as they arrive (ends quietly once closed)."""
        resp = self.resp
        while True:
            if self.done:
                return
            self.reading = True
            try:
                line = resp.readline()
            except socket.timeout as e:
                self.reading = False
                self.close()
                raise TimeoutError("the stream timed out", code="timeout") from e
            except (OSError, http.client.HTTPException, AttributeError, ValueError) as e:
                self.reading = False
                if self.done:  # closed meanwhile (maybe by another thread)
                    self.conn.close()
                    return
                self.close()
                raise ConnectionError(f"the stream broke: {e}", code="connection_error") from e
            except GeneratorExit:
                self.reading = False
                self.close()
                raise
            self.reading = False
            if self.done:
                self.conn.close()
                return
            if not line:
                break
            yield line.decode("utf-8", "replace").rstrip("\r\n")
        self.done = True
        self.t.release(self.conn, resp)

    def read(self) -> bytes:
        """The rest of the body."""
        data = self.resp.read()
        self.done = True
        self.t.release(self.conn, self.resp)
        return data

    def close(self) -> None:
        """Stops reading: the connection is closed (the server stops sending).

        May be called from another thread: a reader blocked in it then ends quietly.
        """
        if self.done:
            return
        self.done = True
        sock = self.conn.sock
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if not self.reading:
            self.conn.close()


def raise_protocol(msg: str) -> SoulboxError:
    """A protocol error (the server said something unexpected)."""
    return SoulboxError(msg, code="protocol_error")
