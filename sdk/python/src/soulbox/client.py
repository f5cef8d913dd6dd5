"""The synchronous client: :class:`Client`, :class:`Sandbox` and their helpers."""
from __future__ import annotations

import datetime
import json
import time
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union)

from . import _core
from ._core import Config, FilesArg, ctx_id, dumps, route
from ._http import StreamResponse, SyncTransport, raise_protocol
from ._ws import OP_TEXT, SyncWebSocket
from .errors import ConnectionError, NotFoundError, RateLimitError, TimeoutError, UnavailableError
from .models import (AuditPage, AuditRecord, Cluster, CodeError, CodeExecution, CodeResult, CommandEvent, CommandResult,
                     Context, Execution, ExecutionPage, ExecutionResult, FileEntry, FunctionInfo,
                     FunctionResponse, FunctionVersion, Health, Invocation, InvocationHandle,
                     Languages, SandboxInfo, Share, ShareLink, StreamEvent, Submission, Template,
                     WatchEvent)

__all__ = ["Client", "Sandbox", "SandboxPage", "Commands", "CommandHandle", "CommandStream",
           "Files", "FileWatcher", "ExecutionStream", "Functions", "Shares"]

Data = Union[str, bytes]


class Client:
    """A synchronous SoulBox client (thread-safe; one keep-alive connection pool).

    Args:
        url: the server, ``host:port`` or ``http(s)://host:port[/prefix]``; default
            ``SOULBOX_URL``, else ``http://localhost:8080``.
        api_key: sent as ``Authorization: Bearer``; default ``SOULBOX_API_KEY``, else none.
        timeout: seconds bounding each HTTP call (default 300); each method takes its own.
        max_retries: retries of 429/503 answers (default 3; 0 turns retries off).

    Use it as a context manager, or call :meth:`close`, to close its connections.
    """

    def __init__(self, url: Optional[str] = None, *, api_key: Optional[str] = None,
                 timeout: Optional[float] = None, max_retries: Optional[int] = None) -> None:
        self._cfg = Config(url, api_key, timeout, max_retries)
        self._t = SyncTransport(self._cfg)
        #: Serverless functions: deploy, invoke, versions, aliases, logs.
        self.functions = Functions(self)
        #: Share links: a program (and a finished execution's result) under an unguessable id.
        self.shares = Shares(self)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._cfg.url

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Closes the pooled connections."""
        self._t.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _json(self, rname: str, body: Any = None, query: _core.Query = None,
              timeout: Optional[float] = None, **params: Any) -> Any:
        method, path = route(rname, query, **params)
        if body is None:
            r = self._t.request(method, path, None, self._cfg.base_headers, timeout)
        else:
            r = self._t.request(method, path, dumps(body), self._cfg.json_headers, timeout)
        if not r.body:
            return None
        return json.loads(r.body)

    def _stream(self, rname: str, body: Any, accept: str, query: _core.Query = None,
                timeout: Optional[float] = None, **params: Any) -> StreamResponse:
        method, path = route(rname, query, **params)
        h = dict(self._cfg.json_headers if body is not None else self._cfg.base_headers)
        h["Accept"] = accept
        data = dumps(body) if body is not None else None
        resp: StreamResponse = self._t.request(method, path, data, h, timeout, stream=True)
        return resp

    # -- executions -------------------------------------------------------------------------
    def execute(self, language: str, code: Optional[str] = None, *, files: FilesArg = None,
                stdin: Optional[str] = None, args: Optional[Sequence[str]] = None,
                compile_args: Optional[Sequence[str]] = None,
                env: Optional[Mapping[str, str]] = None, limits: Optional[Mapping[str, int]] = None,
                compile_limits: Optional[Mapping[str, int]] = None,
                network: Any = None, isolation: Optional[str] = None,
                test_cases: Optional[Sequence[Mapping[str, Any]]] = None,
                return_files: Optional[Sequence[str]] = None, dedent: bool = True,
                timeout: Optional[float] = None,
                extra: Optional[Mapping[str, Any]] = None) -> ExecutionResult:
        """Runs a program and waits for its result (``POST /api/execute``).

        Args:
            language: a name or alias from :meth:`languages`.
            code: the program (dedented unless ``dedent=False``); or give ``files``.
            files: ``{name: content}`` or a list of ``{"name", "content", "encoding"}``;
                bytes contents are sent as base64. The first file is the entry point.
            stdin, args, env: the program's input, arguments and extra environment.
            compile_args: more of the compiler's arguments (``["-O0", "-DDEBUG",
                "-std=c++20"]``), after the language's own options and before the source
                files; part of the compile cache's key. Only for languages with a compile
                step: otherwise :class:`InvalidRequestError` (400, ``compile_args:
                <language> has no compile step``).
            limits: ``wall_time_ms``, ``cpu_time_ms``, ``memory_mb``, ``processes``,
                ``output_kb``, ``disk_mb``, ``file_size_kb``, ``open_files``, ``stack_kb``.
            compile_limits: lower limits for a compiled language's compile stage than its
                own: ``wall_time_ms``, ``cpu_time_ms`` (each from 1), ``memory_mb`` (from
                8), each up to the stage's own value. Only for languages with a compile
                step: otherwise :class:`InvalidRequestError` (400, ``compile_limits:
                <language> has no compile step``). A compile stopped by one is
                ``status == "compile_error"`` with ``result.compile.status`` saying which.
            network: ``True`` or ``{"enabled": True, "allow": [...]}``.
            isolation: ``"namespaces"`` or ``"microvm"`` (the program runs in a QEMU
                microVM with its own kernel; not with ``network``); default: the server's.
            test_cases: ``[{"stdin", "expected_output"}]``: judge mode, see
                ``result.test_cases`` and ``result.summary``.
            return_files: patterns of files to hand back from /workspace.
            timeout: this call's timeout in seconds.
            extra: more request fields, sent as they are.

        A program that fails is not an error: see ``result.status``.
        """
        body = _core.execute_body(language, code, files, stdin, args, compile_args, env,
                                  limits, compile_limits, network, isolation, test_cases,
                                  return_files, dedent, extra)
        r = self._t.request("POST", "/api/execute", dumps(body), self._cfg.json_headers, timeout)
        return ExecutionResult.from_dict(json.loads(r.body))

    def submit(self, language: str, code: Optional[str] = None, *, files: FilesArg = None,
               stdin: Optional[str] = None, args: Optional[Sequence[str]] = None,
               compile_args: Optional[Sequence[str]] = None,
               env: Optional[Mapping[str, str]] = None, limits: Optional[Mapping[str, int]] = None,
               compile_limits: Optional[Mapping[str, int]] = None,
               network: Any = None, isolation: Optional[str] = None,
               test_cases: Optional[Sequence[Mapping[str, Any]]] = None,
               callback_url: Optional[str] = None, dedent: bool = True,
               timeout: Optional[float] = None,
               extra: Optional[Mapping[str, Any]] = None) -> Submission:
        """Queues a program (``POST /api/executions``); returns its ``id`` and ``status``.

        ``callback_url`` gets the final execution POSTed to it. Poll with
        :meth:`get_execution` or :meth:`wait_execution`.
        """
        body = _core.execute_body(language, code, files, stdin, args, compile_args, env,
                                  limits, compile_limits, network, isolation, test_cases,
                                  None, dedent, extra)
        if callback_url is not None:
            body["callback_url"] = callback_url
        return Submission.from_dict(self._json("submit", body, timeout=timeout))

    def get_execution(self, id: str, *, timeout: Optional[float] = None) -> Execution:
        """One execution: queued, running, or its final result (``GET /api/executions/{id}``)."""
        return Execution.from_dict(self._json("get_execution", timeout=timeout, id=id))

    def wait_execution(self, id: str, *, timeout: float = 300.0,
                       poll_interval: float = 0.2) -> Execution:
        """Polls an execution until it is neither ``queued`` nor ``running``.

        Raises :class:`TimeoutError` when it has not ended within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            ex = self.get_execution(id)
            if ex.done:
                return ex
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"execution {id} still {ex.status} after {timeout} s",
                                   code="timeout")
            time.sleep(min(poll_interval, left))

    def list_executions(self, *, limit: Optional[int] = None, cursor: Optional[str] = None,
                        timeout: Optional[float] = None) -> ExecutionPage:
        """A page of the caller's executions, newest first (``GET /api/executions``)."""
        d = self._json("list_executions", query={"limit": limit, "cursor": cursor},
                       timeout=timeout)
        return ExecutionPage(items=[Execution.from_dict(x) for x in d.get("executions") or []],
                             next_cursor=d.get("next_cursor"), raw=d)

    def iter_executions(self, *, limit: Optional[int] = None) -> Iterator[Execution]:
        """Every execution of the caller, newest first, fetching pages of ``limit`` as needed."""
        cursor: Optional[str] = None
        while True:
            page = self.list_executions(limit=limit, cursor=cursor)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def stream(self, language: str, code: Optional[str] = None, *, files: FilesArg = None,
               stdin: Optional[str] = None, args: Optional[Sequence[str]] = None,
               compile_args: Optional[Sequence[str]] = None,
               env: Optional[Mapping[str, str]] = None, limits: Optional[Mapping[str, int]] = None,
               compile_limits: Optional[Mapping[str, int]] = None,
               network: Any = None, isolation: Optional[str] = None, dedent: bool = True,
               timeout: Optional[float] = None,
               extra: Optional[Mapping[str, Any]] = None) -> "ExecutionStream":
        """Runs a program interactively over the WebSocket (``GET /api/ws``).

        Returns an :class:`ExecutionStream`: iterate it for ``started``, ``stdout``,
        ``stderr`` and finally ``exit`` events; ``send_stdin``, ``close_stdin`` and ``kill``
        while it runs; ``result`` once it has ended. ``stdin`` is written first and stdin
        stays open until ``close_stdin``.
        """
        body = _core.execute_body(language, code, files, stdin, args, compile_args, env,
                                  limits, compile_limits, network, isolation, None, None, dedent,
                                  extra)
        body = dict({"type": "execute"}, **body)
        _, path = route("ws")
        to = self._cfg.timeout if timeout is None else timeout
        msg = json.dumps(body)
        attempt = 0
        while True:
            try:
                ws = SyncWebSocket(self._cfg, path, to)
            except (RateLimitError, UnavailableError) as e:
                if attempt < self._cfg.max_retries:
                    time.sleep(_core.backoff(attempt, e.retry_after))
                    attempt += 1
                    continue
                raise
            try:
                ws.send_text(msg)
                pending = [ws.recv()]
                if _refused(pending[0]):  # a rate limit or a full queue closes the socket
                    pending.append(ws.recv())
            except BaseException:
                ws.close()
                raise
            if ws.close_code in (4429, 4503) and attempt < self._cfg.max_retries:
                time.sleep(_core.backoff(attempt, None))
                attempt += 1
                continue
            return ExecutionStream(ws, pending)

    # -- service ----------------------------------------------------------------------------
    def languages(self, *, timeout: Optional[float] = None) -> Languages:
        """The languages this server runs, with their versions (``GET /api/languages``)."""
        return Languages.from_dict(self._json("languages", timeout=timeout))

    def health(self, *, timeout: Optional[float] = None) -> Health:
        """Liveness and load (``GET /health``)."""
        return Health.from_dict(self._json("health", timeout=timeout))

    def cluster(self, *, timeout: Optional[float] = None) -> Cluster:
        """The nodes sharing this server's store (``GET /api/cluster``).

        On SQLite the server alone (``store`` ``"sqlite"``, one node with ``self`` true); in
        cluster mode (PostgreSQL) every node registered, as the server saw it at its last
        heartbeat.
        """
        return Cluster.from_dict(self._json("cluster", timeout=timeout))

    def metrics(self, *, timeout: Optional[float] = None) -> str:
        """The Prometheus metrics text (``GET /metrics``)."""
        method, path = route("metrics")
        h = dict(self._cfg.base_headers, Accept="text/plain")
        body: bytes = self._t.request(method, path, None, h, timeout).body
        return body.decode("utf-8", "replace")

    def templates(self, *, timeout: Optional[float] = None) -> List[Template]:
        """The session templates this server offers (``GET /api/templates``)."""
        return [Template.from_dict(t) for t in self._json("templates", timeout=timeout)["templates"]]

    # -- audit ------------------------------------------------------------------------------
    def audit(self, *, limit: Optional[int] = None, cursor: Optional[str] = None,
              event: Optional[str] = None, key_id: Optional[str] = None,
              status: Optional[str] = None,
              since: Union[int, str, datetime.datetime, None] = None,
              timeout: Optional[float] = None) -> AuditPage:
        """A page of the audit log, newest first (``GET /api/audit``; an admin key when auth is on).

        Args:
            limit: records per page, 1-500 (default 100).
            cursor: the previous page's ``next_cursor``.
            event: only this event (exact), e.g. ``execution``, ``auth_failure``,
                ``session_created``, ``share_created``.
            key_id: only records of this key (its id, not its secret).
            status: only this status (exact), e.g. ``ok``, ``time_limit_exceeded``.
            since: only records at or after this time: milliseconds since the epoch, an
                ISO-8601 UTC time (``2026-12-06T04:00:00Z``) or date, or a datetime.
            timeout: this call's timeout in seconds.

        A key without the admin role gets :class:`PermissionDeniedError` (403
        ``permission_denied``); a bad parameter :class:`InvalidRequestError`.
        """
        q = _core.audit_query(limit, cursor, event, key_id, status, since)
        d = self._json("audit", query=q, timeout=timeout)
        return AuditPage(records=[AuditRecord.from_dict(x) for x in d.get("records") or []],
                         next_cursor=d.get("next_cursor"), raw=d)

    def iter_audit(self, *, limit: Optional[int] = None, event: Optional[str] = None,
                   key_id: Optional[str] = None, status: Optional[str] = None,
                   since: Union[int, str, datetime.datetime, None] = None
                   ) -> Iterator[AuditRecord]:
        """Every audit record matching the filters, newest first, fetching pages of ``limit``."""
        cursor: Optional[str] = None
        while True:
            page = self.audit(limit=limit, cursor=cursor, event=event, key_id=key_id,
                              status=status, since=since)
            yield from page.records
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    # -- sessions ---------------------------------------------------------------------------
    def create_sandbox(self, template: Optional[str] = None, *, language: Optional[str] = None,
                       timeout_s: Optional[int] = None, metadata: Optional[Mapping[str, str]] = None,
                       env: Optional[Mapping[str, str]] = None,
                       limits: Optional[Mapping[str, int]] = None, network: Any = None,
                       isolation: Optional[str] = None,
                       timeout: Optional[float] = None) -> "Sandbox":
        """Creates a session (``POST /api/sandboxes``) and returns it once it is ready.

        ``template`` is a name or alias from :meth:`templates` (default ``base``);
        ``timeout_s`` the seconds it lives; ``isolation`` is ``"namespaces"`` or
        ``"microvm"`` (default: the server's; see ``sandbox.isolation``). Use the Sandbox
        as a context manager to kill it on exit.
        """
        body: Dict[str, Any] = {}
        for k, v in (("template", template), ("language", language), ("timeout_s", timeout_s),
                     ("metadata", metadata), ("env", env), ("limits", limits),
                     ("network", network), ("isolation", isolation)):
            if v is not None:
                body[k] = dict(v) if isinstance(v, Mapping) else v
        return Sandbox(self, SandboxInfo.from_dict(self._json("create_sandbox", body,
                                                              timeout=timeout)))

    def get_sandbox(self, id: str, *, timeout: Optional[float] = None) -> "Sandbox":
        """An existing session by id (``GET /api/sandboxes/{id}``)."""
        return Sandbox(self, SandboxInfo.from_dict(self._json("get_sandbox", timeout=timeout, id=id)))

    def list_sandboxes(self, *, metadata: Optional[Mapping[str, str]] = None,
                       state: Union[str, Sequence[str], None] = None, limit: Optional[int] = None,
                       offset: Optional[int] = None,
                       timeout: Optional[float] = None) -> "SandboxPage":
        """The caller's live sessions, oldest first (``GET /api/sandboxes``).

        ``metadata`` keeps the sessions having every pair; ``state`` is ``running``,
        ``paused`` or a list of them.
        """
        q = _sandbox_query(metadata, state, limit, offset)
        d = self._json("list_sandboxes", query=q, timeout=timeout)
        return SandboxPage([Sandbox(self, SandboxInfo.from_dict(x)) for x in d.get("sandboxes") or []],
                           int(d.get("total") or 0), d.get("next_offset"), d)


class Functions:
    """Serverless functions (``client.functions``): deploy versions, invoke them, read their logs.

    A function is deployed once and invoked many times: over plain HTTP (:meth:`invoke`,
    the request becomes the function's event and its answer is returned as it is) or
    asynchronously (:meth:`invoke_async`, then :meth:`wait`).
    """

    def __init__(self, client: Client) -> None:
        self._c = client

    def deploy(self, name: str, language: str, code: Optional[str] = None, *,
               files: FilesArg = None, handler: Optional[str] = None,
               env: Optional[Mapping[str, Any]] = None, limits: Optional[Mapping[str, int]] = None,
               network: Any = None, isolation: Optional[str] = None, reuse: Optional[bool] = None,
               min_instances: Optional[int] = None, max_instances: Optional[int] = None,
               concurrency: Optional[int] = None, timeout_ms: Optional[int] = None,
               idle_timeout_ms: Optional[int] = None,
               schedule: Union[str, Sequence[str], None] = None, public: Optional[bool] = None,
               description: Optional[str] = None, dedent: bool = True,
               timeout: Optional[float] = None,
               extra: Optional[Mapping[str, Any]] = None) -> FunctionVersion:
        """Deploys a new version of a function (``POST /api/functions``); it becomes active.

        Args:
            name: 1-63 characters of a-z, 0-9, ``-`` and ``_``; a new name makes the function.
            language: ``python`` or ``javascript`` for a handler; any language in stdio mode.
            code: the entry file's source (dedented unless ``dedent=False``); or ``files``
                (as in :meth:`Client.execute`).
            handler: ``"module.function"`` (default ``main.handler`` / ``index.handler`` when
                the code defines ``handler``); ``""`` for stdio mode (the event on stdin,
                stdout the body).
            env: ``{name: value}``; a value is a string, :class:`Secret` or
                ``{"value": ..., "secret": True}`` (never shown again).
            limits: as in :meth:`Client.execute` but the wall time, which is ``timeout_ms``.
            reuse: keep warm instances between invocations (with ``min_instances``,
                ``max_instances``, ``concurrency``, ``idle_timeout_ms``).
            schedule: cron expression(s) invoking the function on their own.
            public: anyone may invoke it over ``/fn/...`` without a key.
            extra: more request fields, sent as they are.
        """
        body = _core.function_body(name, language, code, files, handler, env, dedent, {
            "limits": limits, "network": network, "isolation": isolation, "reuse": reuse,
            "min_instances": min_instances, "max_instances": max_instances,
            "concurrency": concurrency, "timeout_ms": timeout_ms,
            "idle_timeout_ms": idle_timeout_ms, "schedule": schedule, "public": public,
            "description": description}, extra)
        return FunctionVersion.from_dict(self._c._json("deploy_function", body, timeout=timeout))

    def list(self, *, timeout: Optional[float] = None) -> List[FunctionInfo]:
        """The caller's functions (``GET /api/functions``), without ``active``."""
        d = self._c._json("list_functions", timeout=timeout)
        return [FunctionInfo.from_dict(x) for x in d.get("functions") or []]

    def get(self, name: str, *, timeout: Optional[float] = None) -> FunctionInfo:
        """One function with its active version's details (``GET /api/functions/{name}``)."""
        return FunctionInfo.from_dict(self._c._json("get_function", timeout=timeout, name=name))

    def delete(self, name: str, *, timeout: Optional[float] = None) -> None:
        """Deletes a function with all its versions (``DELETE /api/functions/{name}``)."""
        self._c._json("delete_function", timeout=timeout, name=name)

    def versions(self, name: str, *, timeout: Optional[float] = None) -> List[FunctionVersion]:
        """Every version kept, newest first; each has ``name`` and ``active_version``."""
        d = self._c._json("function_versions", timeout=timeout, name=name)
        return _versions(d)

    def rollback(self, name: str, version: Optional[int] = None, *,
                 timeout: Optional[float] = None) -> FunctionVersion:
        """Makes ``version`` (default: the one before the active one) the active version."""
        body = {} if version is None else {"version": version}
        return FunctionVersion.from_dict(self._c._json("rollback_function", body, timeout=timeout,
                                                       name=name))

    def set_alias(self, name: str, alias: str, version: int, *,
                  timeout: Optional[float] = None) -> FunctionInfo:
        """Points ``alias`` at ``version`` (made or moved); invoke it as ``version=alias``."""
        return FunctionInfo.from_dict(self._c._json("set_function_alias", {"version": version},
                                                    timeout=timeout, name=name, alias=alias))

    def delete_alias(self, name: str, alias: str, *,
                     timeout: Optional[float] = None) -> FunctionInfo:
        """Removes an alias (the version stays)."""
        return FunctionInfo.from_dict(self._c._json("delete_function_alias", timeout=timeout,
                                                    name=name, alias=alias))

    def logs(self, name: str, limit: int = 20, *,
             timeout: Optional[float] = None) -> List[Invocation]:
        """The function's last invocations, newest first (``limit`` 1-1000)."""
        d = self._c._json("function_logs", query={"limit": limit}, timeout=timeout, name=name)
        return [Invocation.from_dict(x) for x in d.get("invocations") or []]

    def invoke(self, name: str, body: Any = None, *, method: str = "POST", path: str = "/",
               query: Any = None, headers: Optional[Mapping[str, str]] = None,
               version: Union[int, str, None] = None,
               timeout: Optional[float] = None) -> FunctionResponse:
        """Invokes a function over HTTP (``/fn/{name}[@version][/path]``) and returns its answer.

        The request (``method``, ``path``, ``query``, ``headers``, ``body``) becomes the
        function's event. ``body`` is bytes (sent as they are), a string (UTF-8) or else
        JSON; ``query`` a mapping, pairs or a query string; ``version`` a number or an alias
        (default: the active version).

        The function's answer is returned as it is, whatever its status: a 404 the
        function chose is a :class:`FunctionResponse` with status 404, and its failure a
        502 (504: its timeout) whose parsed body is ``response.error``. Only SoulBox's
        own refusals raise: :class:`NotFoundError` (no such function, version or alias),
        :class:`AuthenticationError`, :class:`RateLimitError` / :class:`UnavailableError`
        (after the retries; the function's own 429/503 is never retried), ... An answer
        with ``X-SoulBox-Function-Status`` is the function's; without it, SoulBox's error
        body (``{"error": {"code", "message"}}`` with one of its codes) is a refusal.
        """
        m, url, h, data = _core.invoke_request(self._c._cfg, name, body, method, path, query,
                                               headers, version)
        r = self._c._t.request(m, url, data, h, timeout, passthrough=True)
        return _function_response(r.status, r.headers.items(), r.body)

    def invoke_async(self, name: str, event: Optional[Mapping[str, Any]] = None, *,
                     version: Union[int, str, None] = None, callback_url: Optional[str] = None,
                     timeout: Optional[float] = None) -> InvocationHandle:
        """Starts an invocation with ``event`` (a JSON object; default ``{}``) as the handler's
        event (``POST /api/functions/{name}/invocations``) and returns at once.

        Follow it with :meth:`invocation` or :meth:`wait`; ``callback_url`` gets the ended
        invocation POSTed to it.
        """
        body = _async_body(event, version, callback_url)
        return InvocationHandle.from_dict(self._c._json("invoke_function_async", body,
                                                        timeout=timeout, name=name))

    def invocation(self, name: str, id: str, *, timeout: Optional[float] = None) -> Invocation:
        """One invocation: running, or done (an asynchronous one with its ``response``)."""
        return Invocation.from_dict(self._c._json("get_invocation", timeout=timeout, name=name,
                                                  id=id))

    def wait(self, name: str, id: str, *, timeout: float = 300.0,
             poll_interval: float = 0.2) -> Invocation:
        """Polls an invocation until it is done; :class:`TimeoutError` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            inv = self.invocation(name, id)
            if inv.done:
                return inv
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"invocation {id} still {inv.state} after {timeout} s",
                                   code="timeout")
            time.sleep(min(poll_interval, left))


class Shares:
    """Share links (``client.shares``): a program, and optionally a finished execution's
    result, kept under an unguessable id that any key may open (the playground's
    ``/?share={id}``)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, language: str, code: Optional[str] = None, *, files: FilesArg = None,
               stdin: Optional[str] = None, args: Optional[Sequence[str]] = None,
               limits: Optional[Mapping[str, int]] = None,
               test_cases: Optional[Sequence[Mapping[str, Any]]] = None,
               execution_id: Optional[str] = None, dedent: bool = True,
               timeout: Optional[float] = None,
               extra: Optional[Mapping[str, Any]] = None) -> ShareLink:
        """Shares a program (``POST /api/shares``); returns its ``id``, ``url`` and ``created``.

        Args:
            language, code, files, stdin, args, limits, test_cases: as in
                :meth:`Client.execute` (and checked the same way); ``code`` is dedented
                unless ``dedent=False``.
            execution_id: one of the caller's finished executions, whose result is copied
                into the share (another key's or an unknown id: :class:`NotFoundError`;
                one still queued or running: :class:`ConflictError`).
            timeout: this call's timeout in seconds.
            extra: more request fields, sent as they are.
        """
        body = _core.share_body(language, code, files, stdin, args, limits, test_cases,
                                execution_id, dedent, extra)
        return ShareLink.from_dict(self._c._json("create_share", body, timeout=timeout))

    def get(self, id: str, *, timeout: Optional[float] = None) -> Share:
        """A shared program by id (``GET /api/shares/{id}``), for any key;
        :class:`NotFoundError` when it is unknown (or pruned)."""
        return Share.from_dict(self._c._json("get_share", timeout=timeout, id=id))


def _versions(d: Dict[str, Any]) -> List[FunctionVersion]:
    out = []
    for x in d.get("versions") or []:
        x = dict(x)
        x.setdefault("name", d.get("name", ""))
        x.setdefault("active_version", d.get("active_version"))
        out.append(FunctionVersion.from_dict(x))
    return out


def _async_body(event: Optional[Mapping[str, Any]], version: Union[int, str, None],
                callback_url: Optional[str]) -> Dict[str, Any]:
    body: Dict[str, Any] = {}
    if event is not None:
        body["event"] = dict(event)
    if version is not None:
        body["version"] = version
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


def _function_response(status: int, headers: Any, body: bytes) -> FunctionResponse:
    h: Dict[str, str] = {}
    for k, v in headers:
        if k.startswith(":"):
            continue
        k = k.lower()
        h[k] = h[k] + ", " + v if k in h else v
    return FunctionResponse(status=status, headers=h, body=body)


def _sandbox_query(metadata: Optional[Mapping[str, str]], state: Union[str, Sequence[str], None],
                   limit: Optional[int], offset: Optional[int]) -> Dict[str, Any]:
    from urllib.parse import urlencode
    q: Dict[str, Any] = {"limit": limit, "offset": offset}
    if metadata:
        q["metadata"] = urlencode(dict(metadata))
    if state is not None:
        q["state"] = state if isinstance(state, str) else ",".join(state)
    return q


class SandboxPage:
    """A page of ``list_sandboxes``: ``sandboxes``, ``total`` and ``next_offset`` (or ``None``)."""

    def __init__(self, sandboxes: List[Any], total: int, next_offset: Optional[int],
                 raw: Dict[str, Any]) -> None:
        self.sandboxes = sandboxes
        self.total = total
        self.next_offset = next_offset
        self.raw = raw

    def __iter__(self) -> Iterator[Any]:
        return iter(self.sandboxes)

    def __len__(self) -> int:
        return len(self.sandboxes)


class ExecutionStream:
    """A running interactive execution (WebSocket); iterate it for :class:`StreamEvent`.

    Iteration ends after the ``exit`` event, whose result is then in :attr:`result`.
    An execute the server refuses (unknown language, invalid request, rate limit) raises
    its typed error from the iteration; later problems (e.g. too much unread stdin)
    are ``error`` events.
    Use it as a context manager (or call :meth:`close`) to disconnect, which kills
    the program if it still runs.
    """

    def __init__(self, ws: SyncWebSocket, pending: Optional[List[Any]] = None) -> None:
        self._ws = ws
        self._pending = pending or []
        self.id: Optional[str] = None
        self.result: Optional[ExecutionResult] = None
        self._last_error: Optional[Dict[str, Any]] = None

    def __enter__(self) -> "ExecutionStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[StreamEvent]:
        return self

    def __next__(self) -> StreamEvent:
        msg = self._pending.pop(0) if self._pending else self._ws.recv()
        ev = _next_stream_event(self, msg)
        if ev is None:
            raise StopIteration
        return ev

    def send_stdin(self, data: str) -> None:
        """Writes ``data`` to the program's stdin."""
        self._ws.send_text(json.dumps({"type": "stdin", "data": data}))

    def close_stdin(self) -> None:
        """Closes the program's stdin (it reads end of file)."""
        self._ws.send_text('{"type":"stdin_close"}')

    def signal(self, signal: Union[str, int] = "SIGKILL") -> None:
        """Sends a signal (name such as ``SIGINT``/``INT`` or number) to the running program's
        process group, which may catch it; one sent while it is queued or compiling does nothing.
        ``SIGKILL`` (the default) is :meth:`kill`. An unknown signal comes back as an ``error``
        event and the program runs on."""
        self._ws.send_text(_ws_signal(signal))

    def kill(self) -> None:
        """Kills the program; its ``exit`` result says ``killed on request``."""
        self._ws.send_text('{"type":"kill"}')

    def wait(self) -> ExecutionResult:
        """Reads the remaining events and returns the final result."""
        for _ in self:
            pass
        if self.result is None:
            raise ConnectionError("the stream ended without a result", code="connection_error")
        return self.result

    def close(self) -> None:
        """Disconnects (kills the program if it still runs)."""
        self._ws.close()

    def _ws_close(self) -> None:
        self._ws.close()


def _ws_signal(signal: Union[str, int]) -> str:
    """The WebSocket's signal message (a number goes as its decimal string)."""
    if isinstance(signal, int) and not isinstance(signal, bool):
        signal = str(signal)
    return json.dumps({"type": "signal", "signal": signal}, separators=(",", ":"))


def _refused(msg: Any) -> bool:
    """True for a WebSocket error message that a rate limit or a full queue sends."""
    if msg is None or msg[0] != OP_TEXT or b'"error"' not in msg[1]:
        return False
    try:
        code = (json.loads(msg[1]).get("error") or {}).get("code")
    except ValueError:
        return False
    return code in ("rate_limited", "unavailable")


def _next_stream_event(s: Any, msg: Any) -> Optional[StreamEvent]:
    if s.result is not None and msg is None:
        return None
    if msg is None:
        code = s._ws.close_code
        if code is not None and code >= 4000 and s._last_error is not None:
            raise _core.stream_error(s._last_error, code - 4000)
        if code is not None and code >= 4000:
            raise _core.stream_error({"error": {"code": "error", "message": f"closed {code}"}},
                                     code - 4000)
        raise ConnectionError(f"the stream closed before the exit event (close code {code})",
                              code="connection_error")
    op, payload = msg
    if op != OP_TEXT:
        raise raise_protocol("binary WebSocket message")
    d = json.loads(payload)
    t = d.get("type", "")
    if t == "started":
        s.id = d.get("id")
        return StreamEvent(type=t, id=s.id, raw=d)
    if t in ("stdout", "stderr"):
        return StreamEvent(type=t, data=d.get("data", ""), raw=d)
    if t == "exit":
        s.result = ExecutionResult.from_dict({k: v for k, v in d.items() if k != "type"})
        s.result.raw = d
        return StreamEvent(type=t, result=s.result, id=s.result.id, raw=d)
    if t == "error":
        s._last_error = d
        if s.id is None:  # the execute itself was refused: nothing runs
            s._ws_close()
            raise _core.stream_error(d)
        return StreamEvent(type=t, error=_core.stream_error(d), raw=d)
    return StreamEvent(type=t, raw=d)


class Sandbox:
    """A session: a sandbox that lives on between requests.

    ``commands`` runs processes, ``files`` reads and writes its files, ``run_code``
    runs cells in code contexts. As a context manager it is killed on exit.
    """

    def __init__(self, client: Client, info: SandboxInfo) -> None:
        self._client = client
        self.id: str = info.id
        #: The last known state (refresh with :meth:`refresh`).
        self.info: SandboxInfo = info
        #: Processes in the session.
        self.commands = Commands(self)
        #: The session's files.
        self.files = Files(self)

    def __repr__(self) -> str:
        return f"Sandbox(id={self.id!r}, template={self.info.template!r}, state={self.info.state!r})"

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.kill()
        except NotFoundError:
            pass

    @property
    def state(self) -> str:
        """The last known state: ``running``, ``paused``, ..."""
        return self.info.state

    @property
    def template(self) -> str:
        """The template's name."""
        return self.info.template

    @property
    def metadata(self) -> Dict[str, str]:
        """The session's labels."""
        return self.info.metadata

    def _json(self, rname: str, body: Any = None, query: _core.Query = None,
              timeout: Optional[float] = None, **params: Any) -> Any:
        return self._client._json(rname, body, query, timeout, id=self.id, **params)

    def refresh(self, *, timeout: Optional[float] = None) -> SandboxInfo:
        """Fetches the session's state (``GET /api/sandboxes/{id}``) into :attr:`info`."""
        self.info = SandboxInfo.from_dict(self._json("get_sandbox", timeout=timeout))
        return self.info

    def get_info(self, *, timeout: Optional[float] = None) -> SandboxInfo:
        """Same as :meth:`refresh`."""
        return self.refresh(timeout=timeout)

    def set_timeout(self, timeout_s: int, *, timeout: Optional[float] = None) -> SandboxInfo:
        """The session now ends ``timeout_s`` seconds from now."""
        self.info = SandboxInfo.from_dict(self._json("set_timeout", {"timeout_s": timeout_s},
                                                     timeout=timeout))
        return self.info

    def pause(self, *, timeout: Optional[float] = None) -> SandboxInfo:
        """Saves its files and releases its sandbox (state ``paused``)."""
        self.info = SandboxInfo.from_dict(self._json("pause", timeout=timeout))
        return self.info

    def resume(self, *, timeout: Optional[float] = None) -> SandboxInfo:
        """Resumes a paused session with its saved files."""
        self.info = SandboxInfo.from_dict(self._json("resume", timeout=timeout))
        return self.info

    def kill(self, *, timeout: Optional[float] = None) -> None:
        """Ends the session now (``DELETE /api/sandboxes/{id}``)."""
        self._json("kill_sandbox", timeout=timeout)

    # -- contexts ---------------------------------------------------------------------------
    def create_context(self, language: Optional[str] = None, *, cwd: Optional[str] = None,
                       timeout: Optional[float] = None) -> Context:
        """Starts a code context (python, javascript or bash interpreter)."""
        body: Dict[str, Any] = {}
        if language is not None:
            body["language"] = language
        if cwd is not None:
            body["cwd"] = cwd
        return Context.from_dict(self._json("create_context", body, timeout=timeout))

    def list_contexts(self, *, timeout: Optional[float] = None) -> List[Context]:
        """The session's contexts, oldest first."""
        return [Context.from_dict(c) for c in self._json("list_contexts", timeout=timeout)["contexts"]]

    def delete_context(self, context: Union[str, Context], *, timeout: Optional[float] = None) -> None:
        """Ends a context (its interpreter is killed)."""
        self._json("delete_context", timeout=timeout, ctx=ctx_id(context))

    def restart_context(self, context: Union[str, Context], *,
                        timeout: Optional[float] = None) -> Context:
        """Restarts a context's interpreter: same id, language and cwd; state lost."""
        return Context.from_dict(self._json("restart_context", timeout=timeout, ctx=ctx_id(context)))

    def interrupt_context(self, context: Union[str, Context], *,
                          timeout: Optional[float] = None) -> None:
        """Interrupts the context's running cell (SIGINT to the interpreter)."""
        self._json("interrupt_context", timeout=timeout, ctx=ctx_id(context))

    def run_code(self, code: str, *, language: Optional[str] = None,
                 context: Union[str, Context, None] = None,
                 env: Optional[Mapping[str, str]] = None, timeout_ms: Optional[int] = None,
                 svg: Optional[bool] = None,
                 on_stdout: Optional[Callable[[str], Any]] = None,
                 on_stderr: Optional[Callable[[str], Any]] = None,
                 on_result: Optional[Callable[[CodeResult], Any]] = None,
                 on_error: Optional[Callable[[CodeError], Any]] = None,
                 dedent: bool = True, timeout: Optional[float] = None) -> CodeExecution:
        """Runs a cell in a code context (``POST /api/sandboxes/{id}/execute``).

        Without ``context``, the session's default context of ``language`` is used.
        The answer streams (NDJSON); the callbacks are called as events arrive. A
        failing cell is not an exception: see ``execution.error``.
        """
        body = _core.cell_body(code, language, context, env, timeout_ms, svg, dedent)
        st = _core.CellState(on_stdout, on_stderr, on_result, on_error)
        resp = self._client._stream("run_code", body, "application/x-ndjson", timeout=timeout,
                                    id=self.id)
        try:
            for line in resp.lines():
                if not line:
                    continue
                for fn, arg in st.event(json.loads(line)):
                    fn(arg)
        finally:
            resp.close()
        if not st.ended:
            raise ConnectionError("the cell's stream ended without its end event",
                                  code="connection_error")
        return st.execution


class CommandStream:
    """A followed command's events (SSE): ``start``, ``stdout``/``stderr``, then ``exit``.

    Iterate it for :class:`CommandEvent`; the ``exit`` event's result is then in
    :attr:`result`. Closing it stops following; the command runs on.
    """

    def __init__(self, resp: StreamResponse) -> None:
        self._resp = resp
        self._lines = resp.lines()
        self._parser = _core.SSEParser()
        self.pid: Optional[int] = None
        self.result: Optional[CommandResult] = None

    def __enter__(self) -> "CommandStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[CommandEvent]:
        return self

    def __next__(self) -> CommandEvent:
        if self.result is not None:
            raise StopIteration
        for line in self._lines:
            ev = self._parser.line(line)
            if ev is None:
                continue
            ce = _core.command_event(*ev)
            if ce.type == "start":
                self.pid = ce.pid
            elif ce.type == "exit":
                self.result = ce.result
                self._resp.close()
            return ce
        raise ConnectionError("the command's stream ended without its exit event",
                              code="connection_error")

    def wait(self) -> CommandResult:
        """Reads the remaining events and returns the ended command (without output)."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def close(self) -> None:
        """Stops following (the command runs on)."""
        self._resp.close()


class CommandHandle:
    """A command started in the background (or found by pid)."""

    def __init__(self, commands: "Commands", pid: int, info: Optional[CommandResult] = None) -> None:
        self._commands = commands
        #: The session's number of the command.
        self.pid = pid
        #: What the server said when it was started or last fetched.
        self.info = info

    def __repr__(self) -> str:
        return f"CommandHandle(pid={self.pid})"

    def wait(self, *, timeout: Optional[float] = None) -> CommandResult:
        """Waits until it has ended; returns it with all its output."""
        return self._commands._get(self.pid, True, timeout)

    def refresh(self, *, timeout: Optional[float] = None) -> CommandResult:
        """The command now, with its output so far."""
        self.info = self._commands.get(self.pid, timeout=timeout)
        return self.info

    def events(self) -> CommandStream:
        """Reattaches: every output event so far, then the live ones, then ``exit``."""
        return self._commands.connect(self.pid)

    def __iter__(self) -> Iterator[CommandEvent]:
        return iter(self.events())

    def send_stdin(self, data: Data, *, close: bool = False) -> None:
        """Writes to its stdin (started with ``stdin_open`` or ``pty``)."""
        self._commands.send_stdin(self.pid, data, close=close)

    def close_stdin(self) -> None:
        """Closes its stdin."""
        self._commands.send_stdin(self.pid, None, close=True)

    def signal(self, signal: Union[str, int] = "SIGKILL") -> None:
        """Sends a signal (name such as ``SIGTERM``/``TERM`` or number)."""
        self._commands.signal(self.pid, signal)

    def kill(self) -> None:
        """SIGKILL to its whole process tree (status ``killed``)."""
        self._commands.signal(self.pid, "SIGKILL")


class Commands:
    """Processes in a session (``sandbox.commands``)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sb = sandbox

    def run(self, cmd: Optional[str] = None, *, argv: Optional[Sequence[str]] = None,
            cwd: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
            stdin: Optional[Data] = None, stdin_open: Optional[bool] = None,
            timeout_ms: Optional[int] = None, background: bool = False,
            pty: Optional[bool] = None, rows: Optional[int] = None, cols: Optional[int] = None,
            tag: Optional[str] = None, on_stdout: Optional[Callable[[str], Any]] = None,
            on_stderr: Optional[Callable[[str], Any]] = None,
            timeout: Optional[float] = None) -> Any:
        """Runs a command: ``cmd`` (a ``bash -c`` line) or ``argv`` (no shell).

        Foreground (default): returns the ended :class:`CommandResult` with its output;
        with ``on_stdout``/``on_stderr`` the output is streamed (SSE) to them as it comes.
        ``background=True``: returns a :class:`CommandHandle` at once.
        """
        body = _core.command_body(cmd, argv, cwd, env, stdin, stdin_open, timeout_ms,
                                  True if background else None, pty, rows, cols, tag)
        if background:
            d = self._sb._json("run_command", body, timeout=timeout)
            info = CommandResult.from_dict(d)
            return CommandHandle(self, info.pid, info)
        if on_stdout is None and on_stderr is None:
            return CommandResult.from_dict(self._sb._json("run_command", body, timeout=timeout))
        out: List[str] = []
        err: List[str] = []
        with self._open_stream(body, timeout) as s:
            for ev in s:
                if ev.type == "stdout":
                    out.append(ev.data)
                    if on_stdout:
                        on_stdout(ev.data)
                elif ev.type == "stderr":
                    err.append(ev.data)
                    if on_stderr:
                        on_stderr(ev.data)
            res = s.result
        assert res is not None
        res.stdout, res.stderr = "".join(out), "".join(err)
        return res

    def _open_stream(self, body: Dict[str, Any], timeout: Optional[float]) -> CommandStream:
        resp = self._sb._client._stream("run_command", body, "text/event-stream", timeout=timeout,
                                        id=self._sb.id)
        resp.settimeout(timeout)  # between events: the given timeout, else none
        return CommandStream(resp)

    def stream(self, cmd: Optional[str] = None, *, argv: Optional[Sequence[str]] = None,
               cwd: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
               stdin: Optional[Data] = None, timeout_ms: Optional[int] = None,
               pty: Optional[bool] = None, tag: Optional[str] = None,
               timeout: Optional[float] = None) -> CommandStream:
        """Runs a command in the foreground and iterates its events as they come (SSE)."""
        body = _core.command_body(cmd, argv, cwd, env, stdin, None, timeout_ms, None, pty,
                                  None, None, tag)
        return self._open_stream(body, timeout)

    def list(self, *, timeout: Optional[float] = None) -> List[CommandResult]:
        """Every command kept, running and finished, without output."""
        return [CommandResult.from_dict(c)
                for c in self._sb._json("list_commands", timeout=timeout)["commands"]]

    def _get(self, pid: int, wait: bool, timeout: Optional[float]) -> CommandResult:
        q = {"wait": "true"} if wait else None
        return CommandResult.from_dict(self._sb._json("get_command", query=q, timeout=timeout,
                                                      pid=pid))

    def get(self, pid: int, *, timeout: Optional[float] = None) -> CommandResult:
        """One command now, with its output so far."""
        return self._get(pid, False, timeout)

    def handle(self, pid: int) -> CommandHandle:
        """A handle on an existing command."""
        return CommandHandle(self, pid)

    def connect(self, pid: int, *, timeout: Optional[float] = None) -> CommandStream:
        """Reattaches to a command: its output so far replayed, then live, then ``exit`` (SSE)."""
        resp = self._sb._client._stream("get_command", None, "text/event-stream", timeout=timeout,
                                        id=self._sb.id, pid=pid)
        resp.settimeout(timeout)  # between events: the given timeout, else none
        return CommandStream(resp)

    def send_stdin(self, pid: int, data: Optional[Data], *, close: bool = False,
                   timeout: Optional[float] = None) -> None:
        """Writes text or bytes to a command's stdin; ``close=True`` closes it afterwards."""
        self._sb._json("command_stdin", _core.stdin_body(data, close), timeout=timeout, pid=pid)

    def signal(self, pid: int, signal: Union[str, int, None] = "SIGKILL", *,
               rows: Optional[int] = None, cols: Optional[int] = None,
               timeout: Optional[float] = None) -> None:
        """Signals a command (default SIGKILL); with ``rows``/``cols`` and no signal: resize its pty."""
        body: Dict[str, Any] = {}
        if signal is not None:
            body["signal"] = signal
        if rows is not None:
            body["rows"] = rows
        if cols is not None:
            body["cols"] = cols
        self._sb._json("command_signal", body, timeout=timeout, pid=pid)

    def kill(self, pid: int, *, timeout: Optional[float] = None) -> None:
        """SIGKILL to the command's whole process tree."""
        self.signal(pid, "SIGKILL", timeout=timeout)


class FileWatcher:
    """A directory watch (SSE): iterate it for :class:`WatchEvent`; close it to stop.

    The watch is in place when :meth:`Files.watch` returns. Iteration ends with the
    stream's ``end`` event, whose reason is then :attr:`end_reason`.
    """

    def __init__(self, resp: StreamResponse) -> None:
        self._resp = resp
        self._lines = resp.lines()
        self._parser = _core.SSEParser()
        self.end_reason: Optional[str] = None
        self.ready = False

    def _next_raw(self) -> Optional[WatchEvent]:
        for line in self._lines:
            ev = self._parser.line(line)
            if ev is not None:
                return _core.watch_event(*ev)
        return None

    def _wait_ready(self) -> None:
        ev = self._next_raw()
        if ev is None:
            raise ConnectionError("the watch stream ended at once", code="connection_error")
        if ev.type == "end":
            self.close()
            reason = ev.raw.get("reason", "")
            raise NotFoundError(f"the watch could not start: {reason}", code="watch_failed",
                                request_id=self._resp.request_id)
        self.ready = True

    def __enter__(self) -> "FileWatcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[WatchEvent]:
        return self

    def __next__(self) -> WatchEvent:
        if self.end_reason is not None:
            raise StopIteration
        ev = self._next_raw()
        if ev is None:
            self.end_reason = "closed"
            raise StopIteration
        if ev.type == "end":
            self.end_reason = ev.raw.get("reason", "")
            self.close()
            raise StopIteration
        return ev

    def close(self) -> None:
        """Stops watching."""
        self._resp.close()


class Files:
    """A session's files (``sandbox.files``). Paths are absolute or relative to /home/user."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sb = sandbox

    def read(self, path: str, *, offset: Optional[int] = None, length: Optional[int] = None,
             timeout: Optional[float] = None) -> bytes:
        """A file's bytes; ``offset``/``length`` read a range."""
        method, p = route("read_file", {"path": path, "offset": offset, "length": length},
                          id=self._sb.id)
        c = self._sb._client
        h = dict(c._cfg.base_headers, Accept="application/octet-stream")
        data: bytes = c._t.request(method, p, None, h, timeout).body
        return data

    def read_text(self, path: str, *, encoding: str = "utf-8",
                  timeout: Optional[float] = None) -> str:
        """A file's content decoded as text."""
        return self.read(path, timeout=timeout).decode(encoding)

    def write(self, path: str, data: Data, *, timeout: Optional[float] = None) -> FileEntry:
        """Writes one file from raw bytes or text (created or truncated; parents made)."""
        method, p = route("write_file", {"path": path}, id=self._sb.id)
        c = self._sb._client
        h = dict(c._cfg.base_headers, **{"Content-Type": "application/octet-stream"})
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        d = json.loads(c._t.request(method, p, raw, h, timeout).body)
        return FileEntry.from_dict(d["files"][0])

    def write_files(self, files: Any, *, path: Optional[str] = None,
                    timeout: Optional[float] = None) -> List[FileEntry]:
        """Uploads several files in one multipart request.

        ``files`` is ``{path: data}`` or a list of ``(path, data)`` pairs or
        ``{"path", "data"}`` dicts; relative paths go under ``path`` (default /home/user).
        """
        body, ctype = _core.multipart(_core.files_arg(files))
        method, p = route("write_files", {"path": path}, id=self._sb.id)
        c = self._sb._client
        h = dict(c._cfg.base_headers, **{"Content-Type": ctype})
        d = json.loads(c._t.request(method, p, body, h, timeout).body)
        return [FileEntry.from_dict(x) for x in d["files"]]

    def remove(self, path: str, *, timeout: Optional[float] = None) -> None:
        """Removes a file, or a directory with everything in it."""
        self._sb._json("remove_file", query={"path": path}, timeout=timeout)

    def list(self, path: str = "/home/user", *, depth: Optional[int] = None,
             timeout: Optional[float] = None) -> List[FileEntry]:
        """A directory's entries; ``depth`` 2 also lists its sub-directories, and so on."""
        d = self._sb._json("list_files", query={"path": path, "depth": depth}, timeout=timeout)
        return [FileEntry.from_dict(x) for x in d["entries"]]

    def stat(self, path: str, *, timeout: Optional[float] = None) -> FileEntry:
        """One entry's metadata (a symbolic link itself, not its target)."""
        return FileEntry.from_dict(self._sb._json("stat_file", query={"path": path}, timeout=timeout))

    def exists(self, path: str, *, timeout: Optional[float] = None) -> bool:
        """True when something is at ``path``."""
        try:
            self.stat(path, timeout=timeout)
            return True
        except NotFoundError as e:
            if e.message == "no such sandbox":
                raise
            return False

    def mkdir(self, path: str, *, timeout: Optional[float] = None) -> None:
        """Makes a directory and its missing parents (an existing directory is fine)."""
        self._sb._json("mkdir", {"path": path}, timeout=timeout)

    def move(self, source: str, destination: str, *, timeout: Optional[float] = None) -> None:
        """Renames or moves a file or directory."""
        self._sb._json("move_file", {"from": source, "to": destination}, timeout=timeout)

    def watch(self, path: str = "/home/user", *, recursive: bool = False,
              timeout: Optional[float] = None) -> FileWatcher:
        """Watches a directory; returns once the watch is in place.

        Raises :class:`NotFoundError` (code ``watch_failed``) when it cannot start.
        """
        resp = self._sb._client._stream("watch_files", None, "text/event-stream",
                                        query={"path": path, "recursive": recursive or None},
                                        timeout=timeout, id=self._sb.id)
        w = FileWatcher(resp)
        w._wait_ready()
        resp.settimeout(timeout)  # between events: the given timeout, else none
        return w

