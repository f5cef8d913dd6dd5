"""compile_args: more of the compiler's arguments, before its sources (after the
language's own options, so the request's win); only for languages with a compile step;
part of the compile cache's key; bounded like args."""
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
