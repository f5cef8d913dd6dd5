"""Route coverage, versions, the generated API reference, dedent and configuration."""
import ast
import os
import re
import subprocess
import sys

import pytest
import yaml

import soulbox
from soulbox import _core
from soulbox._core import Config, dedent, route

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "..", "..", "api", "openapi.yaml")
SRC = os.path.join(HERE, "..", "src", "soulbox")


def spec():
    with open(SPEC, encoding="utf-8") as f:
        return yaml.safe_load(f)


def native_routes():
    out = set()
    for path, ops in spec()["paths"].items():
        if path in ("/health", "/metrics") or (path.startswith(("/api/", "/fn/")) and not path.startswith("/api/v2/")):
            for m in ops:
                if m in ("get", "post", "put", "delete", "patch"):
                    out.add(f"{m.upper()} {path}")
    return out


def test_every_native_route_is_in_the_table_and_nothing_else():
    table = {f"{m} {p}" for m, p in soulbox.ROUTES.values()}
    spec_routes = native_routes()
    assert len(spec_routes) >= 36
    assert sorted(spec_routes - table) == [], "routes of the spec without an SDK method"
    assert sorted(table - spec_routes) == [], "routes in the SDK's table the spec lacks"
    assert len(table) == len(soulbox.ROUTES)


def test_every_route_of_the_table_is_used_by_both_clients():
    used = {"client.py": set(), "aclient.py": set()}
    for fname in used:
        tree = ast.parse(open(os.path.join(SRC, fname), encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in soulbox.ROUTES:
                used[fname].add(node.value)
    # execute is sent on the hot path without a table lookup; its path is the table's
    # a function's invocation (/fn/...) picks its route by method in _core.invoke_request
    invoke = {n for n, (_, p) in soulbox.ROUTES.items() if p.startswith("/fn/")}
    assert len(invoke) == 10
    core = open(os.path.join(SRC, "_core.py"), encoding="utf-8").read()
    assert 'rname = f"invoke_{m.lower()}" + ("_path" if sub else "")' in core
    assert invoke == {f"invoke_{m.lower()}{s}" for m in _core.INVOKE_METHODS for s in ("", "_path")}
    for fname, names in used.items():
        src = open(os.path.join(SRC, fname), encoding="utf-8").read()
        assert '"POST", "/api/execute"' in src and soulbox.ROUTES["execute"] == ("POST", "/api/execute")
        assert "_core.invoke_request(" in src
        names.add("execute")
        names.update(invoke)
        assert sorted(set(soulbox.ROUTES) - names) == [], fname


def test_route_fills_parameters_and_query():
    assert route("stat_file", {"path": "a b/c", "depth": None}, id="x1") == (
        "GET", "/api/sandboxes/x1/files/stat?path=a+b%2Fc")
    assert route("delete_context", id="s", ctx="c/1") == ("DELETE", "/api/sandboxes/s/contexts/c%2F1")
    assert route("watch_files", {"recursive": True}, id="s")[1].endswith("?recursive=true")


def test_version_matches_the_spec_and_the_package():
    assert soulbox.__version__ == spec()["info"]["version"] == "0.1.0"
    pyproject = open(os.path.join(HERE, "..", "pyproject.toml"), encoding="utf-8").read()
    assert re.search(r'^version = "0\.1\.0"$', pyproject, re.M)
    assert re.search(r'^name = "soulbox-sdk"$', pyproject, re.M)


def test_server_version_matches(client):
    assert client.health().version == soulbox.__version__


def test_api_reference_is_up_to_date():
    r = subprocess.run([sys.executable, os.path.join(HERE, "..", "scripts", "gen_api.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_dedent_rules():
    assert dedent("\n    import numpy as np\n    print(1)\n    ") == "import numpy as np\nprint(1)\n"
    assert dedent("print(1)\nif x:\n    y\n") == "print(1)\nif x:\n    y\n"
    assert dedent("  a\n\tb\n") == "  a\n\tb\n"  # tabs and spaces must match exactly
    assert dedent("\n  a\n\n    b\n") == "a\n\n  b\n"
    assert dedent("") == ""
    assert dedent("\nprint(1)\n") == "\nprint(1)\n"  # nothing shared: unchanged


def test_url_and_key_resolution(monkeypatch):
    monkeypatch.delenv("SOULBOX_URL", raising=False)
    monkeypatch.delenv("SOULBOX_API_KEY", raising=False)
    c = Config(None, None, None, None)
    assert (c.url, c.api_key, c.timeout, c.max_retries) == ("http://localhost:8080", None, 300.0, 3)
    assert Config("example.com:9000", None, None, None).url == "http://example.com:9000"
    c = Config("https://h.example/sb/", "k", 5, 0)
    assert (c.scheme, c.host, c.port, c.prefix, c.url) == ("https", "h.example", 443, "/sb", "https://h.example/sb")
    assert c.base_headers["Authorization"] == "Bearer k"
    monkeypatch.setenv("SOULBOX_URL", "http://10.0.0.1:81")
    monkeypatch.setenv("SOULBOX_API_KEY", "envkey")
    c = Config(None, None, None, None)
    assert (c.url, c.api_key) == ("http://10.0.0.1:81", "envkey")
    assert Config("other:1", "mine", None, None).api_key == "mine"
    with pytest.raises(ValueError):
        Config("ftp://x", None, None, None)


def test_models_keep_the_raw_json():
    r = soulbox.ExecutionResult.from_dict({"stdout": "x", "status": "ok", "new_field": 7,
                                           "test_cases": [{"index": 0, "verdict": "accepted"}],
                                           "compile": {"status": "ok", "stdout": ""}})
    assert r.raw["new_field"] == 7 and r.stdout == "x"
    assert r.test_cases[0].accepted and r.compile.status == "ok"


def test_the_suite_fails_without_a_server_url(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOULBOX_")}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        os.path.join(HERE, "test_meta.py")], capture_output=True, text=True,
                       env=env, cwd=str(tmp_path), timeout=120)
    assert r.returncode != 0
    assert "run this suite through tests/sdk/with_server.py" in r.stdout + r.stderr


def test_sources_parse_as_python_3_9():
    for name in os.listdir(SRC):
        if name.endswith(".py"):
            ast.parse(open(os.path.join(SRC, name), encoding="utf-8").read(), name,
                      feature_version=(3, 9))


def test_type_hints_pass_mypy_strict():
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.skip("mypy is not installed (Debian: apt-get install mypy)")
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-version", "3.9",
                        "--no-incremental", "--cache-dir", "/dev/null", SRC],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
