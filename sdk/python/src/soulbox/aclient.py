"""The asyncio client: :class:`AsyncClient`, :class:`AsyncSandbox` and their helpers.

The same methods as the synchronous client, awaitable; streams, reattached
commands and watches are async iterators.
"""
from __future__ import annotations

import asyncio
import datetime
import json
import time
from typing import (Any, AsyncIterator, Callable, Dict, List, Mapping, Optional, Sequence, Union)

from . import _core
from ._ahttp import AsyncStreamResponse, AsyncTransport
from ._core import Config, FilesArg, ctx_id, dumps, route
from ._ws import AsyncWebSocket
from .client import (SandboxPage, _async_body, _function_response, _next_stream_event, _refused,
                     _sandbox_query, _versions, _ws_signal)
from .errors import ConnectionError, NotFoundError, RateLimitError, TimeoutError, UnavailableError
from .models import (AuditPage, AuditRecord, Cluster, CodeError, CodeExecution, CodeResult, CommandEvent, CommandResult,
                     Context, Execution, ExecutionPage, ExecutionResult, FileEntry, FunctionInfo,
                     FunctionResponse, FunctionVersion, Health, Invocation, InvocationHandle,
                     Languages, SandboxInfo, Share, ShareLink, StreamEvent, Submission, Template,
                     WatchEvent)

__all__ = ["AsyncClient", "AsyncSandbox", "AsyncCommands", "AsyncCommandHandle",
           "AsyncCommandStream", "AsyncFiles", "AsyncFileWatcher", "AsyncExecutionStream",
           "AsyncFunctions", "AsyncShares"]

Data = Union[str, bytes]


class AsyncClient:
    """An asyncio SoulBox client: :class:`~soulbox.Client`'s methods, awaitable.

    Args:
        url: the server, ``host:port`` or ``http(s)://host:port[/prefix]``; default
            ``SOULBOX_URL``, else ``http://localhost:8080``.
        api_key: sent as ``Authorization: Bearer``; default ``SOULBOX_API_KEY``, else none.
        timeout: seconds bounding each HTTP call (default 300); each method takes its own.
        max_retries: retries of 429/503 answers (default 3; 0 turns retries off).

    Use it as ``async with``, or ``await client.close()``. Its connections belong to the
    event loop that made them.
    """

    def __init__(self, url: Optional[str] = None, *, api_key: Optional[str] = None,
                 timeout: Optional[float] = None, max_retries: Optional[int] = None) -> None:
        self._cfg = Config(url, api_key, timeout, max_retries)
        self._t = AsyncTransport(self._cfg)
        #: Serverless functions: deploy, invoke, versions, aliases, logs.
        self.functions = AsyncFunctions(self)
        #: Share links: a program (and a finished execution's result) under an unguessable id.
        self.shares = AsyncShares(self)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._cfg.url

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the pooled connections."""
        await self._t.close()

    async def _json(self, rname: str, body: Any = None, query: _core.Query = None,
                    timeout: Optional[float] = None, **params: Any) -> Any:
        method, path = route(rname, query, **params)
        if body is None:
            r = await self._t.request(method, path, None, self._cfg.base_headers, timeout)
        else:
            r = await self._t.request(method, path, dumps(body), self._cfg.json_headers, timeout)
        if not r.body:
            return None
        return json.loads(r.body)

    async def _stream(self, rname: str, body: Any, accept: str, query: _core.Query = None,
                      timeout: Optional[float] = None, **params: Any) -> AsyncStreamResponse:
        method, path = route(rname, query, **params)
        h = dict(self._cfg.json_headers if body is not None else self._cfg.base_headers)
        h["Accept"] = accept
        data = dumps(body) if body is not None else None
        resp: AsyncStreamResponse = await self._t.request(method, path, data, h, timeout,
                                                          stream=True)
        return resp

    async def execute(self, language: str, code: Optional[str] = None, *, files: FilesArg = None,
                      stdin: Optional[str] = None, args: Optional[Sequence[str]] = None,
                      compile_args: Optional[Sequence[str]] = None,
                      env: Optional[Mapping[str, str]] = None,
                      limits: Optional[Mapping[str, int]] = None,
                      compile_limits: Optional[Mapping[str, int]] = None, network: Any = None,
                      isolation: Optional[str] = None,
                      test_cases: Optional[Sequence[Mapping[str, Any]]] = None,
                      return_files: Optional[Sequence[str]] = None, dedent: bool = True,
                      timeout: Optional[float] = None,
                      extra: Optional[Mapping[str, Any]] = None) -> ExecutionResult:
        """Runs a program and waits for its result (see :meth:`Client.execute`)."""
        body = _core.execute_body(language, code, files, stdin, args, compile_args, env,
                                  limits, compile_limits, network, isolation, test_cases,
                                  return_files, dedent, extra)
        r = await self._t.request("POST", "/api/execute", dumps(body), self._cfg.json_headers,
                                  timeout)
        return ExecutionResult.from_dict(json.loads(r.body))

    async def submit(self, language: str, code: Optional[str] = None, *, files: FilesArg = None,
                     stdin: Optional[str] = None, args: Optional[Sequence[str]] = None,
                     compile_args: Optional[Sequence[str]] = None,
                     env: Optional[Mapping[str, str]] = None,
                     limits: Optional[Mapping[str, int]] = None,
                     compile_limits: Optional[Mapping[str, int]] = None, network: Any = None,
                     isolation: Optional[str] = None,
                     test_cases: Optional[Sequence[Mapping[str, Any]]] = None,
                     callback_url: Optional[str] = None, dedent: bool = True,
                     timeout: Optional[float] = None,
                     extra: Optional[Mapping[str, Any]] = None) -> Submission:
        """Queues a program (see :meth:`Client.submit`)."""
        body = _core.execute_body(language, code, files, stdin, args, compile_args, env,
                                  limits, compile_limits, network, isolation, test_cases,
                                  None, dedent, extra)
        if callback_url is not None:
            body["callback_url"] = callback_url
        return Submission.from_dict(await self._json("submit", body, timeout=timeout))

    async def get_execution(self, id: str, *, timeout: Optional[float] = None) -> Execution:
        """One execution: queued, running, or its final result."""
        return Execution.from_dict(await self._json("get_execution", timeout=timeout, id=id))

    async def wait_execution(self, id: str, *, timeout: float = 300.0,
                             poll_interval: float = 0.2) -> Execution:
        """Polls an execution until it has ended; :class:`TimeoutError` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            ex = await self.get_execution(id)
            if ex.done:
                return ex
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"execution {id} still {ex.status} after {timeout} s",
                                   code="timeout")
            await asyncio.sleep(min(poll_interval, left))

    async def list_executions(self, *, limit: Optional[int] = None, cursor: Optional[str] = None,
                              timeout: Optional[float] = None) -> ExecutionPage:
        """A page of the caller's executions, newest first."""
        d = await self._json("list_executions", query={"limit": limit, "cursor": cursor},
                             timeout=timeout)
        return ExecutionPage(items=[Execution.from_dict(x) for x in d.get("executions") or []],
                             next_cursor=d.get("next_cursor"), raw=d)

    async def iter_executions(self, *, limit: Optional[int] = None) -> AsyncIterator[Execution]:
        """Every execution of the caller, newest first (an async iterator over all pages)."""
        cursor: Optional[str] = None
        while True:
            page = await self.list_executions(limit=limit, cursor=cursor)
            for item in page.items:
                yield item
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def stream(self, language: str, code: Optional[str] = None, *, files: FilesArg = None,
                     stdin: Optional[str] = None, args: Optional[Sequence[str]] = None,
                     compile_args: Optional[Sequence[str]] = None,
                     env: Optional[Mapping[str, str]] = None,
                     limits: Optional[Mapping[str, int]] = None,
                     compile_limits: Optional[Mapping[str, int]] = None, network: Any = None,
                     isolation: Optional[str] = None, dedent: bool = True, timeout: Optional[float] = None,
                     extra: Optional[Mapping[str, Any]] = None) -> "AsyncExecutionStream":
        """Runs a program interactively over the WebSocket (see :meth:`Client.stream`)."""
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
                ws = await AsyncWebSocket.connect(self._cfg, path, to)
            except (RateLimitError, UnavailableError) as e:
                if attempt < self._cfg.max_retries:
                    await asyncio.sleep(_core.backoff(attempt, e.retry_after))
                    attempt += 1
                    continue
                raise
            try:
                await ws.send_text(msg)
                pending = [await ws.recv()]
                if _refused(pending[0]):
                    pending.append(await ws.recv())
            except BaseException:
                await ws.close()
                raise
            if ws.close_code in (4429, 4503) and attempt < self._cfg.max_retries:
                await asyncio.sleep(_core.backoff(attempt, None))
                attempt += 1
                continue
            return AsyncExecutionStream(ws, pending)

    async def languages(self, *, timeout: Optional[float] = None) -> Languages:
        """The languages this server runs, with their versions."""
        return Languages.from_dict(await self._json("languages", timeout=timeout))

    async def health(self, *, timeout: Optional[float] = None) -> Health:
        """Liveness and load."""
        return Health.from_dict(await self._json("health", timeout=timeout))

    async def cluster(self, *, timeout: Optional[float] = None) -> Cluster:
        """The nodes sharing this server's store (on SQLite: this server alone)."""
        return Cluster.from_dict(await self._json("cluster", timeout=timeout))

    async def metrics(self, *, timeout: Optional[float] = None) -> str:
        """The Prometheus metrics text."""
        method, path = route("metrics")
        h = dict(self._cfg.base_headers, Accept="text/plain")
        r = await self._t.request(method, path, None, h, timeout)
        body: bytes = r.body
        return body.decode("utf-8", "replace")

    async def templates(self, *, timeout: Optional[float] = None) -> List[Template]:
        """The session templates this server offers."""
        d = await self._json("templates", timeout=timeout)
        return [Template.from_dict(t) for t in d["templates"]]

    async def audit(self, *, limit: Optional[int] = None, cursor: Optional[str] = None,
                    event: Optional[str] = None, key_id: Optional[str] = None,
                    status: Optional[str] = None,
                    since: Union[int, str, datetime.datetime, None] = None,
                    timeout: Optional[float] = None) -> AuditPage:
        """A page of the audit log, newest first (see :meth:`Client.audit`; admin keys)."""
        q = _core.audit_query(limit, cursor, event, key_id, status, since)
        d = await self._json("audit", query=q, timeout=timeout)
        return AuditPage(records=[AuditRecord.from_dict(x) for x in d.get("records") or []],
                         next_cursor=d.get("next_cursor"), raw=d)

    async def iter_audit(self, *, limit: Optional[int] = None, event: Optional[str] = None,
                         key_id: Optional[str] = None, status: Optional[str] = None,
                         since: Union[int, str, datetime.datetime, None] = None
                         ) -> AsyncIterator[AuditRecord]:
        """Every audit record matching the filters, newest first (an async iterator over all pages)."""
        cursor: Optional[str] = None
        while True:
            page = await self.audit(limit=limit, cursor=cursor, event=event, key_id=key_id,
                                    status=status, since=since)
            for rec in page.records:
                yield rec
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def create_sandbox(self, template: Optional[str] = None, *,
                             language: Optional[str] = None, timeout_s: Optional[int] = None,
                             metadata: Optional[Mapping[str, str]] = None,
                             env: Optional[Mapping[str, str]] = None,
                             limits: Optional[Mapping[str, int]] = None, network: Any = None,
                             isolation: Optional[str] = None,
                             timeout: Optional[float] = None) -> "AsyncSandbox":
        """Creates a session (see :meth:`Client.create_sandbox`); ``async with`` kills it on exit."""
        body: Dict[str, Any] = {}
        for k, v in (("template", template), ("language", language), ("timeout_s", timeout_s),
                     ("metadata", metadata), ("env", env), ("limits", limits),
                     ("network", network), ("isolation", isolation)):
            if v is not None:
                body[k] = dict(v) if isinstance(v, Mapping) else v
        d = await self._json("create_sandbox", body, timeout=timeout)
        return AsyncSandbox(self, SandboxInfo.from_dict(d))

    async def get_sandbox(self, id: str, *, timeout: Optional[float] = None) -> "AsyncSandbox":
        """An existing session by id."""
        return AsyncSandbox(self, SandboxInfo.from_dict(
            await self._json("get_sandbox", timeout=timeout, id=id)))

    async def list_sandboxes(self, *, metadata: Optional[Mapping[str, str]] = None,
                             state: Union[str, Sequence[str], None] = None,
                             limit: Optional[int] = None, offset: Optional[int] = None,
                             timeout: Optional[float] = None) -> SandboxPage:
        """The caller's live sessions, oldest first (a page of :class:`AsyncSandbox`)."""
        q = _sandbox_query(metadata, state, limit, offset)
        d = await self._json("list_sandboxes", query=q, timeout=timeout)
        return SandboxPage([AsyncSandbox(self, SandboxInfo.from_dict(x))
                            for x in d.get("sandboxes") or []],
                           int(d.get("total") or 0), d.get("next_offset"), d)


class AsyncShares:
    """Share links (``client.shares``, async): see :class:`~soulbox.Shares`."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def create(self, language: str, code: Optional[str] = None, *, files: FilesArg = None,
                     stdin: Optional[str] = None, args: Optional[Sequence[str]] = None,
                     limits: Optional[Mapping[str, int]] = None,
                     test_cases: Optional[Sequence[Mapping[str, Any]]] = None,
                     execution_id: Optional[str] = None, dedent: bool = True,
                     timeout: Optional[float] = None,
                     extra: Optional[Mapping[str, Any]] = None) -> ShareLink:
        """Shares a program, optionally with a finished execution's result (see :meth:`Shares.create`)."""
        body = _core.share_body(language, code, files, stdin, args, limits, test_cases,
                                execution_id, dedent, extra)
        return ShareLink.from_dict(await self._c._json("create_share", body, timeout=timeout))

    async def get(self, id: str, *, timeout: Optional[float] = None) -> Share:
        """A shared program by id, for any key (:class:`NotFoundError` when unknown)."""
        return Share.from_dict(await self._c._json("get_share", timeout=timeout, id=id))


class AsyncFunctions:
    """Serverless functions (``client.functions``, async): see :class:`~soulbox.Functions`."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def deploy(self, name: str, language: str, code: Optional[str] = None, *,
                     files: FilesArg = None, handler: Optional[str] = None,
                     env: Optional[Mapping[str, Any]] = None,
                     limits: Optional[Mapping[str, int]] = None, network: Any = None,
                     isolation: Optional[str] = None, reuse: Optional[bool] = None,
                     min_instances: Optional[int] = None, max_instances: Optional[int] = None,
                     concurrency: Optional[int] = None, timeout_ms: Optional[int] = None,
                     idle_timeout_ms: Optional[int] = None,
                     schedule: Union[str, Sequence[str], None] = None,
                     public: Optional[bool] = None, description: Optional[str] = None,
                     dedent: bool = True, timeout: Optional[float] = None,
                     extra: Optional[Mapping[str, Any]] = None) -> FunctionVersion:
        """Deploys a new version of a function (see :meth:`Functions.deploy`)."""
        body = _core.function_body(name, language, code, files, handler, env, dedent, {
            "limits": limits, "network": network, "isolation": isolation, "reuse": reuse,
            "min_instances": min_instances, "max_instances": max_instances,
            "concurrency": concurrency, "timeout_ms": timeout_ms,
            "idle_timeout_ms": idle_timeout_ms, "schedule": schedule, "public": public,
            "description": description}, extra)
        return FunctionVersion.from_dict(await self._c._json("deploy_function", body,
                                                             timeout=timeout))

    async def list(self, *, timeout: Optional[float] = None) -> List[FunctionInfo]:
        """The caller's functions, without ``active``."""
        d = await self._c._json("list_functions", timeout=timeout)
        return [FunctionInfo.from_dict(x) for x in d.get("functions") or []]

    async def get(self, name: str, *, timeout: Optional[float] = None) -> FunctionInfo:
        """One function with its active version's details."""
        return FunctionInfo.from_dict(await self._c._json("get_function", timeout=timeout,
                                                          name=name))

    async def delete(self, name: str, *, timeout: Optional[float] = None) -> None:
        """Deletes a function with all its versions."""
        await self._c._json("delete_function", timeout=timeout, name=name)

    async def versions(self, name: str, *,
                       timeout: Optional[float] = None) -> List[FunctionVersion]:
        """Every version kept, newest first."""
        return _versions(await self._c._json("function_versions", timeout=timeout, name=name))

    async def rollback(self, name: str, version: Optional[int] = None, *,
                       timeout: Optional[float] = None) -> FunctionVersion:
        """Makes ``version`` (default: the one before the active one) the active version."""
        body = {} if version is None else {"version": version}
        return FunctionVersion.from_dict(await self._c._json("rollback_function", body,
                                                             timeout=timeout, name=name))

    async def set_alias(self, name: str, alias: str, version: int, *,
                        timeout: Optional[float] = None) -> FunctionInfo:
        """Points ``alias`` at ``version``."""
        return FunctionInfo.from_dict(await self._c._json(
            "set_function_alias", {"version": version}, timeout=timeout, name=name, alias=alias))

    async def delete_alias(self, name: str, alias: str, *,
                           timeout: Optional[float] = None) -> FunctionInfo:
        """Removes an alias (the version stays)."""
        return FunctionInfo.from_dict(await self._c._json(
            "delete_function_alias", timeout=timeout, name=name, alias=alias))

    async def logs(self, name: str, limit: int = 20, *,
                   timeout: Optional[float] = None) -> List[Invocation]:
        """The function's last invocations, newest first."""
        d = await self._c._json("function_logs", query={"limit": limit}, timeout=timeout,
                                name=name)
        return [Invocation.from_dict(x) for x in d.get("invocations") or []]

    async def invoke(self, name: str, body: Any = None, *, method: str = "POST", path: str = "/",
                     query: Any = None, headers: Optional[Mapping[str, str]] = None,
                     version: Union[int, str, None] = None,
                     timeout: Optional[float] = None) -> FunctionResponse:
        """Invokes a function over HTTP and returns its answer as it is, whatever its status
        (see :meth:`Functions.invoke`); only SoulBox's own refusals raise."""
        m, url, h, data = _core.invoke_request(self._c._cfg, name, body, method, path, query,
                                               headers, version)
        r = await self._c._t.request(m, url, data, h, timeout, passthrough=True)
        return _function_response(r.status, r.headers.items(), r.body)

    async def invoke_async(self, name: str, event: Optional[Mapping[str, Any]] = None, *,
                           version: Union[int, str, None] = None,
                           callback_url: Optional[str] = None,
                           timeout: Optional[float] = None) -> InvocationHandle:
        """Starts an invocation with ``event`` and returns at once."""
        body = _async_body(event, version, callback_url)
        return InvocationHandle.from_dict(await self._c._json("invoke_function_async", body,
                                                              timeout=timeout, name=name))

    async def invocation(self, name: str, id: str, *,
                         timeout: Optional[float] = None) -> Invocation:
        """One invocation: running, or done."""
        return Invocation.from_dict(await self._c._json("get_invocation", timeout=timeout,
                                                        name=name, id=id))

    async def wait(self, name: str, id: str, *, timeout: float = 300.0,
                   poll_interval: float = 0.2) -> Invocation:
        """Polls an invocation until it is done; :class:`TimeoutError` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            inv = await self.invocation(name, id)
            if inv.done:
                return inv
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"invocation {id} still {inv.state} after {timeout} s",
                                   code="timeout")
            await asyncio.sleep(min(poll_interval, left))


class AsyncExecutionStream:
    """A running interactive execution (WebSocket); ``async for`` over :class:`StreamEvent`.

    Iteration ends after the ``exit`` event (then :attr:`result`). ``async with`` (or
    :meth:`close`) disconnects, which kills the program if it still runs.
    """

    def __init__(self, ws: AsyncWebSocket, pending: Optional[List[Any]] = None) -> None:
        self._ws = ws
        self._pending = pending or []
        self.id: Optional[str] = None
        self.result: Optional[ExecutionResult] = None
        self._last_error: Optional[Dict[str, Any]] = None

    async def __aenter__(self) -> "AsyncExecutionStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __aiter__(self) -> "AsyncExecutionStream":
        return self

    async def __anext__(self) -> StreamEvent:
        msg = self._pending.pop(0) if self._pending else await self._ws.recv()
        ev = _next_stream_event(self, msg)
        if ev is None:
            raise StopAsyncIteration
        return ev

    async def send_stdin(self, data: str) -> None:
        """Writes ``data`` to the program's stdin."""
        await self._ws.send_text(json.dumps({"type": "stdin", "data": data}))

    async def close_stdin(self) -> None:
        """Closes the program's stdin."""
        await self._ws.send_text('{"type":"stdin_close"}')

    async def signal(self, signal: Union[str, int] = "SIGKILL") -> None:
        """Sends a signal (name such as ``SIGINT``/``INT`` or number) to the running program's
        process group, which may catch it; ``SIGKILL`` (the default) is :meth:`kill`."""
        await self._ws.send_text(_ws_signal(signal))

    async def kill(self) -> None:
        """Kills the program."""
        await self._ws.send_text('{"type":"kill"}')

    async def wait(self) -> ExecutionResult:
        """Reads the remaining events and returns the final result."""
        async for _ in self:
            pass
        if self.result is None:
            raise ConnectionError("the stream ended without a result", code="connection_error")
        return self.result

    async def close(self) -> None:
        """Disconnects (kills the program if it still runs)."""
        await self._ws.close()

    def _ws_close(self) -> None:
        self._ws.closed = True
        try:
            self._ws.writer.close()
        except (OSError, RuntimeError):
            pass


class AsyncSandbox:
    """A session (async): see :class:`~soulbox.Sandbox`. ``async with`` kills it on exit."""

    def __init__(self, client: AsyncClient, info: SandboxInfo) -> None:
        self._client = client
        self.id: str = info.id
        #: The last known state (refresh with :meth:`refresh`).
        self.info: SandboxInfo = info
        #: Processes in the session.
        self.commands = AsyncCommands(self)
        #: The session's files.
        self.files = AsyncFiles(self)

    def __repr__(self) -> str:
        return f"AsyncSandbox(id={self.id!r}, template={self.info.template!r}, state={self.info.state!r})"

    async def __aenter__(self) -> "AsyncSandbox":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.kill()
        except NotFoundError:
            pass

    @property
    def state(self) -> str:
        """The last known state."""
        return self.info.state

    @property
    def template(self) -> str:
        """The template's name."""
        return self.info.template

    @property
    def metadata(self) -> Dict[str, str]:
        """The session's labels."""
        return self.info.metadata

    async def _json(self, rname: str, body: Any = None, query: _core.Query = None,
                    timeout: Optional[float] = None, **params: Any) -> Any:
        return await self._client._json(rname, body, query, timeout, id=self.id, **params)

    async def refresh(self, *, timeout: Optional[float] = None) -> SandboxInfo:
        """Fetches the session's state into :attr:`info`."""
        self.info = SandboxInfo.from_dict(await self._json("get_sandbox", timeout=timeout))
        return self.info

    async def get_info(self, *, timeout: Optional[float] = None) -> SandboxInfo:
        """Same as :meth:`refresh`."""
        return await self.refresh(timeout=timeout)

    async def set_timeout(self, timeout_s: int, *, timeout: Optional[float] = None) -> SandboxInfo:
        """The session now ends ``timeout_s`` seconds from now."""
        self.info = SandboxInfo.from_dict(await self._json("set_timeout", {"timeout_s": timeout_s},
                                                           timeout=timeout))
        return self.info

    async def pause(self, *, timeout: Optional[float] = None) -> SandboxInfo:
        """Saves its files and releases its sandbox."""
        self.info = SandboxInfo.from_dict(await self._json("pause", timeout=timeout))
        return self.info

    async def resume(self, *, timeout: Optional[float] = None) -> SandboxInfo:
        """Resumes a paused session."""
        self.info = SandboxInfo.from_dict(await self._json("resume", timeout=timeout))
        return self.info

    async def kill(self, *, timeout: Optional[float] = None) -> None:
        """Ends the session now."""
        await self._json("kill_sandbox", timeout=timeout)

    async def create_context(self, language: Optional[str] = None, *, cwd: Optional[str] = None,
                             timeout: Optional[float] = None) -> Context:
        """Starts a code context."""
        body: Dict[str, Any] = {}
        if language is not None:
            body["language"] = language
        if cwd is not None:
            body["cwd"] = cwd
        return Context.from_dict(await self._json("create_context", body, timeout=timeout))

    async def list_contexts(self, *, timeout: Optional[float] = None) -> List[Context]:
        """The session's contexts, oldest first."""
        d = await self._json("list_contexts", timeout=timeout)
        return [Context.from_dict(c) for c in d["contexts"]]

    async def delete_context(self, context: Union[str, Context], *,
                             timeout: Optional[float] = None) -> None:
        """Ends a context."""
        await self._json("delete_context", timeout=timeout, ctx=ctx_id(context))

    async def restart_context(self, context: Union[str, Context], *,
                              timeout: Optional[float] = None) -> Context:
        """Restarts a context's interpreter (state lost)."""
        return Context.from_dict(await self._json("restart_context", timeout=timeout,
                                                  ctx=ctx_id(context)))

    async def interrupt_context(self, context: Union[str, Context], *,
                                timeout: Optional[float] = None) -> None:
        """Interrupts the context's running cell."""
        await self._json("interrupt_context", timeout=timeout, ctx=ctx_id(context))

    async def run_code(self, code: str, *, language: Optional[str] = None,
                       context: Union[str, Context, None] = None,
                       env: Optional[Mapping[str, str]] = None, timeout_ms: Optional[int] = None,
                       svg: Optional[bool] = None,
                       on_stdout: Optional[Callable[[str], Any]] = None,
                       on_stderr: Optional[Callable[[str], Any]] = None,
                       on_result: Optional[Callable[[CodeResult], Any]] = None,
                       on_error: Optional[Callable[[CodeError], Any]] = None,
                       dedent: bool = True, timeout: Optional[float] = None) -> CodeExecution:
        """Runs a cell in a code context (see :meth:`Sandbox.run_code`); callbacks may be async."""
        body = _core.cell_body(code, language, context, env, timeout_ms, svg, dedent)
        st = _core.CellState(on_stdout, on_stderr, on_result, on_error)
        resp = await self._client._stream("run_code", body, "application/x-ndjson",
                                          timeout=timeout, id=self.id)
        resp.read_timeout = self._client._cfg.timeout if timeout is None else timeout
        try:
            async for line in resp.lines():
                if not line:
                    continue
                for fn, arg in st.event(json.loads(line)):
                    r = fn(arg)
                    if asyncio.iscoroutine(r):
                        await r
        finally:
            resp.close()
        if not st.ended:
            raise ConnectionError("the cell's stream ended without its end event",
                                  code="connection_error")
        return st.execution


class AsyncCommandStream:
    """A followed command's events (SSE), ``async for`` over :class:`CommandEvent`."""

    def __init__(self, resp: AsyncStreamResponse) -> None:
        self._resp = resp
        self._parser = _core.SSEParser()
        self.pid: Optional[int] = None
        self.result: Optional[CommandResult] = None

    async def __aenter__(self) -> "AsyncCommandStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def __aiter__(self) -> "AsyncCommandStream":
        return self

    async def __anext__(self) -> CommandEvent:
        if self.result is not None:
            raise StopAsyncIteration
        while True:
            line = await self._resp.readline()
            if line is None:
                raise ConnectionError("the command's stream ended without its exit event",
                                      code="connection_error")
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

    async def wait(self) -> CommandResult:
        """Reads the remaining events and returns the ended command."""
        async for _ in self:
            pass
        assert self.result is not None
        return self.result

    def close(self) -> None:
        """Stops following (the command runs on)."""
        self._resp.close()


class AsyncCommandHandle:
    """A command started in the background (async)."""

    def __init__(self, commands: "AsyncCommands", pid: int,
                 info: Optional[CommandResult] = None) -> None:
        self._commands = commands
        #: The session's number of the command.
        self.pid = pid
        #: What the server said when it was started or last fetched.
        self.info = info

    def __repr__(self) -> str:
        return f"AsyncCommandHandle(pid={self.pid})"

    async def wait(self, *, timeout: Optional[float] = None) -> CommandResult:
        """Waits until it has ended; returns it with all its output."""
        return await self._commands._get(self.pid, True, timeout)

    async def refresh(self, *, timeout: Optional[float] = None) -> CommandResult:
        """The command now, with its output so far."""
        self.info = await self._commands.get(self.pid, timeout=timeout)
        return self.info

    async def events(self) -> AsyncCommandStream:
        """Reattaches: output so far, then live, then ``exit``."""
        return await self._commands.connect(self.pid)

    async def __aiter__(self) -> AsyncIterator[CommandEvent]:
        s = await self.events()
        async for ev in s:
            yield ev

    async def send_stdin(self, data: Data, *, close: bool = False) -> None:
        """Writes to its stdin."""
        await self._commands.send_stdin(self.pid, data, close=close)

    async def close_stdin(self) -> None:
        """Closes its stdin."""
        await self._commands.send_stdin(self.pid, None, close=True)

    async def signal(self, signal: Union[str, int] = "SIGKILL") -> None:
        """Sends a signal."""
        await self._commands.signal(self.pid, signal)

    async def kill(self) -> None:
        """SIGKILL to its whole process tree."""
        await self._commands.signal(self.pid, "SIGKILL")


class AsyncCommands:
    """Processes in a session (``sandbox.commands``), async."""

    def __init__(self, sandbox: AsyncSandbox) -> None:
        self._sb = sandbox

    async def run(self, cmd: Optional[str] = None, *, argv: Optional[Sequence[str]] = None,
                  cwd: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
                  stdin: Optional[Data] = None, stdin_open: Optional[bool] = None,
                  timeout_ms: Optional[int] = None, background: bool = False,
                  pty: Optional[bool] = None, rows: Optional[int] = None,
                  cols: Optional[int] = None, tag: Optional[str] = None,
                  on_stdout: Optional[Callable[[str], Any]] = None,
                  on_stderr: Optional[Callable[[str], Any]] = None,
                  timeout: Optional[float] = None) -> Any:
        """Runs a command (see :meth:`Commands.run`); callbacks may be async."""
        body = _core.command_body(cmd, argv, cwd, env, stdin, stdin_open, timeout_ms,
                                  True if background else None, pty, rows, cols, tag)
        if background:
            info = CommandResult.from_dict(await self._sb._json("run_command", body,
                                                                timeout=timeout))
            return AsyncCommandHandle(self, info.pid, info)
        if on_stdout is None and on_stderr is None:
            return CommandResult.from_dict(await self._sb._json("run_command", body,
                                                                timeout=timeout))
        out: List[str] = []
        err: List[str] = []
        s = await self._open_stream(body, timeout)
        try:
            async for ev in s:
                fn = None
                if ev.type == "stdout":
                    out.append(ev.data)
                    fn = on_stdout
                elif ev.type == "stderr":
                    err.append(ev.data)
                    fn = on_stderr
                if fn is not None:
                    r = fn(ev.data)
                    if asyncio.iscoroutine(r):
                        await r
        finally:
            s.close()
        res = s.result
        assert res is not None
        res.stdout, res.stderr = "".join(out), "".join(err)
        return res

    async def _open_stream(self, body: Dict[str, Any],
                           timeout: Optional[float]) -> AsyncCommandStream:
        resp = await self._sb._client._stream("run_command", body, "text/event-stream",
                                              timeout=timeout, id=self._sb.id)
        resp.read_timeout = timeout  # between events: the given timeout, else none
        return AsyncCommandStream(resp)

    async def stream(self, cmd: Optional[str] = None, *, argv: Optional[Sequence[str]] = None,
                     cwd: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
                     stdin: Optional[Data] = None, timeout_ms: Optional[int] = None,
                     pty: Optional[bool] = None, tag: Optional[str] = None,
                     timeout: Optional[float] = None) -> AsyncCommandStream:
        """Runs a command in the foreground; ``async for`` over its events (SSE)."""
        body = _core.command_body(cmd, argv, cwd, env, stdin, None, timeout_ms, None, pty,
                                  None, None, tag)
        return await self._open_stream(body, timeout)

    async def list(self, *, timeout: Optional[float] = None) -> List[CommandResult]:
        """Every command kept, without output."""
        d = await self._sb._json("list_commands", timeout=timeout)
        return [CommandResult.from_dict(c) for c in d["commands"]]

    async def _get(self, pid: int, wait: bool, timeout: Optional[float]) -> CommandResult:
        q = {"wait": "true"} if wait else None
        return CommandResult.from_dict(await self._sb._json("get_command", query=q,
                                                            timeout=timeout, pid=pid))

    async def get(self, pid: int, *, timeout: Optional[float] = None) -> CommandResult:
        """One command now, with its output so far."""
        return await self._get(pid, False, timeout)

    def handle(self, pid: int) -> AsyncCommandHandle:
        """A handle on an existing command."""
        return AsyncCommandHandle(self, pid)

    async def connect(self, pid: int, *, timeout: Optional[float] = None) -> AsyncCommandStream:
        """Reattaches to a command (SSE)."""
        resp = await self._sb._client._stream("get_command", None, "text/event-stream",
                                              timeout=timeout, id=self._sb.id, pid=pid)
        resp.read_timeout = timeout  # between events: the given timeout, else none
        return AsyncCommandStream(resp)

    async def send_stdin(self, pid: int, data: Optional[Data], *, close: bool = False,
                         timeout: Optional[float] = None) -> None:
        """Writes to a command's stdin; ``close=True`` closes it afterwards."""
        await self._sb._json("command_stdin", _core.stdin_body(data, close), timeout=timeout,
                             pid=pid)

    async def signal(self, pid: int, signal: Union[str, int, None] = "SIGKILL", *,
                     rows: Optional[int] = None, cols: Optional[int] = None,
                     timeout: Optional[float] = None) -> None:
        """Signals a command (default SIGKILL), or resizes its pty."""
        body: Dict[str, Any] = {}
        if signal is not None:
            body["signal"] = signal
        if rows is not None:
            body["rows"] = rows
        if cols is not None:
            body["cols"] = cols
        await self._sb._json("command_signal", body, timeout=timeout, pid=pid)

    async def kill(self, pid: int, *, timeout: Optional[float] = None) -> None:
        """SIGKILL to the command's whole process tree."""
        await self.signal(pid, "SIGKILL", timeout=timeout)


class AsyncFileWatcher:
    """A directory watch (SSE): ``async for`` over :class:`WatchEvent`; close it to stop."""

    def __init__(self, resp: AsyncStreamResponse) -> None:
        self._resp = resp
        self._parser = _core.SSEParser()
        self.end_reason: Optional[str] = None
        self.ready = False

    async def _next_raw(self) -> Optional[WatchEvent]:
        while True:
            line = await self._resp.readline()
            if line is None:
                return None
            ev = self._parser.line(line)
            if ev is not None:
                return _core.watch_event(*ev)

    async def _wait_ready(self) -> None:
        ev = await self._next_raw()
        if ev is None:
            raise ConnectionError("the watch stream ended at once", code="connection_error")
        if ev.type == "end":
            self.close()
            raise NotFoundError(f"the watch could not start: {ev.raw.get('reason', '')}",
                                code="watch_failed", request_id=self._resp.request_id)
        self.ready = True

    async def __aenter__(self) -> "AsyncFileWatcher":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def __aiter__(self) -> "AsyncFileWatcher":
        return self

    async def __anext__(self) -> WatchEvent:
        if self.end_reason is not None:
            raise StopAsyncIteration
        ev = await self._next_raw()
        if ev is None:
            self.end_reason = "closed"
            raise StopAsyncIteration
        if ev.type == "end":
            self.end_reason = ev.raw.get("reason", "")
            self.close()
            raise StopAsyncIteration
        return ev

    def close(self) -> None:
        """Stops watching."""
        self._resp.close()


class AsyncFiles:
    """A session's files (``sandbox.files``), async."""

    def __init__(self, sandbox: AsyncSandbox) -> None:
        self._sb = sandbox

    async def read(self, path: str, *, offset: Optional[int] = None,
                   length: Optional[int] = None, timeout: Optional[float] = None) -> bytes:
        """A file's bytes; ``offset``/``length`` read a range."""
        method, p = route("read_file", {"path": path, "offset": offset, "length": length},
                          id=self._sb.id)
        c = self._sb._client
        h = dict(c._cfg.base_headers, Accept="application/octet-stream")
        data: bytes = (await c._t.request(method, p, None, h, timeout)).body
        return data

    async def read_text(self, path: str, *, encoding: str = "utf-8",
                        timeout: Optional[float] = None) -> str:
        """A file's content decoded as text."""
        return (await self.read(path, timeout=timeout)).decode(encoding)

    async def write(self, path: str, data: Data, *, timeout: Optional[float] = None) -> FileEntry:
        """Writes one file from raw bytes or text."""
        method, p = route("write_file", {"path": path}, id=self._sb.id)
        c = self._sb._client
        h = dict(c._cfg.base_headers, **{"Content-Type": "application/octet-stream"})
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        d = json.loads((await c._t.request(method, p, raw, h, timeout)).body)
        return FileEntry.from_dict(d["files"][0])

    async def write_files(self, files: Any, *, path: Optional[str] = None,
                          timeout: Optional[float] = None) -> List[FileEntry]:
        """Uploads several files in one multipart request (see :meth:`Files.write_files`)."""
        body, ctype = _core.multipart(_core.files_arg(files))
        method, p = route("write_files", {"path": path}, id=self._sb.id)
        c = self._sb._client
        h = dict(c._cfg.base_headers, **{"Content-Type": ctype})
        d = json.loads((await c._t.request(method, p, body, h, timeout)).body)
        return [FileEntry.from_dict(x) for x in d["files"]]

    async def remove(self, path: str, *, timeout: Optional[float] = None) -> None:
        """Removes a file or a directory tree."""
        await self._sb._json("remove_file", query={"path": path}, timeout=timeout)

    async def list(self, path: str = "/home/user", *, depth: Optional[int] = None,
                   timeout: Optional[float] = None) -> List[FileEntry]:
        """A directory's entries, ``depth`` levels down."""
        d = await self._sb._json("list_files", query={"path": path, "depth": depth},
                                 timeout=timeout)
        return [FileEntry.from_dict(x) for x in d["entries"]]

    async def stat(self, path: str, *, timeout: Optional[float] = None) -> FileEntry:
        """One entry's metadata."""
        return FileEntry.from_dict(await self._sb._json("stat_file", query={"path": path},
                                                        timeout=timeout))

    async def exists(self, path: str, *, timeout: Optional[float] = None) -> bool:
        """True when something is at ``path``."""
        try:
            await self.stat(path, timeout=timeout)
            return True
        except NotFoundError as e:
            if e.message == "no such sandbox":
                raise
            return False

    async def mkdir(self, path: str, *, timeout: Optional[float] = None) -> None:
        """Makes a directory and its missing parents."""
        await self._sb._json("mkdir", {"path": path}, timeout=timeout)

    async def move(self, source: str, destination: str, *,
                   timeout: Optional[float] = None) -> None:
        """Renames or moves a file or directory."""
        await self._sb._json("move_file", {"from": source, "to": destination}, timeout=timeout)

    async def watch(self, path: str = "/home/user", *, recursive: bool = False,
                    timeout: Optional[float] = None) -> AsyncFileWatcher:
        """Watches a directory; returns once the watch is in place."""
        resp = await self._sb._client._stream("watch_files", None, "text/event-stream",
                                              query={"path": path, "recursive": recursive or None},
                                              timeout=timeout, id=self._sb.id)
        w = AsyncFileWatcher(resp)
        await w._wait_ready()
        resp.read_timeout = timeout  # between events: the given timeout, else none
        return w

