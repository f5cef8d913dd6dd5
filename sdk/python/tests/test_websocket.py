"""The WebSocket client against a scripted local server: framing, ping/pong, fragments,
and retrying an execute refused with close 4429."""
import asyncio
import base64
import hashlib
import json
import socket
import struct
import threading
import time

import soulbox
from soulbox._ws import FrameParser, encode_frame, mask

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(op, payload, fin=True):
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | op])
    head += bytes([n]) if n < 126 else bytes([126]) + struct.pack("!H", n)
    return head + payload


class WSStub:
    """Refuses the first `refusals` executes (error + close 4429), then runs one."""

    def __init__(self, refusals=1):
        self.refusals = refusals
        self.connections = 0
        self.received = []
        self.pongs = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    def handle(self, c):
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += c.recv(4096)
        head, _, rest = buf.partition(b"\r\n\r\n")
        hdrs = dict(ln.split(": ", 1) for ln in head.decode().split("\r\n")[1:])
        self.auth = hdrs.get("Authorization")
        acc = base64.b64encode(hashlib.sha1((hdrs["Sec-WebSocket-Key"] + GUID).encode()).digest()).decode()
        c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Accept: {acc}\r\n\r\n").encode())
        p = FrameParser()
        msgs = p.feed(rest)

        def next_msg():
            nonlocal msgs
            while not msgs:
                msgs = p.feed(c.recv(4096))
            return msgs.pop(0)
        op, data = next_msg()
        self.received.append(json.loads(data))
        if self.refusals > 0:
            self.refusals -= 1
            c.sendall(frame(1, b'{"type":"error","error":{"code":"rate_limited","message":"slow"}}'))
            c.sendall(frame(8, struct.pack("!H", 4429)))
            time.sleep(0.2)
            c.close()
            return
        c.sendall(frame(1, b'{"type":"started","id":"e1"}'))
        c.sendall(frame(9, b"hb"))  # a ping: the client must answer pong "hb"
        c.sendall(frame(1, b'{"type":"stdout","da', fin=False) + frame(0, b'ta":"x\\n"}'))
        op, data = next_msg()
        while op == 0xA:
            self.pongs.append(data)
            op, data = next_msg()
        self.received.append(json.loads(data))  # stdin
        big = json.dumps({"type": "exit", "stdout": "x\n" + "y" * 70000, "status": "ok",
                          "exit_code": 0}).encode()
        c.sendall(bytes([0x81, 127]) + struct.pack("!Q", len(big)) + big)
        c.sendall(frame(8, struct.pack("!H", 1000)))
        try:
            next_msg()  # the client's close
        except OSError:
            pass
        c.close()

    def close(self):
        self.sock.close()


def test_mask_roundtrip_and_client_frames_are_masked():
    key = b"\x01\x02\x03\x04"
    assert mask(mask(b"hello world", key), key) == b"hello world"
    f = encode_frame(1, b"hi")
    assert f[0] == 0x81 and f[1] == 0x82  # FIN text, masked, length 2
    assert FrameParser().feed(f) == [(1, b"hi")]
    long = encode_frame(2, b"z" * 70000)
    assert FrameParser().feed(long) == [(2, b"z" * 70000)]


def test_sync_stream_retries_4429_and_handles_ping_fragments_and_64bit_lengths():
    stub = WSStub(refusals=1)
    try:
        with soulbox.Client(f"127.0.0.1:{stub.port}", api_key="k") as c:
            t = time.monotonic()
            with c.stream("python", "x") as s:
                evs = []
                for ev in s:
                    evs.append(ev)
                    if ev.type == "stdout":
                        s.send_stdin("in\n")
            took = time.monotonic() - t
        assert [e.type for e in evs] == ["started", "stdout", "exit"]
        assert evs[1].data == "x\n" and s.id == "e1"
        assert s.result.stdout == "x\n" + "y" * 70000 and s.result.exit_code == 0
        assert stub.connections == 2 and took >= 0.45
        assert stub.pongs == [b"hb"]
        assert stub.received == [{"type": "execute", "language": "python", "code": "x"}] * 2 + [
            {"type": "stdin", "data": "in\n"}]
        assert stub.auth == "Bearer k"
    finally:
        stub.close()


def test_stream_refused_more_than_max_retries_raises_rate_limit_error():
    stub = WSStub(refusals=5)
    try:
        with soulbox.Client(f"127.0.0.1:{stub.port}", max_retries=1) as c:
            s = c.stream("python", "x")
            try:
                list(s)
            except soulbox.RateLimitError as e:
                assert (e.status, e.code, e.message) == (429, "rate_limited", "slow")
            else:
                raise AssertionError("no RateLimitError")
        assert stub.connections == 2
    finally:
        stub.close()


def test_stream_sends_isolation():
    stub = WSStub(refusals=1)
    try:
        with soulbox.Client(f"127.0.0.1:{stub.port}", max_retries=0) as c:
            try:
                list(c.stream("python", "x", isolation="microvm"))
            except soulbox.RateLimitError:
                pass
        assert stub.received == [{"type": "execute", "language": "python", "code": "x",
                                  "isolation": "microvm"}]
    finally:
        stub.close()


def test_stream_sends_compile_args():
    stub = WSStub(refusals=1)
    try:
        with soulbox.Client(f"127.0.0.1:{stub.port}", max_retries=0) as c:
            try:
                list(c.stream("c", "x", args=["a"], compile_args=["-DANSWER=42"]))
            except soulbox.RateLimitError:
                pass
        assert stub.received == [{"type": "execute", "language": "c", "code": "x", "args": ["a"],
                                  "compile_args": ["-DANSWER=42"]}]
    finally:
        stub.close()
    stub = WSStub(refusals=1)

    async def main():
        async with soulbox.AsyncClient(f"127.0.0.1:{stub.port}", max_retries=0) as c:
            s = await c.stream("c", "x", compile_args=["-O0"])
            try:
                async for _ in s:
                    pass
            except soulbox.RateLimitError:
                pass
            await s.close()
    try:
        asyncio.run(main())
        assert stub.received == [{"type": "execute", "language": "c", "code": "x",
                                  "compile_args": ["-O0"]}]
    finally:
        stub.close()


def test_stream_sends_compile_limits():
    stub = WSStub(refusals=1)
    try:
        with soulbox.Client(f"127.0.0.1:{stub.port}", max_retries=0) as c:
            try:
                list(c.stream("c", "x", limits={"wall_time_ms": 900},
                              compile_limits={"wall_time_ms": 700, "memory_mb": 64}))
            except soulbox.RateLimitError:
                pass
        assert stub.received == [{"type": "execute", "language": "c", "code": "x",
                                  "limits": {"wall_time_ms": 900},
                                  "compile_limits": {"wall_time_ms": 700, "memory_mb": 64}}]
    finally:
        stub.close()
    stub = WSStub(refusals=1)

    async def main():
        async with soulbox.AsyncClient(f"127.0.0.1:{stub.port}", max_retries=0) as c:
            s = await c.stream("c", "x", compile_limits={"cpu_time_ms": 500})
            try:
                async for _ in s:
                    pass
            except soulbox.RateLimitError:
                pass
            await s.close()
    try:
        asyncio.run(main())
        assert stub.received == [{"type": "execute", "language": "c", "code": "x",
                                  "compile_limits": {"cpu_time_ms": 500}}]
    finally:
        stub.close()


def test_async_stream_retries_4429():
    stub = WSStub(refusals=1)

    async def main():
        async with soulbox.AsyncClient(f"127.0.0.1:{stub.port}") as c:
            s = await c.stream("python", "x")
            types = []
            async for ev in s:
                types.append(ev.type)
                if ev.type == "stdout":
                    await s.send_stdin("in\n")
            await s.close()
            return types, s.result
    try:
        types, result = asyncio.run(main())
        assert types == ["started", "stdout", "exit"] and result.status == "ok"
        assert stub.connections == 2 and stub.pongs == [b"hb"]
    finally:
        stub.close()


def test_stream_signal_sends_the_signal_message():
    stub = WSStub(refusals=0)
    try:
        with soulbox.Client(f"127.0.0.1:{stub.port}") as c:
            with c.stream("python", "x") as s:
                for ev in s:
                    if ev.type == "stdout":
                        s.signal("SIGINT")
        assert s.result.status == "ok"
        assert stub.received[1] == {"type": "signal", "signal": "SIGINT"}
    finally:
        stub.close()
    stub = WSStub(refusals=0)

    async def main():
        async with soulbox.AsyncClient(f"127.0.0.1:{stub.port}") as c:
            s = await c.stream("python", "x")
            async for ev in s:
                if ev.type == "stdout":
                    await s.signal(15)  # a number goes as its decimal string
            await s.close()
    try:
        asyncio.run(main())
        assert stub.received[1] == {"type": "signal", "signal": "15"}
    finally:
        stub.close()
