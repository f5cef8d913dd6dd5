"""Serverless functions in PostgreSQL (cluster mode): a node migrates the
schema to version 3 (tables functions and function_fires), and the store's own
function cases (tests/unit/test_store.c, suite store_pg: generations and
conflicts, claimed firings, a 32 MiB document) pass against a real database.
"""
import os
import re
import subprocess
import sys

import pytest
import requests
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from conftest import SOULBOX  # noqa: E402
from pg import Postgres, new_database, psql_db  # noqa: E402
from server import Server, wait_until  # noqa: E402


@pytest.fixture(scope="module")
def pg():
    p = Postgres()
    yield p
    p.close()


def test_a_node_migrates_the_schema_to_version_3_with_the_function_tables(pg):
    url = new_database(pg, "fns")
    with Server(f"server:\n  store: {url}\ncluster:\n  node_name: a\n"):
        assert psql_db(pg, "fns", "SELECT version, description FROM schema_migrations "
                                  "WHERE version = 3") == \
            [["3", "serverless functions and their claimed cron firings"]]
        assert psql_db(pg, "fns", "SELECT max(version) FROM schema_migrations") == [["5"]]
        columns = psql_db(pg, "fns", "SELECT table_name, column_name, data_type, is_nullable "
                                     "FROM information_schema.columns WHERE table_name IN "
                                     "('functions', 'function_fires') "
                                     "ORDER BY table_name, ordinal_position")
        assert columns == [
            ["function_fires", "name", "text", "NO"],
            ["function_fires", "fire_ms", "bigint", "NO"],
            ["function_fires", "node", "text", "YES"],
            ["functions", "name", "text", "NO"],
            ["functions", "owner", "text", "NO"],
            ["functions", "doc", "text", "NO"],
            ["functions", "generation", "bigint", "NO"],
            ["functions", "updated_ms", "bigint", "NO"],
        ]
        keys = psql_db(pg, "fns", "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) "
                                  "FROM pg_constraint WHERE contype = 'p' AND conrelid::regclass"
                                  "::text IN ('functions', 'function_fires') ORDER BY 1")
        assert keys == [["function_fires", "PRIMARY KEY (name, fire_ms)"],
                        ["functions", "PRIMARY KEY (name)"]]


def test_the_stores_function_cases_pass_on_postgres(pg):
    unit = os.path.join(os.path.dirname(SOULBOX), "tests", "test_store")
    if not os.path.exists(unit):
        pytest.skip(f"{unit} is not built (make unit builds it)")
    url = new_database(pg, "fnunit")
    r = subprocess.run([unit, "--filter", "store_pg/*", "--jobs", "2", "--verbose"],
                       env=dict(os.environ, SOULBOX_TEST_PG_URL=url), capture_output=True,
                       text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "[SKIP] store_pg::" not in out, out   # the filter lists the others as skipped
    tested = re.search(r"Tested: (\d+) \| Passing: (\d+) \| Failing: 0 \| Crashing: 0", out)
    assert tested and int(tested.group(1)) >= 8 and tested.group(1) == tested.group(2), out
    # what the cases wrote is in the database, under their names
    assert int(psql_db(pg, "fnunit", "SELECT count(*) FROM functions")[0][0]) > 0


# ---- functions across the nodes of a cluster ----

def _node(url, name):
    s = Server(f"server:\n  store: {url}\ncluster:\n  node_name: {name}\n  heartbeat_ms: 200\n"
               "sandbox:\n  languages: [python]\n", all_languages=True)
    s.start()
    s.wait_languages()
    return s


def _invoke(node, target, **kw):
    return requests.post(f"{node.url}/fn/{target}", timeout=60, **kw)


def test_a_function_deployed_on_one_node_is_served_by_the_others(pg):
    url = new_database(pg, "fnc")
    a, b = _node(url, "a"), _node(url, "b")
    try:
        r = requests.post(a.url + "/api/functions", json={
            "name": "hello", "language": "python",
            "code": "def handler(e, c):\n    return 'v1'\n"})
        assert r.status_code == 201, r.text
        # b hears of it (NOTIFY soulbox_functions) and serves it
        assert wait_until(lambda: _invoke(b, "hello").text == "v1", 10)
        r = requests.post(b.url + "/api/functions", json={
            "name": "hello", "language": "python", "reuse": True,
            "code": "def handler(e, c):\n    return 'v2'\n"})
        assert r.status_code == 201 and r.json()["version"] == 2, r.text
        assert wait_until(lambda: _invoke(a, "hello").text == "v2", 10)
        assert _invoke(a, "hello@1").text == "v1"
        # two nodes deploying at once: distinct version numbers, none lost
        import concurrent.futures as cf
        spec = {"name": "hello", "language": "python",
                "code": "def handler(e, c):\n    return 'v'\n"}
        with cf.ThreadPoolExecutor(8) as ex:
            rs = list(ex.map(lambda n: requests.post(n.url + "/api/functions", json=spec,
                                                     timeout=60), [a, b] * 4))
        assert all(r.status_code == 201 for r in rs), [r.text for r in rs]
        assert sorted(r.json()["version"] for r in rs) == list(range(3, 11))
        assert requests.delete(a.url + "/api/functions/hello").status_code == 204
        assert wait_until(lambda: _invoke(b, "hello").status_code == 404, 10)
    finally:
        a.stop()
        b.stop()


def test_a_schedule_fires_once_per_time_across_the_cluster(pg):
    url = new_database(pg, "fncron")
    a, b = _node(url, "a"), _node(url, "b")
    try:
        r = requests.post(a.url + "/api/functions", json={
            "name": "tick", "language": "python", "schedule": "@every 1s",
            "code": "def handler(e, c):\n    return e['time']\n"})
        assert r.status_code == 201, r.text
        time.sleep(4.5)
        logs = [requests.get(n.url + "/api/functions/tick/logs?limit=100").json()["invocations"]
                for n in (a, b)]
        fired = [i for l in logs for i in l]
        assert len(fired) >= 3, logs
        fires = psql_db(pg, "fncron", "SELECT name, fire_ms FROM function_fires ORDER BY fire_ms")
        # each time fired by one node only: as many invocations as claimed times
        assert len(fired) == len(fires) or len(fired) == len(fires) - 1, (fired, fires)
        assert len({f[1] for f in fires}) == len(fires)
    finally:
        a.stop()
        b.stop()


# ---- the audit log's pages and share links on PostgreSQL ----

def test_the_stores_audit_and_share_cases_pass_on_postgres(pg):
    unit = os.path.join(os.path.dirname(SOULBOX), "tests", "test_store_share")
    if not os.path.exists(unit):
        pytest.skip(f"{unit} is not built (make unit builds it)")
    url = new_database(pg, "shareunit")
    r = subprocess.run([unit, "--filter", "store_share_pg/*", "--jobs", "2", "--verbose"],
                       env=dict(os.environ, SOULBOX_TEST_PG_URL=url), capture_output=True,
                       text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "[SKIP] store_share_pg::" not in out, out
    tested = re.search(r"Tested: (\d+) \| Passing: (\d+) \| Failing: 0 \| Crashing: 0", out)
    assert tested and int(tested.group(1)) >= 3 and tested.group(1) == tested.group(2), out


def test_a_share_made_on_one_node_opens_on_another_and_is_audited(pg):
    url = new_database(pg, "shares")
    a, b = _node(url, "a"), _node(url, "b")
    try:
        r = requests.post(a.url + "/api/shares", json={"language": "python", "code": "print(1)"},
                          timeout=30)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        got = requests.get(f"{b.url}/api/shares/{sid}", timeout=10)
        assert got.status_code == 200, got.text
        assert got.json()["code"] == "print(1)" and got.json()["result"] is None
        assert psql_db(pg, "shares", "SELECT count(*) FROM shares") == [["1"]]
        recs = requests.get(b.url + "/api/audit", params={"event": "share_created"},
                            timeout=10).json()["records"]
        assert [x["detail"] for x in recs] == [sid]
        assert requests.get(f"{b.url}/api/shares/{'x' * 22}", timeout=10).status_code == 404
    finally:
        a.stop()
        b.stop()
