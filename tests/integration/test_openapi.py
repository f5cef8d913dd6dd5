"""api/openapi.yaml is the source of truth: its routes are exactly the routes served."""
import os
import re
import subprocess

import requests
import yaml

from conftest import ROOT, SOULBOX
from server import Server, sse_started, wait_until

SPEC = os.path.join(ROOT, "api", "openapi.yaml")


def spec():
    with open(SPEC) as f:
        return yaml.safe_load(f)


def spec_routes():
    return {f"{m.upper()} {path}" for path, ops in spec()["paths"].items() for m in ops}


def served_routes():
    out = subprocess.run([SOULBOX, "routes"], capture_output=True, text=True, check=True).stdout
    return set(out.split("\n")) - {""}


def test_every_spec_route_is_served_and_every_served_route_is_in_the_spec():
    assert spec_routes() == served_routes()


def test_spec_routes_answer_something_other_than_404_or_405():
    with Server("") as s:
        for route in spec_routes():
            method, path = route.split(" ", 1)
            path = re.sub(r"\{\w+\}", "00000000-0000-4000-8000-000000000000", path)
            r = requests.request(method, s.url + path, json={"language": "python", "code": "1"},
                                 timeout=30)
            if path.startswith("/api/v2/"):    # Piston: its own answers ({"message"} 404s)
                assert r.status_code != 405, route
                assert r.headers["content-type"].startswith("application/json"), route
            elif "{" not in route:
                assert r.status_code not in (404, 405), route
            elif path.startswith("/api/executions"):
                assert r.status_code == 404 and r.json()["error"]["message"] == "no such execution"
            elif path.startswith("/api/shares"):
                assert r.status_code == 404 and r.json()["error"]["message"] == "no such share"
            elif path.startswith("/api/sandboxes"):
                assert r.status_code == 404 and r.json()["error"]["message"] == "no such sandbox"
            elif path.startswith("/api/functions") or path.startswith("/fn/"):
                assert r.status_code == 404, route
                assert r.json()["error"]["message"].startswith("no such function"), route
            elif path.startswith(("/submissions", "/languages")):   # Judge0: empty 403/404
                assert r.status_code in (403, 404) and r.content == b"", route
            else:                                   # the E2B control plane: E2B's error shape
                assert r.status_code == 404 and r.json()["code"] == 404, route


def test_error_codes_in_the_spec_match_the_engine_table():
    codes = set(spec()["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
                ["code"]["enum"])
    src = open(os.path.join(ROOT, "src", "common", "error.h")).read()
    table = set(re.findall(r'X\(\w+,\s*"(\w+)"', src)) - {"ok", "invalid_config"}
    assert codes == table


# ---- real responses validate against the spec's schemas ----

def validator(name):
    import jsonschema
    doc = spec()
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}"},
        resolver=jsonschema.RefResolver.from_schema(doc))


def cancelled_by_disconnect(s):
    """An SSE execution whose client goes away: its stored result."""
    sock, ex_id = sse_started(s.port, {"language": "bash", "code": "sleep 30"})
    sock.close()
    return s.finished(ex_id)


def test_responses_match_their_schemas():
    with Server("") as s:
        s.wait_languages()
        validator("Health").validate(s.get("/health").json())
        validator("Languages").validate(s.get("/api/languages").json())
        bodies = [
            {"language": "python", "code": "print(1)"},
            {"language": "python", "code": "import sys; sys.exit(3)"},
            {"language": "c", "code": "int main(void){return 0;}"},
            {"language": "c", "code": "int main(void){return 0;}"},   # cached
            {"language": "c", "code": "nope"},
            {"language": "python", "code": "print(input())",
             "test_cases": [{"stdin": "a", "expected_output": "a"},
                            {"stdin": "b", "expected_output": "c"}, {"stdin": ""}]},
        ]
        for body in bodies:
            r = s.execute(body).json()
            validator("Result").validate(r)
            validator("Execution").validate(s.get(f"/api/executions/{r['id']}").json())
        cancelled = cancelled_by_disconnect(s)
        assert cancelled["status"] == "internal_error", cancelled
        assert cancelled["message"] == "cancelled: the client disconnected"
        validator("Execution").validate(cancelled)
        err = s.execute({"language": "cobra", "code": "x"})
        assert err.status_code == 422
        validator("Error").validate(err.json())
        validator("Error").validate(s.execute({"language": 1}).json())


def test_the_validator_rejects_what_the_spec_forbids():
    import jsonschema
    bad = {"stdout": "", "stderr": "", "exit_code": 0, "execution_time": "3 ms",
           "status": "fine", "signal": None, "wall_time_ms": 1, "cpu_time_ms": 1,
           "memory_kb": 1, "truncated": False}
    try:
        validator("Result").validate(bad)
    except jsonschema.ValidationError:
        return
    raise AssertionError("an invalid result passed validation")


def test_the_server_the_spec_and_every_sdk_have_one_version():
    """Versions follow the server's: `soulbox version`, the spec's info.version
    and each SDK's package and constant are the same."""
    version = spec()["info"]["version"]
    out = subprocess.run([SOULBOX, "version"], capture_output=True, text=True, check=True).stdout
    assert out == f"soulbox {version}\n"

    def grep(path, pattern):
        with open(os.path.join(ROOT, path)) as f:
            m = re.search(pattern, f.read(), re.M)
        assert m, f"{path}: no {pattern}"
        return m.group(1)
    found = {
        "sdk/python/pyproject.toml": grep("sdk/python/pyproject.toml", r'^version = "([^"]+)"'),
        "sdk/python __version__": grep("sdk/python/src/soulbox/_version.py",
                                       r'^__version__ = "([^"]+)"'),
        "sdk/node/package.json": grep("sdk/node/package.json", r'^  "version": "([^"]+)"'),
        "sdk/node VERSION": grep("sdk/node/src/version.ts", r"^export const VERSION = '([^']+)'"),
        "sdk/go Version": grep("sdk/go/client.go", r'^const Version = "([^"]+)"'),
    }
    assert found == {k: version for k in found}


def test_function_responses_match_their_schemas():
    with Server("") as s:
        s.wait_languages()
        code = "def handler(event, context):\n    return {'status': 201, 'body': event['body']}\n"
        r = s.post("/api/functions", {"name": "spec-fn", "language": "python", "code": code,
                                      "env": {"K": {"value": "v", "secret": True}},
                                      "schedule": "0 0 1 1 *"})
        assert r.status_code == 201, r.text
        validator("FunctionVersion").validate(r.json())
        assert s.post("/api/functions", {"name": "spec-fn", "language": "python",
                                         "code": code}).status_code == 201
        r = requests.put(s.url + "/api/functions/spec-fn/aliases/prod", json={"version": 1})
        validator("Function").validate(r.json())
        r = s.post("/api/functions/spec-fn/rollback", {})
        validator("FunctionVersion").validate(r.json())
        validator("Function").validate(s.get("/api/functions/spec-fn").json())
        for f in s.get("/api/functions").json()["functions"]:
            validator("FunctionSummary").validate(f)
        for v in s.get("/api/functions/spec-fn/versions").json()["versions"]:
            validator("FunctionVersion").validate(v)
        assert requests.post(s.url + "/fn/spec-fn", data="x").status_code == 201
        a = s.post("/api/functions/spec-fn/invocations", {"event": {"body": "y"}})
        assert a.status_code == 202 and a.headers["location"].endswith(a.json()["id"])
        assert wait_until(lambda: s.get(f"/api/functions/spec-fn/invocations/{a.json()['id']}")
                          .json()["state"] == "done")
        for i in s.get("/api/functions/spec-fn/logs").json()["invocations"]:
            validator("FunctionInvocation").validate(i)
        validator("Error").validate(s.get("/api/functions/nope").json())
        validator("Error").validate(requests.get(s.url + "/fn/nope").json())
