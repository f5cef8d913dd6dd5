"""A small RFC 6455 WebSocket client (text, binary, ping, pong, close; client masking)."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import ssl
import struct
from typing import Any, Dict, List, Optional, Tuple

from ._core import retry_after
from .errors import ConnectionError, SoulboxError, TimeoutError, error_from_response

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def mask(payload: bytes, key: bytes) -> bytes:
    """XORs ``payload`` with the 4-byte ``key`` (RFC 6455 masking)."""
    n = len(payload)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked frame."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    return head + key + mask(payload, key)


class FrameParser:
    """Incremental frame parser: ``feed`` bytes, get complete messages (opcode, payload)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.frag_op: Optional[int] = None
        self.frags: List[bytes] = []

    def feed(self, data: bytes) -> List[Tuple[int, bytes]]:
        """Adds received bytes; returns the complete messages and control frames."""
        self.buf += data
        out: List[Tuple[int, bytes]] = []
        buf = self.buf
        while True:
            if len(buf) < 2:
                break
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            i = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = struct.unpack_from("!H", buf, 2)[0]
                i = 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n = struct.unpack_from("!Q", buf, 2)[0]
                i = 10
            key = None
            if b1 & 0x80:
                if len(buf) < i + 4:
                    break
                key = bytes(buf[i:i + 4])
                i += 4
            if len(buf) < i + n:
                break
            payload = bytes(buf[i:i + n])
            del buf[:i + n]
            if key:
                payload = mask(payload, key)
            fin, op = b0 & 0x80, b0 & 0x0F
            if op >= 0x8:
                out.append((op, payload))
            elif op == OP_CONT:
                self.frags.append(payload)
                if fin and self.frag_op is not None:
                    out.append((self.frag_op, b"".join(self.frags)))
                    self.frag_op, self.frags = None, []
            elif fin:
                out.append((op, payload))
            else:
                self.frag_op, self.frags = op, [payload]
        return out


def handshake_request(host_header: str, path: str, headers: Dict[str, str]) -> Tuple[bytes, str]:
    """The upgrade request and the expected ``Sec-WebSocket-Accept``."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host_header}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    for k, v in headers.items():
        if k.lower() not in ("accept", "content-type"):
            lines.append(f"{k}: {v}")
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), accept


def check_handshake(head: bytes, body: bytes, accept: str) -> None:
    """Raises the typed error when the upgrade was refused."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if status != 101:
        raise error_from_response(status, body, hdrs.get("x-request-id"),
                                  retry_after(hdrs.get("retry-after")))
    if hdrs.get("sec-websocket-accept") != accept:
        raise SoulboxError("bad Sec-WebSocket-Accept", code="protocol_error")


def content_length(head: bytes) -> int:
    """The Content-Length of a refused upgrade's answer (0 if none)."""
    for ln in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "content-length":
            try:
                return int(v.strip())
            except ValueError:
                return 0
    return 0


class SyncWebSocket:
    """A blocking WebSocket over a socket."""

    def __init__(self, cfg: Any, path: str, timeout: Optional[float]) -> None:
        self.parser = FrameParser()
        self.pending: List[Tuple[int, bytes]] = []
        self.close_code: Optional[int] = None
        self.closed = False
        try:
            sock = socket.create_connection((cfg.host, cfg.port), timeout=timeout)
            if cfg.scheme == "https":
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=cfg.host)
        except socket.timeout as e:
            raise TimeoutError(f"connecting to {cfg.url} timed out", code="timeout") from e
        except OSError as e:
            raise ConnectionError(f"cannot connect to {cfg.url}: {e}", code="connection_error") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        req, accept = handshake_request(cfg.host_header, cfg.prefix + path, cfg.base_headers)
        try:
            sock.sendall(req)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the server closed the connection during the upgrade",
                                          code="connection_error")
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101") and not head.startswith(b"HTTP/1.0 101"):
                n = content_length(head)
                while len(rest) < n:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
            check_handshake(head, rest, accept)
        except socket.timeout as e:
            sock.close()
            raise TimeoutError("the WebSocket upgrade timed out", code="timeout") from e
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        if rest:
            self.pending.extend(self.parser.feed(rest))

    def send_text(self, text: str) -> None:
        """Sends one text message."""
        self._send(OP_TEXT, text.encode("utf-8"))

    def _send(self, op: int, payload: bytes) -> None:
        try:
            self.sock.sendall(encode_frame(op, payload))
        except OSError as e:
            raise ConnectionError(f"WebSocket send failed: {e}", code="connection_error") from e

    def recv(self) -> Optional[Tuple[int, bytes]]:
        """The next data message (opcode, payload), or ``None`` once closed."""
        while True:
            while self.pending:
                op, payload = self.pending.pop(0)
                if op == OP_PING:
                    self._send(OP_PONG, payload)
                elif op == OP_PONG:
                    continue
                elif op == OP_CLOSE:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    self.close()
                    return None
                else:
                    return op, payload
            if self.closed:
                return None
            try:
                data = self.sock.recv(65536)
            except socket.timeout as e:
                raise TimeoutError("WebSocket read timed out", code="timeout") from e
            except OSError as e:
                self.close()
                raise ConnectionError(f"WebSocket read failed: {e}", code="connection_error") from e
            if not data:
                self.close()
                return None
            self.pending.extend(self.parser.feed(data))

    def close(self, code: int = 1000) -> None:
        """Sends a close frame (if still open) and closes the socket."""
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.sendall(encode_frame(OP_CLOSE, struct.pack("!H", code)))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class AsyncWebSocket:
    """An asyncio WebSocket over streams; create with ``await AsyncWebSocket.connect(...)``."""

    def __init__(self) -> None:
        self.parser = FrameParser()
        self.pending: List[Tuple[int, bytes]] = []
        self.close_code: Optional[int] = None
        self.closed = False
        self.reader: Any = None
        self.writer: Any = None

    @classmethod
    async def connect(cls, cfg: Any, path: str, timeout: Optional[float]) -> "AsyncWebSocket":
        """Opens the connection and does the upgrade."""
        self = cls()
        try:
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(
                cfg.host, cfg.port, ssl=ssl.create_default_context() if cfg.scheme == "https" else None,
                server_hostname=cfg.host if cfg.scheme == "https" else None), timeout)
        except asyncio.TimeoutError as e:
            raise TimeoutError(f"connecting to {cfg.url} timed out", code="timeout") from e
        except OSError as e:
            raise ConnectionError(f"cannot connect to {cfg.url}: {e}", code="connection_error") from e
        req, accept = handshake_request(cfg.host_header, cfg.prefix + path, cfg.base_headers)
        try:
            self.writer.write(req)
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
            head = head[:-4]
            body = b""
            if not head.startswith(b"HTTP/1.1 101"):
                n = content_length(head)
                if n:
                    body = await asyncio.wait_for(self.reader.readexactly(n), timeout)
            check_handshake(head, body, accept)
        except asyncio.TimeoutError as e:
            self.writer.close()
            raise TimeoutError("the WebSocket upgrade timed out", code="timeout") from e
        except (asyncio.IncompleteReadError, OSError) as e:
            self.writer.close()
            raise ConnectionError(f"WebSocket upgrade failed: {e}", code="connection_error") from e
        except BaseException:
            self.writer.close()
            raise
        return self

    async def send_text(self, text: str) -> None:
        """Sends one text message."""
        await self._send(OP_TEXT, text.encode("utf-8"))

    async def _send(self, op: int, payload: bytes) -> None:
        try:
            self.writer.write(encode_frame(op, payload))
            await self.writer.drain()
        except OSError as e:
            raise ConnectionError(f"WebSocket send failed: {e}", code="connection_error") from e

    async def recv(self) -> Optional[Tuple[int, bytes]]:
        """The next data message (opcode, payload), or ``None`` once closed."""
        while True:
            while self.pending:
                op, payload = self.pending.pop(0)
                if op == OP_PING:
                    await self._send(OP_PONG, payload)
                elif op == OP_PONG:
                    continue
                elif op == OP_CLOSE:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    await self.close()
                    return None
                else:
                    return op, payload
            if self.closed:
                return None
            try:
                data = await self.reader.read(65536)
            except OSError as e:
                await self.close()
                raise ConnectionError(f"WebSocket read failed: {e}", code="connection_error") from e
            if not data:
                await self.close()
                return None
            self.pending.extend(self.parser.feed(data))

    async def close(self, code: int = 1000) -> None:
        """Sends a close frame (if still open) and closes the connection."""
        if self.closed:
            return
        self.closed = True
        try:
            self.writer.write(encode_frame(OP_CLOSE, struct.pack("!H", code)))
            self.writer.close()
        except (OSError, RuntimeError):
            pass
