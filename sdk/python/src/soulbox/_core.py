"""What the sync and async clients share: configuration, routes, request bodies, parsing."""
from __future__ import annotations

import base64
import datetime
import email.utils
import json
import os
import textwrap
import time
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, urlencode, urlsplit

from ._version import __version__
from .errors import SoulboxError

if TYPE_CHECKING:
    from .models import CommandEvent, WatchEvent

DEFAULT_URL = "http://localhost:8080"
DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_RETRIES = 3
MAX_RETRY_WAIT = 30.0
USER_AGENT = f"soulbox-sdk-python/{__version__}"

#: The native routes this SDK implements: name -> (METHOD, path template exactly as in
#: api/openapi.yaml). Every request the clients make goes through this table.
ROUTES: Dict[str, Tuple[str, str]] = {
    "health": ("GET", "/health"),
    "metrics": ("GET", "/metrics"),
    "languages": ("GET", "/api/languages"),
    "cluster": ("GET", "/api/cluster"),
    "ws": ("GET", "/api/ws"),
    "execute": ("POST", "/api/execute"),
    "submit": ("POST", "/api/executions"),
    "list_executions": ("GET", "/api/executions"),
    "get_execution": ("GET", "/api/executions/{id}"),
    "audit": ("GET", "/api/audit"),
    "create_share": ("POST", "/api/shares"),
    "get_share": ("GET", "/api/shares/{id}"),
    "templates": ("GET", "/api/templates"),
    "create_sandbox": ("POST", "/api/sandboxes"),
    "list_sandboxes": ("GET", "/api/sandboxes"),
    "get_sandbox": ("GET", "/api/sandboxes/{id}"),
    "kill_sandbox": ("DELETE", "/api/sandboxes/{id}"),
    "set_timeout": ("POST", "/api/sandboxes/{id}/timeout"),
    "pause": ("POST", "/api/sandboxes/{id}/pause"),
    "resume": ("POST", "/api/sandboxes/{id}/resume"),
    "run_command": ("POST", "/api/sandboxes/{id}/commands"),
    "list_commands": ("GET", "/api/sandboxes/{id}/commands"),
    "get_command": ("GET", "/api/sandboxes/{id}/commands/{pid}"),
    "command_stdin": ("POST", "/api/sandboxes/{id}/commands/{pid}/stdin"),
    "command_signal": ("POST", "/api/sandboxes/{id}/commands/{pid}/signal"),
    "read_file": ("GET", "/api/sandboxes/{id}/files"),
    "write_file": ("PUT", "/api/sandboxes/{id}/files"),
    "write_files": ("POST", "/api/sandboxes/{id}/files"),
    "remove_file": ("DELETE", "/api/sandboxes/{id}/files"),
    "list_files": ("GET", "/api/sandboxes/{id}/files/list"),
    "stat_file": ("GET", "/api/sandboxes/{id}/files/stat"),
    "watch_files": ("GET", "/api/sandboxes/{id}/files/watch"),
    "mkdir": ("POST", "/api/sandboxes/{id}/files/mkdir"),
    "move_file": ("POST", "/api/sandboxes/{id}/files/move"),
    "create_context": ("POST", "/api/sandboxes/{id}/contexts"),
    "list_contexts": ("GET", "/api/sandboxes/{id}/contexts"),
    "delete_context": ("DELETE", "/api/sandboxes/{id}/contexts/{ctx}"),
    "restart_context": ("POST", "/api/sandboxes/{id}/contexts/{ctx}/restart"),
    "interrupt_context": ("POST", "/api/sandboxes/{id}/contexts/{ctx}/interrupt"),
    "run_code": ("POST", "/api/sandboxes/{id}/execute"),
    "deploy_function": ("POST", "/api/functions"),
    "list_functions": ("GET", "/api/functions"),
    "get_function": ("GET", "/api/functions/{name}"),
    "delete_function": ("DELETE", "/api/functions/{name}"),
    "function_versions": ("GET", "/api/functions/{name}/versions"),
    "rollback_function": ("POST", "/api/functions/{name}/rollback"),
    "set_function_alias": ("PUT", "/api/functions/{name}/aliases/{alias}"),
    "delete_function_alias": ("DELETE", "/api/functions/{name}/aliases/{alias}"),
    "function_logs": ("GET", "/api/functions/{name}/logs"),
    "invoke_function_async": ("POST", "/api/functions/{name}/invocations"),
    "get_invocation": ("GET", "/api/functions/{name}/invocations/{id}"),
    # invoking a function over plain HTTP: any of these methods, with or without a path
    "invoke_get": ("GET", "/fn/{name}"),
    "invoke_post": ("POST", "/fn/{name}"),
    "invoke_put": ("PUT", "/fn/{name}"),
    "invoke_patch": ("PATCH", "/fn/{name}"),
    "invoke_delete": ("DELETE", "/fn/{name}"),
    "invoke_get_path": ("GET", "/fn/{name}/{path}"),
    "invoke_post_path": ("POST", "/fn/{name}/{path}"),
    "invoke_put_path": ("PUT", "/fn/{name}/{path}"),
    "invoke_patch_path": ("PATCH", "/fn/{name}/{path}"),
    "invoke_delete_path": ("DELETE", "/fn/{name}/{path}"),
}

#: The header SoulBox puts on an answer that is a function's own (its status, its headers,
#: its body); SoulBox's own errors on /fn/... do not have it.
FUNCTION_STATUS_HEADER = "X-SoulBox-Function-Status"
#: The error codes of a function's failure (502, 504): answers, not SoulBox refusals.
FUNCTION_ERROR_CODES = ("function_error", "function_timeout")
#: The error codes of SoulBox's own refusals (``{"error": {"code", "message"}}``).
REFUSAL_CODES = frozenset((
    "invalid_argument", "limit_exceeds_max", "unauthenticated", "permission_denied", "not_found",
    "method_not_allowed", "request_timeout", "payload_too_large", "unsupported_media_type",
    "conflict", "unknown_language", "upgrade_required", "rate_limited", "headers_too_large",
    "internal_error", "sandbox_setup_failed", "unavailable", "http_version_not_supported",
    "invalid_config"))

Query = Optional[Mapping[str, Any]]


class Config:
    """Resolved server URL, key, timeout and retries (internal)."""

    __slots__ = ("scheme", "host", "port", "prefix", "api_key", "timeout", "max_retries",
                 "base_headers", "json_headers", "host_header", "url")

    def __init__(self, url: Optional[str], api_key: Optional[str], timeout: Optional[float],
                 max_retries: Optional[int]) -> None:
        raw = url or os.environ.get("SOULBOX_URL") or DEFAULT_URL
        raw = raw.strip()
        if "://" not in raw:
            raw = "http://" + raw
        u = urlsplit(raw)
        if u.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme {u.scheme!r} (http or https)")
        if not u.hostname:
            raise ValueError(f"no host in server URL {raw!r}")
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.prefix = u.path.rstrip("/")
        self.url = f"{u.scheme}://{u.netloc}{self.prefix}"
        key = api_key if api_key is not None else os.environ.get("SOULBOX_API_KEY")
        self.api_key = key or None
        self.timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        self.max_retries = DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries)
        h = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        self.base_headers = h
        self.json_headers = dict(h, **{"Content-Type": "application/json"})
        default_port = 443 if self.scheme == "https" else 80
        hh = self.host if ":" not in self.host else f"[{self.host}]"
        self.host_header = hh if self.port == default_port else f"{hh}:{self.port}"


def route(rname: str, query: Query = None, **params: Any) -> Tuple[str, str]:
    """(METHOD, path with its parameters filled and the query appended) for a route."""
    method, tpl = ROUTES[rname]
    path = tpl
    if params:
        for k, v in params.items():
            path = path.replace("{" + k + "}", quote(str(v), safe=""))
    if query:
        q = {k: _qv(v) for k, v in query.items() if v is not None}
        if q:
            path += "?" + urlencode(q)
    return method, path


def _qv(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def dedent(code: str) -> str:
    """Removes the indentation of a code block written inside the caller's source.

    A first line that is empty is dropped, then the whitespace every non-blank line
    starts with is removed (``textwrap.dedent``'s rule). Code whose lines share no
    leading whitespace is returned unchanged.
    """
    if not code or code[0] not in " \t\r\n":
        return code  # fast path: no margin possible
    text = code
    if text.startswith("\n"):
        text = text[1:]
    elif text.startswith("\r\n"):
        text = text[2:]
    out = textwrap.dedent(text)
    if out == text:
        return code  # nothing shared: normal code never changes
    return out


def retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        secs = float(value)
    except ValueError:
        try:
            dt = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if dt is None:
            return None
        secs = dt.timestamp() - time.time()
    if secs != secs:  # NaN
        return None
    return max(0.0, min(float(secs), MAX_RETRY_WAIT))


def backoff(attempt: int, header: Optional[float]) -> float:
    """How long to wait before retry number ``attempt`` (0-based)."""
    if header is not None:
        return header
    return float(min(0.5 * (2 ** attempt), MAX_RETRY_WAIT))


def dumps(obj: Any) -> bytes:
    """Compact JSON in UTF-8."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _file(f: Any) -> Dict[str, Any]:
    if isinstance(f, Mapping):
        d = dict(f)
        c = d.get("content")
        if isinstance(c, (bytes, bytearray)):
            d["content"] = base64.b64encode(bytes(c)).decode("ascii")
            d["encoding"] = "base64"
        return d
    name, content = f
    if isinstance(content, (bytes, bytearray)):
        return {"name": name, "content": base64.b64encode(bytes(content)).decode("ascii"),
                "encoding": "base64"}
    return {"name": name, "content": content}


FilesArg = Union[Mapping[str, Union[str, bytes]], Sequence[Any], None]



def _put_source(body: Dict[str, Any], code: Optional[str], files: FilesArg,
                do_dedent: bool) -> None:
    """``code`` (dedented unless asked not to) or ``files`` into a request body."""
    if code is not None:
        body["code"] = dedent(code) if do_dedent else code
    if files is not None:
        if isinstance(files, Mapping):
            body["files"] = [_file((k, v)) for k, v in files.items()]
        else:
            body["files"] = [_file(f) for f in files]

def execute_body(language: str, code: Optional[str], files: FilesArg, stdin: Optional[str],
                 args: Optional[Sequence[str]], compile_args: Optional[Sequence[str]],
                 env: Optional[Mapping[str, str]], limits: Optional[Mapping[str, int]],
                 compile_limits: Optional[Mapping[str, int]], network: Any,
                 isolation: Optional[str],
                 test_cases: Optional[Sequence[Mapping[str, Any]]],
                 return_files: Optional[Sequence[str]], do_dedent: bool,
                 extra: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The ExecuteRequest JSON object."""
    body: Dict[str, Any] = {"language": language}
    _put_source(body, code, files, do_dedent)
    if stdin is not None:
        body["stdin"] = stdin
    if args is not None:
        body["args"] = list(args)
    if compile_args is not None:
        body["compile_args"] = list(compile_args)
    if env is not None:
        body["env"] = dict(env)
    if limits is not None:
        body["limits"] = dict(limits)
    if compile_limits is not None:
        body["compile_limits"] = dict(compile_limits)
    if network is not None:
        body["network"] = network
    if isolation is not None:
        body["isolation"] = isolation
    if test_cases is not None:
        body["test_cases"] = [dict(t) for t in test_cases]
    if return_files is not None:
        body["return_files"] = list(return_files)
    if extra:
        body.update(extra)
    return body


def audit_query(limit: Optional[int], cursor: Optional[str], event: Optional[str],
                key_id: Optional[str], status: Optional[str],
                since: Union[int, str, "datetime.datetime", None]) -> Dict[str, Any]:
    """The query of ``GET /api/audit``; ``since`` as milliseconds since the epoch, an
    ISO-8601 UTC time or date, or a datetime (naive: UTC)."""
    if isinstance(since, datetime.datetime):
        if since.tzinfo is None:
            since = since.replace(tzinfo=datetime.timezone.utc)
        since = int(since.timestamp() * 1000)
    return {"limit": limit, "cursor": cursor, "event": event, "key_id": key_id,
            "status": status, "since": since}


def share_body(language: str, code: Optional[str], files: FilesArg, stdin: Optional[str],
               args: Optional[Sequence[str]], limits: Optional[Mapping[str, int]],
               test_cases: Optional[Sequence[Mapping[str, Any]]], execution_id: Optional[str],
               do_dedent: bool, extra: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The ShareRequest JSON object."""
    body: Dict[str, Any] = {"language": language}
    _put_source(body, code, files, do_dedent)
    if stdin is not None:
        body["stdin"] = stdin
    if args is not None:
        body["args"] = list(args)
    if limits is not None:
        body["limits"] = dict(limits)
    if test_cases is not None:
        body["test_cases"] = [dict(t) for t in test_cases]
    if execution_id is not None:
        body["execution_id"] = execution_id
    if extra:
        body.update(extra)
    return body


def command_body(cmd: Optional[str], argv: Optional[Sequence[str]], cwd: Optional[str],
                 env: Optional[Mapping[str, str]], stdin: Union[str, bytes, None],
                 stdin_open: Optional[bool], timeout_ms: Optional[int], background: Optional[bool],
                 pty: Optional[bool], rows: Optional[int], cols: Optional[int], tag: Optional[str]
                 ) -> Dict[str, Any]:
    """The CommandRequest JSON object."""
    if (cmd is None) == (argv is None):
        raise ValueError("give exactly one of cmd and argv")
    b: Dict[str, Any] = {}
    if cmd is not None:
        b["cmd"] = cmd
    else:
        b["argv"] = list(argv or [])
    if isinstance(stdin, (bytes, bytearray)):
        b["stdin_base64"] = base64.b64encode(bytes(stdin)).decode("ascii")
    elif stdin is not None:
        b["stdin"] = stdin
    for k, v in (("cwd", cwd), ("env", dict(env) if env is not None else None),
                 ("stdin_open", stdin_open), ("timeout_ms", timeout_ms),
                 ("background", background), ("pty", pty), ("rows", rows), ("cols", cols),
                 ("tag", tag)):
        if v is not None:
            b[k] = v
    return b


def stdin_body(data: Union[str, bytes, None], close: bool) -> Dict[str, Any]:
    """The body of ``POST .../stdin``."""
    b: Dict[str, Any] = {}
    if isinstance(data, (bytes, bytearray)):
        b["data_base64"] = base64.b64encode(bytes(data)).decode("ascii")
    elif data is not None:
        b["data"] = data
    if close:
        b["close"] = True
    return b


def multipart(files: Iterable[Tuple[str, Union[str, bytes]]]) -> Tuple[bytes, str]:
    """A ``multipart/form-data`` body with one part per file (its filename the path)."""
    boundary = "soulbox" + os.urandom(12).hex()
    parts: List[bytes] = []
    for path, data in files:
        if isinstance(data, str):
            data = data.encode("utf-8")
        name = path.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode("utf-8"))
        parts.append(bytes(data))
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def files_arg(files: Any) -> List[Tuple[str, Union[str, bytes]]]:
    """Normalises ``write_files``' argument: a mapping or a sequence of (path, data) pairs or dicts."""
    if isinstance(files, Mapping):
        return list(files.items())
    out = []
    for f in files:
        if isinstance(f, Mapping):
            out.append((f["path"], f["data"]))
        else:
            out.append((f[0], f[1]))
    return out


def ctx_id(ctx: Any) -> str:
    """A context's id from a Context or a string."""
    return ctx if isinstance(ctx, str) else str(ctx.id)


def cell_body(code: str, language: Optional[str], context: Any, env: Optional[Mapping[str, str]],
              timeout_ms: Optional[int], svg: Optional[bool], do_dedent: bool) -> Dict[str, Any]:
    """The CellRequest JSON object."""
    b: Dict[str, Any] = {"code": dedent(code) if do_dedent else code}
    if context is not None:
        b["context_id"] = ctx_id(context)
    if language is not None:
        b["language"] = language
    if env is not None:
        b["env"] = dict(env)
    if timeout_ms is not None:
        b["timeout_ms"] = timeout_ms
    if svg is not None:
        b["svg"] = svg
    return b


class SSEParser:
    """Incremental Server-Sent Events parser: feed lines, get (event, data) pairs."""

    __slots__ = ("event", "data")

    def __init__(self) -> None:
        self.event = ""
        self.data: List[str] = []

    def line(self, line: str) -> Optional[Tuple[str, str]]:
        """Feeds one line (without its end); returns a complete event or ``None``."""
        if line == "":
            if not self.data and not self.event:
                return None
            ev = (self.event or "message", "\n".join(self.data))
            self.event, self.data = "", []
            return ev
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        return None


class CellState:
    """Accumulates a cell's events into a CodeExecution and calls the callbacks."""

    __slots__ = ("execution", "on_stdout", "on_stderr", "on_result", "on_error", "ended")

    def __init__(self, on_stdout: Any, on_stderr: Any, on_result: Any, on_error: Any) -> None:
        from .models import CodeExecution
        self.execution = CodeExecution()
        self.on_stdout, self.on_stderr = on_stdout, on_stderr
        self.on_result, self.on_error = on_result, on_error
        self.ended = False

    def event(self, ev: Dict[str, Any]) -> List[Any]:
        """Handles one event; returns what callbacks need to be called (fn, arg) pairs."""
        from .models import CodeError, CodeResult
        t = ev.get("type")
        ex = self.execution
        calls: List[Any] = []
        if t == "stdout":
            ex.logs.stdout.append(ev.get("text", ""))
            if self.on_stdout:
                calls.append((self.on_stdout, ev.get("text", "")))
        elif t == "stderr":
            ex.logs.stderr.append(ev.get("text", ""))
            if self.on_stderr:
                calls.append((self.on_stderr, ev.get("text", "")))
        elif t == "result":
            r = CodeResult.from_event(ev)
            ex.results.append(r)
            if self.on_result:
                calls.append((self.on_result, r))
        elif t == "error":
            ex.error = CodeError(name=ev.get("name", ""), value=ev.get("value", ""),
                                 traceback=ev.get("traceback", ""))
            if self.on_error:
                calls.append((self.on_error, ex.error))
        elif t == "end":
            ex.execution_count = int(ev.get("execution_count") or 0)
            self.ended = True
        return calls


def command_event(name: str, data: str) -> "CommandEvent":
    """A CommandEvent from an SSE event."""
    from .models import CommandEvent, CommandResult
    d = json.loads(data) if data else {}
    if name == "start":
        return CommandEvent(type="start", pid=d.get("pid"), raw=d)
    if name == "exit":
        r = CommandResult.from_dict(d)
        return CommandEvent(type="exit", pid=r.pid, result=r, raw=d)
    return CommandEvent(type=name, data=d.get("data", ""), raw=d)


def watch_event(name: str, data: str) -> "WatchEvent":
    """A WatchEvent from an SSE event."""
    from .models import WatchEvent
    d = json.loads(data) if data else {}
    return WatchEvent(type=name, path=d.get("path", ""), dir=bool(d.get("dir")), raw=d)


def stream_error(msg: Dict[str, Any], status: int = 0) -> SoulboxError:
    """A typed error from a WebSocket ``error`` message (and close code)."""
    from .errors import error_from_response
    err = msg.get("error") or {}
    body = json.dumps({"error": err}).encode()
    if not status:
        status = STATUS_BY_CODE.get(err.get("code", ""), 0)
    if status:
        return error_from_response(status, body, None)
    return SoulboxError(err.get("message", "error"), code=err.get("code", "error"), body=msg)


#: The HTTP status each API error code comes with (for WebSocket errors, which have none).
STATUS_BY_CODE = {
    "invalid_argument": 400, "limit_exceeds_max": 400, "unauthenticated": 401,
    "permission_denied": 403, "not_found": 404, "method_not_allowed": 405, "request_timeout": 408,
    "conflict": 409, "payload_too_large": 413, "unsupported_media_type": 415,
    "unknown_language": 422, "upgrade_required": 426, "rate_limited": 429,
    "headers_too_large": 431, "internal_error": 500, "sandbox_setup_failed": 500,
    "unavailable": 503, "http_version_not_supported": 505,
}


# -- functions ---------------------------------------------------------------------------------

class Secret:
    """A secret environment value of a function: ``env={"TOKEN": Secret("...")}``.

    It is sent as ``{"value": ..., "secret": true}``; the server never shows it again
    (a version's ``env`` lists it as ``{"secret": true}``).
    """

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('***')"

    def to_json(self) -> Dict[str, Any]:
        """The API's form: ``{"value": ..., "secret": true}``."""
        return {"value": self.value, "secret": True}


def _env_value(v: Any) -> Any:
    if isinstance(v, Secret):
        return v.to_json()
    if isinstance(v, Mapping):
        return dict(v)
    return v


def function_body(name: str, language: str, code: Optional[str], files: FilesArg,
                  handler: Optional[str], env: Optional[Mapping[str, Any]],
                  do_dedent: bool, fields: Mapping[str, Any],
                  extra: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The body of ``POST /api/functions`` (``fields``: the optional scalars, None left out)."""
    body: Dict[str, Any] = {"name": name, "language": language}
    _put_source(body, code, files, do_dedent)
    if handler is not None:
        body["handler"] = handler
    if env is not None:
        body["env"] = {k: _env_value(v) for k, v in env.items()}
    for k, v in fields.items():
        if isinstance(v, Mapping):
            v = dict(v)
        elif isinstance(v, (list, tuple)):
            v = list(v)
        if v is not None:
            body[k] = v
    if extra:
        body.update(extra)
    return body


INVOKE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PATH_SAFE = "/!$&'()*+,;=:@-._~"


def invoke_request(cfg: Config, name: str, body: Any, method: str, path: str, query: Any,
                   headers: Optional[Mapping[str, str]], version: Union[int, str, None]
                   ) -> Tuple[str, str, Dict[str, str], Optional[bytes]]:
    """(METHOD, URL path, headers, body) of an invocation over ``/fn/{name}[@version][/path]``.

    ``path`` is the path the function sees (percent-encoded here); ``query`` a mapping
    (list values repeat the name), a sequence of pairs or a ready query string.
    """
    m = method.upper()
    if m not in INVOKE_METHODS:
        raise ValueError(f"method must be one of {', '.join(INVOKE_METHODS)}, not {method!r}")
    if not path.startswith("/"):
        path = "/" + path
    sub = path[1:]
    rname = f"invoke_{m.lower()}" + ("_path" if sub else "")
    _, tpl = ROUTES[rname]
    target = quote(name, safe="")
    if version is not None:
        target += "@" + quote(str(version), safe="")
    url = tpl.replace("{name}", target).replace("{path}", quote(sub, safe=_PATH_SAFE))
    if query:
        if isinstance(query, str):
            qs = query.lstrip("?")
        elif isinstance(query, Mapping):
            qs = urlencode([(k, _qv(x)) for k, v in query.items()
                            for x in (v if isinstance(v, (list, tuple)) else [v]) if x is not None])
        else:
            qs = urlencode([(k, _qv(v)) for k, v in query])
        if qs:
            url += "?" + qs
    h = dict(cfg.base_headers)
    h["Accept"] = "*/*"
    data: Optional[bytes]
    ctype: Optional[str] = None
    if body is None:
        data = None
    elif isinstance(body, (bytes, bytearray, memoryview)):
        data, ctype = bytes(body), "application/octet-stream"
    elif isinstance(body, str):
        data, ctype = body.encode("utf-8"), "text/plain; charset=utf-8"
    else:
        data, ctype = dumps(body), "application/json"
    if ctype:
        h["Content-Type"] = ctype
    if headers:
        low = {k.lower(): k for k in h}
        for k, v in headers.items():
            old = low.get(k.lower())
            if old is not None:
                del h[old]
            h[k] = v
    return m, url, h, data


def function_answer(status: int, function_status: Optional[str], body: bytes) -> bool:
    """True when an error status on ``/fn/...`` is the function's own answer (to return),
    False when it is SoulBox refusing (to raise).

    An answer with ``X-SoulBox-Function-Status`` is the function's. Without it, SoulBox's
    refusal is its error body, ``{"error": {"code", "message"}}`` with one of its codes
    other than ``function_error``/``function_timeout``; any other body is the function's.
    """
    if function_status is not None:
        return True
    try:
        d = json.loads(body)
    except ValueError:
        return True
    err = d.get("error") if isinstance(d, dict) and len(d) == 1 else None
    code = err.get("code") if isinstance(err, dict) else None
    return not (isinstance(code, str) and code in REFUSAL_CODES)
