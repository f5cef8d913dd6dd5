"""A request's options for its compile stage. compile_args: more of the compiler's
arguments, before its sources (after the language's own options, so the request's win);
part of the compile cache's key; bounded like args. compile_limits: lower wall time, CPU
time or memory than the stage's own. Both only for languages with a compile step."""
import re

import pytest

from server import Server

SRC = ('#include <stdio.h>\n#ifndef ANSWER\n#define ANSWER 0\n#endif\n'
       'int main(void){ printf("%d %ld\\n", ANSWER, __STDC_VERSION__); return 0; }\n')


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with Server(f"sandbox:\n  languages: [c, cpp, python, nasm, java]\n"
                f"  compile_cache_dir: {cache}\n", all_languages=True) as s:
        s.wait_languages()
        yield s


def run(srv, body):
    r = srv.execute(body, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def test_compile_args_reach_the_compiler_and_win(srv):
    res = run(srv, {"language": "c", "code": SRC, "compile_args": ["-DANSWER=42", "-std=c99"]})
    assert (res["status"], res["stdout"]) == ("ok", "42 199901\n"), res
    # the same source without them is another cache entry, not the artifact above
    res = run(srv, {"language": "c", "code": SRC})
    assert (res["status"], res["stdout"]) == ("ok", "0 201710\n"), res
    res = run(srv, {"language": "c", "code": SRC, "compile_args": ["-DANSWER=7"]})
    assert (res["stdout"], res["compile_cached"]) == ("7 201710\n", False), res
    res = run(srv, {"language": "c", "code": SRC, "compile_args": ["-DANSWER=7"]})
    assert (res["stdout"], res["compile_cached"]) == ("7 201710\n", True), res


def test_compile_args_that_break_the_build_are_a_compile_error(srv):
    res = run(srv, {"language": "c", "code": SRC, "compile_args": ["-Werror", "-Wall",
                                                                    "-Dmain=oops"]})
    assert res["status"] == "compile_error", res
    assert "undefined reference to `main'" in res["compile_output"], res
    # an artifact written elsewhere is no artifact: a clear compile error, nothing run
    res = run(srv, {"language": "c", "code": SRC, "compile_args": ["-o", "/tmp/elsewhere"]})
    assert (res["status"], res["message"]) == ("compile_error",
                                               "the compiler left no main (missing)"), res


@pytest.mark.parametrize("language,code,args,out", [
    ("cpp", "#include <iostream>\nint main(){ std::cout << __cplusplus << ' ' << X; }\n",
     ["-std=c++20", "-DX=5"], "202002 5"),
    ("nasm", "section .text\nglobal _start\n_start:\n mov eax, 60\n mov edi, CODE\n syscall\n",
     ["-DCODE=3"], ""),
    ("java", "public class Main { public static void main(String[] a) { System.out.println(1); } }",
     ["-Xlint:all"], "1\n"),
])
def test_other_compilers(srv, language, code, args, out):
    res = run(srv, {"language": language, "code": code, "compile_args": args})
    if language == "nasm":
        assert (res["status"], res["exit_code"]) == ("runtime_error", 3), res
    else:
        assert (res["status"], res["stdout"]) == ("ok", out), res


@pytest.mark.parametrize("body,error", [
    ({"language": "python", "code": "print(1)", "compile_args": ["-O"]},
     "compile_args: python has no compile step"),
    ({"language": "c", "code": SRC, "compile_args": "-O2"},
     "compile_args: must be an array of strings"),
    ({"language": "c", "code": SRC, "compile_args": [2]},
     "compile_args[0]: must be a string without NUL, at most 65536 bytes"),
    ({"language": "c", "code": SRC, "compile_args": ["-O2\u0000x"]},
     "compile_args[0]: must be a string without NUL, at most 65536 bytes"),
    ({"language": "c", "code": SRC, "compile_args": ["-O"] * 1025},
     re.compile(r"compile_args: at most \d+ allowed")),
])
def test_invalid_compile_args(srv, body, error):
    r = srv.execute(body)
    assert r.status_code == 400, r.text
    msg = r.json()["error"]["message"]
    assert error.fullmatch(msg) if isinstance(error, re.Pattern) else msg == error, msg


# the compiler driver waits 2 s before each tool it runs (which then never runs)
SLOW = ["-wrapper", "/bin/sh,-c,sleep 2"]


def test_compile_limits_lower_the_compile_stage(srv):
    res = run(srv, {"language": "c", "code": SRC, "compile_args": SLOW,
                    "compile_limits": {"wall_time_ms": 1500}})
    assert res["status"] == "compile_error", res
    assert res["compile"]["status"] == "time_limit_exceeded", res
    assert res["message"] == "compilation failed: wall time limit of 1500 ms exceeded", res
    assert 1500 <= res["compile"]["wall_time_ms"] < 3000, res
    # the same compile under the stage's own limits is not ended at 1.5 s
    res = run(srv, {"language": "c", "code": SRC, "compile_args": SLOW,
                    "compile_limits": {"wall_time_ms": 30000, "memory_mb": 512,
                                       "cpu_time_ms": 100}})
    assert res["status"] == "compile_error" and res["compile"]["wall_time_ms"] >= 2000, res
    assert res["compile"]["status"] != "time_limit_exceeded", res


@pytest.mark.parametrize("body,error", [
    ({"language": "python", "code": "print(1)", "compile_limits": {"wall_time_ms": 5}},
     "compile_limits: python has no compile step"),
    ({"language": "c", "code": SRC, "compile_limits": [5]}, "compile_limits: must be an object"),
    ({"language": "c", "code": SRC, "compile_limits": {"wall_time_ms": 30001}},
     "compile_limits.wall_time_ms: an integer from 1 to 30000 (the compile stage's own)"),
    ({"language": "c", "code": SRC, "compile_limits": {"memory_mb": 4}},
     "compile_limits.memory_mb: an integer from 8 to 1024 (the compile stage's own)"),
    ({"language": "c", "code": SRC, "compile_limits": {"cpu_time_ms": "5"}},
     "compile_limits.cpu_time_ms: an integer from 1 to 30000 (the compile stage's own)"),
    ({"language": "c", "code": SRC, "compile_limits": {"processes": 5}},
     "compile_limits.processes: unknown limit (wall_time_ms, cpu_time_ms, memory_mb)"),
])
def test_invalid_compile_limits(srv, body, error):
    r = srv.execute(body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"] == error
