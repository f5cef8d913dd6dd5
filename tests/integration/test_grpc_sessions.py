"""soulbox.v1.Sessions (proto/soulbox/v1/sessions.proto): the sessions of the JSON
API over gRPC: create/get/list/delete/timeout/pause/resume, commands streamed,
cells streamed, files; another key's sandbox is NOT_FOUND; bad input is
INVALID_ARGUMENT."""
import base64
import json
import subprocess
import sys

import grpc
import pytest

from conftest import ROOT
from server import Server

PROTOS = ["soulbox/v1/sessions.proto"]


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("grpc_session_stubs"))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", "proto",
                    "--python_out=" + out, "--grpc_python_out=" + out, *PROTOS],
                   cwd=ROOT, check=True, capture_output=True, timeout=60)
    sys.path.insert(0, out)
    try:
        from soulbox.v1 import sessions_pb2, sessions_pb2_grpc
    finally:
        sys.path.remove(out)
    return sessions_pb2, sessions_pb2_grpc


@pytest.fixture(scope="module")
def srv():
    with Server(env={"SOULBOX_API_KEYS": "a:sa,b:sb"}) as s:
        yield s


@pytest.fixture(scope="module")
def stub(pb, srv):
    ch = grpc.insecure_channel(srv.grpc_target)
    yield pb[1].SessionsStub(ch)
    ch.close()


A = (("authorization", "Bearer sa"),)
B = (("authorization", "Bearer sb"),)


@pytest.fixture
def sandbox(pb, stub):
    sb = stub.CreateSandbox(pb[0].CreateSandboxRequest(template="python", metadata={"t": "1"}),
                            metadata=A, timeout=30)
    yield sb
    try:
        stub.DeleteSandbox(pb[0].SandboxRef(id=sb.id), metadata=A)
    except grpc.RpcError:
        pass


def test_create_get_list_timeout_delete(pb, stub, sandbox):
    m = pb[0]
    assert sandbox.state == "running" and sandbox.template == "python"
    assert dict(sandbox.metadata) == {"t": "1"} and sandbox.limits.memory_mb > 0
    got = stub.GetSandbox(m.SandboxRef(id=sandbox.id), metadata=A)
    assert got.id == sandbox.id
    listed = stub.ListSandboxes(m.ListSandboxesRequest(metadata={"t": "1"}), metadata=A)
    assert [s.id for s in listed.sandboxes] == [sandbox.id]
    assert len(stub.ListSandboxes(m.ListSandboxesRequest(metadata={"t": "2"}), metadata=A).sandboxes) == 0
    r = stub.SetTimeout(m.SetTimeoutRequest(id=sandbox.id, timeout_s=600), metadata=A)
    assert 590 <= r.timeout_s <= 600
    stub.DeleteSandbox(m.SandboxRef(id=sandbox.id), metadata=A)
    with pytest.raises(grpc.RpcError) as e:
        stub.GetSandbox(m.SandboxRef(id=sandbox.id), metadata=A)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_commands_stream(pb, stub, sandbox):
    m = pb[0]
    evs = list(stub.RunCommand(m.RunCommandRequest(id=sandbox.id, cmd="echo hi; echo err >&2; exit 3"),
                               metadata=A, timeout=30))
    assert evs[0].WhichOneof("event") == "started" and evs[0].started.pid > 0
    out = b"".join(e.output.data for e in evs if e.WhichOneof("event") == "output" and e.output.stream == 1)
    err = b"".join(e.output.data for e in evs if e.WhichOneof("event") == "output" and e.output.stream == 2)
    assert (out, err) == (b"hi\n", b"err\n")
    x = evs[-1].exited
    assert (x.status, x.exit_code, x.signal) == ("runtime_error", 3, 0)
    evs = list(stub.RunCommand(m.RunCommandRequest(id=sandbox.id, argv=["cat"], stdin=b"in\x00put"),
                               metadata=A, timeout=30))
    assert b"".join(e.output.data for e in evs if e.WhichOneof("event") == "output") == b"in\x00put"
    with pytest.raises(grpc.RpcError) as e:
        list(stub.RunCommand(m.RunCommandRequest(id=sandbox.id), metadata=A))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_cells_stream_with_state(pb, stub, sandbox):
    m = pb[0]
    evs = list(stub.ExecuteCell(m.ExecuteCellRequest(id=sandbox.id, code="x = 41\nprint('p')\nx + 1"),
                                metadata=A, timeout=60))
    kinds = [e.WhichOneof("event") for e in evs]
    assert kinds == ["stdout", "result", "end"], kinds
    assert evs[0].stdout == "p\n" and evs[1].result.data["text/plain"] == "42" and evs[1].result.main
    evs = list(stub.ExecuteCell(m.ExecuteCellRequest(id=sandbox.id, code="{'a': x}"), metadata=A))
    assert json.loads(evs[0].result.data["application/json"]) == {"a": 41}
    evs = list(stub.ExecuteCell(m.ExecuteCellRequest(id=sandbox.id, code="1/0"), metadata=A))
    assert evs[0].error.name == "ZeroDivisionError" and evs[-1].end == 3
    with pytest.raises(grpc.RpcError) as e:
        list(stub.ExecuteCell(m.ExecuteCellRequest(id=sandbox.id, code="1", context_id="nope"),
                              metadata=A))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_files(pb, stub, sandbox):
    m = pb[0]
    data = bytes(range(256)) * 100
    e = stub.WriteFile(m.WriteFileRequest(id=sandbox.id, path="d/blob.bin", content=data), metadata=A)
    assert (e.path, e.type, e.size) == ("/home/user/d/blob.bin", "file", len(data))
    assert stub.ReadFile(m.FileRef(id=sandbox.id, path="/home/user/d/blob.bin"), metadata=A).content == data
    stub.WriteFile(m.WriteFileRequest(id=sandbox.id, path="empty", content=b""), metadata=A)
    assert stub.ReadFile(m.FileRef(id=sandbox.id, path="empty"), metadata=A).content == b""
    listed = stub.ListFiles(m.ListFilesRequest(id=sandbox.id, depth=2), metadata=A)
    assert sorted(f.path for f in listed.entries) == ["/home/user/d", "/home/user/d/blob.bin",
                                                      "/home/user/empty"]
    stub.RemoveFile(m.FileRef(id=sandbox.id, path="d"), metadata=A)
    with pytest.raises(grpc.RpcError) as e:
        stub.ReadFile(m.FileRef(id=sandbox.id, path="d/blob.bin"), metadata=A)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_pause_and_resume(pb, stub, sandbox):
    m = pb[0]
    stub.WriteFile(m.WriteFileRequest(id=sandbox.id, path="k", content=b"kept"), metadata=A)
    assert stub.PauseSandbox(m.SandboxRef(id=sandbox.id), metadata=A, timeout=30).state == "paused"
    with pytest.raises(grpc.RpcError) as e:
        stub.ReadFile(m.FileRef(id=sandbox.id, path="k"), metadata=A)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert stub.ResumeSandbox(m.SandboxRef(id=sandbox.id), metadata=A, timeout=30).state == "running"
    assert stub.ReadFile(m.FileRef(id=sandbox.id, path="k"), metadata=A).content == b"kept"


def test_another_key_is_not_found_everywhere(pb, stub, sandbox):
    m = pb[0]
    calls = [
        (stub.GetSandbox, m.SandboxRef(id=sandbox.id)),
        (stub.DeleteSandbox, m.SandboxRef(id=sandbox.id)),
        (stub.SetTimeout, m.SetTimeoutRequest(id=sandbox.id, timeout_s=5)),
        (stub.PauseSandbox, m.SandboxRef(id=sandbox.id)),
        (stub.ReadFile, m.FileRef(id=sandbox.id, path="x")),
        (stub.WriteFile, m.WriteFileRequest(id=sandbox.id, path="x")),
        (stub.ListFiles, m.ListFilesRequest(id=sandbox.id)),
    ]
    for fn, req in calls:
        with pytest.raises(grpc.RpcError) as e:
            fn(req, metadata=B)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND, fn
    for fn, req in [(stub.RunCommand, m.RunCommandRequest(id=sandbox.id, cmd="true")),
                    (stub.ExecuteCell, m.ExecuteCellRequest(id=sandbox.id, code="1"))]:
        with pytest.raises(grpc.RpcError) as e:
            list(fn(req, metadata=B))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(stub.ListSandboxes(m.ListSandboxesRequest(), metadata=B).sandboxes) == 0
    assert stub.GetSandbox(m.SandboxRef(id=sandbox.id), metadata=A).state == "running"


def test_no_key_is_unauthenticated(pb, stub):
    with pytest.raises(grpc.RpcError) as e:
        stub.ListSandboxes(pb[0].ListSandboxesRequest())
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_garbage_request_is_invalid_argument(pb, srv):
    ch = grpc.insecure_channel(srv.grpc_target)
    call = ch.unary_unary("/soulbox.v1.Sessions/GetSandbox", request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as e:
        call(b"\xff\xff\xff", metadata=A)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    ch.close()
