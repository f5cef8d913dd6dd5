"""Shared helpers: run the real soulbox binary and check that nothing is left behind."""
import glob
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOULBOX = os.environ.get("SOULBOX", os.path.join(ROOT, "build", "soulbox"))
UID_BASE = 2100000000
UID_COUNT = 65536


class Run:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"Run(code={self.code}, out={self.out[:300]!r}, err={self.err[:300]!r})"


def soulbox_run(lang, code=None, *opts, file=None, stdin=None, timeout=60, text=True):
    """Runs `soulbox run -l LANG ...` and returns its exit code and output."""
    argv = [SOULBOX, "run", "-l", lang, *opts]
    if code is not None:
        argv += ["-c", code]
    elif file is not None:
        argv.append(file)
    proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, text=text)
    return Run(proc)


def run_json(lang, code, *opts, **kw):
    r = soulbox_run(lang, code, "--json", *opts, **kw)
    try:
        return r.json()
    except json.JSONDecodeError:
        raise AssertionError(f"not JSON: {r!r}")


def sandbox_cgroups():
    found = []
    for pattern in ("/sys/fs/cgroup/*/soulbox/sbx-*", "/sys/fs/cgroup/soulbox/sbx-*"):
        found += glob.glob(pattern)
    return found


def sandbox_processes():
    """Live host processes running as a sandbox uid. Zombies are left out: they
    run nothing, and after a kill -9 of the server its orphaned agents are
    reaped by the host's init, on its own schedule."""
    procs = []
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status) as f:
                fields = dict(l.split(":", 1) for l in f if ":" in l)
            uid = int(fields["Uid"].split()[0])
            if UID_BASE <= uid < UID_BASE + UID_COUNT and not fields["State"].strip().startswith("Z"):
                procs.append(status)
        except (OSError, KeyError, ValueError):
            pass
    return procs


def sandbox_mounts():
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if "/run/soulbox" in l]


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind():
    """After the whole suite: no sandbox cgroup, process, mount or staging content."""
    yield
    assert sandbox_processes() == []
    assert sandbox_cgroups() == []
    assert sandbox_mounts() == []
    staging = "/run/soulbox/root"
    if os.path.isdir(staging):
        assert os.listdir(staging) == []


@pytest.fixture
def c_program(tmp_path):
    """Writes C source to a file and returns its path."""
    def make(src, name="prog.c"):
        p = tmp_path / name
        p.write_text(src)
        return str(p)
    return make
