"""Executions against the real server: execute, errors, async executions, streaming, service."""
import asyncio
import os

import pytest

import soulbox

C_DOUBLE = r"""
#include <stdio.h>
int main(void) { int a; if (scanf("%d", &a) != 1) return 1; printf("%d\n", a * 2); return 0; }
"""


def test_the_brief_example_dedents_indented_code(client):
    result = client.execute(
        language="python",
        code="""
        import numpy as np
        print(np.random.rand(3, 3).shape)
        """
    )
    assert result.stdout == "(3, 3)\n"
    assert (result.status, result.exit_code, result.signal, result.truncated) == ("ok", 0, None, False)
    assert len(result.id) == 36 and result.execution_time.endswith("ms")
    assert result.wall_time_ms >= 0 and result.memory_kb > 0


def test_dedent_false_sends_the_text_as_it_is(client):
    r = client.execute("python", "\n    print(1)\n", dedent=False)
    assert r.status == "runtime_error"
    assert "IndentationError" in r.stderr


def test_execute_with_files_stdin_args_env(client):
    r = client.execute("python", files=[
        {"name": "main.py", "content": "import sys, os, helper\nprint(helper.twice(sys.stdin.read().strip()), sys.argv[1:], os.environ['GREETING'])"},
        {"name": "helper.py", "content": b"def twice(s):\n    return s * 2\n"},
    ], stdin="ab\n", args=["x", "y z"], env={"GREETING": "hi"})
    assert r.stdout == "abab ['x', 'y z'] hi\n"
    assert r.exit_code == 0


def test_runtime_error_and_exit_code(client):
    r = client.execute("bash", "echo out; echo err >&2; exit 3")
    assert (r.stdout, r.stderr, r.exit_code, r.status) == ("out\n", "err\n", 3, "runtime_error")


def test_time_limit(client):
    r = client.execute("python", "while True: pass", limits={"wall_time_ms": 300, "cpu_time_ms": 300})
    assert r.status == "time_limit_exceeded"
    assert r.exit_code is None and r.signal == 9


def test_judge_test_cases(client):
    r = client.execute("c", C_DOUBLE, test_cases=[
        {"stdin": "2", "expected_output": "4"},
        {"stdin": "3", "expected_output": "7"},
        {"stdin": "5"},
    ])
    assert [t.verdict for t in r.test_cases] == ["accepted", "wrong_answer", "ok"]
    assert [t.stdout for t in r.test_cases] == ["4\n", "6\n", "10\n"]
    assert [t.index for t in r.test_cases] == [0, 1, 2]
    assert (r.summary.total, r.summary.accepted, r.summary.verdict) == (3, 1, "wrong_answer")
    assert r.compile is not None and r.compile.status == "ok"
    assert r.compile_output == ""


def test_compile_error(client):
    r = client.execute("c", "int main( { return 0; }")
    assert r.status == "compile_error"
    assert "error" in r.compile_output


C_ANSWER = r"""
#include <stdio.h>
int main(void) { printf("%d\n", ANSWER); return 0; }
"""


def test_compile_args(client):
    r = client.execute("c", C_ANSWER, compile_args=["-DANSWER=42"])
    assert (r.stdout, r.status, r.exit_code) == ("42\n", "ok", 0)
    assert client.execute("c", C_ANSWER).status == "compile_error"  # ANSWER undeclared
    with client.stream("c", C_ANSWER, compile_args=["-DANSWER=43"]) as s:
        assert s.wait().stdout == "43\n"
    sub = client.submit("c", C_ANSWER, compile_args=["-DANSWER=44"])
    assert client.wait_execution(sub.id, timeout=60).stdout == "44\n"
    with pytest.raises(soulbox.InvalidRequestError) as ei:
        client.execute("python", "print(1)", compile_args=["-O0"])
    e = ei.value
    assert (e.code, e.status) == ("invalid_argument", 400)
    assert e.message == "compile_args: python has no compile step" and e.request_id

    async def main():
        async with soulbox.AsyncClient() as c:
            r = await c.execute("c", C_ANSWER, compile_args=["-DANSWER=45"])
            assert r.stdout == "45\n"
            with pytest.raises(soulbox.InvalidRequestError) as ei:
                await c.execute("python", "print(1)", compile_args=["-O0"])
            assert ei.value.message == "compile_args: python has no compile step"
    asyncio.run(main())


# the compiler driver waits 2 s before each tool it runs (which then never runs)
SLOW_COMPILE = ["-wrapper", "/bin/sh,-c,sleep 2"]
C_EMPTY = "int main(void) { return 0; }\n"


def test_compile_limits(client):
    r = client.execute("c", C_EMPTY, compile_args=SLOW_COMPILE,
                       compile_limits={"wall_time_ms": 700})
    assert (r.status, r.compile.status) == ("compile_error", "time_limit_exceeded"), r
    assert r.message == "compilation failed: wall time limit of 700 ms exceeded"
    sub = client.submit("c", C_EMPTY, compile_args=SLOW_COMPILE,
                        compile_limits={"wall_time_ms": 700})
    ex = client.wait_execution(sub.id, timeout=60)
    assert ex.status == "compile_error"
    assert ex.message == "compilation failed: wall time limit of 700 ms exceeded"
    with pytest.raises(soulbox.InvalidRequestError) as ei:
        client.execute("python", "print(1)", compile_limits={"wall_time_ms": 5})
    e = ei.value
    assert (e.code, e.status) == ("invalid_argument", 400)
    assert e.message == "compile_limits: python has no compile step" and e.request_id

    async def main():
        async with soulbox.AsyncClient() as c:
            r = await c.execute("c", C_EMPTY, compile_args=SLOW_COMPILE,
                                compile_limits={"wall_time_ms": 700})
            assert (r.status, r.compile.status) == ("compile_error", "time_limit_exceeded"), r
            assert r.message == "compilation failed: wall time limit of 700 ms exceeded"
            with pytest.raises(soulbox.InvalidRequestError) as ei:
                await c.execute("python", "print(1)", compile_limits={"wall_time_ms": 5})
            assert ei.value.message == "compile_limits: python has no compile step"
    asyncio.run(main())


def test_return_files(client):
    r = client.execute("bash", "mkdir -p out; printf 'abc' > out/a.txt", return_files=["out/**"])
    assert [(f.name, f.size, f.content) for f in r.files] == [("out/a.txt", 3, b"abc")]


def test_unknown_language_error(client):
    with pytest.raises(soulbox.UnknownLanguageError) as ei:
        client.execute("cobol", "x")
    e = ei.value
    assert (e.code, e.status) == ("unknown_language", 422)
    assert "cobol" in e.message and e.request_id and len(e.request_id) >= 16


def test_invalid_request_and_limit_exceeds_max(client):
    with pytest.raises(soulbox.InvalidRequestError) as ei:
        client.execute("python", "x", extra={"bogus": 1})
    assert (ei.value.code, ei.value.status) == ("invalid_argument", 400)
    with pytest.raises(soulbox.InvalidRequestError) as ei:
        client.execute("python", "x", limits={"memory_mb": 10 ** 7})
    assert ei.value.code == "limit_exceeds_max" and ei.value.request_id


def test_wrong_key_is_authentication_error():
    with soulbox.Client(api_key="wrong-key-0123456789") as c:
        with pytest.raises(soulbox.AuthenticationError) as ei:
            c.execute("python", "print(1)")
    assert (ei.value.code, ei.value.status) == ("unauthenticated", 401)
    assert ei.value.request_id


def test_submit_wait_get_list(client, other):
    for _ in range(4):
        client.execute("bash", "true")
    sub = client.submit("python", "print('queued')")
    assert sub.status == "queued" and len(sub.id) == 36
    ex = client.wait_execution(sub.id, timeout=60)
    assert (ex.status, ex.stdout, ex.mode, ex.language, ex.id) == ("ok", "queued\n", "async", "python", sub.id)
    assert ex.done and ex.created_at and ex.finished_at
    assert client.get_execution(sub.id).stdout == "queued\n"
    with pytest.raises(soulbox.NotFoundError) as ei:
        other.get_execution(sub.id)
    assert ei.value.status == 404 and ei.value.code == "not_found"
    page = client.list_executions(limit=2)
    assert len(page.items) == 2 and page.next_cursor
    assert page.items[0].id == sub.id
    ids = [e.id for e in client.iter_executions(limit=2)]
    assert ids[0] == sub.id and len(ids) == len(set(ids)) >= 5
    assert sub.id not in [e.id for e in other.iter_executions(limit=100)]


def test_wait_execution_timeout(client):
    sub = client.submit("bash", "sleep 2")
    with pytest.raises(soulbox.TimeoutError):
        client.wait_execution(sub.id, timeout=0.3, poll_interval=0.1)
    assert client.wait_execution(sub.id, timeout=30).status == "ok"


def test_get_unknown_execution(client):
    with pytest.raises(soulbox.NotFoundError):
        client.get_execution("00000000-0000-0000-0000-000000000000")


def test_stream_with_interactive_stdin(client):
    code = "name = input('Name? ')\nprint('Hello,', name)\nprint(input())"
    with client.stream("python", code) as s:
        types, out = [], []
        for ev in s:
            types.append(ev.type)
            if ev.type == "started":
                assert len(ev.id) == 36
                s.send_stdin("Ada\n")
            elif ev.type == "stdout":
                out.append(ev.data)
                if "Hello, Ada\n" in "".join(out) and "second" not in "".join(out):
                    s.send_stdin("second\n")
                    s.close_stdin()
        assert types[0] == "started" and types[-1] == "exit"
        assert "".join(out) == "Name? Hello, Ada\nsecond\n"
        assert s.result.stdout == "Name? Hello, Ada\nsecond\n"
        assert s.result.status == "ok" and s.result.id == s.id


def test_stream_kill(client):
    with client.stream("python", "import time\nprint('ready', flush=True)\ntime.sleep(60)") as s:
        for ev in s:
            if ev.type == "stdout" and "ready" in ev.data:
                s.kill()
        r = s.result
    assert (r.status, r.signal, r.message) == ("runtime_error", 9, "killed on request")


SIGINT_PROGRAM = """import signal, sys, time
def on_int(*_):
    print('caught', flush=True)
    sys.exit(3)
signal.signal(signal.SIGINT, on_int)
print('ready', flush=True)
time.sleep(30)
"""


def test_stream_signal_reaches_the_program(client):
    with client.stream("python", SIGINT_PROGRAM) as s:
        out = ""
        for ev in s:
            if ev.type == "stdout":
                out += ev.data
                if out == "ready\n":
                    s.signal("SIGINT")
        r = s.result
    assert (r.status, r.exit_code, r.stdout) == ("runtime_error", 3, "ready\ncaught\n")


def test_async_stream_signal_reaches_the_program():
    async def main():
        async with soulbox.AsyncClient() as c:
            s = await c.stream("python", SIGINT_PROGRAM)
            async with s:
                out = ""
                async for ev in s:
                    if ev.type == "stdout":
                        out += ev.data
                        if out == "ready\n":
                            await s.signal("SIGINT")
            return s.result
    r = asyncio.run(main())
    assert (r.status, r.exit_code, r.stdout) == ("runtime_error", 3, "ready\ncaught\n")


def test_stream_refused_execute_raises_its_typed_error(client):
    with client.stream("cobol", "x") as s:
        with pytest.raises(soulbox.UnknownLanguageError) as ei:
            next(iter(s))
    assert (ei.value.code, ei.value.status) == ("unknown_language", 422)
    with client.stream("python", "x", limits={"memory_mb": 10 ** 7}) as s:
        with pytest.raises(soulbox.InvalidRequestError) as ei:
            s.wait()
    assert ei.value.code == "limit_exceeds_max"


def test_stream_wrong_key():
    with soulbox.Client(api_key="nope-nope-nope-nope") as c:
        with pytest.raises(soulbox.AuthenticationError) as ei:
            c.stream("python", "print(1)")
    assert ei.value.status == 401


def test_service_calls(client):
    h = client.health()
    assert h.status == "ok" and h.languages_ready is True and h.version == "0.1.0"
    langs = client.languages()
    assert sorted(langs.names()) == ["bash", "c", "cpp", "go", "javascript", "python"]
    py = [lang for lang in langs.languages if lang.name == "python"][0]
    assert "py" in py.aliases and py.compiled is False and py.version.startswith("3.")
    assert h.store == "sqlite" and h.cluster is None
    cl = client.cluster()
    assert (cl.store, cl.database, len(cl.nodes)) == ("sqlite", "up", 1)
    me = cl.nodes[0]
    assert me.self is True and me.state == "up" and me.id == cl.node and me.name == cl.name
    assert "python" in me.languages and me.capacity >= 1
    m = client.metrics()
    assert "# TYPE soulbox_" in m and "soulbox_sessions_live" in m
    names = [t.name for t in client.templates()]
    assert names == ["base", "code-interpreter", "node", "python"]


def test_async_client_executions():
    async def main():
        async with soulbox.AsyncClient() as c:
            r = await c.execute("python", """
                print(6 * 7)
                """)
            assert (r.stdout, r.status) == ("42\n", "ok")
            with pytest.raises(soulbox.UnknownLanguageError) as ei:
                await c.execute("cobol", "x")
            assert ei.value.request_id
            sub = await c.submit("bash", "echo async")
            ex = await c.wait_execution(sub.id, timeout=60)
            assert ex.stdout == "async\n"
            ids = []
            async for e in c.iter_executions(limit=1):  # a page per execution
                ids.append(e.id)
            assert ids[0] == sub.id and len(ids) == len(set(ids)) >= 2
            assert ex.id == sub.id and r.id in ids
            s = await c.stream("bash", "read a; echo got $a")
            async with s:
                out = []
                async for ev in s:
                    if ev.type == "started":
                        await s.send_stdin("x\n")
                        await s.close_stdin()
                    elif ev.type == "stdout":
                        out.append(ev.data)
            assert "".join(out) == "got x\n" and s.result.exit_code == 0
            bad = await c.stream("cobol", "x")
            with pytest.raises(soulbox.UnknownLanguageError):
                async for _ in bad:
                    pass
            await bad.close()
            assert (await c.health()).status == "ok"
            assert "python" in (await c.languages()).names()
            assert (await c.cluster()).store == "sqlite"
            assert "soulbox_" in await c.metrics()
            assert len(await c.templates()) == 4
    asyncio.run(main())


def test_env_defaults_are_used():
    assert os.environ["SOULBOX_URL"].startswith("http://127.0.0.1:")
    with soulbox.Client() as c:
        assert c.url == os.environ["SOULBOX_URL"]
        assert c.execute("bash", "echo ok").stdout == "ok\n"
