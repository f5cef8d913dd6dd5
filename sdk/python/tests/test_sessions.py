"""Sessions against the real server: lifecycle, commands, files, watch, contexts, run_code."""
import asyncio
import os
import threading
import time

import pytest

import soulbox


def test_sandbox_info_and_listing(client, other, sandbox):
    info = sandbox.refresh()
    assert (info.id, info.template, info.state) == (sandbox.id, "python", "running")
    assert info.metadata == {"suite": "sdkpy"} and sandbox.metadata == {"suite": "sdkpy"}
    assert 800 < info.timeout_s <= 900 and info.ends_at and info.created_at
    assert info.limits.memory_mb == 512 and info.usage.contexts >= 0
    assert info.network.enabled is False and info.isolation == "namespaces"
    page = client.list_sandboxes(metadata={"suite": "sdkpy"})
    assert [s.id for s in page] == [sandbox.id] and page.total == 1
    assert client.get_sandbox(sandbox.id).template == "python"
    assert [s.id for s in client.list_sandboxes(state="paused")] == []
    with pytest.raises(soulbox.NotFoundError) as ei:
        other.get_sandbox(sandbox.id)
    assert (ei.value.code, ei.value.message, ei.value.status) == ("not_found", "no such sandbox", 404)
    assert sandbox.id not in [s.id for s in other.list_sandboxes()]
    osb = soulbox.Sandbox(other, info)
    with pytest.raises(soulbox.NotFoundError):
        osb.files.read("anything")
    with pytest.raises(soulbox.NotFoundError):
        osb.commands.run("true")
    info = sandbox.set_timeout(1200)
    assert 1100 < info.timeout_s <= 1200


def test_lifecycle_pause_resume_kill(client):
    with client.create_sandbox("base", timeout_s=300) as sb:
        sb.files.write("keep.txt", "kept")
        assert sb.pause().state == "paused"
        with pytest.raises(soulbox.ConflictError) as ei:
            sb.commands.run("true")
        assert ei.value.status == 409 and "paused" in ei.value.message
        with pytest.raises(soulbox.ConflictError):
            sb.pause()
        assert sb.resume().state == "running"
        assert sb.files.read_text("keep.txt") == "kept"
        sid = sb.id
    with pytest.raises(soulbox.NotFoundError):
        client.get_sandbox(sid)


def test_microvm_session(client):
    with client.create_sandbox("base", timeout_s=120, isolation="microvm") as sb:
        assert sb.info.isolation == "microvm"
        assert client.get_sandbox(sb.id).info.isolation == "microvm"
        r = sb.commands.run("uname -r")
        assert r.exit_code == 0 and r.stdout.strip() not in ("", os.uname().release), r.stdout


def test_create_sandbox_errors(client):
    with pytest.raises(soulbox.InvalidRequestError):
        client.create_sandbox("no-such-template")
    with pytest.raises(soulbox.InvalidRequestError) as ei:
        client.create_sandbox("python", timeout_s=10 ** 8)
    assert ei.value.code == "limit_exceeds_max"


def test_command_foreground(sandbox):
    r = sandbox.commands.run("echo out; echo err >&2; exit 3")
    assert (r.stdout, r.stderr, r.exit_code, r.status, r.state) == ("out\n", "err\n", 3, "runtime_error", "exited")
    assert r.config.args == ["-c", "echo out; echo err >&2; exit 3"] and r.pid >= 1
    r = sandbox.commands.run(argv=["python3", "-c", "import os,sys; print(os.getcwd(), os.environ['X'], sys.stdin.read())"],
                             cwd="/tmp", env={"X": "y"}, stdin="in")
    assert (r.stdout, r.status) == ("/tmp y in\n", "ok")
    r = sandbox.commands.run("sleep 5", timeout_ms=200)
    assert (r.status, r.signal) == ("time_limit_exceeded", 9)


def test_command_streamed_with_callbacks_and_iterator(sandbox):
    out, err = [], []
    r = sandbox.commands.run("for i in 1 2 3; do echo line $i; sleep 0.05; done; echo e >&2",
                             on_stdout=out.append, on_stderr=err.append)
    assert "".join(out) == "line 1\nline 2\nline 3\n" and len(out) == 3
    assert "".join(err) == "e\n"
    assert (r.stdout, r.stderr, r.status) == ("line 1\nline 2\nline 3\n", "e\n", "ok")
    with sandbox.commands.stream("echo a; exit 4") as s:
        evs = list(s)
    assert [e.type for e in evs] == ["start", "stdout", "exit"]
    assert evs[1].data == "a\n" and evs[0].pid == evs[2].pid == s.pid
    assert s.result.exit_code == 4 and s.result.status == "runtime_error"


def test_background_command_stdin_reattach_and_signals(sandbox):
    cmds = sandbox.commands
    h = cmds.run("read a; echo got $a; read b; echo got $b", background=True, stdin_open=True, tag="bg")
    assert h.info.state == "running" and h.info.tag == "bg"
    h.send_stdin("one\n")
    h.send_stdin(b"two\n", close=True)
    done = h.wait(timeout=30)
    assert (done.stdout, done.status, done.state) == ("got one\ngot two\n", "ok", "exited")
    evs = list(h)  # reattach after the end: replay, then exit
    assert [e.type for e in evs][0] == "start" and evs[-1].type == "exit"
    assert "".join(e.data for e in evs if e.type == "stdout") == "got one\ngot two\n"
    assert cmds.get(h.pid).stdout == "got one\ngot two\n"
    assert h.pid in [c.pid for c in cmds.list()]
    with pytest.raises(soulbox.ConflictError):
        h.send_stdin("late\n")

    h2 = cmds.run("trap 'echo term; exit 7' TERM; echo ready; while true; do sleep 0.05; done", background=True)
    with cmds.connect(h2.pid) as s:
        for ev in s:
            if ev.type == "stdout" and "ready" in ev.data:
                h2.signal("SIGTERM")
        assert s.result.exit_code == 7
    assert cmds.get(h2.pid).stdout == "ready\nterm\n"

    h3 = cmds.run("sleep 60", background=True)
    h3.kill()
    r3 = h3.wait()
    assert (r3.status, r3.signal) == ("killed", 9)
    with pytest.raises(soulbox.NotFoundError):
        cmds.get(99999)


def test_stream_timeout_between_events(sandbox):
    s = sandbox.commands.stream("echo a; sleep 3; echo b", timeout=1)
    assert next(s).type == "start"
    assert next(s).data == "a\n"
    t = time.monotonic()
    with pytest.raises(soulbox.TimeoutError):
        next(s)
    assert time.monotonic() - t < 2.5

    async def main():
        async with soulbox.AsyncClient() as c:
            asb = await c.get_sandbox(sandbox.id)
            s = await asb.commands.stream("echo a; sleep 3; echo b", timeout=1)
            assert (await s.__anext__()).type == "start"
            assert (await s.__anext__()).data == "a\n"
            with pytest.raises(soulbox.TimeoutError):
                await s.__anext__()
    asyncio.run(main())


def test_pty_command_and_resize(sandbox):
    r = sandbox.commands.run("stty size; tty -s && echo is-a-tty", pty=True, rows=30, cols=100)
    assert (r.stdout, r.status) == ("30 100\r\nis-a-tty\r\n", "ok")
    h = sandbox.commands.run("read x; stty size", background=True, pty=True)
    sandbox.commands.signal(h.pid, None, rows=40, cols=120)
    h.send_stdin("go\n")
    assert h.wait(timeout=30).stdout.endswith("40 120\r\n")


def test_files(sandbox):
    f = sandbox.files
    e = f.write("data/hello.txt", "hello, file")
    assert (e.path, e.type, e.size, e.permissions) == ("/home/user/data/hello.txt", "file", 11, "-rw-r--r--")
    assert f.read("/workspace/data/hello.txt") == b"hello, file"
    assert f.read("~/data/hello.txt", offset=7, length=4) == b"file"
    assert f.read_text("data/hello.txt") == "hello, file"
    written = f.write_files({"a.bin": b"\x00\x01\xff", "sub/b.txt": "bee"}, path="/home/user/up")
    assert sorted(x.path for x in written) == ["/home/user/up/a.bin", "/home/user/up/sub/b.txt"]
    assert f.read("up/a.bin") == b"\x00\x01\xff"
    assert sorted(x.path for x in f.list("up", depth=2)) == [
        "/home/user/up/a.bin", "/home/user/up/sub", "/home/user/up/sub/b.txt"]
    assert [x.name for x in f.list("up")] != [] and f.stat("up/sub").type == "dir"
    assert f.exists("up/sub/b.txt") and not f.exists("up/nope")
    f.mkdir("made/deep")
    assert f.stat("made/deep").type == "dir"
    with pytest.raises(soulbox.ConflictError):
        f.mkdir("data/hello.txt")
    f.move("data/hello.txt", "/tmp/moved.txt")
    assert f.read_text("/tmp/moved.txt") == "hello, file" and not f.exists("data/hello.txt")
    f.remove("up")
    assert not f.exists("up")
    with pytest.raises(soulbox.NotFoundError) as ei:
        f.read("nope.txt")
    assert "nope.txt" in ei.value.message and ei.value.request_id
    with pytest.raises(soulbox.InvalidRequestError) as ei:
        f.write("/usr/bin/x", "x")
    assert "EROFS" in ei.value.message


def test_watch(sandbox):
    sandbox.files.mkdir("watched")
    with sandbox.files.watch("watched", recursive=True) as w:
        sandbox.files.write("watched/a.txt", "1")
        sandbox.files.remove("watched/a.txt")
        got = []
        for ev in w:
            got.append((ev.type, ev.path, ev.dir))
            if ev.type == "removed":
                break
    assert got[0] == ("created", "/home/user/watched/a.txt", False)
    assert got[-1] == ("removed", "/home/user/watched/a.txt", False)
    with pytest.raises(soulbox.NotFoundError) as ei:
        sandbox.files.watch("/no/such/dir")
    assert ei.value.code == "watch_failed"


def test_watch_closed_from_another_thread_ends_iteration(sandbox):
    w = sandbox.files.watch("/home/user")
    threading.Timer(0.3, w.close).start()
    t = time.monotonic()
    assert list(w) == []
    assert time.monotonic() - t < 5


def test_contexts_and_run_code(sandbox):
    r = sandbox.run_code("x = 6 * 7\nprint('computing')\nx")
    assert (r.text, r.logs.stdout, r.error) == ("42", ["computing\n"], None)
    assert r.results[0].is_main and r.execution_count >= 1
    assert sandbox.run_code("x + 1").text == "43"  # state persists in the default context
    ctx = sandbox.create_context("python", cwd="/tmp/ctx")
    assert (ctx.language, ctx.cwd) == ("python", "/tmp/ctx")
    assert ctx.id in [c.id for c in sandbox.list_contexts()]
    sandbox.run_code("y = 5", context=ctx)
    assert sandbox.run_code("import os; (y, os.getcwd())", context=ctx).text == "(5, '/tmp/ctx')"
    err = sandbox.run_code("""
        def f():
            raise ValueError('bad')
        f()
        """, context=ctx)
    assert (err.error.name, err.error.value) == ("ValueError", "bad")
    assert "<cell-" in err.error.traceback
    assert sandbox.restart_context(ctx).id == ctx.id
    assert sandbox.run_code("y", context=ctx).error.name == "NameError"
    seen = []
    t = threading.Timer(0.5, lambda: sandbox.interrupt_context(ctx))
    t.start()
    r = sandbox.run_code("import time\nprint('start', flush=True)\ntime.sleep(30)", context=ctx,
                         on_stdout=seen.append, on_error=seen.append)
    assert r.error.name == "KeyboardInterrupt" and seen[0] == "start\n"
    assert isinstance(seen[-1], soulbox.CodeError)
    sandbox.delete_context(ctx)
    assert ctx.id not in [c.id for c in sandbox.list_contexts()]
    with pytest.raises(soulbox.NotFoundError):
        sandbox.run_code("1", context=ctx.id)
    b = sandbox.run_code("echo hi from bash", language="bash")
    assert b.logs.stdout == ["hi from bash\n"] and b.results == []


def test_rich_results_png_html_json(client):
    with client.create_sandbox("code-interpreter", timeout_s=300) as sb:
        results = []
        ex = sb.run_code("""
            import pandas as pd
            import matplotlib.pyplot as plt
            df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
            plt.plot(df["a"], df["b"])
            plt.show()
            df
            """, on_result=results.append)
        assert ex.error is None, ex.error
        chart, table = ex.results
        assert results == ex.results
        assert not chart.is_main and chart.png[:8] == b"\x89PNG\r\n\x1a\n"
        assert "image/png" in chart.formats() and isinstance(chart.raw["image/png"], str)
        assert table.is_main and "<table" in table.html and table.text.startswith("   a  b")
        j = sb.run_code("{'k': [1, 2]}")
        assert j.results[0].json == {"k": [1, 2]}
        js = sb.run_code("const o = {a: 1}; o", language="javascript")
        assert js.results[0].json == {"a": 1}


def test_async_sessions(client):
    async def main():
        async with soulbox.AsyncClient() as c:
            async with await c.create_sandbox("python", timeout_s=300) as sb:
                assert sb.state == "running"
                r = await sb.commands.run("echo hi")
                assert r.stdout == "hi\n"
                chunks = []
                r = await sb.commands.run("echo a; echo b", on_stdout=chunks.append)
                assert "".join(chunks) == "a\nb\n" == r.stdout
                h = await sb.commands.run("cat", background=True, stdin_open=True)
                await h.send_stdin("echo\n", close=True)
                assert (await h.wait()).stdout == "echo\n"
                assert [e.type async for e in h][-1] == "exit"
                s = await sb.commands.stream("echo streamed")
                evs = [e async for e in s]
                assert [e.type for e in evs] == ["start", "stdout", "exit"]
                await sb.files.write("a.txt", b"abc")
                assert await sb.files.read("a.txt", offset=1) == b"bc"
                await sb.files.write_files([("d/1.txt", "1")])
                assert [e.name for e in await sb.files.list("d")] == ["1.txt"]
                assert await sb.files.exists("d/1.txt") and not await sb.files.exists("d/2.txt")
                await sb.files.mkdir("m")
                await sb.files.move("a.txt", "m/a.txt")
                assert (await sb.files.stat("m/a.txt")).size == 3
                w = await sb.files.watch("m")
                await sb.files.write("m/new.txt", "n")
                async for ev in w:
                    assert (ev.type, ev.path) == ("created", "/home/user/m/new.txt")
                    break
                w.close()
                await sb.files.remove("m")
                ctx = await sb.create_context("python")
                out = []

                async def on_out(t):
                    out.append(t)
                ex = await sb.run_code("print('a')\n1 + 1", context=ctx, on_stdout=on_out)
                assert (ex.text, out) == ("2", ["a\n"])
                assert len(await sb.list_contexts()) == 1
                await sb.restart_context(ctx)
                await sb.interrupt_context(ctx)
                await sb.delete_context(ctx)
                assert (await sb.refresh()).usage.contexts == 0
                assert (await sb.set_timeout(100)).timeout_s <= 100
                assert (await c.get_sandbox(sb.id)).id == sb.id
                assert sb.id in [x.id for x in await c.list_sandboxes()]
                sid = sb.id
            with pytest.raises(soulbox.NotFoundError):
                await c.get_sandbox(sid)
    asyncio.run(main())
