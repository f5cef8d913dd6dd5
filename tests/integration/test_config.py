"""Config file: defaults documented in the file, units, errors naming file, key and reason."""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import ROOT, SOULBOX, run_json
from server import Server

DEFAULT_CONFIG = os.path.join(ROOT, "config", "soulbox.yaml")


def run_with_config(path, code="print(1)"):
    return subprocess.run([SOULBOX, "run", "-l", "python", "--json", "--config", str(path), "-c", code],
                          capture_output=True, text=True)


def test_shipped_config_loads():
    proc = run_with_config(DEFAULT_CONFIG)
    assert proc.returncode == 0, proc.stderr
    assert '"stdout":"1\\n"' in proc.stdout


@pytest.mark.parametrize("yaml,needle", [
    ("sandbox:\n  bogus_key: 1\n", "bogus_key"),
    ("sandbox:\n  security:\n    max_memory_mb: lots\n", "max_memory_mb"),
    ("sandbox:\n  security:\n    max_memory_mb: -5\n", "max_memory_mb"),
    ("sandbox:\n  security:\n    max_memory_mb: 4\n", "sandbox.security.max_memory_mb: 4 is out of range"),
    ("sandbox:\n  security:\n    execution_timeout: 0\n", "execution_timeout"),
    ("sandbox:\n  security:\n    enable_network: maybe\n", "enable_network"),
    ("sandbox:\n  network:\n    allow: [\"*\"]\n", "sandbox.network.allow: \"*\""),
    ("sandbox:\n  network:\n    deny: [\"10.0.0.0/33\"]\n", "sandbox.network.deny: \"10.0.0.0/33\""),
    ("sandbox:\n  defaults:\n    memory_mb: 4096\n", "sandbox.defaults.memory_mb: 4096 is out of range"),
    ("sandbox:\n  security:\n    allowed_syscalls: [read, frobnicate]\n", "frobnicate"),
    ("sandbox:\n  security:\n    allowed_syscalls: [read, ptrace]\n", "ptrace"),
    ("sandbox:\n  workdir: /etc\n", "workdir"),
    ("sandbox:\n  uid_base: 0\n", "uid_base"),
    ("sandbox:\n  rootfs:\n    etc: [../shadow]\n", "rootfs.etc"),
    ("top_level_typo: 1\n", "top_level_typo"),
    ("server:\n  ui: sometimes\n", "server.ui"),
    ("sandbox: [1, 2\n", ""),
])
def test_bad_config_is_rejected_with_key_and_reason(tmp_path, yaml, needle):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml)
    proc = run_with_config(p)
    assert proc.returncode == 2
    assert str(p) in proc.stderr
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_missing_config_file(tmp_path):
    proc = run_with_config(tmp_path / "nope.yaml")
    assert proc.returncode == 2 and "nope.yaml" in proc.stderr


def test_config_defaults_apply(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("sandbox:\n  defaults:\n    wall_time_ms: 300\n")
    proc = run_with_config(p, "import time; time.sleep(3)")
    assert '"status":"time_limit_exceeded"' in proc.stdout


def test_config_maximum_refuses_larger_request(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("sandbox:\n  security:\n    max_memory_mb: 128\n  defaults:\n    memory_mb: 64\n")
    proc = subprocess.run([SOULBOX, "run", "-l", "python", "--config", str(p), "--memory", "256",
                           "-c", "1"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "memory_mb: 256 is above the maximum 128" in proc.stderr


def test_allowlist_mode_runs_and_kills_unlisted(tmp_path):
    # A default-deny filter: a shell that needs only these calls works...
    calls = ("read write openat close fstat newfstatat lseek mmap mprotect munmap brk "
             "rt_sigaction rt_sigprocmask rt_sigreturn ioctl pread64 access execve "
             "arch_prctl set_tid_address set_robust_list rseq prlimit64 getrandom "
             "exit_group getuid getgid geteuid getegid getpid getppid uname fcntl "
             "faccessat2 readlink sysinfo getpgrp stat futex getcwd").split()
    p = tmp_path / "allow.yaml"
    p.write_text("sandbox:\n  security:\n    allowed_syscalls: [%s]\n" % ", ".join(calls))
    ok = subprocess.run([SOULBOX, "run", "-l", "bash", "--json", "--config", str(p), "-c",
                         "echo allowed"], capture_output=True, text=True)
    assert '"stdout":"allowed\\n"' in ok.stdout, ok.stdout + ok.stderr
    # ...and one that calls something else is killed, with the call named.
    bad = subprocess.run([SOULBOX, "run", "-l", "bash", "--json", "--config", str(p), "-c",
                          "echo x > /tmp/f; mkdir /tmp/d"], capture_output=True, text=True)
    assert '"status":"runtime_error"' in bad.stdout
    assert "forbidden system call" in bad.stdout


# ---- durations and sizes with units (issue 11) ----

# The product brief's security example, byte for byte (comments included).
BRIEF_SECURITY_YAML = """\
sandbox:
  security:
    enable_network: false      # 禁用网络访问
    max_memory_mb: 512        # 内存限制
    max_cpu_percent: 50       # CPU 限制
    max_disk_mb: 100         # 磁盘限制
    execution_timeout: 30s    # 执行超时
    allowed_syscalls:         # 系统调用白名单
      - read
      - write
      - open
      - close
"""


def test_the_briefs_security_example_loads_and_runs(tmp_path):
    p = tmp_path / "brief.yaml"
    p.write_bytes(BRIEF_SECURITY_YAML.encode("utf-8"))
    assert "禁用网络访问".encode("utf-8") in p.read_bytes()
    proc = run_with_config(p)
    # Loaded: the built-in defaults (256 MB, 64 MB disk, 10 s wall) sit under
    # these ceilings, so nothing is refused. validate.c never clamps a default.
    assert "execution_timeout" not in proc.stderr, proc.stderr
    result = json.loads(proc.stdout)
    # With only read/write/open/close (plus the calls SoulBox's agent needs,
    # which include execve, brk and mmap), the program never reaches main:
    # the first call glibc's dynamic loader makes that is on neither list is
    # access("/etc/ld.so.preload", R_OK), right after execve, brk and mmap.
    assert result["status"] == "runtime_error", result
    assert result["message"] == "killed by seccomp: forbidden system call access", result
    assert result["signal"] == 31  # SIGSYS
    assert proc.returncode == 128 + 31


def soulbox_run_with(path, *opts, lang="bash", code="echo ok"):
    return subprocess.run([SOULBOX, "run", "-l", lang, "--config", str(path), *opts, "-c", code],
                          capture_output=True, text=True)


@pytest.mark.parametrize("yaml,opts,refused", [
    # 30s is 30000 ms of wall time: 30 s is allowed, 31 s is above it.
    ("sandbox:\n  security:\n    execution_timeout: 30s\n", ["--time-limit", "30"], None),
    ("sandbox:\n  security:\n    execution_timeout: 30s\n", ["--time-limit", "31"],
     "wall_time_ms: 31000 is above the maximum 30000 (sandbox.security.execution_timeout)"),
    ("sandbox:\n  security:\n    execution_timeout: 1h\n", ["--time-limit", "3601"],
     "wall_time_ms: 3601000 is above the maximum 3600000 (sandbox.security.execution_timeout)"),
    ("sandbox:\n  security:\n    max_memory_mb: 1GB\n", ["--memory", "1024"], None),
    ("sandbox:\n  security:\n    max_memory_mb: 1GB\n", ["--memory", "1025"],
     "memory_mb: 1025 is above the maximum 1024 (sandbox.security.max_memory_mb)"),
    ("sandbox:\n  security:\n    max_disk_mb: 102400KB\n", ["--disk", "101"],
     "disk_mb: 101 is above the maximum 100 (sandbox.security.max_disk_mb)"),
])
def test_ceilings_with_units_bound_requests(tmp_path, yaml, opts, refused):
    p = tmp_path / "c.yaml"
    p.write_text(yaml)
    proc = soulbox_run_with(p, *opts)
    if refused is None:
        assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr
    else:
        assert proc.returncode == 2
        assert proc.stderr == f"soulbox: {refused}\n"


# Values that load, each with a neighbour whose converted value lands one step
# outside the key's range, so the message shows the conversion.
@pytest.mark.parametrize("yaml,refused", [
    ("server:\n  header_timeout_ms: 10s\n", None),
    ("server:\n  header_timeout_ms: 60m\n", None),
    ("server:\n  header_timeout_ms: 61m\n",
     "server.header_timeout_ms: 3660000 is out of range [100, 3600000]"),
    ("server:\n  max_body_kb: 16MB\n", None),
    ("server:\n  max_body_kb: 1GB\n", None),
    ("server:\n  max_body_kb: 2GB\n", "server.max_body_kb: 2097152 is out of range [1, 1048576]"),
    ("sandbox:\n  defaults:\n    memory_mb: 1GB\n", None),
    ("sandbox:\n  security:\n    max_memory_mb: 1023\n  defaults:\n    memory_mb: 1GB\n",
     "sandbox.defaults.memory_mb: 1024 is out of range [8, 1023]"),
    ("sandbox:\n  security:\n    execution_timeout: 25h\n",
     "sandbox.security.execution_timeout: 90000 is out of range [1, 86400]"),
])
def test_units_convert_before_range_checks(tmp_path, yaml, refused):
    p = tmp_path / "c.yaml"
    p.write_text(yaml)
    proc = soulbox_run_with(p)
    if refused is None:
        assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr
    else:
        assert proc.returncode == 2
        assert proc.stderr == f"soulbox: {p}: {refused}\n"


DURATION = "a duration (e.g. 500ms, 30s, 2m, 1h)"
SIZE = "a size (e.g. 512KB, 256MB, 2GB)"


@pytest.mark.parametrize("section,key,text,what", [
    ("sandbox.security.", "execution_timeout", "1500ms", "a whole number of seconds"),
    ("sandbox.security.", "execution_timeout", "30sec", DURATION),
    ("sandbox.security.", "execution_timeout", "1.5s", DURATION),
    ("sandbox.security.", "execution_timeout", "-1s", DURATION),
    ("sandbox.security.", "execution_timeout", "30  s", DURATION),
    ("sandbox.defaults.", "wall_time_ms", "1e3ms", DURATION),
    ("sandbox.defaults.", "wall_time_ms", "18446744073709552s", "a duration that fits in 64 bits"),
    ("server.", "header_timeout_ms", "10S", DURATION),
    ("server.", "max_body_kb", "1.5GB", SIZE),
    ("server.", "max_body_kb", "16TB", SIZE),
    ("sandbox.compile.", "artifact_mb", "1536KB", "a whole number of MB"),
    ("sandbox.defaults.", "memory_mb", "1GBs", SIZE),
    ("server.", "port", "8080s", "a plain decimal integer"),
    ("sandbox.maximums.", "processes", "1K", "a plain decimal integer"),
])
def test_bad_units_are_rejected_naming_the_key(tmp_path, section, key, text, what):
    path = section.rstrip(".").split(".")
    yaml = "".join("  " * i + part + ":\n" for i, part in enumerate(path))
    yaml += "  " * len(path) + f'{key}: "{text}"\n'
    p = tmp_path / "bad.yaml"
    p.write_text(yaml)
    proc = run_with_config(p)
    assert proc.returncode == 2
    assert proc.stderr == f"soulbox: {p}: {section}{key}: '{text}' is not {what}\n"


def test_header_timeout_in_seconds_reaches_the_server():
    # "1s" is 1000 ms: a client that never finishes its headers gets its 408
    # after about a second (a bare 1 would be 1 ms and refused as below 100).
    with Server("server:\n  header_timeout_ms: 1s\n") as s:
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(10)
        t0 = time.time()
        data = sock.recv(4096)
        elapsed = time.time() - t0
        sock.close()
        assert data.startswith(b"HTTP/1.1 408")
        assert 0.8 <= elapsed < 5, elapsed
