"""Start-up failures: each ends `soulbox serve` with exit 1 and exactly one
line naming the cause (no abort, no sanitizer report, no leftover process).
Under `make check-san` SOULBOX is the ASan/UBSan build, so every case here
also runs with leak detection."""
import os
import socket
import subprocess

import pytest

from server import Server


def serve(argv, timeout=60, env=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def assert_one_line_failure(proc, *needles):
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("soulbox: "), lines
    for n in needles:
        assert n in lines[0], lines[0]
    assert proc.stdout == ""


@pytest.fixture
def held_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    yield s.getsockname()[1]
    s.close()


def test_http_port_in_use(tmp_path, held_port):
    srv = Server("", data_dir=str(tmp_path / "d"))
    argv = srv.argv()
    argv[argv.index("--port") + 1] = str(held_port)
    proc = serve(argv)
    assert_one_line_failure(proc, f"127.0.0.1:{held_port}", "address already in use")


def test_grpc_port_in_use(tmp_path, held_port):
    srv = Server("", data_dir=str(tmp_path / "d"))
    argv = srv.argv()
    argv[argv.index("--grpc-port") + 1] = str(held_port)
    proc = serve(argv)
    assert_one_line_failure(proc, "gRPC", f"127.0.0.1:{held_port}", "address already in use")


def test_data_dir_is_a_file(tmp_path):
    f = tmp_path / "notadir"
    f.write_text("x")
    proc = serve(Server("", data_dir=str(f / "data")).argv())
    assert_one_line_failure(proc, str(f))


def test_data_dir_in_use_by_another_server(tmp_path):
    data = str(tmp_path / "data")
    with Server("", data_dir=data):
        proc = serve(Server("", data_dir=data).argv())
        assert_one_line_failure(proc, "in use by another soulbox server")


def test_corrupt_store(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "soulbox.db").write_bytes(b"this is not a database" * 100)
    proc = serve(Server("", data_dir=str(data)).argv())
    assert_one_line_failure(proc, "soulbox.db")


def test_state_dir_unusable(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    proc = serve(Server(f"sandbox:\n  state_dir: {f}/state\n", data_dir=str(tmp_path / "d")).argv())
    assert_one_line_failure(proc, str(f))


def test_cgroups_unusable(tmp_path):
    # a cgroup root the server cannot create: below a regular file of the hierarchy
    proc = serve(Server("sandbox:\n  cgroup_root: cgroup.procs/soulbox\n",
                        data_dir=str(tmp_path / "d")).argv())
    assert proc.returncode in (1, 2), proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("soulbox: ") and "cgroup" in lines[0], proc.stderr


def test_remote_listen_without_auth_is_refused(tmp_path):
    srv = Server("", data_dir=str(tmp_path / "d"), extra_args=["--listen", "0.0.0.0"])
    proc = serve(srv.argv())
    assert_one_line_failure(proc, "without authentication")
    assert "SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE=true" in proc.stderr
    # the environment's opt-in (a container's way) must be exactly true or false
    proc = serve(srv.argv(), env={"SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE": "yes"})
    assert (proc.returncode, proc.stderr) == (
        2, "soulbox: SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE: 'yes' is not true or false\n")
    proc = serve(srv.argv(), env={"SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE": "false"})
    assert_one_line_failure(proc, "without authentication")


def test_remote_listen_opted_in_by_the_environment(tmp_path):
    s = Server("", data_dir=str(tmp_path / "d"), extra_args=["--listen", "0.0.0.0"],
               env={"SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE": "true"})
    with s:
        assert s.get("/health").status_code == 200

