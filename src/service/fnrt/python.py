# SoulBox python function runtime: loads a serverless function's module and
# runs its handler for the invocations that arrive on stdin.
#
#   python3 __soulbox_fn__.py once|loop MODULE_FILE FUNCTION [CONCURRENCY]
#
# Protocol: one line of compact JSON per message. Messages leave on a private
# copy of the original stdout; fd 1 itself becomes a copy of fd 2, so stray
# output (C code, subprocesses, sys.__stdout__) can never corrupt them.
#   out {"type":"init_error","error":{"type","message","stack"}}, then exit 1
#       (syntax error, exception at import, missing or non-callable FUNCTION)
#   out {"type":"ready"}                          loop mode, once loaded
#   in  {"id","event","context":{"function_name","function_version",
#        "request_id","deadline_ms","memory_limit_mb"}}
#   out {"type":"response","id","ok":true,"value","bytes","logs"}
#   out {"type":"response","id","ok":false,"error":{"type","message","stack"},"logs"}
#   out {"type":"response","id","ok":false,"error":{"type":"ProtocolError","message"}}
# once: exactly one invocation, then exit 0. loop: invocations until stdin's
# EOF, then exit 0; up to CONCURRENCY (1..64, default 1) at once, answered in
# any order (by id). bytes returned are sent as base64 with "bytes":true; a
# dict whose "body" is bytes gets a base64 body and "is_base64":true. A handler
# calling sys.exit(N) is answered as a SystemExit error, then the runtime exits
# N. "logs" is what the invocation wrote to sys.stdout / sys.stderr, at most
# 64 KiB; what is written to fd 1 / 2 directly goes to the real stderr.
import importlib.util, json, os, sys, time, _thread

if __name__ != "__main__":
    raise ImportError("the SoulBox function runtime is not a module")

_proto = os.dup(1)              # protocol messages only (not inherited)
os.dup2(2, 1)                   # anything else written to fd 1 goes to stderr
_requests = os.fdopen(os.dup(0), "rb")
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)               # the handler (and its children) cannot eat requests
os.close(_null)

_SELF = os.path.abspath(__file__)
_LOG_LIMIT = 65536
_USAGE = "usage: python3 __soulbox_fn__.py once|loop MODULE_FILE FUNCTION [CONCURRENCY]"
_write_lock = _thread.allocate_lock()
_logs_lock = _thread.allocate_lock()
_stderr = sys.stderr            # the real one: output outside any invocation
_var = None                     # concurrency > 1: a ContextVar naming the invocation's logs
_sole = [None]                  # concurrency 1: the running invocation's logs
_loop = [None]                  # the instance's asyncio loop, made on first use
_loop_lock = _thread.allocate_lock()


class _Fail(Exception):
    """An init error this runtime found itself (no user traceback)."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def _write(msg):
    """Writes one protocol line; it is the only writer of _proto."""
    data = (json.dumps(msg, separators=(",", ":"), allow_nan=False) + "\n").encode()
    with _write_lock:
        while data:
            try:
                data = data[os.write(_proto, data):]
            except BlockingIOError:  # the host made the pipe non-blocking
                import select
                select.select([], [_proto], [])
            except OSError:  # the host is gone: nobody to answer
                os._exit(1)


def _exit(code):
    """Ends the instance now: threads, children and atexit hooks the handler
    left behind cannot hold it (the host would have to kill it)."""
    try:
        _stderr.flush()
    finally:
        os._exit(code)


def _init_error(kind, message, stack=""):
    _write({"type": "init_error", "error": {"type": kind, "message": message, "stack": stack}})
    _exit(1)


# ---- logs ----

class _Logs:
    """What one invocation wrote to sys.stdout / sys.stderr, cut at _LOG_LIMIT bytes."""
    __slots__ = ("parts", "size", "cut", "open")

    def __init__(self):
        self.parts, self.size, self.cut, self.open = [], 0, False, True

    def add(self, s):
        with _logs_lock:
            if self.cut or not s:
                return
            b = s.encode("utf-8", "surrogatepass")
            if self.size + len(b) <= _LOG_LIMIT:
                self.parts.append(s)
                self.size += len(b)
                return
            k = _LOG_LIMIT - self.size
            while k > 0 and (b[k] & 0xC0) == 0x80:  # not inside a character
                k -= 1
            self.parts.append(b[:k].decode("utf-8", "surrogatepass"))
            self.size += k
            self.cut = True

    def text(self):
        with _logs_lock:
            self.open = False
            return "".join(self.parts) + ("\n[logs truncated]" if self.cut else "")


def _current():
    """The logs of the invocation this code runs for, or None (then: stderr)."""
    if _var is not None:
        logs = _var.get(None)
        if logs is not None:
            return logs if logs.open else None
    logs = _sole[0]
    return logs if logs is not None and logs.open else None


class _Capture:
    """sys.stdout / sys.stderr: text goes to the current invocation's logs."""
    encoding, errors, newlines, closed = "utf-8", "strict", None, False

    def __init__(self, fd):
        self._fd = fd
        self.buffer = _BinaryCapture(self)

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        logs = _current()
        if logs is None:
            _stderr.write(s)
        else:
            logs.add(s)
        return len(s)

    def writelines(self, lines):
        for s in lines:
            self.write(s)

    def flush(self):
        if _current() is None:
            _stderr.flush()

    def fileno(self):
        return self._fd

    def isatty(self):
        return False

    def reconfigure(self, **kwargs):
        pass

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False


class _BinaryCapture:
    """sys.stdout.buffer / sys.stderr.buffer."""
    closed = False

    def __init__(self, text):
        self._text = text

    def write(self, b):
        self._text.write(bytes(b).decode("utf-8", "replace"))
        return len(b)

    def flush(self):
        self._text.flush()

    def fileno(self):
        return self._text.fileno()

    def isatty(self):
        return False

    def writable(self):
        return True


# ---- the handler ----

class _Context:
    """The handler's second argument."""
    __slots__ = ("function_name", "function_version", "request_id", "deadline_ms",
                 "memory_limit_mb")

    def __init__(self, c):
        for k in self.__slots__:
            setattr(self, k, c.get(k))

    def get_remaining_time_ms(self):
        """Milliseconds until the deadline (0 once past; inf without one)."""
        if self.deadline_ms is None:
            return float("inf")
        return max(0, int(self.deadline_ms - time.time() * 1000))

    def __repr__(self):
        return "Context(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)


def _stack(e):
    """e's traceback as text, from the first frame that is not this runtime's
    (nor the import machinery's) on."""
    import traceback
    tb = e.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name != _SELF and not name.startswith("<frozen importlib"):
            break
        tb = tb.tb_next
    try:
        return "".join(traceback.format_exception(type(e), e, tb))
    except Exception:  # a broken __str__ or __repr__ is the user's, not ours
        return type(e).__name__ + "\n"


def _message(e):
    try:
        return str(e)
    except Exception:
        return "<%s with a broken __str__>" % type(e).__name__


def _exit_code(e):
    """The status sys.exit(code) would give."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    return 1


def _load(path, name):
    """Imports the user's module as its file's stem and returns its function."""
    if not os.path.isfile(path):
        raise _Fail("FileNotFoundError", "%s: no such file" % path)
    full = os.path.abspath(path)
    stem = os.path.splitext(os.path.basename(full))[0]
    for d in (os.getcwd(), os.path.dirname(full)):  # ends as [file's dir, cwd, ...]
        if d in sys.path:
            sys.path.remove(d)
        sys.path.insert(0, d)
    spec = importlib.util.spec_from_file_location(stem, full)
    if spec is None:  # a name without a .py suffix is source all the same
        from importlib.machinery import SourceFileLoader
        spec = importlib.util.spec_from_file_location(stem, full,
                                                      loader=SourceFileLoader(stem, full))
    module = importlib.util.module_from_spec(spec)
    sys.modules[stem] = module
    spec.loader.exec_module(module)
    if not hasattr(module, name):
        raise _Fail("HandlerNotFound", "%s has no function %r" % (path, name))
    fn = getattr(module, name)
    if not callable(fn):
        raise _Fail("HandlerNotFound", "%s: %r is not a function (it is %s)"
                    % (path, name, type(fn).__name__))
    return fn


async def _guard(aw):
    # a SystemExit escaping a task would stop the instance's loop
    try:
        return True, await aw
    except BaseException as e:
        return False, e


def _event_loop():
    """The instance's event loop: one for its life, running in its own thread
    so that async handlers' clients and tasks persist between invocations."""
    with _loop_lock:
        if _loop[0] is None:
            import asyncio, threading
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="soulbox-fn-loop",
                             daemon=True).start()
            _loop[0] = loop
        return _loop[0]


def _call(handler, event, context):
    """(True, value) or (False, exception) of handler(event, context)."""
    try:
        value = handler(event, context)
        if hasattr(type(value), "__await__"):
            import asyncio
            return asyncio.run_coroutine_threadsafe(_guard(value), _event_loop()).result()
        return True, value
    except BaseException as e:
        return False, e


def _b64(b):
    import binascii
    return binascii.b2a_base64(bytes(b), newline=False).decode("ascii")


def _error_response(rid, kind, message, stack, logs):
    _write({"type": "response", "id": rid, "ok": False,
            "error": {"type": kind, "message": message, "stack": stack}, "logs": logs})


def _respond(rid, value, logs):
    is_bytes = isinstance(value, (bytes, bytearray, memoryview))
    if is_bytes:
        value = _b64(value)
    elif isinstance(value, dict) and isinstance(value.get("body"), (bytes, bytearray, memoryview)):
        value = dict(value, body=_b64(value["body"]), is_base64=True)
    try:
        _write({"type": "response", "id": rid, "ok": True, "value": value, "bytes": is_bytes,
                "logs": logs})
    except Exception as e:  # only the value can fail to encode
        _error_response(rid, "TypeError",
                        "the handler's return value is not JSON-serializable: %s" % _message(e),
                        "", logs)


def _invoke(handler, rid, event, context):
    """Runs one invocation (in its own context) and answers it."""
    logs = _Logs()
    if _var is not None:
        _var.set(logs)
    else:
        _sole[0] = logs
    ok, value = _call(handler, event, _Context(context))
    if not ok and isinstance(value, SystemExit):
        code = _exit_code(value)
        if value.code is not None and not isinstance(value.code, int):
            logs.add("%s\n" % value.code)  # as the interpreter would print it
        _error_response(rid, "SystemExit", "the handler exited (code %d)" % code,
                        _stack(value), logs.text())
        _exit(code)
    text = logs.text()
    if ok:
        _respond(rid, value, text)
    else:
        _error_response(rid, type(value).__name__, _message(value), _stack(value), text)


def _parse(line):
    """(id, event, context, None) of a request line, or (id-or-None, ..., why)."""
    try:
        req = json.loads(line)
    except ValueError as e:
        return None, None, None, "the line is not JSON: %s" % e
    if not isinstance(req, dict):
        return None, None, None, "the line is not a JSON object"
    rid = req.get("id")
    if not isinstance(rid, (str, int)) or isinstance(rid, bool):
        return None, None, None, "the invocation has no id"
    if "event" not in req:
        return rid, None, None, "the invocation has no event"
    context = req.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        return rid, None, None, "the invocation's context is not an object"
    return rid, req["event"], context, None


def _protocol_error(rid, why):
    _write({"type": "response", "id": rid, "ok": False,
            "error": {"type": "ProtocolError", "message": why}})


def _args(argv):
    if len(argv) not in (3, 4) or argv[0] not in ("once", "loop"):
        _init_error("UsageError", _USAGE)
    concurrency = 1
    if len(argv) == 4:
        try:
            concurrency = int(argv[3])
        except ValueError:
            concurrency = 0
        if not 1 <= concurrency <= 64:
            _init_error("UsageError", "CONCURRENCY must be 1 to 64, not %r" % argv[3])
    return argv[0], argv[1], argv[2], concurrency


def _lines():
    for line in _requests:
        if line.strip():
            yield line


def _serve(handler, concurrency):
    """Loop mode: answers invocations until stdin's EOF."""
    global _var
    if concurrency == 1:
        for line in _lines():
            rid, event, context, why = _parse(line)
            if why:
                _protocol_error(rid, why)
            else:
                _invoke(handler, rid, event, context)
        return
    import contextvars
    from concurrent.futures import ThreadPoolExecutor
    _var = contextvars.ContextVar("soulbox_fn_logs")
    with ThreadPoolExecutor(concurrency, thread_name_prefix="soulbox-fn") as pool:
        for line in _lines():
            rid, event, context, why = _parse(line)
            if why:
                _protocol_error(rid, why)
            else:
                pool.submit(contextvars.copy_context().run, _invoke, handler, rid, event,
                            context)


def _main(argv):
    mode, path, name, concurrency = _args(argv)
    sys.argv = [path]
    # the user's code sees a fresh __main__, not this runtime's globals
    main = type(sys)("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    sys.stdout, sys.stderr = _Capture(1), _Capture(2)
    try:
        handler = _load(path, name)
    except _Fail as e:
        _init_error(e.kind, str(e))
    except SystemExit as e:
        _init_error("SystemExit", "%s exited at import (code %d)" % (path, _exit_code(e)),
                    _stack(e))
    except BaseException as e:
        _init_error(type(e).__name__, _message(e), _stack(e))
    if mode == "loop":
        _write({"type": "ready"})
        _serve(handler, concurrency)
        _exit(0)
    line = next(_lines(), None)
    if line is None:
        _init_error("ProtocolError", "no invocation on stdin")
    rid, event, context, why = _parse(line)
    if why:
        _protocol_error(rid, why)
        _exit(1)
    _invoke(handler, rid, event, context)
    _exit(0)


_main(sys.argv[1:])
