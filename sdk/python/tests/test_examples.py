"""Runs each example against the real server and checks its output."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)


def run(name, *args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.path.join(SDK, "src"))
    r = subprocess.run([sys.executable, os.path.join(SDK, "examples", name), *args],
                       capture_output=True, text=True, env=env, timeout=240, cwd=cwd)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_agent_csv_chart(tmp_path):
    out = tmp_path / "chart.png"
    text = run("agent_csv_chart.py", str(out))
    assert text == ("  | 6 rows\n  | total profit: 330\n  | best month: Jun\n"
                    f"step 3: saved chart {out} ({out.stat().st_size} bytes)\ndone\n")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 2000


def test_judge():
    text = re.sub(r"\(\d+ ms\)", "(N ms)", run("judge.py"))
    assert text == ("case 1: accepted (N ms) output='3'\n"
                    "case 2: accepted (N ms) output='42'\n"
                    "case 3: accepted (N ms) output='0'\n"
                    "case 4: wrong_answer (N ms) output='1000000000001'\n"
                    "summary: 3/4 accepted, verdict wrong_answer\n")


def test_streaming():
    text = re.sub(r"\[started [0-9a-f-]{36}\]", "[started ID]", run("streaming.py"))
    assert text == ("[started ID]\n"
                    "number (empty to stop)? 5\nrunning total: 5\n"
                    "number (empty to stop)? 7\nrunning total: 12\n"
                    "number (empty to stop)? 30\nrunning total: 42\n"
                    "number (empty to stop)? \nfinal: 42\n"
                    "[exit: status=ok exit_code=0]\n")
