"""The service core's one gate and submit path, seen from every front end:
executions are scoped to the API key that created them (an admin key sees
all), and refusals (a bad key, the rate limit, a bad request) are counted
and audited the same way on REST, WebSocket and gRPC."""
import asyncio
import json
import time
import uuid

import grpc
import pytest
import websockets

from server import Server, wait_until
from test_grpc import pb  # noqa: F401 (the stubs fixture)

KEYS = "alice:ka-secret,bob:kb-secret,ops:kops-secret"
A = {"X-API-Key": "ka-secret"}
B = {"X-API-Key": "kb-secret"}
OPS = {"X-API-Key": "kops-secret"}


def wait_done(s, eid, headers):
    return s.finished(eid, timeout=30, headers=headers)


@pytest.fixture(scope="module")
def keyed():
    with Server("", env={"SOULBOX_API_KEYS": KEYS, "SOULBOX_ADMIN_KEYS": "ops"}) as s:
        yield s


def test_another_key_cannot_read_or_list_an_execution(keyed):
    secret = f"alice-secret-{uuid.uuid4()}"
    r = keyed.post("/api/executions", {"language": "bash", "code": f"echo {secret}"}, headers=A)
    assert r.status_code == 202, r.text
    eid = r.json()["id"]
    assert wait_done(keyed, eid, A)["stdout"] == secret + "\n"
    # bob: exactly what an unknown id gets, before and after it finished
    unknown = keyed.get(f"/api/executions/{uuid.uuid4()}", headers=B)
    theirs = keyed.get(f"/api/executions/{eid}", headers=B)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json() == {"error": {"code": "not_found",
                                                         "message": "no such execution"}}
    listed = keyed.get("/api/executions?limit=100", headers=B).json()["executions"]
    assert eid not in [e["id"] for e in listed]
    assert secret not in json.dumps(listed)
    # alice sees her own (ids are case-insensitive); the admin sees everyone's
    upper = keyed.get(f"/api/executions/{eid.upper()}", headers=A)
    assert upper.status_code == 200 and upper.json()["id"] == eid, upper.text
    assert keyed.get(f"/api/executions/{eid.upper()}", headers=B).status_code == 404
    assert eid in [e["id"] for e in keyed.get("/api/executions?limit=100", headers=A).json()["executions"]]
    assert keyed.get(f"/api/executions/{eid}", headers=OPS).json()["stdout"] == secret + "\n"
    assert eid in [e["id"] for e in keyed.get("/api/executions?limit=100", headers=OPS).json()["executions"]]


def test_another_key_cannot_read_an_execution_in_flight(keyed):
    r = keyed.post("/api/executions", {"language": "bash", "code": "sleep 1; echo late"}, headers=A)
    eid = r.json()["id"]
    assert keyed.get(f"/api/executions/{eid}", headers=B).status_code == 404
    mine = keyed.get(f"/api/executions/{eid}", headers=A)
    assert mine.status_code == 200 and mine.json()["status"] in ("queued", "running")
    assert keyed.get(f"/api/executions/{eid}", headers=OPS).status_code == 200
    wait_done(keyed, eid, A)


def test_pages_hold_only_the_callers_executions(keyed):
    for i in range(3):
        keyed.execute({"language": "bash", "code": f"echo b{i}"}, headers=B)
    page = keyed.get("/api/executions?limit=2", headers=B).json()
    assert len(page["executions"]) == 2 and page["next_cursor"]
    rest = keyed.get(f"/api/executions?limit=100&cursor={page['next_cursor']}", headers=B).json()
    ids = [e["id"] for e in page["executions"] + rest["executions"]]
    assert len(ids) == len(set(ids)) >= 3
    for eid in ids:
        assert keyed.get(f"/api/executions/{eid}", headers=B).status_code == 200
        assert keyed.get(f"/api/executions/{eid}", headers=A).status_code == 404


# ---- refusals, counted and audited alike ----

def audit(s):
    with open(s.audit_file) as f:
        return [json.loads(line) for line in f]


def rejected(s, reason):
    for line in s.get("/metrics").text.splitlines():
        if line.startswith(f'soulbox_rejected_requests_total{{reason="{reason}"}} '):
            return int(float(line.split()[1]))
    return 0


@pytest.fixture
def limited(tmp_path):
    audit_file = tmp_path / "audit.jsonl"
    cfg = (f"server:\n  audit_log: {audit_file}\n  rate_limit:\n    requests_per_second: 1\n"
           "    burst: 1\n")
    with Server(cfg, env={"SOULBOX_API_KEYS": KEYS}) as s:
        s.audit_file = str(audit_file)
        yield s


def ws_execute(s, messages):
    """Sends messages on one WebSocket; returns every message the server sent."""
    async def go():
        got = []
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/api/ws") as ws:
            for m in messages:
                await ws.send(json.dumps(m))
            try:
                while True:
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
                    if got[-1]["type"] in ("exit",) or (got[-1]["type"] == "error" and
                                                        len(got) >= len(messages)):
                        break
            except websockets.exceptions.ConnectionClosed:
                pass
        return got
    return asyncio.run(go())


def wait_audit(s, event, n):
    """The audit records of `event`, once there are n of them (written off
    the request path)."""
    def rows():
        return [r for r in audit(s) if r["event"] == event]
    assert wait_until(lambda: len(rows()) >= n, 10), audit(s)
    return rows()


def test_auth_failures_are_audited_alike_on_every_front_end(limited, pb):  # noqa: F811
    s = limited
    r = s.execute({"language": "bash", "code": "true"}, headers={"X-API-Key": "wrong"})
    assert r.status_code == 401
    got = ws_execute(s, [{"type": "auth", "key": "wrong"}])
    assert got[-1]["type"] == "error" and got[-1]["error"]["code"] == "unauthenticated"
    with grpc.insecure_channel(s.grpc_target) as ch:
        stub = pb.sb_grpc.SoulBoxStub(ch)
        with pytest.raises(grpc.RpcError) as e:
            stub.Execute(pb.sb.ExecuteRequest(language="bash", code="true"), timeout=30,
                         metadata=[("x-api-key", "wrong")])
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    rows = wait_audit(s, "auth_failure", 3)
    assert len(rows) == 3, rows
    for row in rows:
        assert row["client"] == "127.0.0.1" and row["detail"] == "the API key is not valid"
        assert row["request_id"]
    assert rejected(s, "unauthenticated") == 3


def test_rate_limit_refusals_are_audited_alike_on_every_front_end(limited, pb):  # noqa: F811
    s = limited
    body = {"language": "bash", "code": "echo ok"}
    assert s.execute(body, headers=A).status_code == 200
    r = s.execute(body, headers=A)
    assert r.status_code == 429 and r.headers["Retry-After"]
    got = ws_execute(s, [{"type": "auth", "key": "kb-secret"}, dict(body, type="execute")])
    got2 = ws_execute(s, [{"type": "auth", "key": "kb-secret"}, dict(body, type="execute")])
    assert got[-1]["type"] == "exit", got
    assert got2[-1]["type"] == "error" and got2[-1]["error"]["code"] == "rate_limited", got2
    with grpc.insecure_channel(s.grpc_target) as ch:
        stub = pb.sb_grpc.SoulBoxStub(ch)
        md = [("x-api-key", "kops-secret")]
        stub.Execute(pb.sb.ExecuteRequest(language="bash", code="echo ok"), timeout=30, metadata=md)
        with pytest.raises(grpc.RpcError) as e:
            stub.Execute(pb.sb.ExecuteRequest(language="bash", code="echo ok"), timeout=30,
                         metadata=md)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    rows = wait_audit(s, "rate_limited", 3)
    assert sorted(r["key_id"] for r in rows) == ["alice", "bob", "ops"]
    for row in rows:
        assert row["detail"].startswith("rate limit exceeded; retry in ")
    assert rejected(s, "rate_limited") == 3


def test_bad_requests_are_counted_alike_on_every_front_end(tmp_path, pb):  # noqa: F811
    with Server("") as s:
        assert s.execute({"language": "bash"}).status_code == 400
        got = ws_execute(s, [{"type": "execute", "language": "bash"}])
        assert got[-1]["error"]["code"] == "invalid_argument"
        with grpc.insecure_channel(s.grpc_target) as ch:
            stub = pb.sb_grpc.SoulBoxStub(ch)
            with pytest.raises(grpc.RpcError) as e:
                stub.Execute(pb.sb.ExecuteRequest(language="bash"), timeout=30)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert rejected(s, "invalid_request") == 3
        assert s.execute({"language": "cobol-2099", "code": "x"}).status_code == 422
        assert rejected(s, "unknown_language") == 1


# ---- streaming backpressure ----

def test_a_slow_sse_reader_pauses_the_program_and_gets_everything():
    """A slow SSE reader pauses the program's output once 256 KiB are queued
    (counted in soulbox_output_pauses_total) and resumes it below 64 KiB, so
    every pause lets at least 192 KiB through: the count is bounded by what
    was sent, and the reader still gets all of it."""
    with Server("") as s:
        total = 24 << 20
        code = f"import sys\nsys.stdout.write('x' * {total})\n"
        body = json.dumps({"language": "python", "code": code,
                           "limits": {"output_kb": 32 * 1024, "wall_time_ms": 60000}})
        import socket
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        sock.sendall(b"POST /api/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Accept: text/event-stream\r\nConnection: close\r\nContent-Length: " +
                     str(len(body)).encode() + b"\r\n\r\n" + body.encode())
        got, tail, exited = 0, b"", False
        while True:  # a slow reader: 16 KiB every 2 ms, until the server closes
            chunk = sock.recv(16 << 10)
            if not chunk:
                break
            got += len(chunk)
            exited = exited or b"event: exit" in tail[-16:] + chunk
            tail = (tail + chunk)[-4096:]
            time.sleep(0.002)
        sock.close()
        # stdout events, then the exit event with the whole result (stdout again)
        assert exited and b'"exit_code":0' in tail and tail.endswith(b"\r\n0\r\n\r\n"), tail[-400:].decode()
        assert got > 2 * total
        pauses = 0
        for line in s.get("/metrics").text.splitlines():
            if line.startswith("soulbox_output_pauses_total "):
                pauses = int(float(line.split()[1]))
        assert 1 <= pauses <= got // (192 << 10) + 1, (pauses, got)
