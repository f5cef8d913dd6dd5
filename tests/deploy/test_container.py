"""make check-container: SoulBox's container image (deploy/Dockerfile), built and run for real.

Debian's docker.io, its dockerd started here by hand on a socket and data
root of its own (no systemd; no iptables rules: published ports go through
docker-proxy); a base image made with debootstrap and `docker import` (no
registry is reachable); the image built from this checkout with a small
language set; then the container run with the flags docs/deploy.md gives,
and driven over its published ports: the brief's curl, python and a
compiled language, limit breaches, attacks from inside a sandbox, API keys,
a graceful stop within the grace period with the data kept on the volume,
and what happens with less privilege. If the engine cannot start on this
machine the test says why and skips.
"""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DOCKER = "/usr/bin/docker"     # Debian's CLI (another one may come first on PATH)
DOCKERD = "/usr/sbin/dockerd"
SOCK = "/run/soulbox-test-docker.sock"
DATA_ROOT = "/var/lib/soulbox-test-docker"   # kept between runs: images are a cache
EXEC_ROOT = "/run/soulbox-test-docker"
BRIDGE = "sbxdock0"
BASE = "soulbox-test-base:bookworm"
IMAGE = "soulbox-test:latest"
LANGUAGES = "bash c python"
KEY = "ci:" + "k" * 40
AUTH = {"Authorization": "Bearer " + "k" * 40}
# The least privilege SoulBox needs in a container (docs/deploy.md).
RUN_FLAGS = ["--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
             "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"]


def docker(*args, check=True, timeout=120, **kw):
    r = subprocess.run([DOCKER, "-H", "unix://" + SOCK, *args], capture_output=True,
                       text=True, timeout=timeout, **kw)
    if check:
        assert r.returncode == 0, f"docker {' '.join(args[:3])}: {r.stdout[-2000:]}{r.stderr[-3000:]}"
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def engine():
    for tool in (DOCKER, DOCKERD):
        assert os.access(tool, os.X_OK), f"{tool} missing: make setup installs docker.io"
    os.makedirs(DATA_ROOT, exist_ok=True)
    log = open(os.path.join(tempfile.gettempdir(), "soulbox-test-dockerd.log"), "w")
    # a bridge of the test's own and no iptables rules or masquerading
    # (published ports go through docker-proxy): the host's firewall and
    # interfaces are as they were once it stops
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
    for cmd in (["ip", "link", "add", BRIDGE, "type", "bridge"],
                ["ip", "addr", "add", "172.31.250.1/24", "dev", BRIDGE],
                ["ip", "link", "set", BRIDGE, "up"]):
        subprocess.run(cmd, check=True)
    proc = subprocess.Popen([DOCKERD, "-H", "unix://" + SOCK, "--data-root", DATA_ROOT,
                             "--exec-root", EXEC_ROOT, "--pidfile", EXEC_ROOT + ".pid",
                             "--iptables=false", "--ip-masq=false", "--ip6tables=false",
                             "--bridge", BRIDGE, "--storage-driver", "overlay2"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(300):
            if docker("version", check=False, timeout=10).returncode == 0 or \
                    proc.poll() is not None:
                break
            time.sleep(0.1)
        if docker("version", check=False, timeout=10).returncode != 0:
            with open(log.name) as f:
                pytest.skip("dockerd does not run on this machine: " + f.read()[-800:])
        yield proc
    finally:
        for c in docker("ps", "-aq", check=False).stdout.split():
            docker("rm", "-f", c, check=False)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        # dockerd leaves its netns mounts behind in its exec root
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f if l.split()[4].startswith(EXEC_ROOT + "/")]
        for m in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(EXEC_ROOT, ignore_errors=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)


def local_cas():
    """The host's locally added CAs (Debian's place for them), which a build
    stage fetching from npm needs behind a TLS-intercepting proxy; "" if none."""
    pems = []
    for f in sorted(glob.glob("/usr/local/share/ca-certificates/**/*.crt", recursive=True)):
        with open(f) as fh:
            pems.append(fh.read().strip())
    return "\n".join(pems)


@pytest.fixture(scope="module")
def image(engine):
    if docker("image", "inspect", BASE, check=False).returncode != 0:
        root = tempfile.mkdtemp(prefix="soulbox-debootstrap-")
        try:
            r = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", root,
                                "http://deb.debian.org/debian"], capture_output=True,
                               text=True, timeout=900)
            assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
            tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
            docker("import", "-", BASE, stdin=tar.stdout, timeout=600)
            assert tar.wait() == 0
        finally:
            shutil.rmtree(root, ignore_errors=True)
    docker("build", "-f", "deploy/Dockerfile", "--network", "host",
           "--build-arg", "BASE=" + BASE, "--build-arg", "LANGUAGES=" + LANGUAGES,
           "--build-arg", "EXTRA_CA_CERTS=" + local_cas(),
           "-t", IMAGE, ".", cwd=REPO, timeout=1800)
    return IMAGE


class Container:
    def __init__(self, name, flags=RUN_FLAGS, env=(("SOULBOX_API_KEYS", KEY),), volume=None):
        self.name = name
        self.port, self.grpc = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        docker("rm", "-f", name, check=False)  # one a failed run left
        args = ["run", "-d", "--name", name, "-p", f"127.0.0.1:{self.port}:8080",
                "-p", f"127.0.0.1:{self.grpc}:50051"]
        for k, v in env:
            args += ["-e", f"{k}={v}"]
        if volume:
            args += ["-v", f"{volume}:/var/lib/soulbox"]
        docker(*args, *flags, IMAGE)

    def logs(self):
        r = docker("logs", self.name, check=False)
        return r.stdout + r.stderr

    def wait_health(self, timeout=90):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = json.loads(docker("inspect", self.name).stdout)[0]["State"]
            if not st["Running"]:
                raise AssertionError(f"the container stopped: {st}\n{self.logs()}")
            if st.get("Health", {}).get("Status") == "healthy":
                return
            time.sleep(0.5)
        raise AssertionError("never healthy:\n" + self.logs())

    def execute(self, body, headers=AUTH, timeout=120):
        return requests.post(self.url + "/api/execute", json=body, headers=headers,
                             timeout=timeout)

    def remove(self):
        docker("rm", "-f", self.name, check=False)

    def exited(self, timeout=20):
        """Its state once it has stopped (it must within timeout seconds)."""
        end = time.monotonic() + timeout
        while True:
            st = json.loads(docker("inspect", self.name).stdout)[0]["State"]
            if not st["Running"] or time.monotonic() > end:
                return st
            time.sleep(0.2)


@pytest.fixture(scope="module")
def box(image):
    docker("volume", "create", "soulbox-test-data")
    c = Container("soulbox-test", volume="soulbox-test-data")
    try:
        c.wait_health()
        yield c
    finally:
        c.remove()
        docker("volume", "rm", "-f", "soulbox-test-data", check=False)


def test_the_briefs_curl(box):
    r = requests.get(box.url + "/health", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text


def test_the_web_ui_is_served(box):
    r = requests.get(box.url + "/", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script src="/ui/assets/app.js?v=' in r.text
    r = requests.get(box.url + "/ui/assets/app.js", timeout=10)
    assert r.status_code == 200 and len(r.content) > 100000 and r.headers["Content-Encoding"] == "gzip"


def test_hello_in_python_and_c(box):
    r = box.execute({"language": "python", "code": "print('Hello, SoulBox!')"})
    assert (r.status_code, r.json()["status"], r.json()["stdout"]) == \
        (200, "ok", "Hello, SoulBox!\n"), r.text
    r = box.execute({"language": "c", "code": "#include <stdio.h>\nint main(void)"
                     "{ printf(\"%d\\n\", 6 * 7); return 0; }\n"})
    assert (r.status_code, r.json()["status"], r.json()["stdout"]) == (200, "ok", "42\n"), r.text


def test_keys_are_required(box):
    r = box.execute({"language": "bash", "code": "echo hi"}, headers={})
    assert r.status_code == 401, r.text


def test_limits_are_breached_as_on_a_host(box):
    r = box.execute({"language": "python", "code": "b = bytearray(300 << 20)\nprint('no')",
                     "limits": {"memory_mb": 64}})
    assert r.json()["status"] == "memory_limit_exceeded", r.text
    r = box.execute({"language": "bash", "code": "while :; do :; done",
                     "limits": {"wall_time_ms": 500}})
    assert r.json()["status"] == "time_limit_exceeded", r.text


def test_attacks_from_a_sandbox_in_the_container(box):
    code = ("import os, socket\n"
            "for p in ['/etc/shadow', '/var/lib/soulbox', '/proc/1/root/etc/hostname']:\n"
            "    try: open(p).read(); print(p, 'READ')\n"
            "    except OSError as e: print(p, e.strerror)\n"
            "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit())[:3])\n"
            "try: socket.create_connection(('1.1.1.1', 80), timeout=2); print('NET')\n"
            "except OSError as e: print('net', e.strerror)\n"
            "print(os.getuid() != 0)\n")
    r = box.execute({"language": "python", "code": code})
    out = r.json()["stdout"].splitlines()
    assert out[0].startswith("/etc/shadow ") and "READ" not in out[0], out
    assert out[1] == "/var/lib/soulbox No such file or directory", out
    assert "READ" not in out[2], out
    assert out[3] == "[1, 2]" or out[3].startswith("[1,"), out   # its own pid namespace
    assert out[4] == "net Network is unreachable", out
    assert out[5] == "True", out


def test_graceful_stop_keeps_the_data(box):
    r = box.execute({"language": "bash", "code": "echo kept"})
    ex_id = r.json()["id"]
    t0 = time.monotonic()
    r = docker("stop", "-t", "15", box.name, timeout=60)
    took = time.monotonic() - t0
    st = json.loads(docker("inspect", box.name).stdout)[0]["State"]
    assert st["ExitCode"] == 0 and took < 15, (st, took, box.logs()[-2000:])
    docker("start", box.name)
    box.wait_health()
    r = requests.get(f"{box.url}/api/executions/{ex_id}", headers=AUTH, timeout=10)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["stdout"]) == ("ok", "kept\n"), r.text


def test_without_keys_it_refuses_and_says_how(image):
    c = Container("soulbox-test-nokeys", env=())
    try:
        st = c.exited()
        logs = c.logs()
        assert not st["Running"] and st["ExitCode"] != 0, st
        assert "refusing to serve 0.0.0.0 without authentication" in logs, logs
        assert "SOULBOX_API_KEYS=me:$(openssl rand -hex 24)" in logs, logs
    finally:
        c.remove()


def without(*drop):
    flags, i = [], 0
    while i < len(RUN_FLAGS):
        if RUN_FLAGS[i + 1] in drop:
            i += 2
            continue
        flags += RUN_FLAGS[i:i + 2]
        i += 2
    return flags


def unavailable(c):
    """The server's unavailable languages and why, once it has probed them."""
    for _ in range(150):
        try:
            r = requests.get(c.url + "/api/languages", headers=AUTH, timeout=5)
            if r.status_code == 200 and not r.json().get("probing"):
                return {u["name"]: u["reason"] for u in r.json()["unavailable"]}
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError("no language list:\n" + c.logs())


def test_less_privilege_fails_with_the_reason(image):
    """Each documented flag is needed: without it SoulBox says what failed."""
    c = Container("soulbox-test-nosysadmin", flags=without("SYS_ADMIN"))
    try:
        st = c.exited()
        assert (st["Running"], st["ExitCode"]) == (False, 1), st
        assert "run the container with --cap-add SYS_ADMIN" in c.logs(), c.logs()
    finally:
        c.remove()
    for drop, reason in (("NET_ADMIN", "sandbox setup: ioctl SIOCSIFFLAGS lo: EPERM"),
                         ("seccomp=unconfined", "sandbox setup: pivot_root /run/soulbox/root: EPERM")):
        c = Container("soulbox-test-less", flags=without(drop))
        try:
            why = unavailable(c)
            assert why.get("bash") == reason, (drop, why, c.logs()[-3000:])
        finally:
            c.remove()
