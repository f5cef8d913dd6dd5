"""The async transport: a small HTTP/1.1 client on asyncio streams (keep-alive, chunked)."""
from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

from ._core import FUNCTION_STATUS_HEADER, Config, backoff, function_answer, retry_after
from .errors import ConnectionError, SoulboxError, TimeoutError, error_from_response

IDEMPOTENT = frozenset(("GET", "DELETE"))


class _Conn:
    __slots__ = ("reader", "writer", "loop")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.loop = asyncio.get_running_loop()

    def usable(self) -> bool:
        if self.loop is not asyncio.get_running_loop():
            return False  # made by another (maybe closed) event loop
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass


class AResponse:
    """A finished answer: status, headers (lower-case names) and body."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


class _BadAnswer(Exception):
    pass


async def _read_head(reader: asyncio.StreamReader) -> Tuple[int, Dict[str, str]]:
    while True:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if not e.partial:
                raise ConnectionResetError("the server closed the connection") from e
            raise
        lines = raw[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise _BadAnswer(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        headers: Dict[str, str] = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            k, v = k.strip().lower(), v.strip()
            headers[k] = headers[k] + ", " + v if k in headers else v
        if 100 <= status < 200:
            continue
        headers[":version"] = parts[0]
        return status, headers


class _Body:
    """Reads a response body piece by piece (Content-Length, chunked, or to the close)."""

    def __init__(self, conn: _Conn, status: int, headers: Dict[str, str], method: str) -> None:
        self.conn = conn
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        cl = headers.get("content-length")
        self.remaining: Optional[int] = int(cl) if (cl and not self.chunked) else None
        if method == "HEAD" or status in (204, 304):
            self.remaining, self.chunked = 0, False
        self.to_close = (self.remaining is None and not self.chunked)
        self.keep = (not self.to_close and headers.get("connection", "").lower() != "close"
                     and headers.get(":version") == "HTTP/1.1")
        self.done = False

    async def piece(self) -> bytes:
        """The next part of the body, ``b""`` at its end."""
        if self.done:
            return b""
        r = self.conn.reader
        if self.chunked:
            line = await r.readuntil(b"\r\n")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await r.readuntil(b"\r\n")) != b"\r\n":
                    pass
                self.done = True
                return b""
            data = await r.readexactly(size + 2)
            return data[:-2]
        if self.remaining is not None:
            if self.remaining == 0:
                self.done = True
                return b""
            data = await r.read(min(self.remaining, 65536))
            if not data:
                raise ConnectionResetError("the answer was cut short")
            self.remaining -= len(data)
            return data
        data = await r.read(65536)
        if not data:
            self.done = True
        return data

    async def read_all(self) -> bytes:
        if self.remaining is not None and not self.chunked:
            data = await self.conn.reader.readexactly(self.remaining) if self.remaining else b""
            self.remaining, self.done = 0, True
            return data
        parts: List[bytes] = []
        while True:
            p = await self.piece()
            if not p:
                return b"".join(parts)
            parts.append(p)


class AsyncTransport:
    """Keeps idle connections and sends requests, retrying 429/503 (internal)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.idle: List[_Conn] = []
        self.connections_opened = 0
        self.closed = False

    async def _open(self) -> _Conn:
        cfg = self.cfg
        self.connections_opened += 1
        if cfg.scheme == "https":
            reader, writer = await asyncio.open_connection(
                cfg.host, cfg.port, ssl=ssl.create_default_context(), server_hostname=cfg.host)
        else:
            reader, writer = await asyncio.open_connection(cfg.host, cfg.port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        return _Conn(reader, writer)

    def release(self, conn: _Conn, keep: bool) -> None:
        """Returns a connection whose answer was read to the end to the pool."""
        if keep and not self.closed and conn.usable():
            self.idle.append(conn)
        else:
            conn.close()

    async def close(self) -> None:
        """Closes every idle connection."""
        self.closed = True
        idle, self.idle = self.idle, []
        for c in idle:
            c.close()
            try:
                await c.writer.wait_closed()
            except (OSError, RuntimeError):
                pass

    def _head(self, method: str, url: str, headers: Dict[str, str], body: Optional[bytes]) -> bytes:
        h = [f"{method} {url} HTTP/1.1\r\nHost: {self.cfg.host_header}\r\n"]
        for k, v in headers.items():
            h.append(f"{k}: {v}\r\n")
        if body is not None or method in ("POST", "PUT"):
            h.append(f"Content-Length: {len(body) if body else 0}\r\n")
        h.append("\r\n")
        return "".join(h).encode("utf-8")

    async def _once(self, method: str, url: str, body: Optional[bytes],
                    headers: Dict[str, str]) -> Tuple[_Conn, bool, int, Dict[str, str], "_Body"]:
        conn = None
        while self.idle:
            c = self.idle.pop()
            if c.usable():
                conn = c
                break
            if c.loop is asyncio.get_running_loop():
                c.close()
        reused = conn is not None
        if conn is None:
            try:
                conn = await self._open()
            except OSError as e:
                raise _NotSent(e) from e
        try:
            conn.writer.write(self._head(method, url, headers, body) + (body or b""))
            await conn.writer.drain()
            status, rh = await _read_head(conn.reader)
        except (OSError, asyncio.IncompleteReadError) as e:
            conn.close()
            if reused:
                raise _Stale(e) from e
            raise
        except BaseException:
            conn.close()
            raise
        return conn, reused, status, rh, _Body(conn, status, rh, method)

    async def request(self, method: str, path: str, body: Optional[bytes], headers: Dict[str, str],
                      timeout: Optional[float], stream: bool = False,
                      passthrough: bool = False) -> Any:
        """Sends a request; returns an AResponse (or, with ``stream``, an AsyncStreamResponse).

        ``passthrough``: an error status that is a function's own answer (``/fn/...``) is
        returned, not raised, and never retried.
        """
        cfg = self.cfg
        url = cfg.prefix + path
        if timeout is None:
            timeout = cfg.timeout
        attempt = 0
        while True:
            conn = None
            try:
                conn, _, status, rh, b = await asyncio.wait_for(
                    self._once(method, url, body, headers), timeout)
                if status < 400 and stream:
                    return AsyncStreamResponse(self, conn, b, rh)
                data = await asyncio.wait_for(b.read_all(), timeout)
                self.release(conn, b.keep)
            except asyncio.TimeoutError as e:
                if conn is not None:
                    conn.close()
                raise TimeoutError(f"{method} {path}: no answer within {timeout} s",
                                   code="timeout") from e
            except _Stale as e:
                if method in IDEMPOTENT:
                    continue
                raise ConnectionError(f"{method} {path}: {e.__cause__}",
                                      code="connection_error") from e
            except _NotSent as e:
                if method in IDEMPOTENT and attempt < cfg.max_retries:
                    await asyncio.sleep(backoff(attempt, None))
                    attempt += 1
                    continue
                raise ConnectionError(f"{method} {path}: {e.__cause__}",
                                      code="connection_error") from e
            except (OSError, asyncio.IncompleteReadError, _BadAnswer, ValueError) as e:
                raise ConnectionError(f"{method} {path}: {e}", code="connection_error") from e
            if status < 400 or (passthrough and function_answer(
                    status, rh.get(FUNCTION_STATUS_HEADER.lower()), data)):
                return AResponse(status, rh, data)
            ra = retry_after(rh.get("retry-after"))
            if status in (429, 503) and attempt < cfg.max_retries:
                await asyncio.sleep(backoff(attempt, ra))
                attempt += 1
                continue
            raise error_from_response(status, data, rh.get("x-request-id"), ra)


class _NotSent(Exception):
    pass


class _Stale(Exception):
    pass


class AsyncStreamResponse:
    """A streamed answer read line by line; closing it early drops the connection."""

    def __init__(self, t: AsyncTransport, conn: _Conn, body: _Body, headers: Dict[str, str]) -> None:
        self.t, self.conn, self.body = t, conn, body
        self.request_id = headers.get("x-request-id")
        self.closed = False
        self.buf = b""
        self.read_timeout: Optional[float] = None

    async def readline(self) -> Optional[str]:
        """The next line without its end, or ``None`` at the end of the body."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 1:]
                return line.decode("utf-8", "replace").rstrip("\r")
            if self.closed:
                return None
            try:
                if self.read_timeout is None:
                    piece = await self.body.piece()
                else:
                    piece = await asyncio.wait_for(self.body.piece(), self.read_timeout)
            except asyncio.TimeoutError as e:
                self.close()
                raise TimeoutError("the stream timed out", code="timeout") from e
            except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                self.close()
                raise ConnectionError(f"the stream broke: {e}", code="connection_error") from e
            if not piece:
                self.closed = True
                self.t.release(self.conn, self.body.keep)
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line.decode("utf-8", "replace").rstrip("\r")
                return None
            self.buf += piece

    async def lines(self) -> AsyncIterator[str]:
        """The body's lines as they arrive."""
        while True:
            line = await self.readline()
            if line is None:
                return
            yield line

    def close(self) -> None:
        """Stops reading: the connection is closed."""
        if not self.closed:
            self.closed = True
            self.conn.close()


def protocol_error(msg: str) -> SoulboxError:
    """A protocol error (the server said something unexpected)."""
    return SoulboxError(msg, code="protocol_error")
