"""The serverless functions' language runtimes (src/service/fnrt/), run directly
as subprocesses: no sandbox, no server. Each test writes the user's module and
the runtime (under the name SoulBox gives it) into a tmp_path and talks the
runtime's protocol over its stdin and stdout."""
import base64
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import ROOT

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
NODE = "/usr/bin/node" if os.path.exists("/usr/bin/node") else shutil.which("node")
RUNTIMES = {
    "python": (PYTHON, "src/service/fnrt/python.py", "__soulbox_fn__.py"),
    "node": (NODE, "src/service/fnrt/javascript.js", "__soulbox_fn__.cjs"),
}
TRUNCATED = "\n[logs truncated]"
CTX = {"function_name": "fn", "function_version": 3, "request_id": "req-1",
       "deadline_ms": 4102444800000, "memory_limit_mb": 256}


def inv(id, event, **context):
    return json.dumps({"id": id, "event": event, "context": dict(CTX, **context)}) + "\n"


def ok(id, value, logs="", is_bytes=False):
    return {"type": "response", "id": id, "ok": True, "value": value, "bytes": is_bytes,
            "logs": logs}


def err(id, type, message, stack, logs=""):
    return {"type": "response", "id": id, "ok": False,
            "error": {"type": type, "message": message, "stack": stack}, "logs": logs}


def protocol_error(id, message):
    return {"type": "response", "id": id, "ok": False,
            "error": {"type": "ProtocolError", "message": message}}


def init_error(type, message, stack=""):
    return {"type": "init_error", "error": {"type": type, "message": message, "stack": stack}}


READY = {"type": "ready"}


def parse(out):
    """The protocol lines of out: each one line of compact JSON."""
    assert out == "" or out.endswith("\n"), out
    msgs = []
    for line in out.splitlines():
        msg = json.loads(line)
        if line.isascii():
            assert line == json.dumps(msg, separators=(",", ":")), line
        msgs.append(msg)
    return msgs


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err
        self.msgs = parse(out)

    def __repr__(self):
        return f"Result(code={self.code}, out={self.out[:500]!r}, err={self.err[-1000:]!r})"


class Fn:
    """A function's working directory with its files and the runtime."""

    def __init__(self, lang, path):
        exe, src, name = RUNTIMES[lang]
        if exe is None:
            pytest.skip(f"no {lang} here")
        self.lang, self.dir, self.exe, self.name = lang, path, exe, name
        shutil.copy(os.path.join(ROOT, src), path / name)

    def file(self, name, src):
        p = self.dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(src)
        return str(p)

    def argv(self, mode, module, function="handler", *extra):
        return [self.exe, self.name, mode, module, function, *extra]

    def run(self, mode, module, stdin="", function="handler", *extra, timeout=30):
        p = subprocess.run(self.argv(mode, module, function, *extra), cwd=self.dir, input=stdin,
                           capture_output=True, text=True, timeout=timeout)
        return Result(p.returncode, p.stdout, p.stderr)

    def start(self, module, *extra, function="handler"):
        return subprocess.Popen(self.argv("loop", module, function, *extra), cwd=self.dir,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, bufsize=1)


@pytest.fixture
def py(tmp_path):
    return Fn("python", tmp_path)


@pytest.fixture
def js(tmp_path):
    return Fn("node", tmp_path)


@pytest.fixture(params=["python", "node"])
def fn(request, tmp_path):
    return Fn(request.param, tmp_path)


def module(fn, py_src, js_src):
    """Writes the language's module and returns its name."""
    if fn.lang == "python":
        fn.file("main.py", py_src)
        return "main.py"
    fn.file("index.js", js_src)
    return "index.js"


# ---- once mode: return values ----

RETURNS = {
    "dict": ('{"a": 1, "b": [True, None], "event": event}',
             '({a: 1, b: [true, null], event})',
             {"a": 1, "b": [True, None], "event": {"x": 1}}, False),
    "string": ('"héllo\\n"', '"héllo\\n"', "héllo\n", False),
    "list": ('[1, "two", {"three": 3}]', '[1, "two", {three: 3}]', [1, "two", {"three": 3}], False),
    "none": ("None", "undefined", None, False),
    "bytes": ('b"\\x00\\xffbin"', 'Buffer.from([0, 255, 98, 105, 110])',
              base64.b64encode(b"\x00\xffbin").decode(), True),
    "body": ('{"statusCode": 200, "body": bytearray(b"\\x89PNG")}',
             '({statusCode: 200, body: new Uint8Array([0x89, 0x50, 0x4e, 0x47])})',
             {"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(), "is_base64": True},
             False),
}


@pytest.mark.parametrize("kind", RETURNS)
def test_once_return_values(fn, kind):
    py_value, js_value, want, is_bytes = RETURNS[kind]
    m = module(fn, f"def handler(event, context):\n    return {py_value}\n",
               f"exports.handler = (event, context) => {js_value};\n")
    r = fn.run("once", m, inv("i1", {"x": 1}))
    assert r.code == 0, r
    assert r.msgs == [ok("i1", want, is_bytes=is_bytes)]


def test_once_reads_exactly_one_invocation(fn):
    m = module(fn, "def handler(event, context):\n    return event\n",
               "exports.handler = (event) => event;\n")
    r = fn.run("once", m, "\n" + inv("a", 1) + inv("b", 2))
    assert (r.code, r.msgs) == (0, [ok("a", 1)]), r


def test_once_without_an_invocation(fn):
    m = module(fn, "def handler(event, context):\n    return 1\n", "exports.handler = () => 1;\n")
    r = fn.run("once", m, "")
    assert (r.code, r.msgs) == (1, [init_error("ProtocolError", "no invocation on stdin")]), r


def test_context(fn):
    m = module(fn, """
def handler(event, context):
    left = context.get_remaining_time_ms()
    return [context.function_name, context.function_version, context.request_id,
            context.deadline_ms, context.memory_limit_mb, 0 < left <= 5000]
""", """
exports.handler = (event, context) => {
    const left = context.getRemainingTimeInMillis();
    return [context.function_name, context.function_version, context.request_id,
            context.deadline_ms, context.memory_limit_mb, 0 < left && left <= 5000];
};
""")
    deadline = int(time.time() * 1000) + 5000
    r = fn.run("once", m, inv("c", {}, deadline_ms=deadline))
    assert r.msgs == [ok("c", ["fn", 3, "req-1", deadline, 256, True])], r


# ---- loop mode ----

def test_loop_state_persists(fn):
    m = module(fn, """
count = 0
def handler(event, context):
    global count
    count += event["add"]
    return count
""", """
let count = 0;
exports.handler = (event) => { count += event.add; return count; };
""")
    r = fn.run("loop", m, inv("1", {"add": 1}) + inv("2", {"add": 10}) + "\n" + inv("3", {"add": 100}))
    assert r.code == 0, r
    assert r.msgs == [READY, ok("1", 1), ok("2", 11), ok("3", 111)]


def test_loop_without_invocations(fn):
    m = module(fn, "def handler(event, context):\n    return 1\n", "exports.handler = () => 1;\n")
    r = fn.run("loop", m, "")
    assert (r.code, r.msgs) == (0, [READY]), r


def test_bad_lines_then_a_good_one(fn):
    m = module(fn, "def handler(event, context):\n    return event\n",
               "exports.handler = (event) => event;\n")
    lines = ["not json\n", '[1, 2]\n', '{"event": {}}\n', '{"id": true, "event": {}}\n',
             '{"id": "e"}\n', '{"id": "c", "event": 1, "context": [1]}\n', inv("good", {"k": "v"})]
    r = fn.run("loop", m, "".join(lines))
    assert r.code == 0, r
    assert r.msgs[0] == READY
    bad = r.msgs[1]
    assert bad["error"]["message"].startswith("the line is not JSON: "), r
    if fn.lang == "python":
        assert bad["error"]["message"] == ("the line is not JSON: "
                                           "Expecting value: line 1 column 1 (char 0)")
    bad["error"]["message"] = "-"
    assert r.msgs[1:] == [
        protocol_error(None, "-"),
        protocol_error(None, "the line is not a JSON object"),
        protocol_error(None, "the invocation has no id"),
        protocol_error(None, "the invocation has no id"),
        protocol_error("e", "the invocation has no event"),
        protocol_error("c", "the invocation's context is not an object"),
        ok("good", {"k": "v"}),
    ]


def test_stdin_is_not_the_handlers(fn):
    """The handler reading stdin gets nothing: the invocations are the runtime's."""
    m = module(fn, """
import sys, subprocess
def handler(event, context):
    child = subprocess.run(["cat"], capture_output=True, text=True).stdout
    return [sys.stdin.read(), child]
""", """
const { execFileSync } = require('child_process');
exports.handler = async () => {
    const child = execFileSync('cat', { stdio: ['inherit', 'pipe', 'inherit'] }).toString();
    let own = '';
    for await (const chunk of process.stdin) own += chunk;
    return [own, child];
};
""")
    r = fn.run("loop", m, inv("1", {}) + inv("2", {}))
    assert r.msgs == [READY, ok("1", ["", ""]), ok("2", ["", ""])], r


def test_runtime_globals_are_not_visible(fn):
    m = module(fn, """
import sys, __main__
def handler(event, context):
    return [sorted(k for k in vars(__main__) if not k.startswith("__")), sys.argv, __name__]
""", """
exports.handler = () => [typeof emit, typeof als, typeof load, process.argv.length,
                         process.argv[1].endsWith('index.js')];
""")
    r = fn.run("once", m, inv("g", {}))
    want = [[], ["main.py"], "main"] if fn.lang == "python" else \
        ["undefined", "undefined", "undefined", 2, True]
    assert r.msgs == [ok("g", want)], r


# ---- logs ----

def test_logs_per_invocation_and_cut(fn):
    m = module(fn, """
import sys
def handler(event, context):
    print("start", event["id"])
    sys.stderr.write(event["text"] * event["times"])
    sys.stdout.buffer.write(b"bin\\n")
    return event["id"]
""", """
exports.handler = (event) => {
    console.log('start', event.id);
    console.error(event.text.repeat(event.times));
    process.stdout.write(Buffer.from('bin\\n'));
    return event.id;
};
""")
    end = "bin\n" if fn.lang == "python" else "\nbin\n"
    r = fn.run("loop", m, inv("1", {"id": 1, "text": "a", "times": 3})
               + inv("2", {"id": 2, "text": "x", "times": 100000})
               + inv("3", {"id": 3, "text": "€", "times": 30000})
               + inv("4", {"id": 4, "text": "b", "times": 2}))
    assert r.code == 0, r
    assert r.msgs[0] == READY
    assert r.msgs[1] == ok("1", 1, "start 1\naaa" + end)
    assert r.msgs[2] == ok("2", 2, ("start 2\n" + "x" * 100000)[:65536] + TRUNCATED)
    # the cut never splits a character: 65536 - 8 bytes hold 21842 whole euros
    assert r.msgs[3] == ok("3", 3, "start 3\n" + "€" * 21842 + TRUNCATED)
    assert r.msgs[4] == ok("4", 4, "start 4\nbb" + end)


def test_logs_of_exactly_the_limit_are_whole(fn):
    m = module(fn, "import sys\ndef handler(event, context):\n    sys.stdout.write('y' * 65536)\n",
               "exports.handler = () => { process.stdout.write('y'.repeat(65536)); };\n")
    r = fn.run("once", m, inv("1", {}))
    assert r.msgs == [ok("1", None, "y" * 65536)], r


def test_stray_output_goes_to_stderr(fn):
    m = module(fn, """
import os, subprocess, sys
print("printed at import")
def handler(event, context):
    print("captured")
    os.write(1, b"raw fd 1\\n")
    os.write(2, b"raw fd 2\\n")
    sys.__stdout__.write("real stdout object\\n")
    sys.__stdout__.flush()
    subprocess.run(["echo", "from a child"])
    return "done"
""", """
const fs = require('fs');
const { execSync } = require('child_process');
console.log('printed at import');
exports.handler = () => {
    console.log('captured');
    fs.writeSync(1, 'raw fd 1\\n');
    fs.writeSync(2, 'raw fd 2\\n');
    execSync('echo from a child', { stdio: 'inherit' });
    return 'done';
};
""")
    r = fn.run("loop", m, inv("1", {}) + inv("2", {}))
    assert r.code == 0, r
    assert r.msgs == [READY, ok("1", "done", "captured\n"), ok("2", "done", "captured\n")]
    for text in ("printed at import", "raw fd 1", "raw fd 2", "from a child"):
        assert r.err.count(text) == (1 if text == "printed at import" else 2), r
    if fn.lang == "python":
        assert r.err.count("real stdout object") == 2, r


# ---- errors ----

def test_exception(fn):
    if fn.lang == "python":
        path = fn.file("main.py", """def check(event):
    raise ValueError("bad input: %s" % event)

def handler(event, context):
    print("checking")
    check(event)
""")
        stack = (f'Traceback (most recent call last):\n'
                 f'  File "{path}", line 6, in handler\n    check(event)\n'
                 f'  File "{path}", line 2, in check\n'
                 f'    raise ValueError("bad input: %s" % event)\n'
                 f'ValueError: bad input: 7\n')
        want = err("x", "ValueError", "bad input: 7", stack, "checking\n")
        m = "main.py"
    else:
        path = fn.file("index.js", """function check(event) {
    throw new RangeError('bad input: ' + event);
}
function handler(event) {
    console.log('checking');
    check(event);
}
exports.handler = handler;
""")
        stack = (f"RangeError: bad input: 7\n    at check ({path}:2:11)\n"
                 f"    at handler ({path}:6:5)")
        want = err("x", "RangeError", "bad input: 7", stack, "checking\n")
        m = "index.js"
    r = fn.run("loop", m, inv("x", 7) + inv("y", 8))
    assert r.code == 0, r
    assert r.msgs[:2] == [READY, want]
    assert r.msgs[2]["id"] == "y" and r.msgs[2]["error"]["message"] == "bad input: 8"


def test_node_throwing_a_non_error(js):
    js.file("index.js", "exports.handler = async (e) => { throw e ? 'plain string' : {code: 4}; };\n")
    r = js.run("loop", "index.js", inv("1", 1) + inv("2", 0))
    assert r.msgs == [READY, err("1", "Error", "plain string", ""),
                      err("2", "Error", "{ code: 4 }", "")], r


@pytest.mark.parametrize("kind", ["unserializable", "nan_or_cycle"])
def test_not_json_serializable(fn, kind):
    m = module(fn, """
import datetime
def handler(event, context):
    print("made it")
    if event == "unserializable":
        return {"when": datetime.date(2024, 1, 2)}
    return [1.0, float("nan")]
""", """
exports.handler = (event) => {
    console.log('made it');
    if (event === 'unserializable') return { big: 10n };
    const a = { name: 'a' };
    a.self = a;
    return a;
};
""")
    r = fn.run("loop", m, inv("1", kind) + inv("2", kind))
    assert r.code == 0, r
    why = {("python", "unserializable"): "Object of type date is not JSON serializable",
           ("python", "nan_or_cycle"): "Out of range float values are not JSON compliant",
           ("node", "unserializable"): "Do not know how to serialize a BigInt",
           ("node", "nan_or_cycle"): ("Converting circular structure to JSON\n"
                                      "    --> starting at object with constructor 'Object'\n"
                                      "    --- property 'self' closes the circle")}[fn.lang, kind]
    message = "the handler's return value is not JSON-serializable: " + why
    assert r.msgs == [READY, err("1", "TypeError", message, "", "made it\n"),
                      err("2", "TypeError", message, "", "made it\n")]


@pytest.mark.parametrize("mode", ["once", "loop"])
def test_exit_in_handler(fn, mode):
    if fn.lang == "python":
        path = fn.file("main.py", "import sys\ndef handler(event, context):\n"
                                  "    print('bye')\n    sys.exit(event)\n")
        stack = (f'Traceback (most recent call last):\n  File "{path}", line 4, in handler\n'
                 f'    sys.exit(event)\nSystemExit: 3\n')
        m = "main.py"
    else:
        path = fn.file("index.js", "function handler(event) {\n    console.log('bye');\n"
                                   "    process.exit(event);\n}\nexports.handler = handler;\n")
        stack = (f"SystemExit: the handler exited (code 3)\n"
                 f"    at handler ({path}:3:13)")
        m = "index.js"
    r = fn.run(mode, m, inv("1", 3) + inv("2", 4))
    want = err("1", "SystemExit", "the handler exited (code 3)", stack, "bye\n")
    assert r.code == 3, r
    assert r.msgs == ([want] if mode == "once" else [READY, want])


def test_exit_without_a_code(fn):
    m = module(fn, "import sys\ndef handler(event, context):\n    sys.exit()\n",
               "exports.handler = () => { process.exit(); };\n")
    r = fn.run("loop", m, inv("1", {}) + inv("2", {}))
    assert r.code == 0, r
    assert [m.get("type") for m in r.msgs] == ["ready", "response"]
    assert r.msgs[1]["error"]["message"] == "the handler exited (code 0)"


def test_python_exit_with_a_message(py):
    py.file("main.py", "import sys\ndef handler(event, context):\n    sys.exit('giving up')\n")
    r = py.run("once", "main.py", inv("1", {}))
    assert r.code == 1, r
    assert r.msgs[0]["error"]["message"] == "the handler exited (code 1)"
    assert r.msgs[0]["logs"] == "giving up\n"


# ---- init errors ----

def py_init_errors(py):
    py.file("syntax.py", "def handler(event, context)\n    return 1\n")
    py.file("missing.py", "def other(event, context):\n    return 1\n")
    py.file("notcallable.py", "handler = 42\n")
    raises = py.file("raises.py", "import json\nCONFIG = json.loads('{')\n")
    py.file("exits.py", "import sys\nsys.exit(2)\n")
    syntax = str(py.dir / "syntax.py")
    return {
        "syntax.py": init_error("SyntaxError", "expected ':' (syntax.py, line 1)",
                                f'  File "{syntax}", line 1\n    def handler(event, context)\n'
                                f'                               ^\nSyntaxError: expected \':\'\n'),
        "missing.py": init_error("HandlerNotFound", "missing.py has no function 'handler'"),
        "notcallable.py": init_error("HandlerNotFound",
                                     "notcallable.py: 'handler' is not a function (it is int)"),
        "nofile.py": init_error("FileNotFoundError", "nofile.py: no such file"),
        "raises.py": ("JSONDecodeError", raises),
        "exits.py": ("SystemExit", "exits.py exited at import (code 2)"),
    }


def js_init_errors(js):
    mjs = js.file("syntax.mjs", "export async function handler(event) {\n    return 1 +;\n}\n")
    cjs = js.file("syntax.js", "exports.handler = function (event) {\n    return {a: 1;\n};\n")
    js.file("missing.cjs", "exports.other = () => 1;\n")
    js.file("notcallable.mjs", "export const handler = 'text';\n")
    raises = js.file("raises.mjs", "const x = 1;\nthrow new Error('no config');\n")
    js.file("exits.js", "process.exit(2);\n")
    return {
        "syntax.mjs": init_error("SyntaxError", "Unexpected token ';' (syntax.mjs, line 2)",
                                 f"{mjs}:2\n    return 1 +;\n              ^\n\n"
                                 f"SyntaxError: Unexpected token ';'"),
        "syntax.js": init_error("SyntaxError", "Unexpected token ';' (syntax.js, line 2)",
                                f"{cjs}:2\n    return {{a: 1;\n                ^\n\n"
                                f"SyntaxError: Unexpected token ';'"),
        "missing.cjs": init_error("HandlerNotFound", "missing.cjs has no function 'handler'"),
        "notcallable.mjs": init_error("HandlerNotFound",
                                      "notcallable.mjs: 'handler' is not a function (it is string)"),
        "nofile.js": init_error("FileNotFoundError", "nofile.js: no such file"),
        "raises.mjs": init_error("Error", "no config",
                                 f"Error: no config\n    at file://{raises}:2:7"),
        "exits.js": ("SystemExit", "exits.js exited at import (code 2)"),
    }


@pytest.mark.parametrize("mode", ["once", "loop"])
def test_init_errors(fn, mode):
    cases = py_init_errors(fn) if fn.lang == "python" else js_init_errors(fn)
    for m, want in cases.items():
        r = fn.run(mode, m, inv("1", {}))
        assert r.code == 1, (m, r)
        assert len(r.msgs) == 1, (m, r)
        if isinstance(want, dict):
            assert r.msgs[0] == want, (m, r)
        elif want[0] == "SystemExit":
            assert r.msgs[0]["error"]["type"] == "SystemExit", (m, r)
            assert r.msgs[0]["error"]["message"] == want[1], (m, r)
        else:  # python: a traceback through the json module's frames
            e = r.msgs[0]["error"]
            assert e["type"] == want[0], (m, r)
            assert e["message"] == "Expecting property name enclosed in double quotes: " \
                                   "line 1 column 2 (char 1)", (m, r)
            assert e["stack"].startswith(f'Traceback (most recent call last):\n'
                                         f'  File "{want[1]}", line 2, in <module>\n'
                                         f"    CONFIG = json.loads('{{')\n"), (m, r)
            assert "__soulbox_fn__" not in e["stack"] and "frozen" not in e["stack"], (m, r)


def test_usage_errors(fn):
    m = module(fn, "def handler(event, context):\n    return 1\n", "exports.handler = () => 1;\n")
    for argv in (["sometimes", m, "handler"], ["loop", m], ["loop", m, "handler", "65"],
                 ["loop", m, "handler", "0"], ["loop", m, "handler", "x"]):
        p = subprocess.run([fn.exe, fn.name, *argv], cwd=fn.dir, input="", capture_output=True,
                           text=True, timeout=30)
        r = Result(p.returncode, p.stdout, p.stderr)
        assert r.code == 1, (argv, r)
        assert [x["error"]["type"] for x in r.msgs] == ["UsageError"], (argv, r)


# ---- async and concurrency ----

def test_async_handlers(fn):
    m = module(fn, """
import asyncio
loops = set()
async def handler(event, context):
    print("before")
    await asyncio.sleep(0.01)
    loops.add(id(asyncio.get_running_loop()))
    print("after")
    return {"n": event, "loops": len(loops)}
""", """
let calls = 0;
exports.handler = async (event) => {
    console.log('before');
    await new Promise((resolve) => setTimeout(resolve, 10));
    console.log('after');
    calls += 1;
    return { n: event, calls };
};
""")
    r = fn.run("loop", m, inv("1", 1) + inv("2", 2) + inv("3", 3))
    assert r.code == 0, r
    key = "loops" if fn.lang == "python" else "calls"
    got = [1, 1, 1] if fn.lang == "python" else [1, 2, 3]   # python: one loop for the instance
    assert r.msgs == [READY] + [ok(str(i), {"n": i, key: got[i - 1]}, "before\nafter\n")
                                for i in (1, 2, 3)]


def test_async_handler_once(fn):
    m = module(fn, "import asyncio\nasync def handler(event, context):\n"
                   "    await asyncio.sleep(0)\n    raise KeyError(event)\n",
               "exports.handler = async (event) => { await null; throw new Error(`k${event}`); };\n")
    r = fn.run("once", m, inv("1", "k"))
    assert r.code == 0, r
    assert r.msgs[0]["ok"] is False
    assert r.msgs[0]["error"]["type"] == ("KeyError" if fn.lang == "python" else "Error")
    assert r.msgs[0]["error"]["message"] == ("'k'" if fn.lang == "python" else "kk")
    assert "__soulbox_fn__" not in r.msgs[0]["error"]["stack"]


SLEEPERS = {
    "python": ("import time\ndef handler(event, context):\n    print('start', event)\n"
               "    time.sleep(0.2)\n    print('end', event)\n    return event\n"),
    "python-async": ("import asyncio\nasync def handler(event, context):\n"
                     "    print('start', event)\n    await asyncio.sleep(0.2)\n"
                     "    print('end', event)\n    return event\n"),
    "node": ("exports.handler = async (event) => {\n    console.log('start', event);\n"
             "    await new Promise((resolve) => setTimeout(resolve, 200));\n"
             "    console.log('end', event);\n    return event;\n};\n"),
}


@pytest.mark.parametrize("kind", SLEEPERS)
def test_concurrency(tmp_path, kind):
    f = Fn(kind.split("-")[0], tmp_path)
    m = f.file("main.py" if f.lang == "python" else "index.js", SLEEPERS[kind])
    p = f.start(os.path.basename(m), "4")
    try:
        assert json.loads(p.stdout.readline()) == READY
        t0 = time.monotonic()
        p.stdin.write("".join(inv(f"c{i}", i) for i in range(4)))
        p.stdin.flush()
        got = [json.loads(p.stdout.readline()) for _ in range(4)]
        took = time.monotonic() - t0
        p.stdin.close()
        assert p.wait(10) == 0
    finally:
        p.kill()
        p.wait()
        for s in (p.stdin, p.stdout, p.stderr):
            s.close()
    assert 0.2 <= took < 0.6, took
    assert sorted(got, key=lambda x: x["id"]) == [ok(f"c{i}", i, f"start {i}\nend {i}\n")
                                                  for i in range(4)]


def test_concurrency_one_runs_in_order(fn):
    m = module(fn, "import time\ndef handler(event, context):\n    time.sleep(event)\n"
                   "    return event\n",
               "exports.handler = async (event) => {\n"
               "    await new Promise((resolve) => setTimeout(resolve, event * 1000));\n"
               "    return event;\n};\n")
    t0 = time.monotonic()
    r = fn.run("loop", m, inv("a", 0.15) + inv("b", 0) + inv("c", 0.1))
    assert time.monotonic() - t0 >= 0.25
    assert r.msgs == [READY, ok("a", 0.15), ok("b", 0), ok("c", 0.1)], r


def test_concurrency_isolates_logs_under_load(fn):
    m = module(fn, """
import time
def handler(event, context):
    for i in range(50):
        print(event, i)
        time.sleep(0.001)
    return event
""", """
exports.handler = async (event) => {
    for (let i = 0; i < 50; i++) {
        console.log(event, i);
        await new Promise((resolve) => setImmediate(resolve));
    }
    return event;
};
""")
    r = fn.run("loop", m, "".join(inv(f"n{i}", i) for i in range(16)), "handler", "8")
    assert r.code == 0, r
    assert r.msgs[0] == READY
    got = sorted(r.msgs[1:], key=lambda x: x["value"])
    assert got == [ok(f"n{i}", i, "".join(f"{i} {k}\n" for k in range(50))) for i in range(16)]


# ---- module kinds ----

NODE_MODULES = {
    "handler.mjs": "export async function handler(event, context) {\n"
                   "    return { kind: 'esm', event };\n}\n",
    "index.js": "exports.handler = async (event) => ({ kind: 'cjs', event });\n",
    "lib/app.cjs": "module.exports = { other: 1 };\n"
                   "module.exports.handler = function (event) {\n"
                   "    return { kind: 'cjs-exports', event };\n};\n",
    "esm/index.js": "export const handler = (event) => ({ kind: 'esm-by-package', event });\n",
    "default.mjs": "export default { handler: (event) => ({ kind: 'default', event }) };\n",
}
NODE_KINDS = {"handler.mjs": "esm", "index.js": "cjs", "lib/app.cjs": "cjs-exports",
              "esm/index.js": "esm-by-package", "default.mjs": "default"}


@pytest.mark.parametrize("name", NODE_MODULES)
def test_node_module_kinds(js, name):
    js.file(name, NODE_MODULES[name])
    js.file("esm/package.json", '{"type": "module"}\n')
    r = js.run("loop", name, inv("1", [1]) + inv("2", [2]))
    assert r.code == 0, r
    kind = NODE_KINDS[name]
    assert r.msgs == [READY, ok("1", {"kind": kind, "event": [1]}),
                      ok("2", {"kind": kind, "event": [2]})]


def test_python_module_in_a_subdirectory(py):
    py.file("shared.py", "GREETING = 'hi'\n")
    py.file("lib/helpers.py", "def double(x):\n    return 2 * x\n")
    py.file("lib/app.py", """
import helpers, shared
def handler(event, context):
    return [shared.GREETING, helpers.double(event), __name__]
""")
    r = py.run("loop", "lib/app.py", inv("1", 21))
    assert r.code == 0, r
    assert r.msgs == [READY, ok("1", ["hi", 42, "app"])]
