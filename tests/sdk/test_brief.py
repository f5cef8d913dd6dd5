"""The brief's 5-minute example, exactly as each SDK's README shows it, against
a server started as `make run` starts it (config/soulbox.yaml: localhost:8080,
no API keys). Run by tests/sdk/run_all.sh after the SDKs' own suites (the Node
SDK must be built: its suite builds it)."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOULBOX = os.environ.get("SOULBOX", os.path.join(ROOT, "build", "soulbox"))

BRIEF = '''from soulbox import Client

client = Client("localhost:8080")
result = client.execute(
    language="python",
    code="""
    import numpy as np
    print(np.random.rand(3, 3))
    """
)
print(result.stdout)
'''
# numpy's 3x3 matrix of floats in [0, 1), then print's own newline
MATRIX = re.compile(r"\[\[[0-9. e-]+\]\n \[[0-9. e-]+\]\n \[[0-9. e-]+\]\]\n\n\Z")


def block(readme, lang, must_contain):
    """The first ```lang block of sdk/<readme>/README.md containing must_contain."""
    with open(os.path.join(ROOT, "sdk", readme, "README.md")) as f:
        text = f.read()
    for m in re.finditer(rf"```{lang}\n(.*?)```", text, re.S):
        if must_contain in m.group(1):
            return m.group(1)
    raise AssertionError(f"sdk/{readme}/README.md has no ```{lang} block with {must_contain!r}")


@pytest.fixture(scope="module")
def make_run_server():
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 8080)) == 0:
            pytest.fail("port 8080 is taken: the brief's example needs it (stop what listens there)")
    tmp = tempfile.mkdtemp(prefix="soulbox-brief-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        grpc_port = s.getsockname()[1]
    log = open(os.path.join(tmp, "server.log"), "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOULBOX_")}
    p = subprocess.Popen([SOULBOX, "serve", "--config", os.path.join(ROOT, "config", "soulbox.yaml"),
                          "--data-dir", os.path.join(tmp, "data"), "--grpc-port", str(grpc_port)],
                         stdout=log, stderr=log, env=env)
    deadline = time.time() + 120
    while True:
        assert p.poll() is None, open(log.name).read()
        try:
            with urllib.request.urlopen("http://localhost:8080/health", timeout=1) as r:
                if b'"languages_ready":true' in r.read():
                    break
        except OSError:
            pass
        assert time.time() < deadline, "server not ready"
        time.sleep(0.1)
    yield env
    p.terminate()
    assert p.wait(60) == 0, open(log.name).read()[-3000:]
    log.close()
    shutil.rmtree(tmp, ignore_errors=True)


def test_python(make_run_server, tmp_path):
    code = block("python", "python", "from soulbox import Client")
    assert code == BRIEF
    (tmp_path / "example.py").write_text(code)
    env = dict(make_run_server, PYTHONPATH=os.path.join(ROOT, "sdk", "python", "src"))
    r = subprocess.run(["/usr/bin/python3", "example.py"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert MATRIX.fullmatch(r.stdout), r.stdout


def test_node(make_run_server, tmp_path):
    code = block("node", "js", "require('@soulbox/sdk')")
    (tmp_path / "example.js").write_text(code)
    os.makedirs(tmp_path / "node_modules" / "@soulbox")
    os.symlink(os.path.join(ROOT, "sdk", "node"), tmp_path / "node_modules" / "@soulbox" / "sdk")
    r = subprocess.run(["node", "example.js"], cwd=tmp_path, env=make_run_server,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert MATRIX.fullmatch(r.stdout), r.stdout


def test_go(make_run_server, tmp_path):
    code = block("go", "go", "func main")
    (tmp_path / "main.go").write_text(code)
    (tmp_path / "go.mod").write_text(
        "module example\n\ngo 1.19\n\nrequire github.com/soulbox/soulbox-go v0.1.0\n\n"
        f"replace github.com/soulbox/soulbox-go => {os.path.join(ROOT, 'sdk', 'go')}\n")
    env = dict(make_run_server, GOFLAGS="-mod=mod", GOPROXY="off",
               HOME=os.environ.get("HOME", "/root"))
    r = subprocess.run(["go", "run", "."], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert MATRIX.fullmatch(r.stdout), r.stdout
