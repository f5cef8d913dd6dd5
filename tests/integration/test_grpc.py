"""The gRPC API (proto/soulbox/v1/soulbox.proto) on the gRPC port: the same
results and errors as the JSON API, streaming and interactive calls,
deadlines and cancellation, health, reflection, bad input on the wire, and a
second client stack (Node's @grpc/grpc-js, tests/grpc_node/client.js).

Python stubs are generated from proto/ at test time into a temporary
directory; nothing generated is kept."""
import base64
import contextlib
import importlib.util
import json
import os
import queue
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import types
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from conftest import ROOT, sandbox_processes
from server import Server, h2_call, read_until_closed, wait_until

PROTOS = ["soulbox/v1/soulbox.proto", "soulbox/v1/sessions.proto", "grpc/health/v1/health.proto",
          "grpc/reflection/v1alpha/reflection.proto"]
SERVICES = {"soulbox.v1.SoulBox", "soulbox.v1.Sessions", "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection"}
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"

TICKER = "import time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.2)\n"
UPPER = "import sys\nfor line in sys.stdin:\n    print(line.upper(), end='', flush=True)\n"
ENDLESS = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)\n"
SLEEPER = "import time; time.sleep(10)"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# ---- stubs, generated at test time ----

def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("grpc_stubs"))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", "proto",
                    "--python_out=" + out, "--grpc_python_out=" + out, *PROTOS],
                   cwd=ROOT, check=True, capture_output=True, timeout=60)
    sys.path.insert(0, out)
    try:
        from soulbox.v1 import soulbox_pb2, soulbox_pb2_grpc
    finally:
        sys.path.remove(out)
    # grpc/health/... would be imported as part of the grpc package itself:
    # load these two by path, under names of their own.
    health = load_module("soulbox_test_health_pb2",
                         os.path.join(out, "grpc", "health", "v1", "health_pb2.py"))
    refl = load_module("soulbox_test_reflection_pb2",
                       os.path.join(out, "grpc", "reflection", "v1alpha", "reflection_pb2.py"))
    return types.SimpleNamespace(sb=soulbox_pb2, sb_grpc=soulbox_pb2_grpc, health=health,
                                 refl=refl)


# ---- servers ----

@pytest.fixture(scope="module")
def srv():
    with Server("server:\n  max_concurrent: 8\n") as s:
        s.wait_languages()
        yield s


@pytest.fixture(scope="module")
def channel(srv):
    ch = grpc.insecure_channel(srv.grpc_target)
    yield ch
    ch.close()


@pytest.fixture(scope="module")
def stub(pb, channel):
    return pb.sb_grpc.SoulBoxStub(channel)


# ---- helpers ----

def to_pb(pb, body):
    """The ExecuteRequest for a JSON API request body."""
    r = pb.sb.ExecuteRequest(language=body.get("language", ""), code=body.get("code", ""),
                             stdin=body.get("stdin", "").encode(), args=body.get("args", []),
                             env=body.get("env", {}), compile_args=body.get("compile_args", []))
    for f in body.get("files", []):
        content = (base64.b64decode(f["content"]) if f.get("encoding") == "base64"
                   else f["content"].encode())
        r.files.add(name=f["name"], content=content)
    for k, v in body.get("limits", {}).items():
        setattr(r.limits, k, v)
    for c in body.get("test_cases", []):
        tc = r.test_cases.add(stdin=c.get("stdin", ""))
        if "expected_output" in c:
            tc.expected_output = c["expected_output"]
    return r


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


STAGE_FIELDS = ("stdout", "stderr", "status", "exit_code", "signal", "message", "truncated")


def stage(r):
    """A StageResult's compared fields as the JSON API shows them (unset = None)."""
    return {"stdout": r.stdout.decode(), "stderr": r.stderr.decode(), "status": r.status,
            "exit_code": r.exit_code if r.HasField("exit_code") else None,
            "signal": r.signal if r.HasField("signal") else None,
            "message": r.message, "truncated": r.truncated}


def rest_stage(j):
    return {k: j.get(k, "" if k == "message" else None) for k in STAGE_FIELDS}


def check_times(r):
    assert r.execution_time == f"{r.wall_time_ms}ms", r


def rpc_error(fn, *args, **kw):
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    return e.value


def assert_serving(pb, stub, metadata=None):
    r = stub.Execute(pb.sb.ExecuteRequest(language="bash", code="echo fine"), timeout=30,
                     metadata=metadata)
    assert (r.result.status, r.result.stdout.decode()) == ("ok", "fine\n"), r


def wait_no_sandboxes(timeout=10):
    deadline = time.time() + timeout
    while sandbox_processes():
        assert time.time() < deadline, sandbox_processes()
        time.sleep(0.05)


def wait_finished(srv, ex_id, timeout=10):
    """The execution's record once it is no longer queued or running."""
    deadline = time.time() + timeout
    while True:
        r = srv.get(f"/api/executions/{ex_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] not in ("queued", "running"):
            return r.json()
        assert time.time() < deadline, r.json()
        time.sleep(0.05)


def kind(ev):
    return ev.WhichOneof("event")


class Outbox:
    """The client side of a streaming call: events go out when the test puts them."""

    def __init__(self):
        self.q = queue.Queue()

    def put(self, ev):
        self.q.put(ev)

    def close(self):
        self.q.put(None)

    def __iter__(self):
        while True:
            ev = self.q.get()
            if ev is None:
                return
            yield ev


@contextlib.contextmanager
def interact(stub, timeout=60, metadata=None):
    box = Outbox()
    call = stub.Interact(iter(box), timeout=timeout, metadata=metadata)
    try:
        yield box, call
    finally:
        box.close()
        call.cancel()


def ev_execute(pb, **kw):
    return pb.sb.ClientEvent(execute=pb.sb.ExecuteRequest(**kw))


def ev_stdin(pb, data):
    return pb.sb.ClientEvent(stdin=data)


def ev_close(pb):
    return pb.sb.ClientEvent(stdin_close=pb.sb.StdinClose())


def ev_kill(pb):
    return pb.sb.ClientEvent(kill=pb.sb.Kill())


# ---- 1. Execute: the JSON API's results ----

PARITY = {
    "hello": ({"language": "python", "code": 'print("hi")'},
              {"status": "ok", "stdout": "hi\n", "exit_code": 0, "signal": None}),
    "runtime_error": ({"language": "python", "code": "import sys; sys.exit(3)"},
                      {"status": "runtime_error", "exit_code": 3, "signal": None,
                       "message": "exited with code 3"}),
    "killed_by_signal": ({"language": "bash", "code": "echo err >&2; kill -9 $$"},
                         {"status": "runtime_error", "exit_code": None, "signal": 9,
                          "stderr": "err\n"}),
    "stdin": ({"language": "python", "code": "import sys; print(sys.stdin.read()[::-1])",
               "stdin": "abc\ndef"},
              {"status": "ok", "stdout": "fed\ncba\n"}),
    "args": ({"language": "python", "code": "import sys; print(sys.argv[1:])",
              "args": ["a b", "--x", ""]},
             {"status": "ok", "stdout": "['a b', '--x', '']\n"}),
    "env": ({"language": "python",
             "code": "import os; print(os.environ['GREETING'] + '|' + os.environ['EMPTY'] + '|')",
             "env": {"GREETING": "hallo welt", "EMPTY": ""}},
            {"status": "ok", "stdout": "hallo welt||\n"}),
    "files": ({"language": "python", "files": [
                  {"name": "main.py", "encoding": "base64", "content": b64(
                      "import helper\nprint(helper.X, open('data/blob.bin', 'rb').read().hex())\n")},
                  {"name": "helper.py", "encoding": "base64", "content": b64("X = 42\n")},
                  {"name": "data/blob.bin", "encoding": "base64", "content": b64(b"\x00\xff\x10")}]},
              {"status": "ok", "stdout": "42 00ff10\n"}),
    "output_limit": ({"language": "bash", "code": "yes", "limits": {"output_kb": 1}},
                     {"status": "output_limit_exceeded", "truncated": True,
                      "stdout": "y\n" * 512}),
}


@pytest.mark.parametrize("name", list(PARITY))
def test_execute_matches_the_json_api(pb, stub, srv, name):
    body, want = PARITY[name]
    rest = srv.execute(body).json()
    got = stub.Execute(to_pb(pb, body), timeout=60)
    assert stage(got.result) == rest_stage(rest)
    assert {k: stage(got.result)[k] for k in want} == want
    check_times(got.result)
    # interpreted languages: no compile stage, in either API
    assert not got.HasField("compile") and "compile" not in rest
    assert not got.HasField("compile_cached") and got.compile_output.decode() == ""
    assert list(got.test_cases) == [] and not got.HasField("summary")
    assert UUID_RE.match(got.id) and got.id != rest["id"]


def test_compile_args(pb, stub, srv):
    """compile_args reach the compiler as in the JSON API (the same compile cache entry)."""
    nonce = uuid.uuid4().hex         # a compile of its own, whatever the cache holds
    body = {"language": "c", "code": f"#include <stdio.h>\n/* {nonce} */\nint main(void){{ puts(W); }}",
            "compile_args": ["-DW=\"compiled with\"", "-O0"]}
    rest = srv.execute(body).json()
    got = stub.Execute(to_pb(pb, body), timeout=60)
    assert (rest["status"], rest["stdout"]) == ("ok", "compiled with\n"), rest
    assert stage(got.result) == rest_stage(rest) and got.compile_cached
    got = stub.Execute(to_pb(pb, dict(body, compile_args=["-DW=\"other\""])), timeout=60)
    assert got.result.stdout == b"other\n" and not got.compile_cached


def test_execute_is_recorded_as_a_sync_execution(pb, stub, srv):
    got = stub.Execute(pb.sb.ExecuteRequest(language="python", code='print("hi")'), timeout=60)
    assert UUID_RE.match(got.id), got.id
    r = srv.get(f"/api/executions/{got.id}")
    assert r.status_code == 200, r.text
    rec = r.json()
    assert (rec["id"], rec["mode"], rec["language"]) == (got.id, "sync", "python")
    assert rest_stage(rec) == stage(got.result)


def c_source(nonce):
    return ("#include <stdio.h>\n/* %s */\nint main(void) { printf(\"c says %%d\\n\", 6 * 7); "
            "return 0; }\n" % nonce)


def test_c_program_compile_stage_and_cache(pb, stub, srv):
    code = c_source(uuid.uuid4().hex)       # never compiled before: a cache miss
    first = stub.Execute(pb.sb.ExecuteRequest(language="c", code=code), timeout=120)
    assert stage(first.result) == {"stdout": "c says 42\n", "stderr": "", "status": "ok",
                                   "exit_code": 0, "signal": None, "message": "",
                                   "truncated": False}
    assert first.HasField("compile_cached") and first.compile_cached is False
    assert first.HasField("compile") and first.compile.status == "ok"
    assert first.compile.HasField("exit_code") and first.compile.exit_code == 0
    assert first.compile_output.decode() == ""
    check_times(first.compile)
    # the cache is shared with the JSON API (its writes land off the request path)
    deadline = time.time() + 10
    while True:
        rest = srv.execute({"language": "c", "code": code}, timeout=120).json()
        if rest["compile_cached"]:
            break
        assert time.time() < deadline, rest
        time.sleep(0.1)
    again = stub.Execute(pb.sb.ExecuteRequest(language="c", code=code), timeout=120)
    assert again.HasField("compile_cached") and again.compile_cached is True
    assert stage(again.result) == rest_stage(rest)
    assert stage(again.compile) == rest_stage(rest["compile"])
    assert again.compile_output.decode() == rest["compile_output"] == ""


def test_c_compile_error(pb, stub, srv):
    body = {"language": "c", "code": "/* %s */\nint main( {\n" % uuid.uuid4().hex}
    got = stub.Execute(to_pb(pb, body), timeout=120)
    rest = srv.execute(body, timeout=120).json()
    assert got.result.status == "compile_error" and not got.result.HasField("exit_code")
    assert got.compile_output.decode() != "" and "error" in got.compile_output.decode()
    assert got.compile_output.decode() == rest["compile_output"]
    assert stage(got.result) == rest_stage(rest)
    assert got.result.message == "compilation failed: exited with code 1"
    assert got.compile.status == "compile_error" and got.compile.exit_code == 1
    assert stage(got.compile) == rest_stage(rest["compile"])
    assert got.HasField("compile_cached") == ("compile_cached" in rest)
    assert got.compile_cached == rest.get("compile_cached", False)


def test_test_cases_verdicts_and_summary(pb, stub, srv):
    body = {"language": "python", "code": "print(input()[::-1])", "test_cases": [
        {"stdin": "ab\n", "expected_output": "ba\n"},
        {"stdin": "xy\n", "expected_output": "nope\n"},
        {"stdin": "q\n"}]}
    got = stub.Execute(to_pb(pb, body), timeout=120)
    rest = srv.execute(body, timeout=120).json()
    assert [(c.index, c.verdict) for c in got.test_cases] == \
        [(0, "accepted"), (1, "wrong_answer"), (2, "ok")]
    assert [c.result.stdout.decode() for c in got.test_cases] == ["ba\n", "yx\n", "q\n"]
    assert [(c["index"], c["verdict"]) for c in rest["test_cases"]] == \
        [(c.index, c.verdict) for c in got.test_cases]
    for g, r in zip(got.test_cases, rest["test_cases"]):
        assert stage(g.result) == rest_stage(r)
    s = got.summary
    assert (s.total, s.accepted, s.verdict) == (3, 1, "wrong_answer")
    assert rest["summary"] == {"total": s.total, "accepted": s.accepted, "verdict": s.verdict}


# ---- 2. Errors and status codes ----

# gRPC request (as a JSON body) -> the JSON API requests it is the same as. An
# empty proto3 string is "not set": the JSON equivalent may be either.
INVALID = {
    "empty_language": ({"language": "", "code": "print(1)"},
                       [{"code": "print(1)"}, {"language": "", "code": "print(1)"}]),
    "no_code_nor_files": ({"language": "python"}, [{"language": "python"}]),
    "bad_file_name": ({"language": "python", "files": [
                          {"name": "../x", "encoding": "base64", "content": b64("print(1)")}]},
                      None),
    "duplicate_file_name": ({"language": "python", "files": [
                                {"name": "a.py", "encoding": "base64", "content": ""},
                                {"name": "a.py", "encoding": "base64", "content": ""}]},
                            None),
    "bad_env_name": ({"language": "python", "code": "x", "env": {"1BAD": "v"}}, None),
    "nul_in_arg": ({"language": "python", "code": "x", "args": ["a\0b"]}, None),
    "stdin_and_test_cases": ({"language": "python", "code": "x", "stdin": "s",
                              "test_cases": [{"stdin": ""}]}, None),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_argument_has_the_json_apis_message(pb, stub, srv, name):
    body, rest_bodies = INVALID[name]
    messages = []
    for rb in rest_bodies or [body]:
        r = srv.execute(rb)
        assert r.status_code in (400, 422), r.text
        messages.append(r.json()["error"]["message"])
    e = rpc_error(stub.Execute, to_pb(pb, body), timeout=30)
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    assert e.details() in messages
    field = messages[0].split(":")[0].split("[")[0].split(".")[0]
    assert field in e.details()         # names the field: language, code, files, env, ...
    assert_serving(pb, stub)


def test_unknown_language(pb, stub):
    e = rpc_error(stub.Execute, pb.sb.ExecuteRequest(language="cobra", code="x"), timeout=30)
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "cobra" in e.details(), e
    assert_serving(pb, stub)


def test_compile_limits(pb, stub):
    """CompileLimits reach the request (a language without a compile stage refuses them)."""
    req = pb.sb.ExecuteRequest(language="python", code="x",
                               compile_limits=pb.sb.CompileLimits(wall_time_ms=5))
    e = rpc_error(stub.Execute, req, timeout=30)
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    assert e.details() == "compile_limits: python has no compile step", e
    req = pb.sb.ExecuteRequest(language="c", code="int main(){return 0;}",
                               compile_args=["-wrapper", "/bin/sh,-c,sleep 2"],
                               compile_limits=pb.sb.CompileLimits(wall_time_ms=700))
    got = stub.Execute(req, timeout=60)
    assert got.result.status == "compile_error" and got.compile.status == "time_limit_exceeded"
    assert got.result.message == "compilation failed: wall time limit of 700 ms exceeded"


def test_limit_above_the_maximum(pb, stub):
    req = pb.sb.ExecuteRequest(language="python", code="x", limits=pb.sb.Limits(memory_mb=999999))
    e = rpc_error(stub.Execute, req, timeout=30)
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "memory_mb" in e.details(), e
    assert_serving(pb, stub)


def test_unknown_method_is_unimplemented(pb, stub, channel):
    for method in ["/soulbox.v1.SoulBox/Nope", "/no.such.Service/Execute"]:
        e = rpc_error(channel.unary_unary(method), b"", timeout=10)
        assert e.code() == grpc.StatusCode.UNIMPLEMENTED, (method, e)
    assert_serving(pb, stub)


def test_request_larger_than_max_body_kb(pb):
    with Server("server:\n  max_body_kb: 64\n") as s, grpc.insecure_channel(s.grpc_target) as ch:
        s.wait_languages()
        stub = pb.sb_grpc.SoulBoxStub(ch)
        big = "# " + "x" * (200 << 10) + "\nprint('big')\n"
        e = rpc_error(stub.Execute, pb.sb.ExecuteRequest(language="python", code=big), timeout=30)
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
        # just under the limit is fine
        small = "# " + "x" * (60 << 10) + "\nprint('small')\n"
        r = stub.Execute(pb.sb.ExecuteRequest(language="python", code=small), timeout=30)
        assert r.result.stdout.decode() == "small\n"
        e = rpc_error(lambda: list(stub.ExecuteStream(
            pb.sb.ExecuteRequest(language="python", code=big), timeout=30)))
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
        assert_serving(pb, stub)


def test_auth_by_metadata(pb):
    with Server(env={"SOULBOX_API_KEYS": "ci:sekret"}) as s, \
            grpc.insecure_channel(s.grpc_target) as ch:
        s.wait_languages()
        stub = pb.sb_grpc.SoulBoxStub(ch)
        req = pb.sb.ExecuteRequest(language="bash", code="echo hi")
        # (no "Bearer " with an empty key: a header value ending in a space is
        # malformed HTTP/2, refused before any gRPC code sees it)
        for md in [None, [("authorization", "Bearer wrong")], [("x-api-key", "wrong")],
                   [("authorization", "sekret")], [("authorization", "Basic sekret")]]:
            e = rpc_error(stub.Execute, req, timeout=30, metadata=md)
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED, (md, e)
            e = rpc_error(stub.ListLanguages, pb.sb.ListLanguagesRequest(), timeout=30, metadata=md)
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED, (md, e)
            e = rpc_error(lambda: list(stub.ExecuteStream(req, timeout=30, metadata=md)))
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED, (md, e)
            with interact(stub, timeout=30, metadata=md) as (box, call):
                box.put(ev_execute(pb, language="bash", code="echo hi"))
                e = rpc_error(lambda: list(call))
                assert e.code() == grpc.StatusCode.UNAUTHENTICATED, (md, e)
            # and the server carries on
            for good in [[("authorization", "Bearer sekret")], [("x-api-key", "sekret")]]:
                r = stub.Execute(req, timeout=30, metadata=good)
                assert (r.result.status, r.result.stdout.decode()) == ("ok", "hi\n")
        r = stub.ListLanguages(pb.sb.ListLanguagesRequest(), timeout=30,
                               metadata=[("x-api-key", "sekret")])
        assert {l.name for l in r.languages} == {"python", "bash", "c"}


def test_rate_limit(pb):
    cfg = "server:\n  rate_limit:\n    requests_per_second: 1\n    burst: 1\n"
    with Server(cfg, env={"SOULBOX_API_KEYS": "ci:sekret"}) as s, \
            grpc.insecure_channel(s.grpc_target) as ch:
        s.wait_languages()
        stub = pb.sb_grpc.SoulBoxStub(ch)
        md = [("authorization", "Bearer sekret")]
        req = pb.sb.ExecuteRequest(language="bash", code="echo hi")
        t0 = time.monotonic()       # the bucket starts full at the first call
        assert stub.Execute(req, timeout=30, metadata=md).result.stdout.decode() == "hi\n"
        e = rpc_error(stub.Execute, req, timeout=30, metadata=md)
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e

        def served():
            try:
                return stub.Execute(req, timeout=30, metadata=md).result.stdout.decode() == "hi\n"
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
                return False
        # one token back 1 s after the first call, not before
        assert wait_until(served, timeout=5)
        assert time.monotonic() - t0 > 0.99     # (the server counts whole milliseconds)


# ---- 3. ExecuteStream ----

def test_execute_stream_output_as_produced(pb, stub):
    call = stub.ExecuteStream(pb.sb.ExecuteRequest(language="python", code=TICKER), timeout=60)
    evs = [(time.monotonic(), ev) for ev in call]
    assert call.code() == grpc.StatusCode.OK
    kinds = [kind(ev) for _, ev in evs]
    assert kinds[0] == "started" and kinds[-1] == "exit", kinds
    assert set(kinds[1:-1]) == {"stdout"}, kinds
    assert b"".join(ev.stdout.data for _, ev in evs if kind(ev) == "stdout") == b"0\n1\n2\n3\n4\n"
    started, ex = evs[0][1].started, evs[-1][1].exit
    assert UUID_RE.match(started.id) and ex.id == started.id
    assert stage(ex.result) == {"stdout": "0\n1\n2\n3\n4\n", "stderr": "", "status": "ok",
                                "exit_code": 0, "signal": None, "message": "",
                                "truncated": False}
    first_line = next(t for t, ev in evs if kind(ev) == "stdout")
    assert evs[-1][0] - first_line > 0.6        # 4 more lines x 200 ms came after it
    line_times = [t for t, ev in evs if kind(ev) == "stdout" and ev.stdout.data.endswith(b"\n")]
    assert len(line_times) == 5
    assert all(b - a > 0.1 for a, b in zip(line_times, line_times[1:]))


def test_execute_stream_refuses_test_cases(pb, stub):
    req = to_pb(pb, {"language": "python", "code": "x", "test_cases": [{"stdin": ""}]})
    e = rpc_error(lambda: list(stub.ExecuteStream(req, timeout=30)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "test_cases" in e.details(), e
    assert_serving(pb, stub)


def test_execute_stream_stderr_and_raw_bytes(pb, stub):
    code = "import sys\nsys.stderr.write('oops\\n')\nsys.stdout.buffer.write(b'\\xff\\x00ok')\n"
    evs = list(stub.ExecuteStream(pb.sb.ExecuteRequest(language="python", code=code),
                                  timeout=60))
    assert b"".join(ev.stderr.data for ev in evs if kind(ev) == "stderr") == b"oops\n"
    # raw bytes in events; U+FFFD in the result, as in the JSON API
    assert b"".join(ev.stdout.data for ev in evs if kind(ev) == "stdout") == b"\xff\x00ok"
    assert evs[-1].exit.result.stdout.decode() == "\ufffd\x00ok"


# ---- 4. Interact ----

def test_interact_stdin_turn_by_turn(pb, stub):
    with interact(stub) as (box, call):
        box.put(ev_execute(pb, language="python", code=UPPER))
        ev = next(call)
        assert kind(ev) == "started", ev
        ex_id = ev.started.id
        seen = []
        for word in [b"hello", b"world"]:
            box.put(ev_stdin(pb, word + b"\n"))
            got = b""
            while not got.endswith(b"\n"):
                ev = next(call)
                assert kind(ev) == "stdout", ev
                got += ev.stdout.data
            seen.append(got)
        box.put(ev_close(pb))
        rest = list(call)
        assert call.code() == grpc.StatusCode.OK
    assert seen == [b"HELLO\n", b"WORLD\n"]
    assert [kind(ev) for ev in rest] == ["exit"]
    ex = rest[-1].exit
    assert ex.id == ex_id
    assert (ex.result.status, ex.result.stdout.decode(), ex.result.exit_code) == \
        ("ok", "HELLO\nWORLD\n", 0)


def test_interact_kill(pb, stub):
    with interact(stub) as (box, call):
        box.put(ev_execute(pb, language="python", code=ENDLESS))
        while kind(next(call)) != "stdout":
            pass
        box.put(ev_kill(pb))
        rest = list(call)
        assert call.code() == grpc.StatusCode.OK
    assert set(kind(ev) for ev in rest[:-1]) <= {"stdout"}
    ex = rest[-1].exit
    assert kind(rest[-1]) == "exit" and ex.result.status == "runtime_error"
    assert ex.result.HasField("signal") and ex.result.signal == 9
    assert not ex.result.HasField("exit_code")
    assert ex.result.message == "killed on request"
    wait_no_sandboxes()


def test_interact_signal(pb, stub):
    """A Signal event reaches the program, which may catch it; a bad name is an error event."""
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda n, f: (print('caught', n, flush=True), "
            "sys.exit(5)))\nprint('ready', flush=True)\ntime.sleep(30)\n")
    with interact(stub) as (box, call):
        box.put(ev_execute(pb, language="python", code=code))
        out = b""
        while not out.endswith(b"ready\n"):
            ev = next(call)
            out += ev.stdout.data if kind(ev) == "stdout" else b""
        box.put(pb.sb.ClientEvent(signal=pb.sb.Signal(name="SIGNOPE")))
        err = next(call)
        assert kind(err) == "error" and err.error.message == "signal: a name like SIGINT or SIGTERM"
        box.put(pb.sb.ClientEvent(signal=pb.sb.Signal(name="SIGTERM")))
        rest = list(call)
        assert call.code() == grpc.StatusCode.OK
    ex = rest[-1].exit
    assert (ex.result.status, ex.result.exit_code, ex.result.stdout) == (
        "runtime_error", 5, b"ready\ncaught 15\n"), ex
    wait_no_sandboxes()


def test_interact_must_start_with_execute(pb, stub):
    for first in [ev_stdin(pb, b"x\n"), ev_close(pb), ev_kill(pb), pb.sb.ClientEvent()]:
        with interact(stub, timeout=30) as (box, call):
            box.put(first)
            e = rpc_error(lambda: list(call))
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (first, e)
    assert_serving(pb, stub)


def test_interact_second_execute_is_an_error_event(pb, stub):
    with interact(stub) as (box, call):
        box.put(ev_execute(pb, language="python", code=UPPER))
        box.put(ev_execute(pb, language="bash", code="echo two"))
        box.put(ev_stdin(pb, b"x\n"))
        evs, out = [], b""
        while not out.endswith(b"\n"):
            ev = next(call)
            evs.append(ev)
            if kind(ev) == "stdout":
                out += ev.stdout.data
        box.put(ev_close(pb))
        evs += list(call)
        assert call.code() == grpc.StatusCode.OK
    kinds = [kind(ev) for ev in evs]
    assert kinds.count("started") == 1 and kinds.count("error") == 1, kinds
    err = next(ev.error for ev in evs if kind(ev) == "error")
    assert err.code == "invalid_argument" and err.message != ""
    assert kinds[-1] == "exit" and (evs[-1].exit.result.status, evs[-1].exit.result.stdout.decode()) == \
        ("ok", "X\n")


def test_interact_invalid_execute_ends_the_call(pb, stub):
    with interact(stub, timeout=30) as (box, call):
        box.put(ev_execute(pb, language="cobra", code="x"))
        e = rpc_error(lambda: list(call))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "cobra" in e.details(), e


# ---- 5. Deadlines and cancellation ----

def test_execute_deadline_kills_the_sandbox(pb, stub):
    req = pb.sb.ExecuteRequest(language="python", code=SLEEPER)
    with ThreadPoolExecutor(1) as pool:
        t0 = time.monotonic()
        fut = pool.submit(stub.Execute, req, timeout=0.5)
        seen = False
        while not fut.done():
            seen = seen or bool(sandbox_processes())
            time.sleep(0.01)
        e = fut.exception()
    assert isinstance(e, grpc.RpcError) and e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e
    assert time.monotonic() - t0 < 5
    assert seen, "the program never ran"
    wait_no_sandboxes()
    assert_serving(pb, stub)


def test_execute_stream_deadline_kills_the_sandbox(pb, stub, srv):
    call = stub.ExecuteStream(pb.sb.ExecuteRequest(language="python", code=SLEEPER), timeout=0.5)
    evs = []

    def drain():
        for ev in call:
            evs.append(ev)
    e = rpc_error(drain)
    assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e
    assert [kind(ev) for ev in evs] == ["started"]
    wait_no_sandboxes()
    assert wait_finished(srv, evs[0].started.id)["status"] != "ok"
    assert_serving(pb, stub)


def test_cancelling_the_stream_kills_the_sandbox(pb, stub, srv):
    call = stub.ExecuteStream(pb.sb.ExecuteRequest(language="bash", code="echo up; sleep 30"),
                              timeout=60)
    started = next(call)
    assert kind(started) == "started"
    up = next(call)
    assert kind(up) == "stdout" and up.stdout.data == b"up\n"
    assert sandbox_processes() != []
    call.cancel()
    assert call.code() == grpc.StatusCode.CANCELLED
    wait_no_sandboxes()
    assert wait_finished(srv, started.started.id)["status"] != "ok"
    assert_serving(pb, stub)


def test_cancelling_interact_kills_the_sandbox(pb, stub):
    with interact(stub) as (box, call):
        box.put(ev_execute(pb, language="python", code=ENDLESS))
        while kind(next(call)) != "stdout":
            pass
        assert sandbox_processes() != []
    wait_no_sandboxes()
    assert_serving(pb, stub)


# ---- 6. Health ----

def health_check(pb, channel, service):
    fn = channel.unary_unary("/grpc.health.v1.Health/Check",
                             request_serializer=pb.health.HealthCheckRequest.SerializeToString,
                             response_deserializer=pb.health.HealthCheckResponse.FromString)
    return fn(pb.health.HealthCheckRequest(service=service), timeout=10)


def test_health_check(pb, channel):
    serving = pb.health.HealthCheckResponse.SERVING
    assert health_check(pb, channel, "").status == serving
    assert health_check(pb, channel, "soulbox.v1.SoulBox").status == serving
    e = rpc_error(health_check, pb, channel, "no.such.Service")
    assert e.code() == grpc.StatusCode.NOT_FOUND, e


def test_health_watch(pb, channel):
    watch = channel.unary_stream("/grpc.health.v1.Health/Watch",
                                 request_serializer=pb.health.HealthCheckRequest.SerializeToString,
                                 response_deserializer=pb.health.HealthCheckResponse.FromString)
    call = watch(pb.health.HealthCheckRequest(service=""), timeout=30)
    first = next(call)
    assert first.status == pb.health.HealthCheckResponse.SERVING
    call.cancel()
    assert call.code() == grpc.StatusCode.CANCELLED
    assert health_check(pb, channel, "").status == pb.health.HealthCheckResponse.SERVING


# ---- 7. Reflection ----

def reflect(pb, channel, *requests):
    fn = channel.stream_stream(REFLECTION,
                               request_serializer=pb.refl.ServerReflectionRequest.SerializeToString,
                               response_deserializer=pb.refl.ServerReflectionResponse.FromString)
    return list(fn(iter(requests), timeout=30))


def files_of(resp):
    return [descriptor_pb2.FileDescriptorProto.FromString(b)
            for b in resp.file_descriptor_response.file_descriptor_proto]


def test_reflection_lists_the_services(pb, channel):
    (resp,) = reflect(pb, channel, pb.refl.ServerReflectionRequest(list_services=""))
    assert resp.WhichOneof("message_response") == "list_services_response"
    names = [s.name for s in resp.list_services_response.service]
    assert sorted(names) == sorted(SERVICES)


def test_reflection_file_containing_symbol(pb, channel):
    (resp,) = reflect(pb, channel,
                      pb.refl.ServerReflectionRequest(file_containing_symbol="soulbox.v1.SoulBox"))
    assert resp.WhichOneof("message_response") == "file_descriptor_response", resp
    files = {f.name: f for f in files_of(resp)}
    f = files["soulbox/v1/soulbox.proto"]
    assert f.package == "soulbox.v1"
    (svc,) = f.service
    assert svc.name == "SoulBox"
    assert [m.name for m in svc.method] == ["Execute", "ExecuteStream", "Interact",
                                            "ListLanguages", "GetCluster"]
    streaming = {m.name: (m.client_streaming, m.server_streaming) for m in svc.method}
    assert streaming == {"Execute": (False, False), "ExecuteStream": (False, True),
                         "Interact": (True, True), "ListLanguages": (False, False),
                         "GetCluster": (False, False)}
    # exactly what the proto file says (json_name is optional in a descriptor)
    assert comparable(f) == comparable(
        descriptor_pb2.FileDescriptorProto.FromString(pb.sb.DESCRIPTOR.serialized_pb))


def comparable(f):
    f = descriptor_pb2.FileDescriptorProto.FromString(f.SerializeToString())
    f.ClearField("source_code_info")
    todo = list(f.message_type)
    while todo:
        m = todo.pop()
        for field in m.field:
            field.ClearField("json_name")
        todo += list(m.nested_type)
    return f


def test_reflection_file_by_filename(pb, channel):
    (resp,) = reflect(pb, channel,
                      pb.refl.ServerReflectionRequest(file_by_filename="grpc/health/v1/health.proto"))
    (f,) = [f for f in files_of(resp) if f.name == "grpc/health/v1/health.proto"]
    assert f.package == "grpc.health.v1"
    assert [m.name for m in f.service[0].method] == ["Check", "Watch"]


def test_reflection_unknown_symbol_and_file(pb, channel):
    for req in [pb.refl.ServerReflectionRequest(file_containing_symbol="no.such.Thing"),
                pb.refl.ServerReflectionRequest(file_by_filename="no/such.proto")]:
        (resp,) = reflect(pb, channel, req)
        assert resp.WhichOneof("message_response") == "error_response", resp
        assert resp.error_response.error_code == 5          # NOT_FOUND


def test_reflection_answers_in_order_on_one_stream(pb, channel):
    R = pb.refl.ServerReflectionRequest
    resps = reflect(pb, channel, R(list_services=""),
                    R(file_containing_symbol="no.such.Thing"),
                    R(file_by_filename="grpc/reflection/v1alpha/reflection.proto"),
                    R(file_containing_symbol="grpc.health.v1.Health"),
                    R(list_services="*"))
    assert [r.WhichOneof("message_response") for r in resps] == [
        "list_services_response", "error_response", "file_descriptor_response",
        "file_descriptor_response", "list_services_response"]
    assert [f.name for f in files_of(resps[2])][0] == "grpc/reflection/v1alpha/reflection.proto"
    assert "grpc/health/v1/health.proto" in [f.name for f in files_of(resps[3])]


def message_class(pool, name):
    desc = pool.FindMessageTypeByName(name)
    get = getattr(message_factory, "GetMessageClass", None)
    return get(desc) if get else message_factory.MessageFactory(pool).GetPrototype(desc)


def test_generic_client_through_reflection(pb, channel):
    """What grpcurl does: message classes built from the server's own descriptors."""
    (resp,) = reflect(pb, channel,
                      pb.refl.ServerReflectionRequest(file_containing_symbol="soulbox.v1.SoulBox"))
    pool = descriptor_pool.DescriptorPool()
    pending = list(resp.file_descriptor_response.file_descriptor_proto)
    while pending:      # dependencies first, whatever the order they came in
        progress = False
        for b in list(pending):
            try:
                pool.AddSerializedFile(b)
            except (TypeError, KeyError):
                continue
            pending.remove(b)
            progress = True
        assert progress, "descriptors with missing dependencies"
    method = pool.FindServiceByName("soulbox.v1.SoulBox").FindMethodByName("Execute")
    Req = message_class(pool, method.input_type.full_name)
    Res = message_class(pool, method.output_type.full_name)
    call = channel.unary_unary("/soulbox.v1.SoulBox/Execute",
                               request_serializer=Req.SerializeToString,
                               response_deserializer=Res.FromString)
    r = call(Req(language="python", code='print("via reflection")', args=["x"]), timeout=60)
    assert (r.result.status, r.result.stdout.decode()) == ("ok", "via reflection\n")
    assert r.result.HasField("exit_code") and r.result.exit_code == 0


# ---- 8. ListLanguages ----

def test_list_languages(pb, stub, srv):
    r = stub.ListLanguages(pb.sb.ListLanguagesRequest(), timeout=30)
    got = sorted(({"name": l.name, "aliases": list(l.aliases), "version": l.version,
                   "compiled": l.compiled} for l in r.languages), key=lambda l: l["name"])
    assert [l["name"] for l in got] == ["bash", "c", "python"]
    for l in got:
        assert re.match(r"\d", l["version"]), l
        assert l["compiled"] == (l["name"] == "c")
    assert list(r.unavailable) == [] and list(r.probing) == []
    rest = srv.get("/api/languages").json()
    assert got == sorted(rest["languages"], key=lambda l: l["name"])


def test_get_cluster_on_one_node_is_that_node_alone(pb, stub, srv):
    r = stub.GetCluster(pb.sb.GetClusterRequest(), timeout=30)
    assert (r.store, r.database, r.queued) == ("sqlite", "up", 0)
    assert [(n.id, n.state, n.self, n.capacity) for n in r.nodes] == [(r.node, "up", True, 8)]
    assert sorted(r.nodes[0].languages) == ["bash", "c", "python"]
    rest = srv.get("/api/cluster").json()
    assert (rest["store"], rest["node"], rest["nodes"][0]["capacity"]) == ("sqlite", r.node, 8)


# ---- 9. HTTP/2: many calls on one connection, flow control both ways ----

def test_concurrent_calls_on_one_connection(pb, stub):
    code = "import sys, time\nn = sys.stdin.read()\ntime.sleep(0.5)\nprint(n * 2)\n"

    def unary(i):
        r = stub.Execute(pb.sb.ExecuteRequest(language="python", code=code,
                                              stdin=str(i).encode()), timeout=60)
        return r.result.stdout.decode()

    def streamed(i):
        evs = list(stub.ExecuteStream(pb.sb.ExecuteRequest(language="python", code=code,
                                                           stdin=str(i).encode()), timeout=60))
        assert kind(evs[-1]) == "exit", evs
        return b"".join(ev.stdout.data for ev in evs if kind(ev) == "stdout").decode()

    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        futs = [pool.submit(unary if i % 2 else streamed, i) for i in range(8)]
        outs = [f.result() for f in futs]
    assert outs == [f"{i}{i}\n" for i in range(8)]
    assert time.monotonic() - t0 < 3.5      # in parallel: 8 x 0.5 s one after another is 4 s


def test_large_output_and_large_request(pb, stub):
    # 3 MB of output: more than HTTP/2's initial 64 KB windows many times over
    code = "import sys\nsys.stdout.write('0123456789' * 300000)\n"
    want = "0123456789" * 300000
    lim = pb.sb.Limits(output_kb=4096)
    r = stub.Execute(pb.sb.ExecuteRequest(language="python", code=code, limits=lim), timeout=60)
    assert r.result.status == "ok" and r.result.stdout.decode() == want
    evs = list(stub.ExecuteStream(pb.sb.ExecuteRequest(language="python", code=code, limits=lim),
                                  timeout=60))
    assert b"".join(ev.stdout.data for ev in evs if kind(ev) == "stdout") == want.encode()
    assert evs[-1].exit.result.stdout.decode() == want
    # a 1 MB request: the server must open its receive window as it reads
    big = "# " + "y" * (1 << 20) + "\nprint('read it all')\n"
    r = stub.Execute(pb.sb.ExecuteRequest(language="python", code=big), timeout=60)
    assert r.result.stdout.decode() == "read it all\n"


# ---- 10. Bad input on the wire ----

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


EMPTY_SETTINGS = h2_frame(4, 0, 0, b"")
JUNK = {
    "garbage": bytes(range(256)) * 4,
    "http1": b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    # SETTINGS whose length is not a multiple of 6: FRAME_SIZE_ERROR
    "h2_bad_settings": H2_PREFACE + h2_frame(4, 0, 0, b"\x00" * 5),
    # DATA on stream 0: PROTOCOL_ERROR
    "h2_data_on_stream_0": H2_PREFACE + EMPTY_SETTINGS + h2_frame(0, 0, 0, b"junk"),
    # a header block that is not HPACK: COMPRESSION_ERROR
    "h2_bad_hpack": H2_PREFACE + EMPTY_SETTINGS + h2_frame(1, 0x5, 1, b"\xff" * 16),
}


@pytest.mark.parametrize("name", list(JUNK))
def test_junk_on_the_grpc_port_closes_that_connection(pb, stub, srv, name):
    with socket.create_connection(("127.0.0.1", srv.grpc_port), timeout=5) as sock:
        try:
            sock.sendall(JUNK[name])
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, closed = read_until_closed(sock)
    assert closed, data[:200]
    if data.startswith(b"HTTP/"):       # answered in HTTP/1.1: with an error
        assert int(data.split()[1]) >= 400, data[:200]
    assert_serving(pb, stub)


def test_compressed_flag_without_grpc_encoding(pb, stub, srv):
    pytest.importorskip("h2")
    payload = pb.sb.ListLanguagesRequest().SerializeToString()
    # first the same call done right, to show the raw client works
    headers, body = h2_call(srv.grpc_port, "/soulbox.v1.SoulBox/ListLanguages",
                            b"\x00" + struct.pack(">I", len(payload)) + payload)
    assert headers.get(":status") == "200" and headers.get("grpc-status") == "0", headers
    assert body[0] == 0 and struct.unpack(">I", body[1:5])[0] == len(body) - 5
    langs = pb.sb.ListLanguagesResponse.FromString(body[5:])
    assert {l.name for l in langs.languages} == {"python", "bash", "c"}
    # now flagged compressed, with no grpc-encoding header
    req = pb.sb.ExecuteRequest(language="bash", code="echo hi").SerializeToString()
    headers, body = h2_call(srv.grpc_port, "/soulbox.v1.SoulBox/Execute",
                            b"\x01" + struct.pack(">I", len(req)) + req)
    assert headers.get("grpc-status") in ("12", "13"), headers     # UNIMPLEMENTED or INTERNAL
    assert_serving(pb, stub)


# ---- 11. Another client stack: Node ----

def test_node_grpc_js_client(srv):
    client = os.path.join(ROOT, "tests", "grpc_node", "client.js")
    modules = os.path.join(ROOT, "tests", "grpc_node", "node_modules", "@grpc", "grpc-js")
    assert shutil.which("node") and os.path.isdir(modules), \
        "node or tests/grpc_node/node_modules missing: run scripts/setup.sh"
    p = subprocess.run(["node", client, srv.grpc_target], cwd=ROOT, capture_output=True,
                       text=True, timeout=150)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    ok = {"stderr": "", "status": "ok", "exit_code": 0, "signal": None, "message": "",
          "truncated": False}

    ex = out["execute"]
    assert "error" not in ex, ex
    assert UUID_RE.match(ex["id"])
    rec = srv.get(f"/api/executions/{ex['id']}").json()
    assert (rec["mode"], rec["stdout"]) == ("sync", "hi from node\n")
    assert ex["result"] == dict(ok, stdout="hi from node\n")

    st = out["stream"]
    assert st["spread_ms"] > 600, st
    assert st["events"].pop("stdout") >= 5, st
    del st["spread_ms"], st["details"]
    assert st == {"events": {"started": 1, "exit": 1}, "stdout": "0\n1\n2\n3\n4\n",
                  "stdout_lines": 5, "order": ["started", "stdout", "exit"],
                  "exit": dict(ok, stdout="0\n1\n2\n3\n4\n"), "ids_match": True, "code": 0}

    it = out["interact"]
    del it["details"]
    assert it == {"echo": "HELLO\n", "order": ["started", "stdout", "exit"],
                  "exit": dict(ok, stdout="HELLO\n"), "errors": [], "code": 0}

    inv = out["invalid"]
    assert inv["code"] == 3 and "cobra" in inv["details"], inv


# ---- 12. Network (ExecuteRequest.network, StageResult.network, sessions) ----

NO_NETWORK = ("network: this server does not allow network access "
              "(sandbox.security.enable_network is false)")
NET_SERVER = ("sandbox:\n  security:\n    enable_network: true\n"
              "  network:\n    allow: [\"203.0.113.0/24:443\"]\n")
# Two TCP connections the server's policy refuses at once (TCP reset).
REFUSED_TWICE = ("for p in 80 81; do (exec 3<>/dev/tcp/198.51.100.10/$p) 2>/dev/null "
                 "|| echo refused $p; done")


@pytest.fixture(scope="module")
def spb(tmp_path_factory):
    """sessions.proto's messages (test_grpc_sessions.py's stubs are its own)."""
    out = str(tmp_path_factory.mktemp("grpc_session_stubs"))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", "proto",
                    "--python_out=" + out, "soulbox/v1/sessions.proto"],
                   cwd=ROOT, check=True, capture_output=True, timeout=60)
    return load_module("soulbox_test_sessions_pb2",
                       os.path.join(out, "soulbox", "v1", "sessions_pb2.py"))


def sessions_call(spb, channel, method, req_type, resp_type="Sandbox"):
    return channel.unary_unary(f"/soulbox.v1.Sessions/{method}",
                               request_serializer=getattr(spb, req_type).SerializeToString,
                               response_deserializer=getattr(spb, resp_type).FromString)


def net_dict(n):
    return {"bytes_sent": n.bytes_sent, "bytes_received": n.bytes_received,
            "connections": n.connections, "connections_refused": n.connections_refused}


def test_network_without_server_network_is_invalid_argument(pb, stub, srv):
    req = pb.sb.ExecuteRequest(language="bash", code="echo hi",
                               network=pb.sb.Network(enabled=True, allow=["pypi.org"]))
    rest = srv.execute({"language": "bash", "code": "echo hi",
                        "network": {"enabled": True, "allow": ["pypi.org"]}})
    assert rest.status_code == 400 and rest.json()["error"]["message"] == NO_NETWORK, rest.text
    e = rpc_error(stub.Execute, req, timeout=30)
    assert (e.code(), e.details()) == (grpc.StatusCode.INVALID_ARGUMENT, NO_NETWORK), e
    e = rpc_error(lambda: list(stub.ExecuteStream(req, timeout=30)))
    assert (e.code(), e.details()) == (grpc.StatusCode.INVALID_ARGUMENT, NO_NETWORK), e
    # enabled false is no network; allow without enabled is the JSON API's error
    r = stub.Execute(pb.sb.ExecuteRequest(language="bash", code="echo hi",
                                          network=pb.sb.Network(enabled=False)), timeout=30)
    assert r.result.stdout == b"hi\n" and not r.result.HasField("network"), r
    e = rpc_error(stub.Execute, pb.sb.ExecuteRequest(
        language="bash", code="echo hi", network=pb.sb.Network(allow=["pypi.org"])), timeout=30)
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    assert e.details() == 'network.allow: needs "enabled": true'
    assert_serving(pb, stub)


def test_session_network_without_server_network_is_invalid_argument(spb, channel, srv):
    create = sessions_call(spb, channel, "CreateSandbox", "CreateSandboxRequest")
    e = rpc_error(create, spb.CreateSandboxRequest(network=spb.SandboxNetwork(enabled=True)),
                  timeout=30)
    assert (e.code(), e.details()) == (grpc.StatusCode.INVALID_ARGUMENT, NO_NETWORK), e
    rest = srv.post("/api/sandboxes", {"network": {"enabled": True}})
    assert rest.status_code == 400 and rest.json()["error"]["message"] == NO_NETWORK, rest.text
    sb = create(spb.CreateSandboxRequest(network=spb.SandboxNetwork(enabled=False)), timeout=30)
    try:
        assert sb.HasField("network") and not sb.HasField("network_usage"), sb
        assert (sb.network.enabled, list(sb.network.allow)) == (False, [])
    finally:
        sessions_call(spb, channel, "DeleteSandbox", "SandboxRef", "Empty")(
            spb.SandboxRef(id=sb.id), timeout=30)


def test_reflection_shows_the_network_fields(pb, channel):
    (resp,) = reflect(pb, channel,
                      pb.refl.ServerReflectionRequest(file_containing_symbol="soulbox.v1.SoulBox"))
    f = {f.name: f for f in files_of(resp)}["soulbox/v1/soulbox.proto"]
    msgs = {m.name: {fd.name: (fd.number, fd.type_name, fd.label) for fd in m.field}
            for m in f.message_type}
    rep, opt = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED, \
        descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    assert msgs["ExecuteRequest"]["network"] == (9, ".soulbox.v1.Network", opt)
    assert msgs["StageResult"]["network"] == (12, ".soulbox.v1.NetworkStats", opt)
    assert msgs["Network"] == {"enabled": (1, "", opt), "allow": (2, "", rep)}
    assert sorted(msgs["NetworkStats"]) == ["bytes_received", "bytes_sent", "connections",
                                            "connections_refused"]
    (resp,) = reflect(pb, channel,
                      pb.refl.ServerReflectionRequest(file_containing_symbol="soulbox.v1.Sessions"))
    f = {f.name: f for f in files_of(resp)}["soulbox/v1/sessions.proto"]
    msgs = {m.name: {fd.name: (fd.number, fd.type_name) for fd in m.field} for m in f.message_type}
    assert msgs["CreateSandboxRequest"]["network"] == (6, ".soulbox.v1.SandboxNetwork")
    assert msgs["Sandbox"]["network"] == (9, ".soulbox.v1.SandboxNetwork")
    assert msgs["Sandbox"]["network_usage"] == (10, ".soulbox.v1.SandboxNetworkUsage")


def test_network_policy_and_counts_match_the_json_api(pb, spb):
    """A server with network (its policy: 203.0.113.0/24 port 443 only); what the
    policy refuses is refused in the sandbox and counted, the same in both APIs."""
    with Server(NET_SERVER) as s, grpc.insecure_channel(s.grpc_target) as ch:
        s.wait_languages()
        stub = pb.sb_grpc.SoulBoxStub(ch)
        # an entry outside the server's policy
        msg = 'network.allow: "198.51.100.0/24" is not allowed by the server\'s network policy'
        rest = s.execute({"language": "bash", "code": "true",
                          "network": {"enabled": True, "allow": ["198.51.100.0/24"]}})
        assert rest.status_code == 400 and rest.json()["error"]["message"] == msg, rest.text
        bad = pb.sb.Network(enabled=True, allow=["198.51.100.0/24"])
        e = rpc_error(stub.Execute, pb.sb.ExecuteRequest(language="bash", code="true",
                                                         network=bad), timeout=30)
        assert (e.code(), e.details()) == (grpc.StatusCode.INVALID_ARGUMENT, msg), e
        # refused connections are counted; no network, no network field
        body = {"language": "bash", "code": REFUSED_TWICE,
                "network": {"enabled": True, "allow": ["203.0.113.7:443"]}}
        want = {"bytes_sent": 0, "bytes_received": 0, "connections": 0, "connections_refused": 2}
        rest = s.execute(body).json()
        assert rest["network"] == want, rest
        net = pb.sb.Network(enabled=True, allow=["203.0.113.7:443"])
        r = stub.Execute(pb.sb.ExecuteRequest(language="bash", code=REFUSED_TWICE, network=net),
                         timeout=60)
        assert r.result.stdout == b"refused 80\nrefused 81\n", r
        assert r.result.HasField("network") and net_dict(r.result.network) == want
        evs = list(stub.ExecuteStream(pb.sb.ExecuteRequest(language="bash", code=REFUSED_TWICE,
                                                           network=net), timeout=60))
        assert kind(evs[-1]) == "exit" and net_dict(evs[-1].exit.result.network) == want, evs
        r = stub.Execute(pb.sb.ExecuteRequest(language="bash", code=REFUSED_TWICE), timeout=60)
        assert not r.result.HasField("network") and "network" not in s.execute(
            {"language": "bash", "code": "true"}).json()
        # each test case's result carries its own sandbox's counts
        r = stub.Execute(pb.sb.ExecuteRequest(language="bash", code=REFUSED_TWICE, network=net,
                                              test_cases=[pb.sb.TestCase(), pb.sb.TestCase()]),
                         timeout=60)
        assert [net_dict(c.result.network) for c in r.test_cases] == [want, want], r

        # sessions: the same policy, and the same view of it as GET /api/sandboxes/{id}
        create = sessions_call(spb, ch, "CreateSandbox", "CreateSandboxRequest")
        get = sessions_call(spb, ch, "GetSandbox", "SandboxRef")
        e = rpc_error(create, spb.CreateSandboxRequest(
            network=spb.SandboxNetwork(enabled=True, allow=["198.51.100.0/24"])), timeout=30)
        assert (e.code(), e.details()) == (grpc.StatusCode.INVALID_ARGUMENT, msg), e
        sb = create(spb.CreateSandboxRequest(
            network=spb.SandboxNetwork(enabled=True, allow=["203.0.113.7:443"])), timeout=60)
        try:
            assert sb.network.enabled and sb.HasField("network_usage"), sb
            cmd = ch.unary_stream("/soulbox.v1.Sessions/RunCommand",
                                  request_serializer=spb.RunCommandRequest.SerializeToString,
                                  response_deserializer=spb.CommandEvent.FromString)
            evs = list(cmd(spb.RunCommandRequest(id=sb.id, cmd=REFUSED_TWICE), timeout=60))
            assert evs[-1].WhichOneof("event") == "exited", evs
            assert wait_until(lambda: get(spb.SandboxRef(id=sb.id), timeout=30)
                              .network_usage.connections_refused == 2)
            got = get(spb.SandboxRef(id=sb.id), timeout=30)
            rest = s.get(f"/api/sandboxes/{sb.id}").json()["network"]
            assert rest == {"enabled": True, "allow": list(got.network.allow),
                            "usage": net_dict(got.network_usage)}, (rest, got)
            assert rest["usage"]["connections_refused"] == 2
        finally:
            sessions_call(spb, ch, "DeleteSandbox", "SandboxRef", "Empty")(
                spb.SandboxRef(id=sb.id), timeout=30)
        plain = create(spb.CreateSandboxRequest(), timeout=60)
        try:
            assert not plain.network.enabled and not plain.HasField("network_usage"), plain
        finally:
            sessions_call(spb, ch, "DeleteSandbox", "SandboxRef", "Empty")(
                spb.SandboxRef(id=plain.id), timeout=30)


def test_network_counts_relayed_traffic(pb):
    """Bytes each way and connections relayed, through NetLab's fake internet."""
    from netlab import NetLab
    code = "exec 3<>/dev/tcp/%s/80\nprintf 'GET /bytes/5000 HTTP/1.0\\r\\n\\r\\n' >&3\n" \
           "cat <&3 | wc -c\n"
    with NetLab() as lab, Server("sandbox:\n  security:\n    enable_network: true\n"
                                 f"  network:\n    allow: [\"{lab.web}:80\"]\n") as s, \
            grpc.insecure_channel(s.grpc_target) as ch:
        s.wait_languages()
        stub = pb.sb_grpc.SoulBoxStub(ch)
        r = stub.Execute(pb.sb.ExecuteRequest(language="bash", code=code % lab.web,
                                              network=pb.sb.Network(enabled=True)), timeout=60)
        assert r.result.status == "ok", r
        received = int(r.result.stdout)
        assert received > 5000, r
        n = net_dict(r.result.network)
        assert n == {"bytes_sent": n["bytes_sent"], "bytes_received": received,
                     "connections": 1, "connections_refused": 0}, (n, received)
        assert n["bytes_sent"] == len("GET /bytes/5000 HTTP/1.0\r\n\r\n"), n
