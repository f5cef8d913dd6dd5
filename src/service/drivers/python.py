# SoulBox python context driver: a persistent namespace that runs cells.
# Requests arrive on stdin, one JSON object per line: {"id", "code", "env",
# "svg"}. Events leave on the original stdout, one JSON object per line:
# stdout, stderr, result, error, end (and "ready" once at start). The cell's
# own fd 1 and 2 are pipes this driver forwards as stdout/stderr events, so
# subprocesses and C code are captured as well as print().
import ast, base64, io, json, linecache, os, signal, sys, threading, traceback

_out = os.fdopen(os.dup(1), "wb", buffering=0)
_lock = threading.Lock()
_cur = [0]
_count = [0]
_running = [False]
_SYNC = b"\x00soulbox-sync\x00"


def _emit(ev):
    if ev.get("type") not in ("stdout", "stderr", "ready"):
        for s in (sys.stdout, sys.stderr):  # what was printed comes first
            if isinstance(s, _Stream):
                s.flush()
    data = (json.dumps(ev, separators=(",", ":"), default=str) + "\n").encode()
    with _lock:
        _out.write(data)


class _Pump(threading.Thread):
    """Forwards what is written to fd `fd` as events; a sync marker in the
    stream says everything before it has been forwarded."""

    def __init__(self, fd, name):
        super().__init__(daemon=True)
        r, w = os.pipe()
        os.dup2(w, fd)
        os.close(w)
        self.r, self.fd, self.name = r, fd, name
        self.synced = threading.Event()
        self.start()

    def run(self):
        pending = b""
        while True:
            try:
                chunk = os.read(self.r, 65536)
            except InterruptedError:
                continue
            if not chunk:
                return
            pending += chunk
            while True:
                i = pending.find(_SYNC)
                if i < 0:
                    break
                self.send(pending[:i])
                pending = pending[i + len(_SYNC):]
                self.synced.set()
            keep = 0
            for k in range(len(_SYNC) - 1, 0, -1):
                if pending.endswith(_SYNC[:k]):
                    keep = k
                    break
            if len(pending) > keep:
                self.send(pending[:len(pending) - keep])
                pending = pending[len(pending) - keep:]

    def send(self, data):
        if data:
            _emit({"id": _cur[0], "type": self.name,
                   "text": data.decode("utf-8", "replace")})

    def sync(self):
        self.synced.clear()
        try:
            os.write(self.fd, _SYNC)
        except OSError:
            return
        self.synced.wait(2)


class _Stream(io.TextIOBase):
    """sys.stdout / sys.stderr: whole lines become events (a partial line
    waits for its end, a flush, or the next result), in order with results."""

    def __init__(self, name, fd):
        self.name, self._fd, self._buf = name, fd, []

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if s:
            self._buf.append(s)
            if "\n" in s or sum(map(len, self._buf)) > 8192:
                self.flush()
        return len(s)

    def flush(self):
        if self._buf:
            text, self._buf = "".join(self._buf), []
            _emit({"id": _cur[0], "type": self.name, "text": text})

    def fileno(self):
        return self._fd

    def isatty(self):
        return False

    @property
    def encoding(self):
        return "utf-8"


_requests = os.fdopen(os.dup(0), "rb")
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)
_pumps = [_Pump(1, "stdout"), _Pump(2, "stderr")]
sys.stdout = _Stream("stdout", 1)
sys.stderr = _Stream("stderr", 2)
sys.stdin = io.StringIO("")

# The cells' namespace is a fresh __main__: this driver's own names stay out of it.
_main_module = type(sys)("__main__")
_main_module.__dict__["__builtins__"] = __builtins__
sys.modules["__main__"] = _main_module
_ns = _main_module.__dict__
_svg = [False]


def _interrupt(signum, frame):
    if _running[0]:
        raise KeyboardInterrupt()


signal.signal(signal.SIGINT, _interrupt)


def _formats(value):
    """The representations of value, as E2B / Jupyter name them."""
    out = {}
    try:
        out["text/plain"] = repr(value)
    except Exception as e:  # a broken __repr__ is the user's error, not ours
        out["text/plain"] = "<unrepresentable %s: %s>" % (type(value).__name__, e)
    for meth, mime in (("_repr_html_", "text/html"), ("_repr_markdown_", "text/markdown"),
                       ("_repr_svg_", "image/svg+xml"), ("_repr_png_", "image/png"),
                       ("_repr_jpeg_", "image/jpeg"), ("_repr_latex_", "text/latex"),
                       ("_repr_json_", "application/json"),
                       ("_repr_javascript_", "application/javascript")):
        f = getattr(type(value), meth, None)
        if f is None:
            continue
        try:
            v = f(value)
        except Exception:
            continue
        if v is None:
            continue
        if isinstance(v, bytes):
            v = base64.b64encode(v).decode()
        out[mime] = v
    if "application/json" not in out and isinstance(value, (dict, list)):
        try:
            out["application/json"] = json.loads(json.dumps(value))
        except (TypeError, ValueError):
            pass
    fig = _figure_of(value)
    if fig is not None:
        out.update(_figure_formats(fig))
    return out


def _figure_of(value):
    mpl = sys.modules.get("matplotlib.figure")
    if mpl is None:
        return None
    if isinstance(value, mpl.Figure):
        return value
    return None


def _figure_formats(fig):
    out = {"text/plain": repr(fig)}
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    out["image/png"] = base64.b64encode(buf.getvalue()).decode()
    if _svg[0]:
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")
        out["image/svg+xml"] = buf.getvalue()
    return out


def _show_figures(*args, **kwargs):
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for num in plt.get_fignums():
        fig = plt.figure(num)
        _emit({"id": _cur[0], "type": "result", "data": _figure_formats(fig), "main": False})
    plt.close("all")


class _PyplotHook:
    """Gives matplotlib.pyplot our show() as soon as a cell imports it."""

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib.pyplot":
            return None
        import importlib.util
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            module.show = _show_figures
        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PyplotHook())


def _patch_pyplot():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None and getattr(plt.show, "__name__", "") != "_show_figures":
        plt.show = _show_figures


def _user_tb(tb):
    """The traceback from the first frame of user code on."""
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<cell"):
        tb = tb.tb_next
    return tb


def _error(e):
    tb = _user_tb(e.__traceback__)
    if isinstance(e, SyntaxError):
        tb = None
    # only the cells' frames (and the libraries they called), never this driver's
    frames = [f for f in traceback.extract_tb(tb) if f.filename != "<string>"]
    lines = (["Traceback (most recent call last):\n"] + traceback.format_list(frames)
             if frames else []) + traceback.format_exception_only(type(e), e)
    _emit({"id": _cur[0], "type": "error", "name": type(e).__name__, "value": str(e),
           "traceback": "".join(lines)})


def _run(req):
    code = req.get("code", "")
    _count[0] += 1
    name = "<cell-%d>" % _count[0]
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    _svg[0] = bool(req.get("svg"))
    saved = {}
    for k, v in (req.get("env") or {}).items():
        saved[k] = os.environ.get(k)
        os.environ[k] = str(v)
    _running[0] = True
    try:
        tree = ast.parse(code, name, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, name, "exec"), _ns)
        value = eval(compile(last, name, "eval"), _ns) if last is not None else None
        _running[0] = False
        _patch_pyplot()
        if value is not None:
            _ns["_"] = value
            if _figure_of(value) is not None:
                plt = sys.modules.get("matplotlib.pyplot")
                if plt is not None:
                    plt.close(value)
            _emit({"id": _cur[0], "type": "result", "data": _formats(value), "main": True})
        _show_figures()
    except BaseException as e:  # noqa: B902: the user's SystemExit is an error too
        _running[0] = False
        _patch_pyplot()
        _show_figures()
        _error(e)
    finally:
        _running[0] = False
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _main(preload):
    for mod in preload:
        try:
            __import__(mod)
        except Exception:
            pass
    _patch_pyplot()
    _emit({"type": "ready", "pid": os.getpid()})
    for line in _requests:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        _cur[0] = req.get("id", 0)
        _run(req)
        sys.stdout.flush()
        sys.stderr.flush()
        for p in _pumps:
            p.sync()
        _emit({"id": _cur[0], "type": "end", "execution_count": _count[0]})


_main(sys.argv[1:])
