"""Every language in languages/*.yaml, end to end through the HTTP API, plus the
compile cache, multi-file programs and test cases.

Each language file carries a self-test program: empty stdin -> "Hello, World!",
"fail" -> exit code 3 (or test.fail_exit_code), a word -> that word echoed.
"""
import base64
import concurrent.futures
import glob
import os
import time

import pytest
import yaml

from conftest import ROOT
from server import Server

LANG_FILES = sorted(glob.glob(os.path.join(ROOT, "languages", "*.yaml")))
SPECS = {yaml.safe_load(open(f))["name"]: yaml.safe_load(open(f)) for f in LANG_FILES}
ECHO = "soulbox-echo-42\n"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    cfg = (f"server:\n  max_concurrent: 4\n  max_queue: 1000\n"
           f"sandbox:\n  compile_cache_dir: {cache}\n")
    with Server(cfg, all_languages=True) as s:
        s.wait_languages(timeout=300)
        yield s


def one_language(srv, name):
    spec = SPECS[name]
    test = spec["test"]
    out = {}
    out["hello"] = srv.execute({"language": name, "code": test["program"]}, timeout=300).json()
    out["cases"] = srv.execute({"language": name, "code": test["program"], "test_cases": [
        {"stdin": "", "expected_output": "Hello, World!\n"},
        {"stdin": ECHO, "expected_output": ECHO},
        {"stdin": "fail\n"},
    ]}, timeout=300).json()
    if test.get("compile_error"):
        out["compile_error"] = srv.execute({"language": name, "code": test["compile_error"]},
                                           timeout=300).json()
    return out


@pytest.fixture(scope="module")
def results(srv):
    """All languages' requests, run concurrently (the server bounds it)."""
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = {n: pool.submit(one_language, srv, n) for n in SPECS}
        return {n: f.result() for n, f in futures.items()}


def test_at_least_25_languages_are_available(srv):
    body = srv.get("/api/languages").json()
    available = {l["name"] for l in body["languages"]}
    assert len(available) >= 25, body["unavailable"]
    # setup installs every language's packages, so all of them must work
    assert available == set(SPECS), body["unavailable"]
    for l in body["languages"]:
        assert l["version"] != "unknown" and l["version"][0].isdigit(), l


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hello_world_exact(results, name):
    r = results[name]["hello"]
    assert r["status"] == "ok", r
    assert r["stdout"] == "Hello, World!\n"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_stdin_echo_and_runtime_error(results, name):
    r = results[name]["cases"]
    cases = r["test_cases"]
    assert r["status"] == "ok", r
    assert cases[0]["verdict"] == "accepted", cases[0]
    assert cases[1]["verdict"] == "accepted" and cases[1]["stdout"] == ECHO, cases[1]
    fail_code = int(SPECS[name]["test"].get("fail_exit_code", 3))
    assert cases[2]["status"] == "runtime_error" and cases[2]["exit_code"] == fail_code, cases[2]
    assert cases[2]["verdict"] == "runtime_error"
    assert r["summary"] == {"total": 3, "accepted": 2, "verdict": "runtime_error"}


@pytest.mark.parametrize("name", sorted(n for n in SPECS if SPECS[n].get("compile")))
def test_compile_error(results, name):
    r = results[name]["compile_error"]
    assert r["status"] == "compile_error", r
    assert r["compile_output"].strip(), r
    assert r["compile"]["status"] == "compile_error"
    assert r["stdout"] == "" and r["exit_code"] is None


@pytest.mark.parametrize("name", sorted(n for n in SPECS if SPECS[n].get("compile")))
def test_compiled_languages_report_both_stages(results, name):
    hello = results[name]["hello"]
    assert hello["compile"]["status"] == "ok" and "compile_cached" in hello
    # the test-case request compiled the same program: the cache served it
    assert results[name]["cases"]["compile_cached"] is True


# ---- the Python data stack ----

def test_python_numpy(srv):
    r = srv.execute({"language": "python",
                     "code": "import numpy as np\nprint(np.arange(3).sum())"}).json()
    assert (r["status"], r["stdout"]) == ("ok", "3\n"), r


def test_python_matplotlib_saves_a_png_in_the_workdir(srv):
    code = ("import matplotlib.pyplot as plt, pandas as pd, scipy, os\n"
            "pd.Series([1, 3, 2]).plot()\n"
            "plt.savefig('chart.png')\n"
            "data = open('chart.png', 'rb').read()\n"
            "print(os.getcwd(), data[:8] == b'\\x89PNG\\r\\n\\x1a\\n', len(data) > 1000)\n")
    r = srv.execute({"language": "python", "code": code}).json()
    assert r["status"] == "ok", r
    assert r["stdout"] == "/workspace True True\n"
    assert r["stderr"] == ""   # no cache-dir or backend warnings


# ---- multi-file programs ----

MULTI = {
    "c": [("main.c", '#include <stdio.h>\n#include "lib/util.h"\nint main(void){printf("%d\\n", twice(21));}\n'),
          ("lib/util.h", "int twice(int x);\n"),
          ("lib/util.c", '#include "util.h"\nint twice(int x){ return 2 * x; }\n')],
    "python": [("main.py", "from pkg.util import twice\nprint(twice(21))\n"),
               ("pkg/__init__.py", ""),
               ("pkg/util.py", "def twice(x):\n    return 2 * x\n")],
    "java": [("app/Main.java", "package app;\nimport app.util.Util;\npublic class Main {\n"
              "  public static void main(String[] a) { System.out.println(Util.twice(21)); }\n}\n"),
             ("app/util/Util.java", "package app.util;\npublic class Util {\n"
              "  public static int twice(int x) { return 2 * x; }\n}\n")],
    "go": [("main.go", 'package main\nimport "fmt"\nfunc main() { fmt.Println(twice(21)) }\n'),
           ("util.go", "package main\nfunc twice(x int) int { return 2 * x }\n")],
}


@pytest.mark.parametrize("name", sorted(MULTI))
def test_multi_file_programs(srv, name):
    files = [{"name": n, "content": c} for n, c in MULTI[name]]
    r = srv.execute({"language": name, "files": files}, timeout=120).json()
    assert r["status"] == "ok", r
    assert r["stdout"] == "42\n"


def test_binary_files_via_base64(srv):
    data = bytes(range(256))
    files = [{"name": "main.py", "content": "print(open('blob.bin','rb').read() == bytes(range(256)))"},
             {"name": "blob.bin", "content": base64.b64encode(data).decode(), "encoding": "base64"}]
    r = srv.execute({"language": "python", "files": files}).json()
    assert r["stdout"] == "True\n"


# ---- test cases ----

def test_test_cases_accepted_and_wrong_answers(srv):
    code = "a, b = map(int, input().split())\nprint(a + b)"
    r = srv.execute({"language": "python", "code": code, "test_cases": [
        {"stdin": "1 2\n", "expected_output": "3\n"},
        {"stdin": "2 2\n", "expected_output": "5\n"},
        {"stdin": "10 5", "expected_output": "15"},          # no trailing newline: still equal
        {"stdin": "1 1\n", "expected_output": "2   \n\n\n"},  # trailing blanks ignored
        {"stdin": "x\n", "expected_output": "0\n"},           # the program fails
        {"stdin": "4 4\n"},                                   # no expectation: just run
    ]}).json()
    v = [c["verdict"] for c in r["test_cases"]]
    assert v == ["accepted", "wrong_answer", "accepted", "accepted", "runtime_error", "ok"]
    assert r["test_cases"][1]["stdout"] == "4\n"
    assert r["summary"] == {"total": 6, "accepted": 3, "verdict": "wrong_answer"}


def test_test_case_limits_apply_per_case(srv):
    code = "import time\nn = int(input())\ntime.sleep(n)\nprint(n)"
    r = srv.execute({"language": "python", "code": code, "limits": {"wall_time_ms": 1500},
                     "test_cases": [{"stdin": "0\n", "expected_output": "0"},
                                    {"stdin": "5\n", "expected_output": "5"}]}).json()
    assert [c["verdict"] for c in r["test_cases"]] == ["accepted", "time_limit_exceeded"]


def test_each_test_case_gets_a_fresh_sandbox(srv):
    code = ("import os\nprint(os.path.exists('/tmp/left'))\nopen('/tmp/left', 'w').write('x')")
    r = srv.execute({"language": "python", "code": code,
                     "test_cases": [{"stdin": ""}, {"stdin": ""}]}).json()
    assert [c["stdout"] for c in r["test_cases"]] == ["False\n", "False\n"]


def test_test_cases_compile_once(srv):
    code = f"#include <stdio.h>\nint main(void){{int x; scanf(\"%d\",&x); printf(\"%d\\n\", x*x);}} /* {time.time_ns()} */"
    r = srv.execute({"language": "c", "code": code, "test_cases": [
        {"stdin": str(i), "expected_output": str(i * i)} for i in range(5)]}).json()
    assert r["compile_cached"] is False and r["summary"]["accepted"] == 5


@pytest.mark.parametrize("body,needle", [
    ({"test_cases": []}, "non-empty"),
    ({"test_cases": [{"stdin": 1}]}, "strings"),
    ({"test_cases": [{"input": "x"}]}, "test_cases[0].input: unknown"),
    ({"test_cases": [{}] * 65}, "at most 64"),
    ({"stdin": "x", "test_cases": [{}]}, "stdin: not with test_cases"),
])
def test_bad_test_cases(srv, body, needle):
    r = srv.execute(dict({"language": "python", "code": "print(1)"}, **body))
    assert r.status_code == 400 and needle in r.json()["error"]["message"], r.text


def test_output_comparison_rule_is_documented():
    doc = open(os.path.join(ROOT, "docs", "languages.md")).read()
    assert "trailing whitespace" in doc and "trailing newlines" in doc


# ---- the registry from a directory, and languages that cannot work ----

def test_unavailable_languages_are_listed_with_the_reason(tmp_path):
    d = tmp_path / "langs"
    d.mkdir()
    (d / "bash.yaml").write_text(open(os.path.join(ROOT, "languages", "bash.yaml")).read())
    toy = ("name: toy\npackages: [toy-lang]\nversion: [/usr/bin/toy-not-installed, -v]\n"
           "source: main.toy\nrun: [/usr/bin/toy-not-installed, \"{entry}\"]\n"
           "test:\n  program: x\n")
    (d / "toy.yaml").write_text(toy)
    (d / "huge.yaml").write_text(toy.replace("toy", "huge").replace(
        "/usr/bin/huge-not-installed", "/bin/cat") + "limits:\n  memory_mb: 4096\n")
    (d / "broken.yaml").write_text(toy.replace("toy", "broken").replace(
        "/usr/bin/broken-not-installed, -v", "/bin/false"))
    with Server(f"sandbox:\n  languages_dir: {d}\n", all_languages=True) as s:
        s.wait_languages()
        body = s.get("/api/languages").json()
        assert [l["name"] for l in body["languages"]] == ["bash"]
        why = {u["name"]: u["reason"] for u in body["unavailable"]}
        assert set(why) == {"toy", "huge", "broken"}
        assert "not installed: /usr/bin/toy-not-installed is missing" in why["toy"]
        assert "toy-lang" in why["toy"]
        assert "memory_mb: 4096 is above the maximum 2048" in why["huge"]
        assert "version check" in why["broken"] and "exit 1" in why["broken"]
        r = s.execute({"language": "toy", "code": "x"})
        assert r.status_code == 422 and "unavailable" in r.json()["error"]["message"]
        assert "not installed" in r.json()["error"]["message"]
        assert s.execute({"language": "bash", "code": "echo hi"}).json()["stdout"] == "hi\n"


def test_an_invalid_language_file_stops_the_server_with_the_reason(tmp_path):
    d = tmp_path / "langs"
    d.mkdir()
    (d / "bad.yaml").write_text("name: bad\npackages: []\nversion: [relative/bin]\n"
                                "source: a\nrun: [/bin/cat]\ntest:\n  program: x\n")
    s = Server(f"sandbox:\n  languages_dir: {d}\n", all_languages=True)
    with pytest.raises(RuntimeError) as e:
        s.start()
    assert "bad.yaml: version[0]: 'relative/bin' must be an absolute path" in str(e.value)
