"""Serverless functions against the real server: deploy, invoke over HTTP (text and bytes),
the function's own error statuses returned (not raised), versions, rollback, aliases, logs,
asynchronous invocations, delete; the sync and the async client."""
import asyncio
import os
import time

import pytest

import soulbox
from soulbox import _core

SUFFIX = f"{os.getpid() % 100000}"

ECHO = """
import base64, os

def handler(event, context):
    print("invoked")
    if "probe" in event:                         # an asynchronous invocation's event
        if event["probe"] == "boom":
            raise ValueError("bad thing")
        return {"headers": {"X-Probe": "yes"},
                "body": {"got": event["probe"], "version": context.function_version}}
    path = event["path"]
    if path == "/missing":
        return {"status": 404, "body": {"nope": True}}
    if path == "/busy":
        return {"status": 503, "headers": {"Retry-After": "0"}, "body": "busy"}
    if path == "/mimic":                         # a body like SoulBox's own refusal
        return {"status": 503, "headers": {"Retry-After": "0"},
                "body": {"error": {"code": "unavailable", "message": "mimic"}}}
    if path == "/boom":
        raise ValueError("bad thing")
    if path == "/bin":
        data = base64.b64decode(event["body"]) if event["is_base64"] else event["body"].encode()
        return data[::-1]
    return {"status": 201, "headers": {"X-Echo": event["headers"].get("x-test", "")},
            "body": {"method": event["method"], "path": path, "query": event["query"],
                     "raw_query": event["raw_query"], "body": event["body"],
                     "content_type": event["headers"].get("content-type"),
                     "env": [os.environ.get("A"), os.environ.get("S")]}}
"""


@pytest.fixture(scope="module")
def echo(client):
    name = f"sdkpy-echo-{SUFFIX}"
    v = client.functions.deploy(name, "python", ECHO,
                                env={"A": "plain", "S": soulbox.Secret("s3cret")},
                                description="the SDK's echo")
    yield name, v
    try:
        client.functions.delete(name)
    except soulbox.NotFoundError:
        pass


def test_deploy_returns_the_version(echo):
    name, v = echo
    assert (v.name, v.version, v.active_version, v.language, v.mode) == (name, 1, 1, "python", "handler")
    assert v.handler == "main.handler" and v.files == ["main.py"] and v.description == "the SDK's echo"
    assert v.env == {"A": "plain", "S": {"secret": True}}  # the secret is never shown again
    assert len(v.code_sha256) == 64 and v.created_at and v.timeout_ms > 0
    assert v.raw["name"] == name


def test_invoke_round_trip_of_method_path_query_headers_body(client, echo):
    name, _ = echo
    r = client.functions.invoke(name, "hello", method="PUT", path="/a b/c",
                                query={"x": "1", "y": ["2", "3"]}, headers={"X-Test": "yo"})
    assert isinstance(r, soulbox.FunctionResponse)
    assert (r.status, r.ok, r.error) == (201, True, None)
    assert r.headers["x-echo"] == "yo" and r.headers["content-type"] == "application/json"
    assert r.request_id and len(r.request_id) == 32
    ev = r.json()
    assert (ev["method"], ev["path"], ev["body"]) == ("PUT", "/a b/c", "hello")
    assert ev["raw_query"] == "x=1&y=2&y=3" and ev["query"]["x"] == "1"
    assert ev["content_type"] == "text/plain; charset=utf-8"
    assert ev["env"] == ["plain", "s3cret"]
    r = client.functions.invoke(name, {"k": [1, 2]}, query="q=a%20b")
    ev = r.json()
    assert (ev["method"], ev["path"], ev["query"], ev["content_type"]) == (
        "POST", "/", {"q": "a b"}, "application/json")
    assert ev["body"] == '{"k":[1,2]}'
    assert client.functions.invoke(name, method="get").json()["method"] == "GET"


def test_invoke_binary_body_round_trip(client, echo):
    name, _ = echo
    data = bytes(range(256)) * 3
    r = client.functions.invoke(name, data, path="/bin")
    assert r.status == 200 and r.headers["content-type"] == "application/octet-stream"
    assert r.body == data[::-1]


def test_the_functions_own_404_is_returned_not_raised(client, echo):
    name, _ = echo
    r = client.functions.invoke(name, method="GET", path="/missing")
    assert (r.status, r.ok, r.json(), r.error) == (404, False, {"nope": True}, None)
    # a 503 of the function is its answer too: returned at once, not retried
    t0 = time.monotonic()
    r = client.functions.invoke(name, path="/busy")
    assert (r.status, r.text, r.headers["retry-after"]) == (503, "busy", "0")
    # every answer of the function carries X-SoulBox-Function-Status, so even a body shaped
    # like SoulBox's own refusal is its answer: returned, not retried
    r = client.functions.invoke(name, path="/mimic")
    assert (r.status, r.headers["x-soulbox-function-status"]) == (503, "503")
    assert r.json() == {"error": {"code": "unavailable", "message": "mimic"}}
    assert time.monotonic() - t0 < 2, "retried"


def test_a_function_error_is_a_502_with_its_parsed_error(client, echo):
    name, _ = echo
    r = client.functions.invoke(name, path="/boom")
    assert r.status == 502 and not r.ok and r.headers["x-soulbox-function-status"] == "502"
    e = r.error
    assert isinstance(e, soulbox.FunctionErrorInfo)
    assert (e.code, e.status, e.type) == ("function_error", "runtime_error", "ValueError")
    assert "bad thing" in e.message and "Traceback" in e.stack and "raise ValueError" in e.stack
    assert e.request_id == r.request_id


def test_a_function_timeout_is_its_504_answer(client):
    name = f"sdkpy-slow-{SUFFIX}"
    client.functions.deploy(name, "python", "import time\n\ndef handler(event, context):\n"
                            "    time.sleep(30)\n", timeout_ms=1000)
    try:
        r = client.functions.invoke(name)
        assert (r.status, r.headers["x-soulbox-function-status"]) == (504, "504")
        e = r.error
        assert (e.code, e.status, e.request_id) == ("function_timeout", "time_limit_exceeded",
                                                    r.request_id)
    finally:
        client.functions.delete(name)


def test_soulbox_refusals_raise_typed_errors(client, other, echo):
    name, _ = echo
    with pytest.raises(soulbox.NotFoundError) as ei:
        client.functions.invoke(f"sdkpy-no-such-function-{SUFFIX}")
    assert (ei.value.status, ei.value.code) == (404, "not_found")
    with pytest.raises(soulbox.NotFoundError):
        client.functions.invoke(name, version=99)
    with pytest.raises(soulbox.NotFoundError):  # another key's function
        other.functions.invoke(name)
    with pytest.raises(soulbox.AuthenticationError):
        with soulbox.Client(api_key="wrong-key-0123456789") as c:
            c.functions.invoke(name)
    with pytest.raises(soulbox.NotFoundError):
        client.functions.get(f"sdkpy-no-such-function-{SUFFIX}")
    with pytest.raises(soulbox.InvalidRequestError):
        client.functions.deploy("Bad Name!", "python", "def handler(e, c):\n    return 1\n")
    with pytest.raises(soulbox.UnknownLanguageError):
        client.functions.deploy(f"sdkpy-cobol-{SUFFIX}", "cobol", "x")
    with pytest.raises(ValueError):
        client.functions.invoke(name, method="TRACE")


def test_async_invocation_and_wait(client, echo):
    name, _ = echo
    h = client.functions.invoke_async(name, {"probe": {"k": 1}})
    assert isinstance(h, soulbox.InvocationHandle)
    assert (h.function, h.version, h.state) == (name, 1, "running") and len(h.id) == 36
    inv = client.functions.wait(name, h.id, timeout=60, poll_interval=0.05)
    assert (inv.id, inv.state, inv.done, inv.is_async, inv.status) == (h.id, "done", True, True, "ok")
    assert inv.http_status == 200 and inv.logs == "invoked\n"
    assert inv.response.status == 200 and inv.response.json() == {"got": {"k": 1}, "version": 1}
    assert inv.response.content_type == "application/json" and inv.response.error is None
    assert inv.response.headers == {"x-probe": "yes"} and inv.response.body_dropped is False
    assert client.functions.invocation(name, h.id).id == h.id
    # a failed asynchronous invocation keeps its 502 answer
    h = client.functions.invoke_async(name, {"probe": "boom"}, version=1)
    inv = client.functions.wait(name, h.id, timeout=60, poll_interval=0.05)
    assert (inv.status, inv.http_status, inv.response.status) == ("runtime_error", 502, 502)
    assert inv.response.headers == {}
    assert inv.response.error.type == "ValueError" and "bad thing" in inv.error
    with pytest.raises(soulbox.NotFoundError):
        client.functions.invocation(name, "00000000-0000-0000-0000-000000000000")


def test_versions_rollback_aliases_logs_list_delete(client):
    fns = client.functions
    name = f"sdkpy-ver-{SUFFIX}"
    code = 'def handler(event, context):\n    return "v{}"\n'
    try:
        assert fns.deploy(name, "python", code.format(1)).version == 1
        v2 = fns.deploy(name, "python", code.format(2))
        assert (v2.version, v2.active_version) == (2, 2)
        assert fns.invoke(name).text == "v2"
        back = fns.rollback(name)
        assert (back.name, back.version, back.active_version) == (name, 1, 1)
        assert fns.invoke(name).text == "v1"
        assert fns.invoke(name, version=2).text == "v2"

        fns.set_alias(name, "beta", 2)
        assert fns.invoke(name, version="beta").text == "v2"
        info = fns.get(name)
        assert (info.name, info.active_version, info.latest_version, info.versions) == (name, 1, 2, 2)
        assert info.aliases == {"beta": 2} and info.active.version == 1
        assert info.instances.invocations_queued == 0

        vs = fns.versions(name)
        assert [v.version for v in vs] == [2, 1]
        assert {(v.name, v.active_version) for v in vs} == {(name, 1)}

        logs = fns.logs(name, limit=3)
        assert len(logs) == 3 and all(isinstance(x, soulbox.Invocation) for x in logs)
        assert [x.version for x in logs] == [2, 2, 1]  # newest first: beta, @2, then v1
        assert all(x.done and not x.is_async and x.status == "ok" for x in logs)
        assert all(x.http_status == 200 and x.duration_ms >= 0 for x in logs)

        assert name in [f.name for f in fns.list()]
        fns.delete_alias(name, "beta")
        assert fns.get(name).aliases == {}
        with pytest.raises(soulbox.NotFoundError):
            fns.invoke(name, version="beta")
        assert fns.rollback(name, version=2).active_version == 2
        assert fns.invoke(name).text == "v2"
    finally:
        fns.delete(name)
    with pytest.raises(soulbox.NotFoundError):
        fns.get(name)
    with pytest.raises(soulbox.NotFoundError):
        fns.invoke(name)
    assert name not in [f.name for f in fns.list()]


def test_async_client_functions(echo):
    name, _ = echo

    async def main():
        async with soulbox.AsyncClient() as c:
            r = await c.functions.invoke(name, b"\xff\x00abc", path="/bin")
            assert (r.status, r.body) == (200, b"cba\x00\xff")
            r = await c.functions.invoke(name, "x", path="/a", query={"n": 1},
                                         headers={"x-test": "t"})
            assert (r.status, r.headers["x-echo"], r.json()["query"]) == (201, "t", {"n": "1"})
            r = await c.functions.invoke(name, method="GET", path="/missing")
            assert (r.status, r.json()) == (404, {"nope": True})
            r = await c.functions.invoke(name, path="/boom")
            assert r.status == 502 and r.error.code == "function_error"
            r = await c.functions.invoke(name, path="/mimic")  # returned, not retried
            assert (r.status, r.headers["x-soulbox-function-status"]) == (503, "503")
            with pytest.raises(soulbox.NotFoundError):
                await c.functions.invoke(f"sdkpy-no-such-function-{SUFFIX}")
            h = await c.functions.invoke_async(name, {"probe": [1, 2]})
            inv = await c.functions.wait(name, h.id, timeout=60, poll_interval=0.05)
            assert inv.response.json() == {"got": [1, 2], "version": 1}
            assert inv.response.headers == {"x-probe": "yes"}
            info = await c.functions.get(name)
            assert info.active_version == 1
            assert [v.version for v in await c.functions.versions(name)] == [1]
            assert any(x.id == h.id for x in await c.functions.logs(name, 50))

    asyncio.run(main())


def test_request_shapes():
    assert repr(soulbox.Secret("x")) == "Secret('***')"
    body = _core.function_body("f", "python", "\n    def handler(e, c):\n        return 1\n", None,
                               None, {"A": "1", "B": soulbox.Secret("b"), "C": {"value": "c", "secret": True}},
                               True, {"reuse": True, "max_instances": None, "schedule": ["* * * * *"]},
                               None)
    assert body == {"name": "f", "language": "python", "code": "def handler(e, c):\n    return 1\n",
                    "env": {"A": "1", "B": {"value": "b", "secret": True},
                            "C": {"value": "c", "secret": True}},
                    "reuse": True, "schedule": ["* * * * *"]}
    cfg = _core.Config("localhost:1", "k", None, None)
    m, url, h, data = _core.invoke_request(cfg, "f", None, "delete", "x/y z", [("a", "1")], None, "prod")
    assert (m, url, data) == ("DELETE", "/fn/f@prod/x/y%20z?a=1", None)
    assert h["Authorization"] == "Bearer k" and "Content-Type" not in h
    refusal = b'{"error":{"code":"not_found","message":"no such function: f"}}'
    assert _core.function_answer(404, "404", refusal) and not _core.function_answer(404, None, refusal)
    assert _core.function_answer(404, None, b'{"nope":true}') and _core.function_answer(404, None, b"")
    assert _core.function_answer(400, None, b'{"error":{"code":"bad_input","message":"x"}}')
    assert _core.function_answer(504, None, b'{"error":{"code":"function_timeout"},"request_id":"r"}')
    assert not _core.function_answer(502, None, b'{"error":{"code":"internal_error","message":"x"}}')
    assert _core.function_answer(400, None, b'{"error":{"code":["x"]}}')


def test_an_async_invocation_record_headers_and_a_dropped_body():
    inv = soulbox.Invocation.from_dict({
        "id": "i", "state": "done", "status": "ok", "http_status": 201,
        "response": {"status": 201, "content_type": "text/plain",
                     "headers": {"x-a": "1", "set-cookie": "c=1"}, "body": "",
                     "body_dropped": True, "is_base64": False}})
    r = inv.response
    assert isinstance(r, soulbox.InvocationResponse)
    assert (r.status, r.content_type, r.headers, r.body_dropped, r.content) == (
        201, "text/plain", {"x-a": "1", "set-cookie": "c=1"}, True, b"")
    r = soulbox.InvocationResponse.from_dict({"status": 200, "content_type": None, "headers": {},
                                              "body": "aGk=", "is_base64": True})
    assert (r.headers, r.body_dropped, r.text) == ({}, False, "hi")
    # a callback's payload: {"function", "invocation_id", "invocation"}
    payload = {"function": "f", "invocation_id": "i", "invocation": inv.raw}
    assert soulbox.Invocation.from_dict(payload["invocation"]).response.headers["x-a"] == "1"


def test_function_answers_and_soulbox_refusals_are_told_apart():
    """Against a stub: with X-SoulBox-Function-Status, or without SoulBox's error body, an
    error status is the function's answer (returned, never retried); SoulBox's error body
    is a refusal (429/503 retried, then raised)."""
    from stub import Stub
    refusal = {"error": {"code": "not_found", "message": "no such function: f"}}
    busy = {"error": {"code": "unavailable", "message": "queue full"}}
    s = Stub()
    try:
        def script():
            s.add(404, {"nope": True})
            s.add(503, b"busy", headers={"Content-Type": "text/plain", "Retry-After": "0"})
            s.add(302, b"", headers={"Location": "/elsewhere", "X-SoulBox-Function-Status": "302"})
            s.add(404, refusal, headers={"X-SoulBox-Function-Status": "404"})
            s.add(503, busy, headers={"Retry-After": "0"})
            s.add(200, b"ok", headers={"Content-Type": "text/plain"})
            s.add(404, refusal)

        script()
        with soulbox.Client(s.url, max_retries=1) as c:
            r = c.functions.invoke("f")
            assert (r.status, r.json(), r.error) == (404, {"nope": True}, None)
            r = c.functions.invoke("f")
            assert (r.status, r.text, r.headers["retry-after"]) == (503, "busy", "0")
            r = c.functions.invoke("f")
            assert (r.status, r.headers["location"]) == (302, "/elsewhere")
            assert c.functions.invoke("f").json() == refusal
            assert c.functions.invoke("f", version=2, path="/x").text == "ok"  # after a retry
            with pytest.raises(soulbox.NotFoundError) as ei:
                c.functions.invoke("f")
            assert ei.value.message == "no such function: f"
        assert len(s.requests) == 7
        assert s.requests[4][1] == s.requests[5][1] == "/fn/f@2/x"

        script()

        async def main():
            async with soulbox.AsyncClient(s.url, max_retries=1) as c:
                assert (await c.functions.invoke("f")).status == 404
                assert (await c.functions.invoke("f")).text == "busy"
                assert (await c.functions.invoke("f")).status == 302
                assert (await c.functions.invoke("f")).json() == refusal
                assert (await c.functions.invoke("f")).text == "ok"
                with pytest.raises(soulbox.NotFoundError):
                    await c.functions.invoke("f")
        asyncio.run(main())
        assert len(s.requests) == 14
    finally:
        s.close()
