"""Retries, connection reuse, timeouts and errors, against a local stub server."""
import asyncio
import email.utils
import json
import socket
import time

import pytest

import soulbox
from stub import Stub

RATE = {"error": {"code": "rate_limited", "message": "slow down"}}
BUSY = {"error": {"code": "unavailable", "message": "queue full"}}


@pytest.fixture()
def stub():
    s = Stub()
    yield s
    s.close()


def test_sync_client_reuses_one_connection(stub):
    with soulbox.Client(stub.url, api_key="k") as c:
        for _ in range(3):
            assert c.execute("python", "print(1)").stdout == "stub\n"
        for _ in range(3):
            c.get_execution("x")
    assert len(stub.requests) == 6
    assert stub.connections == 1


def test_async_client_reuses_one_connection(stub):
    async def main():
        async with soulbox.AsyncClient(stub.url, api_key="k") as c:
            for _ in range(3):
                assert (await c.execute("python", "print(1)")).stdout == "stub\n"
            for _ in range(3):
                await c.get_execution("x")
    asyncio.run(main())
    assert len(stub.requests) == 6
    assert stub.connections == 1


def test_a_connection_the_server_closed_is_replaced(stub):
    stub.add(200, headers={"Connection": "close"})
    with soulbox.Client(stub.url) as c:
        c.execute("python", "x")
        time.sleep(0.1)
        assert c.execute("python", "x").status == "ok"
    assert stub.connections == 2


def test_url_prefix_key_and_json_body(stub, monkeypatch):
    monkeypatch.delenv("SOULBOX_API_KEY", raising=False)
    with soulbox.Client(stub.url + "/sb/", api_key="secret") as c:
        c.execute("python", "\n    print(1)\n    print(2)\n", stdin="in")
    method, path, headers, body = stub.requests[0]
    assert (method, path) == ("POST", "/sb/api/execute")
    assert headers["Authorization"] == "Bearer secret"
    assert headers["Content-Type"] == "application/json"
    assert body == b'{"language":"python","code":"print(1)\\nprint(2)\\n","stdin":"in"}'


def test_isolation_is_sent_only_when_given(stub):
    stub.add(200)
    stub.add(200)
    stub.add(200, {"id": "s1", "isolation": "microvm"})
    stub.add(200, {"id": "s2", "isolation": "namespaces"})
    with soulbox.Client(stub.url) as c:
        c.execute("python", "1", isolation="microvm")
        c.submit("python", "1", isolation="namespaces")
        assert c.create_sandbox("base", isolation="microvm").info.isolation == "microvm"
        assert c.create_sandbox("base").info.isolation == "namespaces"
    bodies = [json.loads(r[3]) for r in stub.requests]
    assert bodies == [{"language": "python", "code": "1", "isolation": "microvm"},
                      {"language": "python", "code": "1", "isolation": "namespaces"},
                      {"template": "base", "isolation": "microvm"}, {"template": "base"}]


def test_compile_args_are_sent_after_args_only_when_given(stub):
    with soulbox.Client(stub.url) as c:
        c.execute("c", "x", args=["a"], compile_args=("-O0", "-DDEBUG"))
        c.submit("cpp", "x", compile_args=["-std=c++20"])
        c.execute("c", "x")

    async def main():
        async with soulbox.AsyncClient(stub.url) as ac:
            await ac.execute("c", "x", compile_args=["-DANSWER=42"])
            await ac.submit("c", "x", compile_args=[])
    asyncio.run(main())
    assert [r[3] for r in stub.requests] == [
        b'{"language":"c","code":"x","args":["a"],"compile_args":["-O0","-DDEBUG"]}',
        b'{"language":"cpp","code":"x","compile_args":["-std=c++20"]}',
        b'{"language":"c","code":"x"}',
        b'{"language":"c","code":"x","compile_args":["-DANSWER=42"]}',
        b'{"language":"c","code":"x","compile_args":[]}']


def test_compile_limits_are_sent_after_limits_only_when_given(stub):
    with soulbox.Client(stub.url) as c:
        c.execute("c", "x", compile_args=["-O0"], limits={"wall_time_ms": 900},
                  compile_limits={"wall_time_ms": 700, "cpu_time_ms": 600, "memory_mb": 64},
                  network=False)
        c.submit("cpp", "x", compile_limits={"memory_mb": 256})
        c.execute("c", "x", limits={"memory_mb": 128})

    async def main():
        async with soulbox.AsyncClient(stub.url) as ac:
            await ac.execute("c", "x", compile_limits={"cpu_time_ms": 1000})
            await ac.submit("c", "x", compile_limits={})
    asyncio.run(main())
    assert [r[3] for r in stub.requests] == [
        b'{"language":"c","code":"x","compile_args":["-O0"],"limits":{"wall_time_ms":900},'
        b'"compile_limits":{"wall_time_ms":700,"cpu_time_ms":600,"memory_mb":64},"network":false}',
        b'{"language":"cpp","code":"x","compile_limits":{"memory_mb":256}}',
        b'{"language":"c","code":"x","limits":{"memory_mb":128}}',
        b'{"language":"c","code":"x","compile_limits":{"cpu_time_ms":1000}}',
        b'{"language":"c","code":"x","compile_limits":{}}']


def test_no_key_no_authorization_header(stub, monkeypatch):
    monkeypatch.delenv("SOULBOX_API_KEY", raising=False)
    monkeypatch.setenv("SOULBOX_URL", "127.0.0.1:%d" % stub.port)
    with soulbox.Client() as c:
        assert c.url == stub.url
        c.health()
    assert "Authorization" not in stub.requests[0][2]
    assert stub.requests[0][1] == "/health"


def test_retry_429_with_retry_after_seconds(stub):
    stub.add(429, RATE, {"Retry-After": "1"})
    with soulbox.Client(stub.url) as c:
        t = time.monotonic()
        r = c.execute("python", "print(1)")
        took = time.monotonic() - t
    assert r.stdout == "stub\n"
    assert len(stub.requests) == 2
    assert 0.9 <= took < 2.5


def test_retry_503_with_retry_after_http_date(stub):
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    stub.add(503, BUSY, {"Retry-After": when})
    with soulbox.Client(stub.url) as c:
        t = time.monotonic()
        assert c.submit("python", "x").id == "00000000-0000-0000-0000-000000000000"
        took = time.monotonic() - t
    assert [r[0] for r in stub.requests] == ["POST", "POST"]
    assert 0.9 <= took < 3.5


def test_retry_without_retry_after_backs_off_half_a_second(stub):
    stub.add(503, BUSY)
    with soulbox.Client(stub.url) as c:
        t = time.monotonic()
        c.health()
        took = time.monotonic() - t
    assert 0.45 <= took < 1.5


def test_retries_exhausted_raise_rate_limit_error(stub):
    for _ in range(3):
        stub.add(429, RATE, {"Retry-After": "0", "X-Request-Id": "rid-429"})
    with soulbox.Client(stub.url, max_retries=2) as c:
        with pytest.raises(soulbox.RateLimitError) as ei:
            c.execute("python", "x")
    e = ei.value
    assert (e.code, e.status, e.request_id, e.message, e.retry_after) == (
        "rate_limited", 429, "rid-429", "slow down", 0.0)
    assert len(stub.requests) == 3


def test_max_retries_zero_turns_retries_off(stub):
    stub.add(503, BUSY, {"Retry-After": "5"})
    with soulbox.Client(stub.url, max_retries=0) as c:
        with pytest.raises(soulbox.UnavailableError) as ei:
            c.health()
    assert ei.value.retry_after == 5.0
    assert ei.value.status == 503
    assert len(stub.requests) == 1


def test_retry_after_is_capped_at_30_seconds():
    from soulbox._core import retry_after
    assert retry_after("3600") == 30.0
    assert retry_after("2") == 2.0
    assert retry_after("junk") is None
    assert retry_after(email.utils.formatdate(time.time() - 10, usegmt=True)) == 0.0


def test_async_retries_429(stub):
    stub.add(429, RATE, {"Retry-After": "1"})

    async def main():
        async with soulbox.AsyncClient(stub.url) as c:
            t = time.monotonic()
            r = await c.execute("python", "x")
            return r, time.monotonic() - t
    r, took = asyncio.run(main())
    assert r.status == "ok" and len(stub.requests) == 2 and 0.9 <= took < 2.5


def test_server_error_class(stub):
    stub.add(500, {"error": {"code": "sandbox_setup_failed", "message": "no"}})
    with soulbox.Client(stub.url) as c:
        with pytest.raises(soulbox.ServerError) as ei:
            c.execute("python", "x")
    assert (ei.value.code, ei.value.status, ei.value.request_id) == (
        "sandbox_setup_failed", 500, "stub-req-1")


def test_client_timeout(stub):
    stub.add(200, delay=2)
    with soulbox.Client(stub.url, timeout=0.3) as c:
        t = time.monotonic()
        with pytest.raises(soulbox.TimeoutError) as ei:
            c.execute("python", "x")
        assert time.monotonic() - t < 1.5
        assert ei.value.status == 0
        stub.add(200, delay=0.6)
        assert c.execute("python", "x", timeout=5).status == "ok"  # a method's own timeout


def test_sync_timeout_bounds_a_trickling_answer(stub):
    stub.add(200, trickle=0.05)  # ~230 bytes, one every 50 ms: about 11 s in all
    with soulbox.Client(stub.url, timeout=1) as c:
        t = time.monotonic()
        with pytest.raises(soulbox.TimeoutError):
            c.execute("python", "x")
        assert 0.9 <= time.monotonic() - t < 1.6


def test_async_client_timeout(stub):
    stub.add(200, delay=2)

    async def main():
        async with soulbox.AsyncClient(stub.url, timeout=0.3) as c:
            with pytest.raises(soulbox.TimeoutError) as ei:
                await c.health()
            return ei.value
    t = time.monotonic()
    e = asyncio.run(main())
    assert time.monotonic() - t < 1.5 and e.status == 0


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_is_connection_error():
    port = _closed_port()
    with soulbox.Client(f"127.0.0.1:{port}", max_retries=1) as c:
        t = time.monotonic()
        with pytest.raises(soulbox.ConnectionError) as ei:
            c.health()  # GET: retried once after 0.5 s
        assert time.monotonic() - t >= 0.45
        assert ei.value.status == 0 and ei.value.code == "connection_error"
        t = time.monotonic()
        with pytest.raises(soulbox.ConnectionError):
            c.execute("python", "x")  # POST: not retried
        assert time.monotonic() - t < 0.4

    async def main():
        async with soulbox.AsyncClient(f"127.0.0.1:{port}", max_retries=0) as ac:
            await ac.health()
    with pytest.raises(soulbox.ConnectionError):
        asyncio.run(main())


def test_error_classes_by_status(stub):
    cases = [(400, soulbox.InvalidRequestError), (401, soulbox.AuthenticationError),
             (404, soulbox.NotFoundError), (409, soulbox.ConflictError),
             (413, soulbox.PayloadTooLargeError), (422, soulbox.UnknownLanguageError),
             (502, soulbox.ServerError)]
    with soulbox.Client(stub.url) as c:
        for status, cls in cases:
            stub.add(status, {"error": {"code": f"c{status}", "message": f"m{status}"}})
            with pytest.raises(cls) as ei:
                c.health()
            assert (ei.value.code, ei.value.message, ei.value.status) == (
                f"c{status}", f"m{status}", status)
            assert isinstance(ei.value, soulbox.SoulboxError)


def test_async_client_used_from_two_event_loops(stub):
    c = soulbox.AsyncClient(stub.url)

    async def call():
        return (await c.execute("python", "x")).stdout
    assert asyncio.run(call()) == "stub\n"
    assert asyncio.run(call()) == "stub\n"  # the first loop's connection is not reused
    assert stub.connections == 2 and len(stub.requests) == 2


def test_one_sync_client_shared_by_threads(stub):
    import threading
    errors, results = [], []
    with soulbox.Client(stub.url) as c:
        def work():
            try:
                for _ in range(5):
                    results.append(c.execute("python", "x").stdout)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for _ in range(5):
            c.health()
    assert errors == [] and results == ["stub\n"] * 30
    assert 1 <= stub.connections <= 6  # the pool: at most one connection per concurrent call


CLUSTER = {"store": "sqlite", "node": "n1", "name": "n1", "database": "up", "queued": 0,
           "nodes": [{"id": "n1", "name": "n1", "state": "up", "self": True, "capacity": 8,
                      "max_queue": 256, "running": 1, "queued": 0, "languages": ["bash", "python"],
                      "started_ms": 1700000000000, "heartbeat_age_ms": 0, "future": 1}]}


def test_cluster_is_parsed_by_both_clients(stub):
    stub.add(200, CLUSTER)
    stub.add(200, dict(CLUSTER, store="postgres", database="unreachable", error="timeout", nodes=[
        dict(CLUSTER["nodes"][0], self=False, state="lost", url="http://10.0.0.2:8080",
             reason="no heartbeat")]))
    with soulbox.Client(stub.url, api_key="k") as c:
        cl = c.cluster()
    assert (cl.store, cl.node, cl.name, cl.database, cl.error, cl.queued) == (
        "sqlite", "n1", "n1", "up", None, 0)
    [n] = cl.nodes
    assert isinstance(n, soulbox.ClusterNode)
    assert (n.id, n.state, n.self, n.capacity, n.max_queue, n.running, n.languages) == (
        "n1", "up", True, 8, 256, 1, ["bash", "python"])
    assert (n.started_ms, n.heartbeat_age_ms, n.url, n.reason, n.raw["future"]) == (
        1700000000000, 0, None, None, 1)

    async def main():
        async with soulbox.AsyncClient(stub.url, api_key="k") as ac:
            return await ac.cluster()
    cl = asyncio.run(main())
    assert (cl.store, cl.database, cl.error) == ("postgres", "unreachable", "timeout")
    assert (cl.nodes[0].self, cl.nodes[0].state, cl.nodes[0].url, cl.nodes[0].reason) == (
        False, "lost", "http://10.0.0.2:8080", "no heartbeat")
    assert [(r[0], r[1], r[2]["Authorization"]) for r in stub.requests] == [
        ("GET", "/api/cluster", "Bearer k")] * 2


def test_health_store_and_cluster(stub):
    base = {"status": "ok", "version": "0.1.0", "uptime_s": 1, "active_sandboxes": 0,
            "running": 0, "queued": 0, "cgroup": "v2"}
    stub.add(200, dict(base, store="sqlite"))
    stub.add(200, dict(base, status="degraded", store="postgres", cluster=CLUSTER))
    with soulbox.Client(stub.url) as c:
        h = c.health()
        assert (h.status, h.store, h.cluster) == ("ok", "sqlite", None)
        h = c.health()
    assert (h.status, h.store) == ("degraded", "postgres")
    assert isinstance(h.cluster, soulbox.Cluster) and h.cluster.nodes[0].self is True
