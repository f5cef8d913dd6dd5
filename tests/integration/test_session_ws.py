"""A session's command over the WebSocket (GET /api/ws, {"type":"command"}): an
interactive terminal (pty) with stdin, resize and signals; attaching again to
a command that outlived its connection; another key's session is not found."""
import asyncio
import json

import pytest
import requests
import websockets

from server import Server


@pytest.fixture(scope="module")
def srv():
    with Server(env={"SOULBOX_API_KEYS": "a:sa,b:sb"}) as s:
        yield s


HA = {"X-API-Key": "sa"}


def ws_url(srv):
    return f"ws://127.0.0.1:{srv.port}/api/ws"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.fixture
def sid(srv):
    sid = requests.post(srv.url + "/api/sandboxes", json={"template": "base"}, headers=HA).json()["id"]
    yield sid
    requests.delete(f"{srv.url}/api/sandboxes/{sid}", headers=HA)


async def until(ws, pred):
    """Messages until pred(all so far) holds; returns them."""
    seen = []
    while not pred(seen):
        seen.append(json.loads(await ws.recv()))
    return seen


def out(msgs):
    return "".join(m.get("data", "") for m in msgs if m["type"] == "stdout")


def test_a_terminal_with_stdin_resize_and_signals(srv, sid):
    async def go():
        async with websockets.connect(ws_url(srv), extra_headers=HA) as ws:
            await ws.send(json.dumps({"type": "command", "sandbox_id": sid, "cmd": "bash -i",
                                      "pty": True, "rows": 30, "cols": 100}))
            first = json.loads(await ws.recv())
            assert first["type"] == "started" and first["pid"] > 0
            await ws.send(json.dumps({"type": "stdin", "data": "tty; stty size; echo $((6*7))\n"}))
            seen = await until(ws, lambda m: "42" in out(m))
            assert "/dev/pts/" in out(seen) and "30 100" in out(seen)
            await ws.send(json.dumps({"type": "resize", "rows": 40, "cols": 120}))
            await ws.send(json.dumps({"type": "stdin", "data": "stty size\n"}))
            await until(ws, lambda m: "40 120" in out(m))
            await ws.send(json.dumps({"type": "stdin", "data": "sleep 100\n"}))
            await asyncio.sleep(0.3)
            await ws.send(json.dumps({"type": "stdin", "data": "\u0003"}))  # ^C: the terminal's SIGINT
            await ws.send(json.dumps({"type": "stdin", "data": "echo back $?\n"}))
            await until(ws, lambda m: "back 130" in out(m))
            await ws.send(json.dumps({"type": "stdin", "data": "exit 7\n"}))
            rest = await until(ws, lambda m: m and m[-1]["type"] == "exit")
            return rest[-1]
    end = run(go())
    assert (end["status"], end["exit_code"]) == ("runtime_error", 7)


def test_signal_a_command(srv, sid):
    async def go():
        async with websockets.connect(ws_url(srv), extra_headers=HA) as ws:
            await ws.send(json.dumps({"type": "command", "sandbox_id": sid,
                                      "argv": ["sleep", "100"]}))
            assert json.loads(await ws.recv())["type"] == "started"
            await asyncio.sleep(0.2)
            await ws.send(json.dumps({"type": "signal", "signal": "SIGTERM"}))
            rest = await until(ws, lambda m: m and m[-1]["type"] == "exit")
            return rest[-1]
    end = run(go())
    assert (end["status"], end["signal"], end["exit_code"]) == ("runtime_error", 15, -1)


def test_attach_again_after_a_disconnect(srv, sid):
    async def start():
        async with websockets.connect(ws_url(srv), extra_headers=HA) as ws:
            await ws.send(json.dumps({"type": "command", "sandbox_id": sid,
                                      "cmd": "echo one; read x; echo got $x"}))
            pid = json.loads(await ws.recv())["pid"]
            await until(ws, lambda m: "one" in out(m))
            return pid                          # the connection goes; the command waits on

    async def attach(pid):
        async with websockets.connect(ws_url(srv), extra_headers=HA) as ws:
            await ws.send(json.dumps({"type": "command", "sandbox_id": sid, "pid": pid}))
            assert json.loads(await ws.recv())["pid"] == pid
            replay = await until(ws, lambda m: "one" in out(m))   # what it printed before
            await ws.send(json.dumps({"type": "stdin", "data": "two\n"}))
            rest = await until(ws, lambda m: m and m[-1]["type"] == "exit")
            return out(replay + rest), rest[-1]
    pid = run(start())
    text, end = run(attach(pid))
    assert text == "one\ngot two\n" and end["status"] == "ok"


def test_another_keys_session_is_not_found(srv, sid):
    async def go():
        async with websockets.connect(ws_url(srv), extra_headers={"X-API-Key": "sb"}) as ws:
            await ws.send(json.dumps({"type": "command", "sandbox_id": sid, "cmd": "id"}))
            return json.loads(await ws.recv())
    m = run(go())
    assert m["type"] == "error" and m["error"]["code"] == "not_found"


def test_bad_command_messages(srv, sid):
    async def go(msg):
        async with websockets.connect(ws_url(srv), extra_headers=HA) as ws:
            await ws.send(json.dumps(msg))
            return json.loads(await ws.recv())
    for msg in ({"type": "command", "sandbox_id": sid},
                {"type": "command", "sandbox_id": sid, "cmd": "x", "argv": ["y"]},
                {"type": "command", "sandbox_id": sid, "pid": 999},
                {"type": "resize", "rows": 1, "cols": 1}):
        m = run(go(msg))
        assert m["type"] == "error", (msg, m)
