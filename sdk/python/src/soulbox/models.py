"""Dataclasses for what the API returns.

Every model keeps the decoded JSON it was made from in ``raw``, so fields the
server adds later stay reachable. Timestamps are the API's RFC 3339 strings.
"""
from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar

__all__ = [
    "NetworkUsage", "ReturnedFile", "Summary", "TestCaseResult", "ExecutionResult",
    "CallbackState", "Execution", "Submission", "ExecutionPage", "ClusterNode", "Cluster",
    "Health", "Language", "UnavailableLanguage", "Languages", "Template", "SandboxLimits",
    "SandboxUsage", "SandboxNetwork", "SandboxInfo", "CommandConfig", "CommandResult",
    "CommandEvent", "FileEntry", "WatchEvent", "Context", "CodeResult", "CodeError", "Logs",
    "CodeExecution", "StreamEvent", "FunctionVersion", "FunctionInstances", "FunctionInfo",
    "InvocationHandle", "InvocationResponse", "Invocation", "FunctionErrorInfo", "FunctionResponse",
    "AuditRecord", "AuditPage", "ShareLink", "Share",
]

T = TypeVar("T", bound="Model")
_FIELDS: Dict[type, Tuple[Tuple[str, Optional[Callable[[Any], Any]]], ...]] = {}


class Model:
    """Base of the result dataclasses: ``from_dict`` builds one from decoded JSON."""

    _conv: Dict[str, Callable[[Any], Any]] = {}

    @classmethod
    def from_dict(cls: Type[T], d: Optional[Dict[str, Any]]) -> T:
        """Builds the model from a decoded JSON object (unknown keys stay in ``raw``)."""
        if d is None:
            d = {}
        spec = _FIELDS.get(cls)
        if spec is None:
            conv = {}
            for klass in reversed(cls.__mro__):
                conv.update(klass.__dict__.get("_conv", {}))
            spec = tuple((f.name, conv.get(f.name)) for f in dataclasses.fields(cls)
                         if f.name != "raw" and f.init)
            _FIELDS[cls] = spec
        kw: Dict[str, Any] = {}
        for name, fn in spec:
            if name in d:
                v = d[name]
                kw[name] = fn(v) if (fn is not None and v is not None) else v
        return cls(raw=d, **kw)  # type: ignore[call-arg]


def _list_of(m: Type[Model]) -> Callable[[Any], Any]:
    return lambda v: [m.from_dict(x) for x in v]


def _one(m: Type[Model]) -> Callable[[Any], Any]:
    return lambda v: m.from_dict(v)


@dataclass
class NetworkUsage(Model):
    """Traffic through the egress proxy (present only when the run had network)."""

    bytes_sent: int = 0
    bytes_received: int = 0
    connections: int = 0
    connections_refused: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ReturnedFile(Model):
    """A file handed back by ``return_files``; ``content`` is decoded from base64."""

    name: str = ""
    size: int = 0
    content: bytes = b""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"content": base64.b64decode}


@dataclass
class Summary(Model):
    """Judge mode summary: ``verdict`` is the first case's that is not accepted."""

    total: int = 0
    accepted: int = 0
    verdict: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TestCaseResult(Model):
    """One test case's run; ``verdict`` is ``accepted``, ``wrong_answer``, ``ok`` or a status."""

    __test__ = False  # not a pytest class
    index: int = 0
    verdict: str = ""
    status: str = ""
    stdout: str = ""
    stderr: str = ""
    exit_code: Optional[int] = None
    signal: Optional[int] = None
    execution_time: Optional[str] = None
    wall_time_ms: Optional[int] = None
    cpu_time_ms: Optional[int] = None
    memory_kb: Optional[int] = None
    truncated: bool = False
    message: Optional[str] = None
    network: Optional[NetworkUsage] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"network": _one(NetworkUsage)}

    @property
    def accepted(self) -> bool:
        """True when the verdict is ``accepted``."""
        return self.verdict == "accepted"


@dataclass
class ExecutionResult(Model):
    """The result of one execution (``POST /api/execute``), every field of the API's Result.

    ``status`` is ``ok``, ``runtime_error``, ``time_limit_exceeded``, ``memory_limit_exceeded``,
    ``output_limit_exceeded``, ``compile_error`` or ``internal_error``. With ``test_cases``
    in the request, ``test_cases`` and ``summary`` hold the per-case verdicts.
    """

    stdout: str = ""
    stderr: str = ""
    exit_code: Optional[int] = None
    execution_time: Optional[str] = None
    status: str = ""
    signal: Optional[int] = None
    wall_time_ms: Optional[int] = None
    cpu_time_ms: Optional[int] = None
    memory_kb: Optional[int] = None
    truncated: bool = False
    message: Optional[str] = None
    network: Optional[NetworkUsage] = None
    id: Optional[str] = None
    compile_output: Optional[str] = None
    compile: Optional["ExecutionResult"] = None
    compile_cached: Optional[bool] = None
    files: List[ReturnedFile] = field(default_factory=list)
    files_truncated: bool = False
    test_cases: List[TestCaseResult] = field(default_factory=list)
    summary: Optional[Summary] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {
        "network": _one(NetworkUsage),
        "files": _list_of(ReturnedFile),
        "test_cases": _list_of(TestCaseResult),
        "summary": _one(Summary),
    }

    @property
    def ok(self) -> bool:
        """True when ``status`` is ``ok``."""
        return self.status == "ok"


ExecutionResult._conv["compile"] = _one(ExecutionResult)


@dataclass
class CallbackState(Model):
    """Delivery state of an execution's ``callback_url``."""

    url: str = ""
    state: str = ""
    attempts: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Execution(ExecutionResult):
    """A stored execution: the result plus its metadata (status ``queued``/``running`` before it ends)."""

    language: str = ""
    mode: str = ""
    created_at: Optional[str] = None
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    callback: Optional[CallbackState] = None
    _conv = {"callback": _one(CallbackState)}

    @property
    def done(self) -> bool:
        """True once the execution is neither ``queued`` nor ``running``."""
        return self.status not in ("queued", "running")


@dataclass
class Submission(Model):
    """The answer of ``submit``: the new execution's ``id`` and ``status`` (``queued``)."""

    id: str = ""
    status: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ExecutionPage:
    """One page of ``list_executions``: ``items`` newest first, ``next_cursor`` or ``None``."""

    items: List[Execution]
    next_cursor: Optional[str]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class AuditRecord(Model):
    """One record of the audit log (``GET /api/audit``); fields a record does not have are ``None``.

    ``event`` is ``execution``, a security event (``seccomp_kill``, ``limit_exceeded``, ...),
    a refusal (``auth_failure``, ``rate_limited``), a session's (``session_created``, ...),
    a function change (``function_deploy``, ...) or ``share_created`` (``detail``: the id).
    ``key_id`` is the key's id (not its secret; ``None`` without auth), ``limits`` an
    execution's resolved limits, ``seq`` its number in the log (newer is larger).
    """

    seq: int = 0
    time: str = ""
    ts_ms: int = 0
    event: str = ""
    request_id: Optional[str] = None
    key_id: Optional[str] = None
    client: Optional[str] = None
    language: Optional[str] = None
    code_sha256: Optional[str] = None
    limits: Optional[Dict[str, int]] = None
    status: Optional[str] = None
    detail: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class AuditPage:
    """One page of ``audit``: ``records`` newest first, ``next_cursor`` or ``None`` on the last."""

    records: List[AuditRecord]
    next_cursor: Optional[str]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ShareLink(Model):
    """The answer of ``shares.create``: the new share's ``id`` (the capability), ``url``
    (the playground's link, ``/?share={id}``, relative to the server) and ``created``."""

    id: str = ""
    url: str = ""
    created: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Share(Model):
    """A shared program (``shares.get``), normalized by the server.

    ``language`` is the language's name (an alias resolved); ``code`` or ``files``
    (each ``{"name", "content", "encoding"}``), whichever was shared; ``stdin``, ``args``,
    ``limits`` (as given, not resolved) and ``test_cases`` are ``None`` when absent;
    ``result`` is the shared execution as ``get_execution`` returned it, or ``None``.
    """

    id: str = ""
    created: str = ""
    language: str = ""
    code: Optional[str] = None
    files: Optional[List[Dict[str, Any]]] = None
    stdin: Optional[str] = None
    args: Optional[List[str]] = None
    limits: Optional[Dict[str, int]] = None
    test_cases: Optional[List[Dict[str, Any]]] = None
    result: Optional[Execution] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"result": _one(Execution)}


@dataclass
class ClusterNode(Model):
    """A node of the cluster, as this server saw it at its last heartbeat.

    ``state`` is ``up``, ``lost`` (no heartbeat for ``cluster.node_timeout_ms``) or ``left``
    (stopped); ``self`` is true for the server that answered.
    """

    id: str = ""
    name: str = ""
    state: str = ""
    self: bool = False
    capacity: int = 0
    max_queue: Optional[int] = None
    running: int = 0
    queued: int = 0
    languages: List[str] = field(default_factory=list)
    started_ms: Optional[int] = None
    heartbeat_age_ms: int = 0
    url: Optional[str] = None
    reason: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Cluster(Model):
    """``GET /api/cluster``: the nodes sharing this server's store.

    ``store`` is ``sqlite`` (a single node: this one alone) or ``postgres`` (cluster mode);
    ``database`` is ``up`` or ``unreachable`` (then ``error`` says why).
    """

    store: str = ""
    node: str = ""
    name: str = ""
    database: str = ""
    error: Optional[str] = None
    queued: int = 0
    nodes: List[ClusterNode] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"nodes": _list_of(ClusterNode)}


@dataclass
class Health(Model):
    """``GET /health``: status (``ok``/``degraded``/``stopping``), version, load.

    ``store`` is ``sqlite`` or ``postgres``; in cluster mode ``cluster`` is what
    :meth:`Client.cluster` returns, and ``status`` is ``degraded`` while the database is out
    of reach.
    """

    status: str = ""
    version: str = ""
    uptime_s: int = 0
    active_sandboxes: int = 0
    running: int = 0
    queued: int = 0
    cgroup: str = ""
    languages_ready: Optional[bool] = None
    sessions: Optional[int] = None
    store: Optional[str] = None
    cluster: Optional[Cluster] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"cluster": _one(Cluster)}


@dataclass
class Language(Model):
    """A language the server runs, with its real version."""

    name: str = ""
    aliases: List[str] = field(default_factory=list)
    version: str = ""
    compiled: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class UnavailableLanguage(Model):
    """A configured language that failed its startup check, and why."""

    name: str = ""
    reason: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Languages(Model):
    """``GET /api/languages``: available, unavailable and still probing languages."""

    languages: List[Language] = field(default_factory=list)
    unavailable: List[UnavailableLanguage] = field(default_factory=list)
    probing: List[str] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"languages": _list_of(Language), "unavailable": _list_of(UnavailableLanguage)}

    def names(self) -> List[str]:
        """The available languages' names."""
        return [lang.name for lang in self.languages]


@dataclass
class Template(Model):
    """A session template (``GET /api/templates``)."""

    name: str = ""
    aliases: List[str] = field(default_factory=list)
    description: str = ""
    languages: List[str] = field(default_factory=list)
    default_context: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class SandboxLimits(Model):
    """A session's limits (all its processes together)."""

    memory_mb: Optional[int] = None
    disk_mb: Optional[int] = None
    output_mb: Optional[int] = None
    max_cpu_percent: Optional[int] = None
    processes: Optional[int] = None
    open_files: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class SandboxUsage(Model):
    """What a session uses now."""

    memory_bytes: int = 0
    output_bytes: int = 0
    commands: int = 0
    contexts: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class SandboxNetwork(Model):
    """A session's egress: ``enabled``, its ``allow`` list and traffic ``usage``."""

    enabled: bool = False
    allow: List[str] = field(default_factory=list)
    usage: Optional[NetworkUsage] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"usage": _one(NetworkUsage)}


@dataclass
class SandboxInfo(Model):
    """A session's state (``GET /api/sandboxes/{id}``)."""

    id: str = ""
    template: str = ""
    state: str = ""
    created_at: Optional[str] = None
    ends_at: Optional[str] = None
    timeout_s: int = 0
    metadata: Dict[str, str] = field(default_factory=dict)
    limits: Optional[SandboxLimits] = None
    usage: Optional[SandboxUsage] = None
    network: Optional[SandboxNetwork] = None
    isolation: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"limits": _one(SandboxLimits), "usage": _one(SandboxUsage),
             "network": _one(SandboxNetwork)}


@dataclass
class CommandConfig(Model):
    """What a command ran (a ``cmd`` line is ``/bin/bash -c <line>``)."""

    cmd: str = ""
    args: List[str] = field(default_factory=list)
    envs: Dict[str, str] = field(default_factory=dict)
    cwd: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class CommandResult(Model):
    """A session command: running (``state`` ``running``) or ended, with its output when carried."""

    pid: int = 0
    config: Optional[CommandConfig] = None
    state: str = ""
    tag: Optional[str] = None
    started_at: Optional[str] = None
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    ended_at: Optional[str] = None
    status: Optional[str] = None
    exit_code: Optional[int] = None
    signal: Optional[int] = None
    wall_time_ms: Optional[int] = None
    cpu_time_ms: Optional[int] = None
    error: Optional[str] = None
    stdout: str = ""
    stderr: str = ""
    output_dropped: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"config": _one(CommandConfig)}

    @property
    def ok(self) -> bool:
        """True when the command ended with status ``ok``."""
        return self.status == "ok"


@dataclass
class CommandEvent:
    """One event of a streamed command: ``start`` (``pid``), ``stdout``/``stderr`` (``data``), ``exit`` (``result``)."""

    type: str
    data: str = ""
    pid: Optional[int] = None
    result: Optional[CommandResult] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class FileEntry(Model):
    """A file's metadata; ``type`` is ``file``, ``dir``, ``symlink`` or ``other``."""

    name: str = ""
    path: str = ""
    type: str = ""
    size: int = 0
    mode: int = 0
    permissions: str = ""
    modified_at: Optional[str] = None
    symlink_target: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class WatchEvent:
    """A directory change: ``type`` ``created``/``modified``/``removed``/``renamed`` with ``path`` and ``dir``."""

    type: str
    path: str = ""
    dir: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Context(Model):
    """A code context: a persistent python, javascript or bash interpreter."""

    id: str = ""
    language: str = ""
    cwd: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


def _b64(v: Any) -> Optional[bytes]:
    return base64.b64decode(v) if isinstance(v, str) else None


@dataclass
class CodeResult:
    """A cell's value: its representations by MIME type.

    ``png`` and ``jpeg`` are bytes (decoded from base64); ``json`` is the decoded
    ``application/json`` value; ``raw`` is the whole MIME bundle as sent.
    """

    is_main: bool = False
    text: Optional[str] = None
    html: Optional[str] = None
    markdown: Optional[str] = None
    svg: Optional[str] = None
    png: Optional[bytes] = None
    jpeg: Optional[bytes] = None
    latex: Optional[str] = None
    json: Any = None
    javascript: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_event(cls, ev: Dict[str, Any]) -> "CodeResult":
        """Builds the result from a cell's ``result`` event."""
        d = ev.get("data") or {}
        return cls(is_main=bool(ev.get("main")), text=d.get("text/plain"), html=d.get("text/html"),
                   markdown=d.get("text/markdown"), svg=d.get("image/svg+xml"),
                   png=_b64(d.get("image/png")), jpeg=_b64(d.get("image/jpeg")),
                   latex=d.get("text/latex"), json=d.get("application/json"),
                   javascript=d.get("application/javascript"), raw=d)

    def formats(self) -> List[str]:
        """The MIME types this result has."""
        return list(self.raw)


@dataclass
class CodeError:
    """A cell's failure: the exception's ``name``, ``value`` and ``traceback``."""

    name: str = ""
    value: str = ""
    traceback: str = ""


@dataclass
class Logs:
    """A cell's output chunks, in order."""

    stdout: List[str] = field(default_factory=list)
    stderr: List[str] = field(default_factory=list)


@dataclass
class CodeExecution:
    """What ``run_code`` returns: results, logs, error and the context's ``execution_count``."""

    results: List[CodeResult] = field(default_factory=list)
    logs: Logs = field(default_factory=Logs)
    error: Optional[CodeError] = None
    execution_count: int = 0

    @property
    def text(self) -> Optional[str]:
        """The main result's ``text/plain``, or ``None``."""
        for r in self.results:
            if r.is_main:
                return r.text
        return None


@dataclass
class StreamEvent:
    """One event of a streamed execution (WebSocket).

    ``type`` is ``started`` (``id``), ``stdout``/``stderr`` (``data``), ``exit`` (``result``,
    the full result) or ``error`` (``error``, a non-fatal problem such as stdin overflow).
    """

    type: str
    data: str = ""
    id: Optional[str] = None
    result: Optional[ExecutionResult] = None
    error: Optional[Any] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


# -- functions ---------------------------------------------------------------------------------

@dataclass
class FunctionVersion(Model):
    """One deployed version of a function (``deploy``, ``rollback``, ``versions``, ``info.active``).

    ``mode`` is ``handler`` (a python/javascript ``handler(event, context)``) or ``stdio`` (the
    event on stdin, stdout the body). ``env`` shows secrets as ``{"secret": True}``; ``files``
    are the names of the version's files.
    """

    name: str = ""
    version: int = 0
    active_version: Optional[int] = None
    created_at: Optional[str] = None
    created_by: Optional[str] = None
    language: str = ""
    mode: str = ""
    handler: Optional[str] = None
    reuse: bool = False
    public: bool = False
    min_instances: int = 0
    max_instances: int = 0
    concurrency: int = 1
    timeout_ms: int = 0
    idle_timeout_ms: int = 0
    limits: Dict[str, Any] = field(default_factory=dict)
    env: Dict[str, Any] = field(default_factory=dict)
    files: List[str] = field(default_factory=list)
    schedule: List[str] = field(default_factory=list)
    network: Any = None
    isolation: str = ""
    code_sha256: str = ""
    description: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class FunctionInstances(Model):
    """A function's load now: warm instances, invocations running and queued."""

    running: int = 0
    invocations_running: int = 0
    invocations_queued: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class FunctionInfo(Model):
    """A function: its versions' summary, aliases and load (``active``: the active version's
    details, from ``get``, ``set_alias`` and ``delete_alias``; ``None`` in ``list``)."""

    name: str = ""
    created_at: Optional[str] = None
    updated_at: Optional[str] = None
    active_version: int = 0
    latest_version: int = 0
    aliases: Dict[str, int] = field(default_factory=dict)
    versions: int = 0
    instances: FunctionInstances = field(default_factory=FunctionInstances)
    active: Optional[FunctionVersion] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"instances": _one(FunctionInstances), "active": _one(FunctionVersion)}


@dataclass
class InvocationHandle(Model):
    """The answer of ``invoke_async``: the invocation's ``id`` (``state`` ``running``)."""

    id: str = ""
    function: str = ""
    version: int = 0
    state: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class FunctionErrorInfo:
    """Why a function failed: the body of its 502 (``function_error``) or 504
    (``function_timeout``) answer. ``status`` is the run's (``runtime_error``,
    ``time_limit_exceeded``, ...), ``type`` and ``stack`` the exception's when the handler raised.
    """

    code: str
    message: str = ""
    status: Optional[str] = None
    type: Optional[str] = None
    stack: Optional[str] = None
    request_id: Optional[str] = None

    @staticmethod
    def parse(status: int, body: bytes) -> Optional["FunctionErrorInfo"]:
        """The error of a 502/504 function answer, ``None`` for any other answer."""
        if status not in (502, 504):
            return None
        try:
            d = json.loads(body)
        except ValueError:
            return None
        err = d.get("error") if isinstance(d, dict) else None
        if not isinstance(err, dict) or err.get("code") not in ("function_error", "function_timeout"):
            return None
        return FunctionErrorInfo(code=str(err["code"]), message=str(err.get("message") or ""),
                                 status=err.get("status"), type=err.get("type"),
                                 stack=err.get("stack"), request_id=d.get("request_id"))


def _header_dict(v: Any) -> Any:
    """The function's headers, ``{name: value}``, names lower-case."""
    return {str(k).lower(): str(x) for k, x in v.items()} if isinstance(v, dict) else {}


@dataclass
class InvocationResponse(Model):
    """The HTTP answer an asynchronous invocation made (``Invocation.response``, also in
    the callback's payload): ``headers`` the function's own (a dict, lower-case names;
    ``Content-Type`` is ``content_type``), ``body`` text or base64 (``is_base64``).
    ``body_dropped`` is True when the server did not keep the body (a node keeps at most
    256 MiB of asynchronous answers' bodies): ``body`` is then ``""``."""

    status: int = 0
    content_type: Optional[str] = None
    headers: Dict[str, str] = field(default_factory=dict)
    body: str = ""
    body_dropped: bool = False
    is_base64: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"headers": _header_dict}

    @property
    def content(self) -> bytes:
        """The body's bytes."""
        return base64.b64decode(self.body) if self.is_base64 else self.body.encode("utf-8")

    @property
    def text(self) -> str:
        """The body as text."""
        return self.content.decode("utf-8", "replace")

    @property
    def error(self) -> Optional[FunctionErrorInfo]:
        """The function's failure (502/504 ``function_error``/``function_timeout``), else ``None``."""
        return FunctionErrorInfo.parse(self.status, self.content)

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.content)


@dataclass
class Invocation(Model):
    """One invocation of a function (``logs``, ``invocation``, ``wait``).

    ``state`` is ``running`` or ``done``; ``status`` the run's (``ok``, ``runtime_error``,
    ``time_limit_exceeded``, ...), ``error`` its message, ``logs`` what the handler printed,
    ``http_status`` the answer's status. ``response`` is the answer itself for an
    asynchronous invocation that is done (``None`` otherwise).
    """

    id: str = ""
    request_id: Optional[str] = None
    version: int = 0
    started_at: Optional[str] = None
    state: str = ""
    cold: bool = False
    status: Optional[str] = None
    error: Optional[str] = None
    logs: Optional[str] = None
    duration_ms: Optional[float] = None
    http_status: Optional[int] = None
    response: Optional[InvocationResponse] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _conv = {"response": _one(InvocationResponse)}

    @property
    def done(self) -> bool:
        """True once the invocation has ended (``state`` ``done``)."""
        return self.state == "done"

    @property
    def is_async(self) -> bool:
        """True for an invocation made by ``invoke_async`` (the API's ``async``)."""
        return bool(self.raw.get("async"))


@dataclass
class FunctionResponse:
    """A function's HTTP answer to ``invoke``, as it is: ``status``, ``headers`` (lower-case
    names) and ``body`` (bytes).

    A function's own error statuses are answers too (it may answer 404 on purpose); its
    failure is a 502 (504 for its timeout) whose parsed body is :attr:`error`.
    """

    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (bad bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    @property
    def request_id(self) -> Optional[str]:
        """The invocation's request id (``X-Request-Id``), also in the function's logs."""
        return self.headers.get("x-request-id")

    @property
    def error(self) -> Optional[FunctionErrorInfo]:
        """The function's failure (502 ``function_error``, 504 ``function_timeout``), else ``None``."""
        return FunctionErrorInfo.parse(self.status, self.body)

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)
