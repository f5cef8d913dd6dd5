"""Builds the wheel and sdist, installs the wheel into a fresh venv and runs the brief's
example from an empty directory with that venv's python."""
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)

EXAMPLE = '''from soulbox import Client

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


def test_readme_has_the_example_exactly():
    readme = open(os.path.join(SDK, "README.md"), encoding="utf-8").read()
    assert "```python\n" + EXAMPLE + "```" in readme


def test_build_install_and_run_the_example(tmp_path):
    dist = tmp_path / "dist"
    r = subprocess.run(["/usr/bin/python3", "-m", "build", "--no-isolation", "--outdir", str(dist)],
                       cwd=SDK, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    wheels = list(dist.glob("soulbox_sdk-0.1.0-py3-none-any.whl"))
    sdists = list(dist.glob("soulbox-sdk-0.1.0.tar.gz")) + list(dist.glob("soulbox_sdk-0.1.0.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "soulbox/py.typed" in names and "soulbox/client.py" in names
    assert any(n.endswith("/README.md") for n in tarfile.open(sdists[0]).getnames())

    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, timeout=120)
    py = str(venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "--no-index", str(wheels[0])],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr

    empty = tmp_path / "empty"
    empty.mkdir()
    u = urlsplit(os.environ["SOULBOX_URL"])
    # the server of this run is not on localhost:8080: only the address changes
    code = EXAMPLE.replace('Client("localhost:8080")', f'Client("{u.hostname}:{u.port}")')
    (empty / "example.py").write_text(code + "import soulbox; print(soulbox.__file__)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SOULBOX_URL")}
    r = subprocess.run([py, "example.py"], cwd=empty, capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    num = r"\s*(?:\d\.\d+(?:e-\d+)?\s*){3}"
    assert re.fullmatch(r"\[\[" + num + r"\]", lines[0]), r.stdout
    assert re.fullmatch(r" \[" + num + r"\]", lines[1]), r.stdout
    assert re.fullmatch(r" \[" + num + r"\]\]", lines[2]), r.stdout
    assert lines[3] == ""  # result.stdout ends with a newline, print adds one
    assert lines[4].startswith(str(venv)) and lines[4].endswith("soulbox/__init__.py")
    assert lines[5:] == [""]
    assert sys.version_info >= (3, 9)
