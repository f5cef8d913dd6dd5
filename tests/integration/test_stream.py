"""Real-time output: WebSocket (GET /api/ws, with the `websockets` client) and
Server-Sent Events (POST /api/execute, Accept: text/event-stream)."""
import asyncio
import base64
import json
import os
import socket
import struct
import time

import pytest
import requests
import websockets

from conftest import sandbox_processes
from server import Server, wait_until

TICKER = "import time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.2)\n"
UPPER = "import sys\nfor line in sys.stdin:\n    print(line.upper(), end='', flush=True)\n"


@pytest.fixture(scope="module")
def srv():
    with Server("server:\n  max_concurrent: 8\n") as s:
        yield s


def ws_url(s):
    return f"ws://127.0.0.1:{s.port}/api/ws"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def events(ws):
    """Every event until the server closes, each with its arrival time."""
    out = []
    try:
        async for m in ws:
            out.append((time.monotonic(), json.loads(m)))
    except websockets.exceptions.ConnectionClosedError:
        pass  # closed with a code other than 1000: ws.close_code says which
    return out


def stdout_of(evs):
    return "".join(e["data"] for _, e in evs if e["type"] == "stdout")


def wait_no_sandboxes(timeout=10):
    deadline = time.time() + timeout
    while sandbox_processes():
        assert time.time() < deadline, sandbox_processes()
        time.sleep(0.05)


# ---- WebSocket ----

def test_output_arrives_line_by_line_long_before_the_exit(srv):
    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"type": "execute", "language": "python", "code": TICKER}))
            evs = await events(ws)
            return evs, ws.close_code
    evs, code = run(go())
    types = [e["type"] for _, e in evs]
    assert types[0] == "started" and types[-1] == "exit" and code == 1000
    assert set(types[1:-1]) == {"stdout"}
    assert stdout_of(evs) == "0\n1\n2\n3\n4\n"
    exit_ev = evs[-1][1]
    assert exit_ev["status"] == "ok" and exit_ev["stdout"] == "0\n1\n2\n3\n4\n"
    assert exit_ev["id"] == evs[0][1]["id"]
    first_line = next(t for t, e in evs if e["type"] == "stdout")
    assert evs[-1][0] - first_line > 0.6      # 4 more lines x 200 ms came after it
    # each line came on its own, ~200 ms apart
    line_times = [t for t, e in evs if e["type"] == "stdout" and e["data"].endswith("\n")]
    assert len(line_times) == 5
    assert all(b - a > 0.1 for a, b in zip(line_times, line_times[1:]))


def test_interactive_stdin_turn_by_turn(srv):
    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"type": "execute", "language": "python", "code": UPPER}))
            assert json.loads(await ws.recv())["type"] == "started"
            seen = []
            for word in ["hello", "world", "again"]:
                await ws.send(json.dumps({"type": "stdin", "data": word + "\n"}))
                got = ""
                while not got.endswith("\n"):
                    ev = json.loads(await ws.recv())
                    assert ev["type"] == "stdout", ev
                    got += ev["data"]
                seen.append(got)
            await ws.send(json.dumps({"type": "stdin_close"}))
            rest = await events(ws)
            return seen, rest
    seen, rest = run(go())
    assert seen == ["HELLO\n", "WORLD\n", "AGAIN\n"]
    assert rest[-1][1]["type"] == "exit" and rest[-1][1]["status"] == "ok"
    assert rest[-1][1]["stdout"] == "HELLO\nWORLD\nAGAIN\n"


def test_stdin_sent_with_execute_and_before_start(srv):
    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"type": "execute", "language": "python", "code": UPPER,
                                      "stdin": "a\n"}))
            await ws.send(json.dumps({"type": "stdin", "data": "b\n"}))
            await ws.send(json.dumps({"type": "stdin_close"}))
            return await events(ws)
    evs = run(go())
    assert evs[-1][1]["stdout"] == "A\nB\n" and evs[-1][1]["status"] == "ok"


def test_kill(srv):
    code = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)\n"

    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"type": "execute", "language": "python", "code": code}))
            while json.loads(await ws.recv())["type"] != "stdout":
                pass
            await ws.send(json.dumps({"type": "kill"}))
            return await events(ws)
    evs = run(go())
    ex = evs[-1][1]
    assert ex["type"] == "exit" and ex["status"] == "runtime_error"
    assert ex["signal"] == 9 and ex["message"] == "killed on request"
    wait_no_sandboxes()


def test_signal(srv):
    """A signal reaches the running program, which may catch it; a bad name or a resize
    (a pty's) is an error and the program runs on."""
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGINT, lambda n, f: (print('caught', n, flush=True), "
            "sys.exit(4)))\nprint('ready', flush=True)\ntime.sleep(30)\n")

    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"type": "execute", "language": "python", "code": code}))
            out = ""                  # (print may reach the pipe in two writes)
            while out != "ready\n":
                ev = json.loads(await ws.recv())
                out += ev["data"] if ev["type"] == "stdout" else ""
            errors = []
            for bad in ({"type": "signal", "signal": "SIGNOPE"},
                        {"type": "resize", "rows": 10, "cols": 10}):
                await ws.send(json.dumps(bad))
                errors.append(json.loads(await ws.recv()))
            await ws.send(json.dumps({"type": "signal", "signal": "SIGINT"}))
            return errors, await events(ws)
    errors, evs = run(go())
    assert [e["error"]["message"] for e in errors] == [
        "signal: a name like SIGINT or SIGTERM", "resize is for a session's command (with a pty)"]
    ex = evs[-1][1]
    assert (ex["type"], ex["status"], ex["exit_code"], ex["stdout"]) == (
        "exit", "runtime_error", 4, "ready\ncaught 2\n"), ex
    wait_no_sandboxes()


def test_disconnect_kills_the_sandbox(srv):
    async def go():
        ws = await websockets.connect(ws_url(srv))
        await ws.send(json.dumps({"type": "execute", "language": "bash",
                                  "code": "echo up; sleep 30"}))
        started = json.loads(await ws.recv())
        assert json.loads(await ws.recv())["data"] == "up\n"
        ws.transport.abort()      # no close handshake: the TCP connection just goes
        return started["id"]
    ex_id = run(go())
    wait_no_sandboxes()
    deadline = time.time() + 10
    while srv.get(f"/api/executions/{ex_id}").json()["status"] in ("queued", "running"):
        assert time.time() < deadline
        time.sleep(0.05)
    r = srv.get(f"/api/executions/{ex_id}").json()
    assert r["status"] == "internal_error" and "disconnected" in r["message"]
    assert r["mode"] == "interactive"


def test_slow_reader_applies_backpressure_not_server_memory(srv):
    # 64 MB of output as fast as possible; the client does not read for 2 s.
    code = "import sys\nb = b'x' * 65536\nfor _ in range(1024):\n    sys.stdout.buffer.write(b)\n"

    def server_rss_kb():
        with open(f"/proc/{srv.proc.pid}/status") as f:
            return int(next(l for l in f if l.startswith("VmRSS")).split()[1])

    async def go():
        # (the exit event repeats the whole result: 64 MB of stdout)
        async with websockets.connect(ws_url(srv), max_queue=1, read_limit=2 ** 16,
                                      max_size=None) as ws:
            before = server_rss_kb()
            await ws.send(json.dumps({"type": "execute", "language": "python", "code": code,
                                      "limits": {"output_kb": 65536, "wall_time_ms": 30000}}))
            await asyncio.sleep(2)
            during = server_rss_kb()
            evs = await events(ws)
            return before, during, evs
    before, during, evs = run(go())
    assert during - before < 16 * 1024, (before, during)   # not 64 MB buffered
    ex = evs[-1][1]
    assert ex["type"] == "exit" and ex["status"] == "ok", {k: ex[k] for k in ("status", "message")
                                                           if k in ex}
    total = sum(len(e["data"]) for _, e in evs if e["type"] == "stdout")
    assert total == 64 << 20


def test_output_is_still_capped_by_the_output_limit(srv):
    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"type": "execute", "language": "bash", "code": "yes",
                                      "limits": {"output_kb": 64}}))
            return await events(ws)
    evs = run(go())
    assert evs[-1][1]["status"] == "output_limit_exceeded"
    assert sum(len(e["data"]) for _, e in evs if e["type"] == "stdout") == 64 * 1024


def test_utf8_characters_are_never_split(srv):
    # 3-byte characters written one byte at a time, unbuffered.
    code = ("import os, time\nfor b in '€€'.encode():\n    os.write(1, bytes([b]))\n"
            "    time.sleep(0.02)\n")

    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"type": "execute", "language": "python", "code": code}))
            return await events(ws)
    evs = run(go())
    chunks = [e["data"] for _, e in evs if e["type"] == "stdout"]
    assert "".join(chunks) == "€€" and all("\ufffd" not in c for c in chunks)


def test_bad_messages_get_errors_and_the_connection_carries_on(srv):
    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            replies = []
            for m in ["not json", json.dumps([1]), json.dumps({"type": "dance"}),
                      json.dumps({"type": "stdin", "data": "x"}),
                      json.dumps({"type": "execute", "language": "cobra", "code": "x"}),
                      json.dumps({"type": "execute", "language": "python", "code": "x",
                                  "test_cases": [{"stdin": ""}]}),
                      json.dumps({"type": "auth", "key": "k"}),
                      '{"type": "kill", "type": "stdin"}']:
                await ws.send(m)
                replies.append(json.loads(await ws.recv()))
            await ws.send(json.dumps({"type": "execute", "language": "bash", "code": "echo ok"}))
            evs = await events(ws)
            return replies, evs
    replies, evs = run(go())
    assert [r["type"] for r in replies] == ["error"] * 8
    codes = [r["error"]["code"] for r in replies]
    assert codes == ["invalid_argument"] * 3 + ["invalid_argument", "unknown_language",
                                                "invalid_argument"] + ["invalid_argument"] * 2
    assert "unknown type 'dance'" in replies[2]["error"]["message"]
    assert "nothing is running" in replies[3]["error"]["message"]
    assert "not with streaming" in replies[5]["error"]["message"]
    assert replies[6]["error"]["message"] == ("auth: not expected now (already authenticated, "
                                              "or authentication is off)")
    msg = replies[7]["error"]["message"]
    assert msg.startswith('message: a JSON object with a "type" is expected: ') and \
        "duplicate object key" in msg, msg
    assert evs[-1][1]["stdout"] == "ok\n"


def test_one_execution_per_connection(srv):
    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"type": "execute", "language": "bash",
                                      "code": "sleep 0.3; echo one"}))
            await ws.send(json.dumps({"type": "execute", "language": "bash", "code": "echo two"}))
            return await events(ws)
    evs = run(go())
    errors = [e for _, e in evs if e["type"] == "error"]
    assert len(errors) == 1 and "one execution per connection" in errors[0]["error"]["message"]
    assert evs[-1][1]["stdout"] == "one\n"


def test_fragmented_messages_and_ping(srv):
    async def go():
        async with websockets.connect(ws_url(srv)) as ws:
            pong = await ws.ping()
            await asyncio.wait_for(pong, 5)
            msg = json.dumps({"type": "execute", "language": "bash", "code": "echo frag"})
            await ws.send([msg[:10], msg[10:20], msg[20:]])     # three frames
            return await events(ws)
    assert run(go())[-1][1]["stdout"] == "frag\n"


def test_oversized_message_closes_with_1009():
    with Server("server:\n  max_body_kb: 4\n") as s:
        async def go():
            async with websockets.connect(ws_url(s), max_size=None) as ws:
                await ws.send(json.dumps({"type": "execute", "language": "bash",
                                          "code": "#" * 8000}))
                await events(ws)
                return ws.close_code
        assert run(go()) == 1009
        assert s.get("/health").status_code == 200


def raw_handshake(port, extra=b""):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(b"GET /api/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
                 key + b"\r\n" + extra + b"\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    return sock, head


def read_close_code(sock):
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    # the last frame is the close frame: 0x88, length, code
    i = data.rfind(b"\x88")
    assert i >= 0, data
    return struct.unpack("!H", data[i + 2:i + 4])[0]


def test_malformed_frames_close_that_socket_only(srv):
    sock, head = raw_handshake(srv.port)
    assert head.startswith(b"HTTP/1.1 101") and b"Sec-WebSocket-Accept:" in head
    # an unmasked client frame is a protocol error (RFC 6455 5.1)
    sock.sendall(b"\x81\x05hello")
    assert read_close_code(sock) == 1002
    sock.close()
    sock, _ = raw_handshake(srv.port)
    sock.sendall(b"\x8f\x80" + os.urandom(4))     # reserved opcode 0xF
    assert read_close_code(sock) == 1002
    sock.close()
    # the server carries on
    assert srv.execute({"language": "bash", "code": "echo fine"}).json()["stdout"] == "fine\n"


def test_handshake_errors(srv):
    r = requests.get(srv.url + "/api/ws")
    assert r.status_code == 426 and r.json()["error"]["code"] == "upgrade_required"
    r = requests.get(srv.url + "/api/ws", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "8",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()})
    assert r.status_code == 426 and r.headers["Sec-WebSocket-Version"] == "13"
    r = requests.get(srv.url + "/api/ws", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "short"})
    assert r.status_code == 400
    # upgrading another endpoint is refused
    r = requests.get(srv.url + "/health", headers={"Upgrade": "websocket",
                                                   "Connection": "Upgrade"})
    assert r.status_code == 400


def test_auth_by_header_or_first_message():
    cfg = "server:\n  rate_limit:\n    requests_per_second: 1\n    burst: 2\n"
    with Server(cfg, env={"SOULBOX_API_KEYS": "ci:sekret"}) as s:
        body = json.dumps({"type": "execute", "language": "bash", "code": "echo hi"})

        async def with_header():
            async with websockets.connect(ws_url(s), extra_headers={
                    "Authorization": "Bearer sekret"}) as ws:
                await ws.send(body)
                return await events(ws)

        async def with_message(key):
            async with websockets.connect(ws_url(s)) as ws:
                await ws.send(json.dumps({"type": "auth", "key": key}))
                first = json.loads(await ws.recv())
                if first["type"] == "authenticated":
                    await ws.send(body)
                return first, await events(ws), ws.close_code

        async def no_auth():
            async with websockets.connect(ws_url(s)) as ws:
                await ws.send(body)
                return await events(ws), ws.close_code

        assert run(with_header())[-1][1]["stdout"] == "hi\n"
        first, evs, code = run(with_message("sekret"))
        assert first["type"] == "authenticated" and evs[-1][1]["stdout"] == "hi\n"
        first, evs, code = run(with_message("wrong"))
        assert first["error"]["code"] == "unauthenticated" and code == 4401
        evs, code = run(no_auth())
        assert evs[0][1]["error"]["code"] == "unauthenticated" and code == 4401
        # a wrong key in the upgrade request is refused before the upgrade
        async def bad_header():
            await websockets.connect(ws_url(s), extra_headers={"X-API-Key": "nope"})
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as e:
            run(bad_header())
        assert e.value.status_code == 401
        # the third execute within a second hits the rate limit (burst 2)
        first, evs, code = run(with_message("sekret"))
        assert code == 4429 and evs[0][1]["error"]["code"] == "rate_limited"


# ---- Server-Sent Events ----

def sse_events(resp):
    """Parses an event stream into (arrival time, event name, data) triples."""
    out, name, data = [], None, None
    for line in resp.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "" and name:
            out.append((time.monotonic(), name, data))
            name = data = None
    return out


def test_sse_streams_the_same_events(srv):
    r = requests.post(srv.url + "/api/execute", stream=True, timeout=30,
                      json={"language": "python", "code": TICKER},
                      headers={"Accept": "text/event-stream"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/event-stream"
    evs = sse_events(r)
    names = [n for _, n, _ in evs]
    assert names[0] == "started" and names[-1] == "exit"
    assert "".join(d["data"] for _, n, d in evs if n == "stdout") == "0\n1\n2\n3\n4\n"
    first = next(t for t, n, _ in evs if n == "stdout")
    assert evs[-1][0] - first > 0.6
    assert evs[-1][2]["status"] == "ok" and evs[-1][2]["type"] == "exit"
    got = srv.get(f"/api/executions/{evs[0][2]['id']}").json()
    assert got["mode"] == "stream" and got["stdout"] == "0\n1\n2\n3\n4\n"


def test_sse_errors_before_the_stream_are_plain_json(srv):
    r = requests.post(srv.url + "/api/execute", json={"language": "cobra", "code": "x"},
                      headers={"Accept": "text/event-stream"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_language"


def test_sse_client_disconnect_kills_the_sandbox(srv):
    s = socket.create_connection(("127.0.0.1", srv.port))
    body = json.dumps({"language": "bash", "code": "echo up; sleep 30"}).encode()
    s.sendall(b"POST /api/execute HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    data = b""
    while b"up\\n" not in data:
        data += s.recv(4096)
    s.close()
    wait_no_sandboxes()


def test_a_client_that_stops_reading_loses_its_sandbox():
    with Server("server:\n  idle_timeout_ms: 1500\n") as s:
        sock, head = raw_handshake(s.port)
        assert head.startswith(b"HTTP/1.1 101")
        msg = json.dumps({"type": "execute", "language": "bash", "code": "yes  # " + "." * 40,
                          "limits": {"output_kb": 65536, "wall_time_ms": 60000}}).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(msg))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        assert 125 < len(msg) < 65536  # so the 16-bit length form is the minimal one
        sock.sendall(b"\x81\xfe" + struct.pack("!H", len(msg)) + mask + masked)
        assert wait_until(sandbox_processes)  # running, blocked on its full pipe
        wait_no_sandboxes(timeout=15)       # then dropped: ~1.5 s after the pause
        # the result reaches the store off the request path
        ex = wait_until(lambda: [e for e in s.get("/api/executions?limit=1").json()["executions"]
                                 if e["status"] != "running"], 10)[0]
        assert ex["status"] == "internal_error"
        assert ex["message"] == "cancelled: the client stopped reading the output"
        sock.close()
        assert s.execute({"language": "bash", "code": "echo ok"}).json()["stdout"] == "ok\n"
