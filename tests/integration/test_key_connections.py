"""Connection caps per API key (issue 11): once a request on a connection
proves its key, the connection counts under that key instead of its address,
so `server.max_connections_per_client` also limits one key spread over many
addresses (behind a proxy every client has the proxy's address). At the cap
the key's own least recently active idle connection is shed; with none idle
the request is refused with 503 `too many connections for API key '<id>'`
(counted as `too_many_connections`) and the connection closes."""
import json

import grpc

from server import Server, wait_until
from test_connections import (connect, read_response, reset_close, still_open,
                              wait_closed)
from test_grpc import pb  # noqa: F401 (the stubs fixture)

KEYS = "a:secret-a,b:secret-b"
CFG = "server:\n  max_connections_per_client: 2\n"


def send(s, method, path, key, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n"
              f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
              + data)


def keep_alive(port, source, key):
    """A connection from source that made one request with key and now waits."""
    s = connect(port, source)
    send(s, "GET", "/api/languages", key)
    assert read_response(s)[0] == 200
    return s


def wait_running(srv, n, timeout=30):
    assert wait_until(lambda: srv.get("/health").json()["running"] == n, timeout), \
        srv.get("/health").json()


def rejected(srv):
    for line in srv.get("/metrics").text.splitlines():
        if line.startswith('soulbox_rejected_requests_total{reason="too_many_connections"}'):
            return int(float(line.split()[1]))
    return 0


def test_a_key_over_its_cap_sheds_its_own_idle_connection_from_any_address():
    with Server(CFG, env={"SOULBOX_API_KEYS": KEYS}) as srv:
        first = keep_alive(srv.port, "127.0.0.2", "secret-a")
        second = keep_alive(srv.port, "127.0.0.3", "secret-a")
        other = keep_alive(srv.port, "127.0.0.3", "secret-b")   # b's count is b's own
        third = keep_alive(srv.port, "127.0.0.4", "secret-a")   # a's third: sheds `first`
        assert wait_closed(first) == b""
        assert still_open(second) and still_open(other) and still_open(third)
        for s in (second, other, third):
            send(s, "GET", "/api/languages", "secret-a" if s is not other else "secret-b")
            assert read_response(s)[0] == 200
            reset_close(s)


def test_a_key_whose_connections_are_all_busy_is_refused():
    with Server(CFG, env={"SOULBOX_API_KEYS": KEYS}) as srv:
        srv.wait_languages()
        busy = []
        for source in ("127.0.0.2", "127.0.0.3"):
            s = connect(srv.port, source)
            send(s, "POST", "/api/execute", "secret-a",
                 {"language": "bash", "code": "sleep 2; echo slept"})
            busy.append(s)
        wait_running(srv, 2)
        late = connect(srv.port, "127.0.0.4")
        send(late, "GET", "/api/languages", "secret-a")
        head, _, body = wait_closed(late).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 "), head
        assert b"Connection: close" in head and b"Retry-After: 1" in head, head
        assert json.loads(body) == {"error": {
            "code": "unavailable", "message": "too many connections for API key 'a'"}}
        assert rejected(srv) == 1
        # another key from the same address is not affected
        ok = connect(srv.port, "127.0.0.4")
        send(ok, "GET", "/api/languages", "secret-b")
        assert read_response(ok)[0] == 200
        reset_close(ok)
        for s in busy:
            status, out = read_response(s)
            assert status == 200 and json.loads(out)["stdout"] == "slept\n"
            reset_close(s)


def test_grpc_connections_count_under_their_key_too(pb):
    with Server(CFG, env={"SOULBOX_API_KEYS": KEYS}) as srv:
        srv.wait_languages()
        # separate connections (a channel may otherwise share its subchannel)
        channels = [grpc.insecure_channel(srv.grpc_target,
                                          options=[("grpc.use_local_subchannel_pool", 1)])
                    for _ in range(3)]
        stubs = [pb.sb_grpc.SoulBoxStub(ch) for ch in channels]
        md = (("x-api-key", "secret-a"),)
        slow = pb.sb.ExecuteRequest(language="bash", code="sleep 2; echo x")
        calls = [stub.Execute.future(slow, metadata=md, timeout=60) for stub in stubs[:2]]
        wait_running(srv, 2)
        try:
            stubs[2].Execute(pb.sb.ExecuteRequest(language="bash", code="echo y"), metadata=md,
                             timeout=30)
            raise AssertionError("a third busy connection of key a was admitted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAVAILABLE, e
            assert e.details() == "too many connections for API key 'a'"
        for c in calls:
            assert c.result(timeout=60).result.stdout.decode() == "x\n"
        for ch in channels:
            ch.close()
