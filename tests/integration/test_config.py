"""Config file: defaults documented in the file, errors naming file, key and reason."""
import os
import subprocess

import pytest

from conftest import ROOT, SOULBOX, run_json

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
    ("sandbox:\n  security:\n    enable_network: true\n", "enable_network"),
    ("sandbox:\n  defaults:\n    memory_mb: 4096\n", "sandbox.defaults.memory_mb: 4096 is out of range"),
    ("sandbox:\n  security:\n    allowed_syscalls: [read, frobnicate]\n", "frobnicate"),
    ("sandbox:\n  security:\n    allowed_syscalls: [read, ptrace]\n", "ptrace"),
    ("sandbox:\n  workdir: /etc\n", "workdir"),
    ("sandbox:\n  uid_base: 0\n", "uid_base"),
    ("sandbox:\n  rootfs:\n    etc: [../shadow]\n", "rootfs.etc"),
    ("top_level_typo: 1\n", "top_level_typo"),
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
