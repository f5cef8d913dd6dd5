#!/usr/bin/python3
"""Runs a command against a real, freshly started `soulbox serve`.

    tests/sdk/with_server.py [--name NAME] [--uid-base N] -- COMMAND [ARGS...]

Starts the server (SOULBOX, default build/soulbox) with API keys on, sessions
on and a few languages, waits until their versions are probed, then runs
COMMAND with SOULBOX_URL, SOULBOX_API_KEY (a key of role user),
SOULBOX_TEST_OTHER_KEY (another user's key), SOULBOX_TEST_ADMIN_KEY (a key of
role admin) and SOULBOX_TEST_GRPC (host:port)
in its environment. Exits with COMMAND's status; the server must then stop
cleanly (exit 0) on SIGTERM, or this exits 1.

--python-pool N keeps N warm python sandboxes (for benchmarks).
--name and --uid-base keep servers apart when several run at once (their
cgroups, state directories, uids and compile caches differ): the defaults
(`sdk`, 2000000000) never meet the integration suite's.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from server import free_ports  # noqa: E402  (the integration suite's helper)
LANGUAGES = ["python", "javascript", "bash", "c", "cpp", "go"]
KEY, OTHER = "sdk-test-secret-0123456789", "sdk-other-secret-0123456789"
ADMIN = "sdk-admin-secret-0123456789"


def config(name, uid_base, tmp, pool):
    pools = f"[{{language: python, size: {pool}}}]" if pool else "[]"
    return f"""server:
  max_concurrent: 16
sandbox:
  languages: [{", ".join(LANGUAGES)}]
  pools: {pools}
  uid_base: {uid_base}
  uid_count: 4096
  cgroup_root: soulbox-{name}
  state_dir: /run/sbx-{name}
  compile_cache_dir: {tmp}/cache
"""


def get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="sdk")
    ap.add_argument("--uid-base", type=int, default=2000000000)
    ap.add_argument("--python-pool", type=int, default=0, help="warm python sandboxes (bench/)")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("no command")
    soulbox = os.environ.get("SOULBOX", os.path.join(ROOT, "build", "soulbox"))
    tmp = tempfile.mkdtemp(prefix=f"soulbox-{a.name}-")
    port, grpc_port = free_ports(2)
    cfg = os.path.join(tmp, "soulbox.yaml")
    with open(cfg, "w") as f:
        f.write(config(a.name, a.uid_base, tmp, a.python_pool))
    env = dict(os.environ, SOULBOX_API_KEYS=f"sdk:{KEY},other:{OTHER},admin:{ADMIN}",
               SOULBOX_ADMIN_KEYS="admin")
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen([soulbox, "serve", "--config", cfg, "--port", str(port),
                             "--grpc-port", str(grpc_port), "--data-dir", os.path.join(tmp, "data")],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    rc = 1
    try:
        deadline = time.time() + 180
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited {proc.returncode}; log in {log.name}")
            try:
                if '"languages_ready":true' in get(url + "/health").replace(" ", ""):
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise SystemExit(f"server not ready in time; log in {log.name}")
            time.sleep(0.1)
        child_env = dict(os.environ, SOULBOX_URL=url, SOULBOX_API_KEY=KEY,
                         SOULBOX_TEST_OTHER_KEY=OTHER, SOULBOX_TEST_ADMIN_KEY=ADMIN,
                         SOULBOX_TEST_GRPC=f"127.0.0.1:{grpc_port}")
        child_env.pop("SOULBOX_API_KEYS", None)
        child_env.pop("SOULBOX_ADMIN_KEYS", None)
        rc = subprocess.call(cmd, env=child_env)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            src = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            src = "killed after 60 s"
        log.close()
        if src != 0:
            print(f"with_server: server exit {src}; log:\n" + open(log.name, errors="replace").read()[-4000:],
                  file=sys.stderr)
            rc = rc or 1
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
