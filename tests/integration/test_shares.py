"""Share links against the real `soulbox serve`: POST /api/shares validates the
program as POST /api/execute would (plus execution_id), answers 201 with an
unguessable id; GET /api/shares/{id} gives back what was given, normalized, to
any key; a shared execution's result is copied in (another key's execution is
404, an unfinished one 409); shares survive a restart, the oldest beyond
server.max_shares go, and each is audited as share_created."""
import base64
import re

import pytest
import requests

from server import Server

KEYS = "alice:ka-share-secret,bob:kb-share-secret,ops:ko-share-secret"
ALICE = {"X-API-Key": "ka-share-secret"}
BOB = {"X-API-Key": "kb-share-secret"}
OPS = {"X-API-Key": "ko-share-secret"}
ID = re.compile(r"[A-Za-z0-9_-]{22,}")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
NOT_FINISHED = "execution_id: the execution has not finished yet (share it once it has)"


@pytest.fixture(scope="module")
def srv():
    s = Server("", env={"SOULBOX_API_KEYS": KEYS, "SOULBOX_ADMIN_KEYS": "ops"})
    s.start()
    s.wait_languages()
    yield s
    s.stop()


def share(s, body, key=ALICE, status=201):
    r = requests.post(s.url + "/api/shares", json=body, headers=key, timeout=60)
    assert r.status_code == status, r.text
    return r.json()


def opened(s, sid, key=BOB, status=200):
    r = requests.get(f"{s.url}/api/shares/{sid}", headers=key, timeout=10)
    assert r.status_code == status, r.text
    return r.json()


def test_code_round_trips_to_another_key(srv):
    r = requests.post(srv.url + "/api/shares", headers=ALICE, timeout=10, json={
        "language": "py", "code": "print(input())", "stdin": "hi\n", "args": ["-x", "y"],
        "limits": {"wall_time_ms": 2000}})
    assert r.status_code == 201, r.text
    made = r.json()
    assert list(made) == ["id", "url", "created"]
    assert ID.fullmatch(made["id"]) and made["url"] == "/?share=" + made["id"]
    assert ISO.fullmatch(made["created"])
    assert r.headers["Location"] == "/api/shares/" + made["id"]
    got = opened(srv, made["id"], key=BOB)
    assert list(got) == ["id", "created", "language", "code", "stdin", "args", "limits",
                         "test_cases", "result"]
    assert got == {"id": made["id"], "created": made["created"], "language": "python",
                   "code": "print(input())", "stdin": "hi\n", "args": ["-x", "y"],
                   "limits": {"wall_time_ms": 2000}, "test_cases": None, "result": None}
    assert opened(srv, made["id"], key=ALICE) == got


def test_files_and_test_cases_round_trip_normalized(srv):
    data = base64.b64encode(b"\x00\x01binary").decode()
    made = share(srv, {"language": "python", "files": [
        {"name": "main.py", "content": "import lib\n"},
        {"name": "lib.py", "content": "x = 1\n", "encoding": "utf-8"},
        {"name": "blob.bin", "content": data, "encoding": "base64"}],
        "test_cases": [{"stdin": "1\n", "expected_output": "1\n"}, {"stdin": "2\n"}]})
    got = opened(srv, made["id"])
    assert "code" not in got
    assert got["files"] == [{"name": "main.py", "content": "import lib\n", "encoding": "utf8"},
                            {"name": "lib.py", "content": "x = 1\n", "encoding": "utf8"},
                            {"name": "blob.bin", "content": data, "encoding": "base64"}]
    assert got["test_cases"] == [{"stdin": "1\n", "expected_output": "1\n"}, {"stdin": "2\n"}]
    assert got["stdin"] is None and got["args"] is None and got["limits"] is None


def test_ids_are_distinct_and_unguessable(srv):
    ids = {share(srv, {"language": "bash", "code": "echo"})["id"] for _ in range(20)}
    assert len(ids) == 20 and all(len(i) >= 22 for i in ids)


def test_a_finished_execution_is_copied_in(srv):
    r = requests.post(srv.url + "/api/execute", headers=ALICE, timeout=60,
                      json={"language": "python", "code": "print('shared result')"})
    assert r.status_code == 200, r.text
    eid = r.json()["id"]
    execution = requests.get(f"{srv.url}/api/executions/{eid}", headers=ALICE, timeout=10).json()
    made = share(srv, {"language": "python", "code": "print('shared result')",
                       "execution_id": eid.upper()})
    got = opened(srv, made["id"], key=BOB)   # bob may not see the execution, but the share
    assert got["result"] == execution
    assert got["result"]["stdout"] == "shared result\n" and got["result"]["id"] == eid
    assert "execution_id" not in got
    assert requests.get(f"{srv.url}/api/executions/{eid}", headers=BOB,
                        timeout=10).status_code == 404


@pytest.mark.parametrize("eid", ["another key's", "00000000-0000-4000-8000-000000000000",
                                 "not-a-uuid"])
def test_an_execution_the_caller_cannot_see_is_not_found(srv, eid):
    if eid == "another key's":
        eid = requests.post(srv.url + "/api/execute", headers=BOB, timeout=60,
                            json={"language": "bash", "code": "echo bob"}).json()["id"]
    err = share(srv, {"language": "bash", "code": "echo", "execution_id": eid}, status=404)
    assert err == {"error": {"code": "not_found", "message": "execution_id: no such execution"}}


def test_an_unfinished_execution_is_a_conflict(srv):
    r = requests.post(srv.url + "/api/executions", headers=ALICE, timeout=10,
                      json={"language": "bash", "code": "sleep 5"})
    assert r.status_code == 202, r.text
    err = share(srv, {"language": "bash", "code": "sleep 5", "execution_id": r.json()["id"]},
                status=409)
    assert err == {"error": {"code": "conflict", "message": NOT_FINISHED}}


def test_unknown_shares_are_not_found(srv):
    for sid in ["A" * 22, "short", "x" * 64, "has.a.dot.in.it.xxxxxxxxxxxx"]:
        assert opened(srv, sid, status=404) == {
            "error": {"code": "not_found", "message": "no such share"}}


def test_a_key_is_needed_to_make_or_open_one(srv):
    made = share(srv, {"language": "bash", "code": "echo"})
    r = requests.get(f"{srv.url}/api/shares/{made['id']}", timeout=10)
    assert r.status_code == 401
    r = requests.post(srv.url + "/api/shares", json={"language": "bash", "code": "echo"},
                      timeout=10)
    assert r.status_code == 401


@pytest.mark.parametrize("body, status, code, message", [
    ({"language": "bash", "code": "echo", "env": {"A": "1"}}, 400, "invalid_argument",
     "env: unknown field"),
    ({"code": "echo"}, 400, "invalid_argument", "language: required"),
    ({"language": 5, "code": "echo"}, 400, "invalid_argument", "language: must be a string"),
    ({"language": "cobol", "code": "x"}, 422, "unknown_language",
     "language: 'cobol' is not available (see GET /api/languages)"),
    ({"language": "bash"}, 400, "invalid_argument", "code: required (or files)"),
    ({"language": "bash", "code": "echo", "files": []}, 400, "invalid_argument",
     "code, files: give one, not both"),
    ({"language": "bash", "code": 7}, 400, "invalid_argument", "code: must be a string"),
    ({"language": "bash", "files": [{"name": "../x", "content": ""}]}, 400, "invalid_argument",
     "files[0].name: '../x' must be a relative path without '..', '.', empty components or "
     "a leading '/'"),
    ({"language": "bash", "files": [{"name": "a", "content": "!", "encoding": "base64"}]}, 400,
     "invalid_argument", "files[0].content: not valid base64"),
    ({"language": "bash", "code": "echo", "stdin": 1}, 400, "invalid_argument",
     "stdin: must be a string"),
    ({"language": "bash", "code": "echo", "limits": {"fast": 1}}, 400, "invalid_argument",
     "limits.fast: unknown limit"),
    ({"language": "bash", "code": "echo", "limits": []}, 400, "invalid_argument",
     "limits: must be an object"),
    ({"language": "bash", "code": "echo", "stdin": "x", "test_cases": [{"stdin": "1"}]}, 400,
     "invalid_argument", "stdin: not with test_cases (each case has its own stdin)"),
    ({"language": "bash", "code": "echo", "execution_id": 5}, 400, "invalid_argument",
     "execution_id: must be a string"),
])
def test_invalid_bodies_are_refused_by_field(srv, body, status, code, message):
    err = share(srv, body, status=status)
    assert err == {"error": {"code": code, "message": message}}


def test_limits_above_the_maximum_are_refused(srv):
    err = share(srv, {"language": "bash", "code": "echo",
                      "limits": {"memory_mb": 1 << 30}}, status=400)
    assert err["error"]["code"] == "limit_exceeds_max"
    assert err["error"]["message"].startswith("limits.memory_mb: ")


def test_a_body_that_is_not_a_json_object_is_refused(srv):
    r = requests.post(srv.url + "/api/shares", data="[1]", timeout=10,
                      headers={**ALICE, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "the body must be a JSON object"
    r = requests.post(srv.url + "/api/shares", data="{", timeout=10,
                      headers={**ALICE, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("the body must be a JSON object: ")
    r = requests.post(srv.url + "/api/shares", data="{}", timeout=10,
                      headers={**ALICE, "Content-Type": "text/plain"})
    assert r.status_code == 415


def test_each_share_is_audited(srv):
    made = share(srv, {"language": "python", "code": "print(1)"})
    recs = requests.get(srv.url + "/api/audit", params={"event": "share_created", "limit": 1},
                        headers=OPS, timeout=10).json()["records"]
    assert recs[0]["detail"] == made["id"] and recs[0]["key_id"] == "alice"
    assert recs[0]["language"] == "python" and re.fullmatch(r"[0-9a-f]{64}",
                                                             recs[0]["code_sha256"])


def test_shares_survive_a_restart_and_the_oldest_go_beyond_max_shares(tmp_path):
    cfg = "server:\n  max_shares: 3\n  max_body_kb: 4\n"
    data = str(tmp_path / "data")
    with Server(cfg, data_dir=data) as s:
        ids = [share(s, {"language": "bash", "code": f"echo {i}"}, key={})["id"]
               for i in range(5)]
        r = requests.post(s.url + "/api/shares", json={"language": "bash", "code": "#" * 5000},
                          timeout=10)
        assert r.status_code == 413, r.text
    with Server(cfg, data_dir=data) as s:
        for sid in ids[:2]:
            opened(s, sid, key={}, status=404)
        for i, sid in enumerate(ids[2:], 2):
            assert opened(s, sid, key={})["code"] == f"echo {i}"


def test_max_shares_is_validated():
    s = Server("server:\n  max_shares: 0\n")
    with pytest.raises(RuntimeError, match="server.max_shares"):
        s.start()
