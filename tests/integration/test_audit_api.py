"""GET /api/audit against the real `soulbox serve`: admin keys only when auth is on
(403 for another key, 401 without one), anyone when it is off; records newest
first with every field (nulls for absent ones, limits as an object); filters by
event, key_id, status and since (milliseconds or ISO-8601); pages joined by
next_cursor; bad parameters refused with a message naming them."""
import re
import time
from datetime import datetime, timezone

import pytest
import requests

from server import Server

KEYS = "alice:ka-audit-secret,bob:kb-audit-secret,ops:ko-audit-secret"
ALICE = {"X-API-Key": "ka-audit-secret"}
BOB = {"X-API-Key": "kb-audit-secret"}
OPS = {"X-API-Key": "ko-audit-secret"}
FIELDS = {"seq", "time", "ts_ms", "event", "request_id", "key_id", "client", "language",
          "code_sha256", "limits", "status", "detail"}


@pytest.fixture(scope="module")
def srv():
    s = Server("", env={"SOULBOX_API_KEYS": KEYS, "SOULBOX_ADMIN_KEYS": "ops"})
    s.start()
    s.wait_languages()
    yield s
    s.stop()


def audit(s, key=OPS, **params):
    return requests.get(s.url + "/api/audit", params=params, headers=key, timeout=10)


def records(s, **params):
    r = audit(s, **params)
    assert r.status_code == 200, r.text
    return r.json()


def run(s, key, code="print('hi')"):
    r = requests.post(s.url + "/api/execute", json={"language": "python", "code": code},
                      headers=key, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_only_an_admin_key_reads_the_audit_log(srv):
    r = audit(srv, key=ALICE)
    assert r.status_code == 403
    assert r.json() == {"error": {"code": "permission_denied",
                                  "message": "the audit log needs an admin key"}}
    r = audit(srv, key={})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = audit(srv, key=OPS)
    assert r.status_code == 200 and set(r.json()) == {"records", "next_cursor"}


def test_an_execution_is_a_record_with_every_field(srv):
    before = int(time.time() * 1000)
    run(srv, ALICE, "print('audit me')")
    page = records(srv, event="execution", key_id="alice", limit=1)
    assert len(page["records"]) == 1
    rec = page["records"][0]
    assert set(rec) == FIELDS
    assert rec["event"] == "execution" and rec["key_id"] == "alice"
    assert rec["language"] == "python" and rec["status"] == "ok"
    assert re.fullmatch(r"[0-9a-f]{64}", rec["code_sha256"])
    assert isinstance(rec["limits"], dict) and rec["limits"]["wall_time_ms"] > 0
    assert rec["client"] == "127.0.0.1" and rec["request_id"]
    assert rec["ts_ms"] >= before - 1000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["time"])
    want = datetime.fromtimestamp(rec["ts_ms"] / 1000, timezone.utc)
    assert rec["time"] == want.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rec['ts_ms'] % 1000:03d}Z"


def test_an_auth_failure_has_nulls_for_what_it_lacks(srv):
    requests.get(srv.url + "/api/languages", headers={"X-API-Key": "wrong"}, timeout=10)
    rec = records(srv, event="auth_failure", limit=1)["records"][0]
    assert set(rec) == FIELDS
    assert rec["key_id"] is None and rec["language"] is None and rec["limits"] is None
    assert rec["code_sha256"] is None and rec["status"] is None
    assert rec["detail"]


def test_filters_match_exactly_and_combine(srv):
    run(srv, ALICE)
    run(srv, BOB)
    run(srv, BOB, "import sys; sys.exit(3)")
    bob = records(srv, event="execution", key_id="bob")["records"]
    assert len(bob) >= 2 and all(r["key_id"] == "bob" and r["event"] == "execution"
                                 for r in bob)
    failed = records(srv, key_id="bob", status="runtime_error")["records"]
    assert failed and all(r["status"] == "runtime_error" and r["key_id"] == "bob"
                          for r in failed)
    assert records(srv, event="no_such_event")["records"] == []
    assert records(srv, key_id="nobody")["records"] == []
    everything = records(srv, limit=500)["records"]
    seqs = [r["seq"] for r in everything]
    assert seqs == sorted(seqs, reverse=True), "newest first"
    assert {r["event"] for r in everything} >= {"execution", "auth_failure"}


def test_pages_follow_next_cursor_to_the_end(srv):
    for _ in range(5):
        requests.get(srv.url + "/api/languages", headers={"X-API-Key": "pager"}, timeout=10)
    want = [r["seq"] for r in records(srv, event="auth_failure", limit=500)["records"]]
    assert len(want) >= 5
    got, cursor, pages = [], None, 0
    while True:
        params = {"event": "auth_failure", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = records(srv, **params)
        assert len(page["records"]) <= 2
        got += [r["seq"] for r in page["records"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and len(page["records"]) == 2
    assert got == want and pages == (len(want) + 1) // 2


def test_since_takes_milliseconds_or_an_iso_time(srv):
    run(srv, ALICE)
    newest = records(srv, limit=1)["records"][0]
    ts = newest["ts_ms"]
    by_ms = records(srv, since=str(ts))["records"]
    assert by_ms and all(r["ts_ms"] >= ts for r in by_ms)
    assert newest["seq"] in [r["seq"] for r in by_ms]
    iso = datetime.fromtimestamp(ts // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    by_iso = records(srv, since=iso)["records"]
    assert all(r["ts_ms"] >= ts // 1000 * 1000 for r in by_iso)
    assert newest["seq"] in [r["seq"] for r in by_iso]
    assert records(srv, since=newest["time"])["records"][-1]["ts_ms"] >= ts
    assert records(srv, since=str(ts + 3600_000))["records"] == []
    assert records(srv, since="2999-01-01T00:00:00Z")["records"] == []
    assert len(records(srv, since="0")["records"]) > 0


@pytest.mark.parametrize("params, message", [
    ({"limit": "0"}, "limit: an integer from 1 to 500"),
    ({"limit": "501"}, "limit: an integer from 1 to 500"),
    ({"limit": "ten"}, "limit: an integer from 1 to 500"),
    ({"cursor": "0"}, "cursor: use next_cursor from the previous page"),
    ({"cursor": "abc"}, "cursor: use next_cursor from the previous page"),
    ({"event": ""}, "event: an event name, e.g. execution or auth_failure"),
    ({"key_id": ""}, "key_id: a key's id"),
    ({"status": ""}, "status: a status, e.g. ok or time_limit_exceeded"),
    ({"since": "yesterday"}, "since: milliseconds since the epoch or an ISO-8601 UTC time "
                             "like 2026-12-06T04:00:00Z"),
    ({"since": "2026-13-01T00:00:00Z"}, "since: milliseconds since the epoch or an ISO-8601 "
                                        "UTC time like 2026-12-06T04:00:00Z"),
    ({"since": "-5"}, "since: milliseconds since the epoch or an ISO-8601 UTC time "
                      "like 2026-12-06T04:00:00Z"),
])
def test_bad_parameters_are_refused_by_name(srv, params, message):
    r = audit(srv, **params)
    assert r.status_code == 400
    assert r.json() == {"error": {"code": "invalid_argument", "message": message}}


def test_a_non_admin_is_refused_before_its_parameters_are_read(srv):
    r = audit(srv, key=BOB, limit="0")
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"


def test_without_auth_anyone_reads_it():
    with Server("") as s:
        requests.post(s.url + "/api/shares", json={"language": "python", "code": "1"},
                      timeout=10)
        r = requests.get(s.url + "/api/audit", timeout=10)
        assert r.status_code == 200, r.text
        rec = r.json()["records"][0]
        assert rec["event"] == "share_created" and rec["key_id"] is None
        assert r.json()["next_cursor"] is None
