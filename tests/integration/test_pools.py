"""Warm pools: a pooled (warm) run gives exactly what a cold run gives, nothing
carries from one execution to the next, broken pooled sandboxes are replaced,
and limits stay exact."""
import re
import subprocess
import time

import pytest

from server import Server

CONFIG = ("sandbox:\n  languages: [python, javascript, bash, c]\n"
          "  pools:\n"
          "    - {language: python, size: 2}\n"
          "    - {language: javascript, size: 1}\n"
          "    - {language: c, size: 1}\n")
# A request whose disk size differs from the pool's always runs cold.
COLD = {"disk_mb": 63}


def metric(s, name, lang):
    m = re.search(rf'^{name}{{language="{lang}"}} (\S+)$', s.get("/metrics").text, re.M)
    return float(m.group(1)) if m else None


def wait_ready(s, lang, n, timeout=60):
    deadline = time.time() + timeout
    while (metric(s, "soulbox_pool_ready", lang) or 0) < n:
        assert time.time() < deadline, s.get("/metrics").text
        time.sleep(0.05)


def wait_full(s, lang, timeout=60):
    """Until the pool holds its target (which moves with the demand)."""
    deadline = time.time() + timeout
    while True:
        text = s.get("/metrics").text
        vals = {n: float(re.search(rf'^{n}{{language="{lang}"}} (\S+)$', text, re.M).group(1))
                for n in ("soulbox_pool_ready", "soulbox_pool_target")}
        if vals["soulbox_pool_ready"] >= vals["soulbox_pool_target"]:
            return vals["soulbox_pool_target"]
        assert time.time() < deadline, text
        time.sleep(0.05)


@pytest.fixture(scope="module")
def srv():
    with Server(CONFIG, pools=True, all_languages=True) as s:
        s.wait_languages()
        for lang, n in (("python", 2), ("javascript", 1), ("c", 1)):
            wait_ready(s, lang, n)
        yield s


def run(s, body, warm):
    """Runs body; the pool must (or must not) have served it."""
    if warm:
        wait_ready(s, body["language"], 1)
    else:
        body = dict(body, limits=dict(body.get("limits", {}), **COLD))
    r = s.execute(body).json()
    assert r["warm"] is warm, r
    return r


SAME = ("stdout", "stderr", "exit_code", "status", "signal", "message", "truncated")

PROGRAMS = {
    "python": ("import sys, os\n"
               "print(sys.argv, __name__, __file__, sys.path[0], sys.orig_argv)\n"
               "print(sorted(k for k in os.environ), os.getcwd(), sys.stdin.read())\n"
               "print(sorted(globals()))\n"
               "print(sorted(os.listdir('/proc/self/fd')))\n"
               "def f():\n    raise ValueError('boom')\n"
               "f()\n"),
    "javascript": ("console.log(process.argv.slice(1), require.main === module, __filename);\n"
                   "console.log(Object.keys(process.env).sort(), process.cwd());\n"
                   "console.log(require('fs').readdirSync('/proc/self/fd').length);\n"
                   "process.stdin.on('data', d => process.stdout.write('in:' + d));\n"
                   "process.stdin.on('end', () => { process.exitCode = 7; });\n"),
    "c": ("#include <stdio.h>\n#include <unistd.h>\n"
          "int main(int argc, char **argv) {\n"
          "  char buf[64]; size_t n = fread(buf, 1, sizeof buf, stdin);\n"
          "  printf(\"%s %d %.*s %d\\n\", argv[0], argc, (int)n, buf, (int)getpid());\n"
          "  fprintf(stderr, \"err\\n\"); return 4; }\n"),
}


@pytest.mark.parametrize("lang", sorted(PROGRAMS))
def test_warm_and_cold_runs_are_identical(srv, lang):
    body = {"language": lang, "code": PROGRAMS[lang], "stdin": "hello", "args": ["a", "b c"],
            "env": {"MY_VAR": "1"}}
    cold = run(srv, body, warm=False)
    warm = run(srv, body, warm=True)
    assert {k: warm.get(k) for k in SAME} == {k: cold.get(k) for k in SAME}
    assert warm["status"] == "runtime_error" and warm["exit_code"] in (1, 4, 7)


def test_python_traceback_and_exit_codes_match(srv):
    for code in ("import sys\nsys.exit(5)", "import sys\nsys.exit('bye')", "raise SystemExit",
                 "print(input())", "import os\nos._exit(9)", "x = 1 +"):
        body = {"language": "python", "code": code, "stdin": "typed\n"}
        cold, warm = run(srv, body, warm=False), run(srv, body, warm=True)
        assert {k: warm.get(k) for k in SAME} == {k: cold.get(k) for k in SAME}, code
    # the traceback names only the user's file
    r = run(srv, {"language": "python", "code": "\n\n1/0\n"}, warm=True)
    assert r["stderr"] == ('Traceback (most recent call last):\n  File "/workspace/main.py", '
                           'line 3, in <module>\n    1/0\n    ~^~\n'
                           'ZeroDivisionError: division by zero\n')


def test_nothing_carries_over_between_executions(srv):
    attack = ("import os, subprocess, json, sys\n"
              "open('/tmp/left', 'w').write('x'); open('/workspace/left', 'w').write('x')\n"
              "open('/dev/shm/left', 'w').write('x')\n"
              "os.environ['LEFT'] = '1'\n"
              "json.dumps = None; sys.modules['left_mod'] = object()\n"
              "subprocess.Popen(['/bin/sh', '-c', 'sleep 3079'], start_new_session=True)\n"
              "print('planted')\n")
    probe = ("import os, json, sys\n"
             "print([os.path.exists(p) for p in ('/tmp/left', '/workspace/left', "
             "'/dev/shm/left')], 'LEFT' in os.environ, json.dumps is None, "
             "'left_mod' in sys.modules)\n"
             "print(sorted(os.listdir('/proc'))[:0], len([p for p in os.listdir('/proc') "
             "if p.isdigit()]))\n")
    r = run(srv, {"language": "python", "code": attack}, warm=True)
    assert r["stdout"] == "planted\n"
    # the planted background process died with its sandbox
    assert subprocess.run(["pgrep", "-f", "sleep 3079"], capture_output=True).returncode == 1
    for _ in range(3):  # every later sandbox, whichever pooled one serves it
        r = run(srv, {"language": "python", "code": probe}, warm=True)
        assert r["stdout"] == "[False, False, False] False False False\n[] 2\n", r


def test_results_say_warm_and_metrics_count(srv):
    hits = metric(srv, "soulbox_pool_hits_total", "python")
    misses = metric(srv, "soulbox_pool_misses_total", "python")
    run(srv, {"language": "python", "code": "print(1)"}, warm=True)
    run(srv, {"language": "python", "code": "print(1)"}, warm=False)
    assert metric(srv, "soulbox_pool_hits_total", "python") == hits + 1
    assert metric(srv, "soulbox_pool_misses_total", "python") == misses + 1
    # two requests back to back: faster than a refill, so the pool may grow
    assert 2 <= metric(srv, "soulbox_pool_target", "python") <= 8
    assert 2 <= wait_full(srv, "python") <= 8
    assert metric(srv, "soulbox_pool_refills_total", "python") >= 3
    h = metric(srv, "soulbox_pool_hits_total", "python")
    m = metric(srv, "soulbox_pool_misses_total", "python")
    assert metric(srv, "soulbox_pool_hit_ratio", "python") == pytest.approx(h / (h + m))
    assert metric(srv, "soulbox_pool_refilling", "python") >= 0
    assert metric(srv, "soulbox_pool_refill_seconds_total", "python") > 0
    assert 0 < metric(srv, "soulbox_pool_memory_bytes", "python") < 200 << 20


def test_limits_are_exact_on_warm_sandboxes(srv):
    mem = run(srv, {"language": "python", "code": "x = bytearray(200 << 20)\nprint(len(x))",
                    "limits": {"memory_mb": 64}}, warm=True)
    assert mem["status"] == "memory_limit_exceeded"
    assert mem["message"] == "memory limit of 65536 KB exceeded"
    wall = run(srv, {"language": "python", "code": "import time\ntime.sleep(3)",
                     "limits": {"wall_time_ms": 400}}, warm=True)
    assert wall["status"] == "time_limit_exceeded" and 400 <= wall["wall_time_ms"] < 1500
    cpu = run(srv, {"language": "python", "code": "while True: pass",
                    "limits": {"cpu_time_ms": 300}}, warm=True)
    assert cpu["status"] == "time_limit_exceeded" and "CPU" in cpu["message"]
    procs = run(srv, {"language": "python", "limits": {"processes": 3},
                      "code": "import os\nn = 0\ntry:\n    while n < 20:\n        if os.fork() "
                              "== 0:\n            import time; time.sleep(5)\n        n += 1\n"
                              "except OSError as e:\n    print('refused after', n)\n"}, warm=True)
    assert procs["stdout"] == "refused after 2\n", procs
    # a bigger memory limit than the pool's default works too
    big = run(srv, {"language": "python", "code": "x = bytearray(600 << 20)\nprint(len(x))",
                    "limits": {"memory_mb": 1024}}, warm=True)
    assert big["status"] == "ok" and big["stdout"] == f"{600 << 20}\n"


def test_startup_variables_run_cold(srv):
    r = srv.execute({"language": "python", "code": "import sys\nprint(sys.flags.optimize)",
                     "env": {"PYTHONOPTIMIZE": "1"}}).json()
    assert r["warm"] is False and r["stdout"] == "1\n"


def test_a_killed_pooled_sandbox_is_replaced(srv):
    wait_ready(srv, "javascript", 1)
    refills = metric(srv, "soulbox_pool_refills_total", "javascript")
    out = subprocess.run(["pgrep", "-x", "node"], capture_output=True, text=True).stdout.split()
    assert out, "no warm node interpreter"
    for pid in out:
        subprocess.run(["kill", "-9", pid])
    deadline = time.time() + 30
    while metric(srv, "soulbox_pool_refills_total", "javascript") < refills + 1:
        assert time.time() < deadline
        time.sleep(0.1)
    wait_ready(srv, "javascript", 1)
    r = run(srv, {"language": "javascript", "code": "console.log(6 * 7)"}, warm=True)
    assert r["stdout"] == "42\n"


def test_refill_under_load():
    with Server(CONFIG + "server:\n  max_concurrent: 8\n", pools=True, all_languages=True) as s:
        s.wait_languages()
        wait_ready(s, "python", 2)
        import concurrent.futures
        body = {"language": "python", "code": "import time\ntime.sleep(0.2)\nprint('ok')"}
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            rs = list(pool.map(lambda _: s.execute(body).json(), range(24)))
        assert [r["stdout"] for r in rs] == ["ok\n"] * 24
        assert 2 <= sum(r["warm"] for r in rs) < 24
        # refilled afterwards, to the size the burst asked for
        assert 2 <= metric(s, "soulbox_pool_target", "python") <= 8
        assert 2 <= wait_full(s, "python") <= 8


def test_a_pool_grows_with_demand_and_shrinks_back_when_idle():
    cfg = ("sandbox:\n  pool_idle_ms: 2000\n  pools:\n"
           "    - {language: python, size: 1, max_size: 3}\n")
    with Server(cfg, pools=True) as s:
        s.wait_languages()
        wait_ready(s, "python", 1)
        assert metric(s, "soulbox_pool_target", "python") == 1
        # back-to-back requests: each comes long before a refill is done
        for _ in range(4):
            assert s.execute({"language": "python", "code": "print(1)"}).json()["stdout"] == "1\n"
        assert metric(s, "soulbox_pool_target", "python") == 3   # capped by max_size
        wait_ready(s, "python", 3)
        time.sleep(0.5)
        assert metric(s, "soulbox_pool_ready", "python") == 3    # never beyond max_size
        # no requests for pool_idle_ms: back to its size, the extra sandboxes gone
        deadline = time.time() + 15
        while metric(s, "soulbox_pool_ready", "python") != 1:
            assert time.time() < deadline, s.get("/metrics").text
            time.sleep(0.1)
        assert metric(s, "soulbox_pool_target", "python") == 1
        # this server's agents (its children) and their warm interpreters
        agents = subprocess.run(["pgrep", "-P", str(s.proc.pid)], capture_output=True,
                                text=True).stdout.split()
        warm = [a for a in agents
                if subprocess.run(["pgrep", "-P", a, "-f", "_soulbox_warm"],
                                  capture_output=True).returncode == 0]
        assert len(warm) == 1, agents


def test_preloaded_modules_and_no_pools():
    cfg = ("sandbox:\n  pools:\n    - {language: python, size: 1, preload: [numpy, json]}\n")
    with Server(cfg, pools=True) as s:
        s.wait_languages()
        wait_ready(s, "python", 1)
        r = s.execute({"language": "python",
                       "code": "import sys\nprint('numpy' in sys.modules)\nimport numpy as np\n"
                               "print(np.zeros(3))"}).json()
        assert r["warm"] is True and r["stdout"] == "True\n[0. 0. 0.]\n", r
    with Server("", pools=False) as s:
        r = s.execute({"language": "python", "code": "print(1)"}).json()
        assert r["warm"] is False and "soulbox_pool_ready" not in s.get("/metrics").text.split(
            "# TYPE soulbox_pool_ready gauge\n")[1].split("#")[0]


def children_of(pid):
    """Live processes whose parent is pid (a server's sandbox agents)."""
    out = subprocess.run(["ps", "-o", "pid=,stat=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout.split("\n")
    return [l.split()[0] for l in out if l.strip() and not l.split()[1].startswith("Z")]


def test_no_pooled_sandbox_survives_the_server():
    with Server(CONFIG, pools=True, all_languages=True) as s:
        s.wait_languages()
        wait_ready(s, "python", 2)
        agents = children_of(s.proc.pid)
        assert len(agents) >= 4          # python x2, javascript, c
    deadline = time.time() + 10
    def live(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    alive = agents
    while alive:
        assert time.time() < deadline, alive
        alive = [a for a in alive if live(a)]
        time.sleep(0.05)
