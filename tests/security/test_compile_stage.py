"""Attacks through the compile stage: the compiler runs code the user controls
(includes, compile-time evaluation), so it is sandboxed like the program."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import run_json  # noqa: E402


def compile_config(tmp_path, **compile):
    cfg = tmp_path / "c.yaml"
    cache = tmp_path / "cache"
    lines = "".join(f"    {k}: {v}\n" for k, v in compile.items())
    cfg.write_text(f"sandbox:\n  compile_cache_dir: {cache}\n" +
                   (f"  compile:\n{lines}" if lines else ""))
    return str(cfg)


def src(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_including_host_secrets_fails_to_compile(tmp_path):
    """`#include "/etc/shadow"` to get the host's password hashes into the compiler's error output."""
    r = run_json("c", None, "--config", compile_config(tmp_path), file=src(
        tmp_path, "a.c", '#include "/etc/shadow"\nint main(void){return 0;}\n'))
    assert r["status"] == "compile_error"
    assert "/etc/shadow: No such file or directory" in r["compile_output"]
    assert "root:" not in r["compile_output"]


def test_compiling_dev_zero_hits_the_compile_limits(tmp_path):
    """`#include "/dev/zero"` keeps the compiler reading forever, to exhaust the host's time or memory at compile time."""
    cfg = compile_config(tmp_path, wall_time_ms=3000, memory_mb=256)
    r = run_json("c", None, "--config", cfg, file=src(
        tmp_path, "a.c", '#include "/dev/zero"\nint main(void){return 0;}\n'), timeout=60)
    assert r["status"] == "compile_error", r
    assert r["compile"]["status"] in ("time_limit_exceeded", "memory_limit_exceeded")
    assert r["message"].startswith("compilation failed: ")
    assert r["compile"]["wall_time_ms"] <= 4000
    assert r["exit_code"] is None and r["stdout"] == ""


def test_compile_time_code_runs_as_the_sandbox_user_and_leaves_nothing(tmp_path):
    """Nim `staticExec` runs a shell at compile time to read the compile cache and /etc/shadow, write /usr, and plant a file for the run."""
    # Nim runs staticExec at compile time: a shell inside the compile sandbox.
    probe = ("id -u; ls /var/cache/soulbox 2>&1 | head -1; touch /usr/x 2>&1; "
             "echo planted > /workspace/planted && echo wrote; "
             "cat /etc/shadow 2>&1 | head -1")
    code = (f'const info = staticExec("{probe}")\n'
            'import os\necho info\necho fileExists("planted")\n')
    r = run_json("nim", None, "--config", compile_config(tmp_path), file=src(
        tmp_path, "main.nim", code), timeout=120)
    assert r["status"] == "ok", r
    lines = r["stdout"].splitlines()
    assert int(lines[0]) >= 2100000000
    assert "No such file or directory" in lines[1]          # the cache is not there
    assert "Read-only file system" in lines[2] or "Permission denied" in lines[2]
    assert lines[3] == "wrote"                               # its own workspace...
    assert "No such file or directory" in lines[4]
    assert lines[5] == "false"                               # ...gone before the run
