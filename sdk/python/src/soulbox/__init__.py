"""SoulBox SDK: run untrusted code in SoulBox sandboxes from Python.

    from soulbox import Client

    client = Client("localhost:8080")
    result = client.execute(language="python", code="print(1 + 1)")
    print(result.stdout)

:class:`Client` is synchronous, :class:`AsyncClient` the same API with ``await``.
"""
from ._core import ROUTES, Secret, dedent
from ._version import __version__
from .aclient import (AsyncClient, AsyncCommandHandle, AsyncCommands, AsyncCommandStream,
                      AsyncExecutionStream, AsyncFiles, AsyncFileWatcher, AsyncFunctions,
                      AsyncSandbox, AsyncShares)
from .client import (Client, CommandHandle, Commands, CommandStream, ExecutionStream, Files,
                     FileWatcher, Functions, Sandbox, SandboxPage, Shares)
from .errors import (AuthenticationError, ConflictError, ConnectionError, InvalidRequestError,
                     NotFoundError, PayloadTooLargeError, PermissionDeniedError, RateLimitError,
                     ServerError, SoulboxError, TimeoutError, UnavailableError,
                     UnknownLanguageError)
from .models import (AuditPage, AuditRecord, CallbackState, Cluster, ClusterNode, CodeError,
                     CodeExecution, CodeResult, CommandConfig, CommandEvent, CommandResult, Context, Execution, ExecutionPage,
                     ExecutionResult, FileEntry, FunctionErrorInfo, FunctionInfo,
                     FunctionInstances, FunctionResponse, FunctionVersion, Health, Invocation,
                     InvocationHandle, InvocationResponse, Language, Languages, Logs,
                     NetworkUsage, ReturnedFile, SandboxInfo, SandboxLimits, SandboxNetwork,
                     SandboxUsage, Share, ShareLink, StreamEvent, Submission, Summary, Template,
                     TestCaseResult, UnavailableLanguage, WatchEvent)

__all__ = [
    "__version__", "ROUTES", "dedent", "Secret",
    "Client", "Sandbox", "SandboxPage", "Commands", "CommandHandle", "CommandStream", "Files",
    "FileWatcher", "ExecutionStream",
    "AsyncClient", "AsyncSandbox", "AsyncCommands", "AsyncCommandHandle", "AsyncCommandStream",
    "AsyncFiles", "AsyncFileWatcher", "AsyncExecutionStream",
    "Functions", "AsyncFunctions", "FunctionVersion", "FunctionInfo", "FunctionInstances",
    "FunctionResponse", "FunctionErrorInfo", "Invocation", "InvocationHandle", "InvocationResponse",
    "Shares", "AsyncShares", "ShareLink", "Share", "AuditPage", "AuditRecord",
    "SoulboxError", "InvalidRequestError", "AuthenticationError", "PermissionDeniedError",
    "NotFoundError",
    "ConflictError", "PayloadTooLargeError", "UnknownLanguageError", "RateLimitError",
    "UnavailableError", "ServerError", "ConnectionError", "TimeoutError",
    "CallbackState", "Cluster", "ClusterNode", "CodeError", "CodeExecution", "CodeResult",
    "CommandConfig", "CommandEvent", "CommandResult", "Context", "Execution", "ExecutionPage",
    "ExecutionResult", "FileEntry", "Health", "Language", "Languages", "Logs", "NetworkUsage",
    "ReturnedFile", "SandboxInfo", "SandboxLimits", "SandboxNetwork", "SandboxUsage",
    "StreamEvent", "Submission", "Summary", "Template", "TestCaseResult", "UnavailableLanguage",
    "WatchEvent",
]
