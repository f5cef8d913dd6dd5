"""api/openapi.yaml is the source of truth: its routes are exactly the routes served."""
import os
import re
import subprocess

import requests
import yaml

from conftest import ROOT, SOULBOX
from server import Server

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
            path = path.replace("{id}", "00000000-0000-4000-8000-000000000000")
            r = requests.request(method, s.url + path, json={"language": "python", "code": "1"},
                                 timeout=30)
            if "{id}" in route:
                assert r.status_code == 404 and r.json()["error"]["message"] == "no such execution"
            else:
                assert r.status_code not in (404, 405), route


def test_error_codes_in_the_spec_match_the_engine_table():
    codes = set(spec()["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
                ["code"]["enum"])
    src = open(os.path.join(ROOT, "src", "common", "error.h")).read()
    table = set(re.findall(r'X\(\w+,\s*"(\w+)"', src)) - {"ok", "invalid_config"}
    assert codes == table
