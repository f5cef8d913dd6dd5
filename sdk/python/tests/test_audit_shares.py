"""The audit log (admin keys) and share links against the real server."""
import asyncio
import datetime
import hashlib
import os
import time
import uuid

import pytest

import soulbox


@pytest.fixture(scope="module")
def admin():
    c = soulbox.Client(api_key=os.environ["SOULBOX_TEST_ADMIN_KEY"])
    yield c
    c.close()


def sha256(code):
    return hashlib.sha256(code.encode()).hexdigest()


def test_audit_needs_an_admin_key(client, other):
    for c in (client, other):
        with pytest.raises(soulbox.PermissionDeniedError) as ei:
            c.audit()
        assert (ei.value.status, ei.value.code) == (403, "permission_denied")
        assert ei.value.message == "the audit log needs an admin key"
        assert ei.value.request_id
        assert isinstance(ei.value, soulbox.SoulboxError)
    with pytest.raises(soulbox.PermissionDeniedError):  # before its parameters are read
        next(client.iter_audit(limit=0))


def test_audit_has_the_execution_filters_and_pages(client, admin):
    t0 = int(time.time() * 1000) - 1000
    codes = [f"print('audit {uuid.uuid4().hex} {i}')" for i in range(3)]
    for code in codes:
        assert client.execute("python", code).status == "ok"
    page = admin.audit(event="execution", key_id="sdk", limit=1)
    assert len(page.records) == 1 and page.next_cursor
    rec = page.records[0]
    assert isinstance(rec, soulbox.AuditRecord)
    assert (rec.event, rec.key_id, rec.language, rec.status) == ("execution", "sdk", "python", "ok")
    assert rec.code_sha256 == sha256(codes[2])
    assert rec.time.endswith("Z") and rec.ts_ms >= t0 and rec.seq > 0
    assert rec.request_id and rec.client == "127.0.0.1"
    assert rec.limits["wall_time_ms"] > 0 and rec.detail is None
    assert rec.raw["seq"] == rec.seq
    page2 = admin.audit(event="execution", key_id="sdk", limit=2, cursor=page.next_cursor)
    assert [r.code_sha256 for r in page2.records] == [sha256(codes[1]), sha256(codes[0])]
    assert page2.records[0].seq < rec.seq
    # the other filters: the key, the status, the time (ms, ISO-8601, datetime)
    mine = admin.audit(key_id="sdk", status="ok", since=t0, limit=500)
    shas = {r.code_sha256 for r in mine.records}
    assert all(sha256(c) in shas for c in codes)
    assert all(r.key_id == "sdk" and r.status == "ok" and r.ts_ms >= t0 for r in mine.records)
    iso = datetime.datetime.fromtimestamp(t0 / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sha256(codes[0]) in {r.code_sha256 for r in admin.audit(since=iso, event="execution").records}
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    assert admin.audit(since=later).records == []
    assert admin.audit(key_id="no-such-key").records == []
    # every page
    seen = [r.seq for r in admin.iter_audit(event="execution", limit=2)]
    assert len(seen) == len(set(seen)) >= 3 and seen == sorted(seen, reverse=True)
    with pytest.raises(soulbox.InvalidRequestError) as ei:
        admin.audit(limit=501)
    assert ei.value.message == "limit: an integer from 1 to 500"


def test_share_code_then_open_it_with_another_key(client, other):
    code = """
        import sys
        print(sys.stdin.read().upper(), sys.argv[1:])
        """
    link = client.shares.create("py", code, stdin="hi", args=["a"], limits={"wall_time_ms": 2000})
    assert isinstance(link, soulbox.ShareLink)
    assert len(link.id) >= 22 and link.url == f"/?share={link.id}" and link.created.endswith("Z")
    for c in (client, other):
        s = c.shares.get(link.id)
        assert (s.id, s.created, s.language) == (link.id, link.created, "python")
        assert s.code == "import sys\nprint(sys.stdin.read().upper(), sys.argv[1:])\n"  # dedented
        assert (s.stdin, s.args, s.limits) == ("hi", ["a"], {"wall_time_ms": 2000})
        assert s.files is None and s.test_cases is None and s.result is None


def test_share_files_and_test_cases(client, other):
    link = client.shares.create("bash", files={"main.sh": "read a; echo $((a * 2))"},
                                test_cases=[{"stdin": "2", "expected_output": "4"}])
    s = other.shares.get(link.id)
    assert s.code is None and s.stdin is None
    assert s.files == [{"name": "main.sh", "content": "read a; echo $((a * 2))", "encoding": "utf8"}]
    assert s.test_cases == [{"stdin": "2", "expected_output": "4"}]


def test_share_a_finished_execution_copies_its_result(client, other):
    r = client.execute("python", "print(6 * 7)")
    link = client.shares.create("python", "print(6 * 7)", execution_id=r.id)
    s = other.shares.get(link.id)
    assert isinstance(s.result, soulbox.Execution)
    assert (s.result.id, s.result.stdout, s.result.status, s.result.language) == (r.id, "42\n", "ok", "python")
    assert s.result.done and s.result.finished_at
    # an execution of another key, or an unknown one, is not found; a running one is a conflict
    with pytest.raises(soulbox.NotFoundError) as ei:
        other.shares.create("python", "print(6 * 7)", execution_id=r.id)
    assert ei.value.message == "execution_id: no such execution"
    with pytest.raises(soulbox.NotFoundError):
        client.shares.create("python", "x", execution_id="00000000-0000-0000-0000-000000000000")
    sub = client.submit("bash", "sleep 3")
    with pytest.raises(soulbox.ConflictError) as ei:
        client.shares.create("bash", "sleep 3", execution_id=sub.id)
    assert ei.value.status == 409
    client.wait_execution(sub.id, timeout=60)


def test_share_errors(client):
    with pytest.raises(soulbox.NotFoundError) as ei:
        client.shares.get("AAAAAAAAAAAAAAAAAAAAAA")
    assert (ei.value.status, ei.value.code, ei.value.message) == (404, "not_found", "no such share")
    with pytest.raises(soulbox.UnknownLanguageError):
        client.shares.create("cobol", "x")
    with pytest.raises(soulbox.InvalidRequestError) as ei:
        client.shares.create("python", "x", extra={"env": {"A": "1"}})
    assert ei.value.message == "env: unknown field"


def test_async_client_audit_and_shares(client):
    code = f"print('async audit {uuid.uuid4().hex}')"

    async def main():
        async with soulbox.AsyncClient() as c, \
                soulbox.AsyncClient(api_key=os.environ["SOULBOX_TEST_ADMIN_KEY"]) as a:
            r = await c.execute("python", code)
            with pytest.raises(soulbox.PermissionDeniedError):
                await c.audit(limit=1)
            page = await a.audit(event="execution", key_id="sdk", limit=1)
            assert page.records[0].code_sha256 == sha256(code) and page.next_cursor
            n = 0
            async for rec in a.iter_audit(event="execution", limit=2):
                assert rec.event == "execution"
                n += 1
            assert n >= 2
            link = await c.shares.create("python", code, execution_id=r.id)
            s = await a.shares.get(link.id)
            assert (s.code, s.result.stdout, s.result.id) == (code, r.stdout, r.id)
            with pytest.raises(soulbox.NotFoundError):
                await c.shares.get("no-such-share")
    asyncio.run(main())
