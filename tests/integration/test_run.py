"""`soulbox run`: languages, results, limits, CLI behaviour."""
import os
import subprocess
import threading

import pytest

from conftest import SOULBOX, run_json, sandbox_cgroups, sandbox_processes, soulbox_run

RESULT_KEYS = {"status", "stdout", "stderr", "exit_code", "signal", "execution_time",
               "wall_time_ms", "cpu_time_ms", "memory_kb", "truncated"}


# ---- hello world, exact ----

def test_python_hello_exact():
    r = soulbox_run("python", 'print("Hello, SoulBox!")\nprint(2 + 2)')
    assert (r.code, r.out, r.err) == (0, "Hello, SoulBox!\n4\n", "")


def test_bash_hello_exact():
    r = soulbox_run("bash", 'echo "Hello, SoulBox!"; echo $((2 + 2))')
    assert (r.code, r.out, r.err) == (0, "Hello, SoulBox!\n4\n", "")


def test_c_hello_exact(c_program):
    src = c_program('#include <stdio.h>\nint main(void){ printf("Hello, SoulBox!\\n%d\\n", 2 + 2); return 0; }\n')
    r = soulbox_run("c", file=src)
    assert (r.code, r.out, r.err) == (0, "Hello, SoulBox!\n4\n", "")


def test_json_result_shape():
    res = run_json("python", 'print("hi")')
    assert RESULT_KEYS <= set(res)
    assert res["status"] == "ok"
    assert res["stdout"] == "hi\n" and res["stderr"] == ""
    assert res["exit_code"] == 0 and res["signal"] is None
    assert res["execution_time"] == f'{res["wall_time_ms"]}ms'
    assert res["truncated"] is False
    assert 0 < res["memory_kb"] < 256 * 1024


def test_c_compile_error_reports_compiler_message(c_program):
    src = c_program("int main(void) { return undefined_symbol; }\n")
    res = run_json("c", None, file=src)
    assert res["status"] == "compile_error"
    assert "undefined_symbol" in res["compile_output"]
    assert "error" in res["compile_output"]
    assert res["compile"]["status"] == "compile_error"
    r = soulbox_run("c", file=src)
    assert r.code == 1
    assert "undefined_symbol" in r.err and "compile error" in r.err


def test_c_compile_and_run_stages_reported(c_program):
    import time
    src = c_program(f'int main(void){{ return 0; }} /* {time.time_ns()} */\n')
    res = run_json("c", None, file=src)
    assert res["status"] == "ok"
    assert res["compile"]["status"] == "ok" and res["compile_cached"] is False
    assert res["compile"]["wall_time_ms"] > 0
    again = run_json("c", None, file=src)      # same source: the cache answers
    assert again["compile_cached"] is True and again["compile"]["wall_time_ms"] == 0


def test_exit_code_passes_through():
    r = soulbox_run("python", "import sys; print('x'); sys.exit(3)")
    assert (r.code, r.out) == (3, "x\n")
    res = run_json("python", "import sys; sys.exit(3)")
    assert res["status"] == "runtime_error" and res["exit_code"] == 3 and res["signal"] is None


def test_signal_gives_128_plus_signal():
    r = soulbox_run("python", "import os, signal; os.kill(os.getpid(), signal.SIGABRT)")
    assert r.code == 128 + 6
    res = run_json("python", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert res["status"] == "runtime_error" and res["signal"] == 11 and res["exit_code"] is None


def test_python_traceback_is_runtime_error():
    res = run_json("python", "1/0")
    assert res["status"] == "runtime_error" and res["exit_code"] == 1
    assert "ZeroDivisionError" in res["stderr"] and 'File "/workspace/main.py", line 1' in res["stderr"]


def test_stdin_file(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("3 4\n")
    r = soulbox_run("python", "a, b = map(int, input().split()); print(a * b)", "--stdin", str(f))
    assert (r.code, r.out) == (0, "12\n")


def test_stdin_defaults_to_empty():
    r = soulbox_run("bash", "cat; echo done")
    assert (r.code, r.out) == (0, "done\n")


def test_large_stdin_round_trip(tmp_path):
    data = os.urandom(3 * 1024 * 1024).hex()[:5_000_000]
    f = tmp_path / "big.txt"
    f.write_text(data)
    r = soulbox_run("bash", "wc -c", "--stdin", str(f))
    assert r.out.strip() == str(len(data))


def test_program_arguments(tmp_path):
    f = tmp_path / "p.py"
    f.write_text("import sys; print(sys.argv[1:])")
    r = soulbox_run("python", None, file=str(f), *[])
    assert r.out == "[]\n"
    proc = subprocess.run([SOULBOX, "run", "-l", "python", str(f), "a b", "--x"],
                          capture_output=True, text=True)
    assert proc.stdout == "['a b', '--x']\n"


def test_stderr_and_stdout_separate():
    res = run_json("bash", "echo out; echo err >&2")
    assert res["stdout"] == "out\n" and res["stderr"] == "err\n"


def test_binary_output_is_valid_json():
    res = run_json("bash", "printf 'a\\377b\\000c'")
    assert res["stdout"] == "a\ufffdb\x00c"


def test_aliases_work():
    assert soulbox_run("python3", "print(1)").out == "1\n"
    assert soulbox_run("sh", "echo 1").out == "1\n"


# ---- limits: each produces exactly its status ----

def test_cpu_limit_busy_loop():
    res = run_json("python", "while True: pass", "--cpu-time", "0.5", "--time-limit", "10")
    assert res["status"] == "time_limit_exceeded"
    assert "CPU" in res["message"]
    assert 450 <= res["cpu_time_ms"] <= 800
    assert res["wall_time_ms"] < 3000


def test_cpu_limit_counts_every_process():
    # Two busy processes: the limit is on their sum, not per process.
    code = "import os\nos.fork()\nwhile True: pass"
    res = run_json("python", code, "--cpu-time", "0.6", "--time-limit", "10")
    assert res["status"] == "time_limit_exceeded"
    assert res["cpu_time_ms"] < 1000


def test_wall_limit_sleep():
    res = run_json("bash", "sleep 5", "--time-limit", "0.3")
    assert res["status"] == "time_limit_exceeded"
    assert "wall" in res["message"]
    assert 290 <= res["wall_time_ms"] < 1500
    assert res["signal"] == 9


def test_memory_limit():
    res = run_json("python", "x = bytearray(300 * 1024 * 1024)\nprint(len(x))", "--memory", "64")
    assert res["status"] == "memory_limit_exceeded"
    assert res["stdout"] == ""
    assert res["memory_kb"] <= 64 * 1024


def test_memory_below_limit_is_fine():
    res = run_json("python", "x = bytearray(20 * 1024 * 1024)\nprint(len(x))", "--memory", "64")
    assert res["status"] == "ok" and res["stdout"] == f"{20 * 1024 * 1024}\n"
    assert res["memory_kb"] >= 20 * 1024


def test_fork_bomb_is_contained():
    code = ("import os, time\n"
            "n = 0\n"
            "try:\n"
            "    while True:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(30)\n"
            "            os._exit(0)\n"
            "        n += 1\n"
            "except OSError as e:\n"
            "    print('fork failed after', n, e.errno)\n")
    res = run_json("python", code, "--processes", "20", "--time-limit", "10")
    assert res["status"] == "ok"
    n = int(res["stdout"].split()[3])
    assert 10 <= n < 20, res["stdout"]
    assert res["stdout"].split()[4] == "11"  # EAGAIN
    assert subprocess.run(["true"]).returncode == 0  # the host still forks


def test_shell_fork_bomb_is_contained():
    res = run_json("bash", ":(){ :|:& };: ; sleep 1; echo survived", "--processes", "30",
                   "--time-limit", "5")
    assert res["status"] in ("ok", "runtime_error", "time_limit_exceeded")
    assert subprocess.run(["true"]).returncode == 0
    assert sandbox_processes() == []


def test_disk_fill_gives_enospc_inside():
    res = run_json("bash", "dd if=/dev/zero of=/tmp/fill bs=1M count=20 2>&1; echo rc=$?; "
                   "dd if=/dev/zero of=/workspace/more bs=1M count=1 2>&1; echo rc2=$?",
                   "--disk", "8")
    assert res["status"] == "ok"
    assert "No space left on device" in res["stdout"]
    assert "rc=1" in res["stdout"] and "rc2=1" in res["stdout"]


def test_disk_limit_is_combined_tmp_and_workspace():
    res = run_json("bash", "head -c 5000000 /dev/zero > /tmp/a && head -c 5000000 /dev/zero > "
                   "/workspace/b; echo rc=$?", "--disk", "8")
    assert "rc=1" in res["stdout"]


def test_output_flood_is_cut_at_the_limit():
    res = run_json("python", "import sys\nwhile True: sys.stdout.write('x' * 4096)",
                   "--output-limit", "16", "--time-limit", "10")
    assert res["status"] == "output_limit_exceeded"
    assert res["truncated"] is True
    assert len(res["stdout"]) == 16 * 1024
    assert res["wall_time_ms"] < 3000


def test_output_limit_counts_stdout_and_stderr():
    res = run_json("bash", "head -c 10000 /dev/zero | tr '\\0' a; head -c 10000 /dev/zero | tr '\\0' b >&2",
                   "--output-limit", "16")
    assert res["status"] == "output_limit_exceeded"
    assert len(res["stdout"]) + len(res["stderr"]) == 16 * 1024


def test_file_size_limit_kills_with_sigxfsz():
    res = run_json("bash", "exec head -c 200000 /dev/zero > /tmp/f", "--file-size", "100")
    assert res["status"] == "runtime_error"
    assert res["signal"] == 25  # SIGXFSZ
    assert "file size" in res["message"]


def test_file_size_limit_efbig_when_ignored():
    # Python ignores SIGXFSZ, so the write fails with EFBIG at exactly the limit.
    code = ("import os\nf = open('/tmp/f', 'wb', buffering=0)\n"
            "try:\n    f.write(b'x' * 200000)\nexcept OSError as e:\n    print('errno', e.errno)\n"
            "print(os.path.getsize('/tmp/f'))")
    res = run_json("python", code, "--file-size", "100")
    assert res["stdout"] in ("errno 27\n0\n", "102400\n")
    assert res["status"] == "ok"


def test_open_files_limit():
    res = run_json("python", "fs = []\ntry:\n    while True: fs.append(open('/dev/null'))\n"
                   "except OSError as e: print(e.errno, len(fs) + 3)", "--open-files", "32")
    assert res["stdout"] == "24 32\n"  # EMFILE at exactly the limit


# ---- the CLI ----

@pytest.mark.parametrize("argv,needle", [
    (["run"], "-l LANG"),
    (["run", "-l", "python"], "FILE or -c"),
    (["run", "-l", "cobol-2077", "-c", "x"], "unknown language"),
    (["run", "-l", "python", "--memory", "abc", "-c", "1"], "--memory"),
    (["run", "-l", "python", "--memory", "0", "-c", "1"], "--memory"),
    (["run", "-l", "python", "--time-limit", "-1", "-c", "1"], "--time-limit"),
    (["run", "-l", "python", "--memory", "999999", "-c", "1"], "memory_mb"),
    (["run", "-l", "python", "--bogus", "-c", "1"], "--bogus"),
    (["run", "-l", "python", "/nonexistent/file.py"], "/nonexistent/file.py"),
    (["frobnicate"], "unknown command"),
])
def test_bad_usage_is_one_line_and_exit_2(argv, needle):
    proc = subprocess.run([SOULBOX, *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert needle in proc.stderr


def test_limit_breach_prints_one_line():
    r = soulbox_run("bash", "sleep 5", "--time-limit", "0.2")
    assert r.code == 137
    assert r.err.strip().splitlines() == ["soulbox: time_limit_exceeded: wall time limit of 200 ms exceeded"]


def test_sigterm_to_soulbox_kills_the_sandbox():
    p = subprocess.Popen([SOULBOX, "run", "-l", "bash", "-c", "sleep 100"], stdout=subprocess.PIPE)
    threading.Event().wait(0.5)
    p.terminate()
    assert p.wait(timeout=10) == 128 + 15
    assert sandbox_processes() == []
    assert sandbox_cgroups() == []


def test_help():
    proc = subprocess.run([SOULBOX, "run", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--time-limit" in proc.stdout


def test_languages_subcommand_lists_the_configured_languages(tmp_path):
    import json
    out = subprocess.run([SOULBOX, "languages", "--json"], capture_output=True, text=True,
                         check=True).stdout
    langs = {j["name"]: j for j in map(json.loads, out.splitlines())}
    assert len(langs) >= 25
    assert langs["python"]["installed"] and not langs["python"]["compiled"]
    assert langs["c"]["compiled"] and "gcc" in langs["c"]["aliases"]
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sandbox:\n  languages: [c, bash]\n")
    text = subprocess.run([SOULBOX, "languages", "--config", str(cfg)], capture_output=True,
                          text=True, check=True).stdout
    assert [l.split()[0] for l in text.splitlines()] == ["bash", "c"]
    cfg.write_text("sandbox:\n  languages: [cobra]\n")
    p = subprocess.run([SOULBOX, "languages", "--config", str(cfg)], capture_output=True,
                       text=True)
    assert p.returncode == 2 and "no language named 'cobra'" in p.stderr
    # and `run` says the same about a language the config leaves out
    cfg.write_text("sandbox:\n  languages: [bash]\n")
    p = subprocess.run([SOULBOX, "run", "--config", str(cfg), "-l", "python", "-c", "print(1)"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "unknown language 'python'" in p.stderr
