"""Cluster mode: several `soulbox serve` nodes sharing a real PostgreSQL (Debian's,
started here in a temporary directory) on loopback ports.

What is proved: versioned migrations run once; sync requests a busy node cannot
start are handed to a node with room; async work is queued in PostgreSQL and
taken by any node; results and audit are readable from every node; a node
killed with -9 is found lost, its running executions end as internal_error
saying so, queued work goes on elsewhere; PostgreSQL restarting gives 503 +
Retry-After in the gap and loses nothing; a node cut off from the database (a
proxy the test controls) is taken over and stops what it still runs when it
comes back; 1,000 mixed requests with a node killed and restarted mid-way
each end exactly once.
"""
import concurrent.futures as cf
import json
import os
import struct
import subprocess
import sys
import time
import types

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from conftest import SOULBOX, sandbox_cgroups, sandbox_mounts, sandbox_processes  # noqa: E402
from pg import Postgres, new_database, psql_db  # noqa: E402
from proxy import Proxy  # noqa: E402
from server import Server, wait_until  # noqa: E402

HEARTBEAT_MS = 200
TIMEOUT_MS = 1500


@pytest.fixture(scope="module")
def pg():
    p = Postgres()
    yield p
    p.close()


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind():
    yield
    assert wait_until(lambda: sandbox_processes() == [], 10), sandbox_processes()
    assert sandbox_cgroups() == []
    assert sandbox_mounts() == []


class Node(Server):
    def __init__(self, store, name, max_concurrent=1, max_queue=50, timeout_ms=TIMEOUT_MS,
                 env=None):
        super().__init__(f"server:\n  store: {store}\n  max_concurrent: {max_concurrent}\n"
                         f"  max_queue: {max_queue}\ncluster:\n  node_name: {name}\n"
                         f"  heartbeat_ms: {HEARTBEAT_MS}\n  node_timeout_ms: {timeout_ms}\n",
                         env=env)
        self.key = None
        self.name = name

    def start(self, timeout=30):
        super().start(timeout)
        self.wait_languages()
        # its languages reach the cluster with the next heartbeat
        assert wait_until(lambda: self.me().get("languages"), 5), self.cluster()
        return self

    def cluster(self):
        h = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return self.get("/api/cluster", headers=h).json()

    def me(self):
        return next((n for n in self.cluster()["nodes"] if n["self"]), {})

    def node_id(self):
        return self.cluster()["node"]


def ended(node, eid, timeout=15):
    """The execution once ended, read through node (503s while the node
    cannot reach the database are waited out)."""
    last = {}

    def done():
        r = node.get(f"/api/executions/{eid}")
        last["r"] = r
        return r.status_code == 200 and r.json()["status"] not in ("queued", "running")
    assert wait_until(done, timeout), last["r"].text
    return last["r"].json()


def stop_all(nodes):
    for n in nodes:
        if n.proc and n.proc.poll() is None:
            assert n.stop() == 0, n.read_log()[-3000:]


def rows(pg, db, sql):
    return psql_db(pg, db, sql)


def sleep_echo(seconds, marker):
    return {"language": "bash", "code": f"sleep {seconds}; echo {marker}"}


# ---- schema ----

def test_migrations_run_once_and_a_newer_schema_is_refused(pg):
    url = new_database(pg, "mig")
    a, b = Node(url, "a"), Node(url, "b")
    procs = [a, b]
    try:
        # started together: one migrates under the advisory lock, the other waits
        a.proc = None
        for n in procs:
            n.logf = open(n.log, "ab")
            n.proc = subprocess.Popen(n.argv(), stdout=n.logf, stderr=subprocess.STDOUT)
        assert wait_until(lambda: all(_healthy(n) for n in procs), 30), \
            a.read_log() + b.read_log()
        assert rows(pg, "mig", "SELECT version, description FROM schema_migrations "
                               "ORDER BY version") == \
            [["1", "executions, stages, audit, nodes"],
             ["2", "sessions and where they live, nodes' URLs"],
             ["3", "serverless functions and their claimed cron firings"],
             ["4", "share links; the audit log read by event"],
             ["5", "Judge0 submissions (the compat API)"]]
        tables = {r[0] for r in rows(pg, "mig", "SELECT tablename FROM pg_tables "
                                                "WHERE schemaname = 'public'")}
        assert {"executions", "stages", "audit", "nodes", "sessions", "functions",
                "function_fires", "shares", "judge0_submissions", "schema_migrations"} <= tables
    finally:
        stop_all(procs)
    # a node restarted on the same database applies nothing again
    with Node(url, "a") as again:
        assert rows(pg, "mig", "SELECT count(*) FROM schema_migrations") == [["5"]]
    # a database migrated by a newer soulbox: refused, with why
    rows(pg, "mig", "INSERT INTO schema_migrations VALUES (99, 0, 'from the future')")
    r = subprocess.run(Node(url, "c").argv(), capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "schema version 99 is newer than this soulbox (5): use a newer binary" in r.stderr
    _ = again


def _healthy(n):
    try:
        return requests.get(n.url + "/health", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_store_url_is_validated():
    for bad, why in [("server:\n  store: mysql://x/y\n",
                      "server.store: 'sqlite' or a URL postgres://user:password@host:port/"
                      "database, not 'mysql://x/y'"),
                     ("server:\n  store: ''\n", "store"),
                     ("cluster:\n  heartbeat_ms: 50\n",
                      "cluster.heartbeat_ms: between 100 ms and 60 s"),
                     ("cluster:\n  heartbeat_ms: 1s\n  node_timeout_ms: 2s\n",
                      "cluster.node_timeout_ms: at least three heartbeats (3000 ms)"),
                     ("cluster:\n  node_name: 'a b'\n", "cluster.node_name: letters, digits"),
                     ("cluster:\n  nodes: 3\n", "nodes")]:
        cfg = Server(bad)
        r = subprocess.run(cfg.argv(), capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, r
        assert why in r.stderr, r.stderr
    # an unreachable database: the node says so and does not serve alone
    port = Server("").port
    cfg = Server(f"server:\n  store: postgres://soulbox:secret@127.0.0.1:{port}/x\n")
    r = subprocess.run(cfg.argv(), capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert f"postgres postgres://soulbox:***@127.0.0.1:{port}/x" in r.stderr, r.stderr
    assert "secret" not in r.stderr


# ---- sharing the work ----

def test_sync_requests_are_handed_to_nodes_with_room(pg):
    url = new_database(pg, "sync")
    nodes = [Node(url, n).start() for n in ("a", "b", "c")]
    try:
        assert wait_until(lambda: len([n for n in nodes[0].cluster()["nodes"]
                                       if n["state"] == "up"]) == 3, 5)
        a = nodes[0]
        with cf.ThreadPoolExecutor(6) as ex:
            got = list(ex.map(lambda i: a.execute(sleep_echo(1, f"m{i}"), timeout=60),
                              range(6)))
        assert [r.status_code for r in got] == [200] * 6
        assert [r.json()["stdout"] for r in got] == [f"m{i}\n" for i in range(6)]
        ids = [r.json()["id"] for r in got]
        placed = rows(pg, "sync", "SELECT node, runs, state FROM executions")
        assert len(placed) == 6
        assert {p[1] for p in placed} == {"1"} and {p[2] for p in placed} == {"done"}
        # one slot per node: six one-second runs took three nodes
        assert len({p[0] for p in placed}) == 3, placed
        # readable from every node, the same
        for n in nodes:
            for i, eid in enumerate(ids):
                e = n.get(f"/api/executions/{eid}").json()
                assert (e["status"], e["stdout"]) == ("ok", f"m{i}\n")
        audit = rows(pg, "sync", "SELECT count(*), count(DISTINCT node) FROM audit "
                                 "WHERE event = 'execution'")
        assert audit == [["6", "3"]]
    finally:
        stop_all(nodes)


def test_async_work_is_queued_in_postgres_and_taken_by_any_node(pg):
    url = new_database(pg, "async")
    nodes = [Node(url, n).start() for n in ("a", "b", "c")]
    try:
        a, b = nodes[0], nodes[1]
        ids = []
        for i in range(9):
            r = a.post("/api/executions", sleep_echo(0.5, f"q{i}"))
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        for i, eid in enumerate(ids):
            e = b.finished(eid, timeout=30)
            assert (e["status"], e["stdout"]) == ("ok", f"q{i}\n")
        placed = rows(pg, "async", "SELECT node, runs FROM executions")
        assert {p[1] for p in placed} == {"1"}
        assert len({p[0] for p in placed}) == 3, placed
        listed = nodes[2].get("/api/executions?limit=20").json()["executions"]
        assert sorted(e["id"] for e in listed) == sorted(ids)
    finally:
        stop_all(nodes)


def test_queue_capacity_is_the_live_nodes_max_queue_together(pg):
    url = new_database(pg, "qfull")
    nodes = [Node(url, n, max_queue=2).start() for n in ("a", "b")]
    try:
        a = nodes[0]
        first = [a.post("/api/executions", sleep_echo(3, i)) for i in range(2)]
        assert [r.status_code for r in first] == [202] * 2
        # both running (one per node), seen by a heartbeat
        assert wait_until(lambda: sum(n["running"] for n in a.cluster()["nodes"]
                                      if n["state"] == "up") == 2, 5)
        time.sleep(2 * HEARTBEAT_MS / 1000)
        queued = [a.post("/api/executions", sleep_echo(0, i)) for i in range(4)]
        assert [r.status_code for r in queued] == [202] * 4
        time.sleep(2 * HEARTBEAT_MS / 1000)
        assert a.cluster()["queued"] == 4
        refused = [a.post("/api/executions", sleep_echo(0, i)) for i in range(2)]
        assert [r.status_code for r in refused] == [503] * 2
        assert refused[0].headers["Retry-After"] == "1"
        assert "cluster's queue (4 places)" in refused[0].json()["error"]["message"]
    finally:
        stop_all(nodes)


# ---- faults ----

def test_a_node_killed_with_9_is_found_lost_and_its_work_taken_over(pg):
    url = new_database(pg, "kill")
    a, b = Node(url, "a").start(), Node(url, "b").start()
    try:
        victim = a.post("/api/executions", sleep_echo(30, "never")).json()["id"]
        survivor = b.post("/api/executions", sleep_echo(2, "kept")).json()["id"]
        assert wait_until(lambda: b.get(f"/api/executions/{victim}").json()["status"]
                          == "running", 5)
        queued = [a.post("/api/executions", sleep_echo(0, f"w{i}")).json()["id"]
                  for i in range(3)]
        a_id = a.node_id()
        a.kill9()
        t0 = time.monotonic()
        e = b.finished(victim, timeout=10)
        took = time.monotonic() - t0
        assert e["status"] == "internal_error"
        assert e["message"].startswith(f"node a ({a_id}) was lost (no heartbeat for ")
        assert e["message"].endswith(" ms) while this execution was running")
        assert TIMEOUT_MS / 1000 - 0.3 < took < TIMEOUT_MS / 1000 + 3, took
        # the queued work goes on on b
        for i, eid in enumerate(queued):
            e = b.finished(eid, timeout=20)
            assert (e["status"], e["stdout"]) == ("ok", f"w{i}\n")
        assert b.finished(survivor, timeout=10)["stdout"] == "kept\n"
        lost = {n["id"]: n for n in b.cluster()["nodes"]}[a_id]
        assert lost["state"] == "lost" and lost["reason"].startswith("no heartbeat for ")
        # restarted: a new member; the old one stays lost
        a2 = Node(url, "a")
        a2.config, a2.tmp = a.config, a.tmp
        a2.start()
        try:
            states = {n["id"]: n["state"] for n in b.cluster()["nodes"]}
            assert states[a_id] == "lost" and states[a2.node_id()] == "up"
            assert a2.execute(sleep_echo(0, "back")).json()["stdout"] == "back\n"
        finally:
            stop_all([a2])
        assert rows(pg, "kill", "SELECT max(runs) FROM executions") == [["1"]]
    finally:
        stop_all([a, b])


def test_postgres_restarting_gives_503_in_the_gap_and_loses_nothing():
    own = Postgres()
    url = own.url()
    a = Node(url, "a", timeout_ms=5000).start()
    try:
        eid = a.post("/api/executions", sleep_echo(2, "through")).json()["id"]
        assert wait_until(lambda: a.get(f"/api/executions/{eid}").json()["status"]
                          == "running", 5)
        own.stop("fast")
        r = a.execute(sleep_echo(0, "gap"))
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "5"
        assert "the database is unreachable" in r.json()["error"]["message"]
        assert a.post("/api/executions", sleep_echo(0, "gap")).status_code == 503
        assert wait_until(lambda: a.get("/health").json()["status"] == "degraded", 5)
        assert a.get("/health").json()["cluster"]["database"] == "unreachable"
        time.sleep(2.5)          # the execution ends while the database is away
        r = a.get(f"/api/executions/{eid}")
        assert r.status_code == 503 and "the database is unreachable" in r.text
        own.start()
        e = ended(a, eid)
        assert (e["status"], e["stdout"]) == ("ok", "through\n")
        assert wait_until(lambda: a.get("/health").json()["status"] == "ok", 10)
        assert a.execute(sleep_echo(0, "after")).json()["stdout"] == "after\n"
        got = own.psql("SELECT count(*), count(DISTINCT id), max(runs) FROM executions")
        assert got == [["2", "2", "1"]]
        assert own.psql("SELECT count(*) FROM audit WHERE event = 'execution'") == [["2"]]
    finally:
        stop_all([a])
        own.close()


def test_a_node_cut_off_from_postgres_is_taken_over_and_stops_its_work(pg):
    url = new_database(pg, "part")
    proxy = Proxy(pg.port)
    via_proxy = f"postgres://soulbox@127.0.0.1:{proxy.port}/part"
    a, b = Node(via_proxy, "a").start(), Node(url, "b").start()
    try:
        a_id = a.node_id()
        eid = a.post("/api/executions", sleep_echo(8, "cut")).json()["id"]
        assert wait_until(lambda: b.get(f"/api/executions/{eid}").json()["status"]
                          == "running", 5)
        proxy.cut()
        e = b.finished(eid, timeout=10)
        assert e["status"] == "internal_error"
        assert f"node a ({a_id}) was lost" in e["message"]
        # a is alive but cannot record anything: new work is refused, not lost
        r = a.execute(sleep_echo(0, "x"))
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        proxy.heal()
        # back in touch: a learns it was lost, stops what it still ran, serves again
        assert wait_until(lambda: any(l.get("msg", "").startswith("cluster: this node was "
                                                                  "found lost")
                                      for l in a.log_lines()), 10), a.read_log()[-2000:]
        assert wait_until(lambda: a.get("/health").json()["running"] == 0, 10)
        assert wait_until(lambda: {n["id"]: n["state"] for n in b.cluster()["nodes"]}
                          .get(a_id) == "up", 5)
        assert a.execute(sleep_echo(0, "again")).json()["stdout"] == "again\n"
        # the first ending stands: the result a had after the cut is not recorded
        e = b.get(f"/api/executions/{eid}").json()
        assert e["status"] == "internal_error"
        assert rows(pg, "part", f"SELECT runs FROM executions WHERE id = '{eid}'") == [["1"]]
    finally:
        stop_all([a, b])
        proxy.close()


# ---- the whole ----

def test_1000_mixed_requests_with_a_node_killed_and_restarted(pg):
    url = new_database(pg, "load")
    nodes = [Node(url, n, max_concurrent=2, max_queue=400).start() for n in ("a", "b", "c")]
    accepted = {}            # id -> (mode, marker, sync result or None)
    errors = []

    def send(i):
        mode = "sync" if i % 3 == 0 else "async"
        marker = f"r{i}"
        body = {"language": "bash", "code": f"echo {marker}"}
        for attempt in range(20):
            n = nodes[(i + attempt) % 3]
            try:
                if mode == "sync":
                    r = n.execute(body, timeout=60)
                else:
                    r = n.post("/api/executions", body, timeout=30)
            except requests.RequestException:
                continue      # the killed node: the client tries another
            if r.status_code == 503:
                time.sleep(0.2)
                continue
            assert r.status_code in (200, 202), r.text
            j = r.json()
            accepted[j["id"]] = (mode, marker, j if mode == "sync" else None)
            return
        errors.append(i)

    with cf.ThreadPoolExecutor(12) as ex:
        futures = [ex.submit(send, i) for i in range(1000)]
        while sum(f.done() for f in futures) < 400:
            time.sleep(0.05)
        c = nodes[2]
        c_id = c.node_id()
        c.kill9()
        time.sleep(2)
        c2 = Node(url, "c")
        c2.config, c2.tmp = c.config, c.tmp
        nodes[2] = c2.start()
        for f in futures:
            f.result()
    try:
        assert errors == []
        assert len(accepted) >= 990      # sync requests in flight on c were never answered
        ids = list(accepted)

        def all_done():
            return rows(pg, "load", "SELECT count(*) FROM executions WHERE state <> 'done'") \
                == [["0"]]
        assert wait_until(all_done, 60)
        table = {r[0]: r[1:] for r in rows(pg, "load", "SELECT id, status, runs, node, note "
                                                       "FROM executions")}
        assert set(ids) <= set(table)
        lost = []
        for eid in ids:
            mode, marker, sync = accepted[eid]
            status, runs, node, note = table[eid]
            assert int(runs) <= 1, (eid, runs)            # none ran twice
            if status == "internal_error":
                assert node == c_id and note.startswith(f"node c ({c_id}) was lost"), table[eid]
                lost.append(eid)
            else:
                assert status == "ok", table[eid]
            if sync:      # what the client was told is what the store says
                assert sync["status"] == status, (sync, table[eid])
                if status == "ok":
                    assert sync["stdout"] == f"{marker}\n"
        assert len(lost) <= 2 + 2            # what c ran, and held for its own clients
        # the kill landed mid-way: the old c and the restarted one both ran work
        per_node = dict(rows(pg, "load", "SELECT node, count(*) FROM executions GROUP BY node"))
        assert int(per_node.get(c_id, 0)) > 0 and int(per_node.get(nodes[2].node_id(), 0)) > 0, \
            per_node
        print(f"accepted {len(accepted)}, lost with c: {len(lost)}, per node: {per_node}")
        # readable from every node, the same ending
        for n in nodes:
            for eid in ids[::50]:
                e = n.get(f"/api/executions/{eid}").json()
                mode, marker, _ = accepted[eid]
                assert e["status"] == table[eid][0]
                if e["status"] == "ok":
                    assert e["stdout"] == f"{marker}\n"
        # one audit record per run that ended (c's last ones may have died with it)
        audited = int(rows(pg, "load", "SELECT count(*) FROM audit "
                                       "WHERE event = 'execution'")[0][0])
        ok = int(rows(pg, "load", "SELECT count(*) FROM executions WHERE status = 'ok'")[0][0])
        assert ok - 4 <= audited <= ok
    finally:
        stop_all(nodes)


# ---- sessions ----

@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """The gRPC stubs, generated from proto/ at test time."""
    import grpc  # noqa: F401
    root = os.path.dirname(os.path.dirname(HERE))
    out = str(tmp_path_factory.mktemp("grpc_stubs"))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", "proto",
                    "--python_out=" + out, "--grpc_python_out=" + out,
                    "soulbox/v1/soulbox.proto", "soulbox/v1/sessions.proto"],
                   cwd=root, check=True, capture_output=True, timeout=60)
    sys.path.insert(0, out)
    try:
        from soulbox.v1 import sessions_pb2, sessions_pb2_grpc, soulbox_pb2, soulbox_pb2_grpc
    finally:
        sys.path.remove(out)
    return types.SimpleNamespace(ss=sessions_pb2, ss_grpc=sessions_pb2_grpc, sb=soulbox_pb2,
                                 sb_grpc=soulbox_pb2_grpc)

def sse_events(resp):
    out, event = [], None
    for line in resp.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            out.append((event, json.loads(line[6:])))
    return out


def test_any_node_forwards_a_sessions_operations_to_its_node(pg, pb):
    url = new_database(pg, "sess")
    a, b = Node(url, "a").start(), Node(url, "b").start()
    try:
        sid = a.post("/api/sandboxes", {"template": "base"}).json()["id"]
        base = f"/api/sandboxes/{sid}"
        # the description, through either node
        assert b.get(base).json() == a.get(base).json()
        # a command and its result
        r = b.post(base + "/commands", {"cmd": "echo $((6 * 7)); hostname"})
        assert r.status_code == 200, r.text
        assert r.json()["stdout"].split("\n")[0] == "42"
        # files both ways, bytes intact
        blob = bytes(range(256)) * 64
        put = requests.put(b.url + base + "/files", params={"path": "/workspace/x.bin"},
                           data=blob, timeout=30)
        assert put.status_code in (200, 201), put.text
        got = requests.get(a.url + base + "/files", params={"path": "/workspace/x.bin"},
                           timeout=30)
        assert got.content == blob
        got = requests.get(b.url + base + "/files", params={"path": "/workspace/x.bin"},
                           timeout=30)
        assert got.content == blob
        names = [e["name"] for e in b.get(base + "/files/list",
                                          params={"path": "/workspace"}).json()["entries"]]
        assert "x.bin" in names
        # a streamed command's output arrives through the forwarding node as it is made
        with requests.post(b.url + base + "/commands",
                           json={"cmd": "for i in 1 2 3; do echo $i; sleep 0.3; done"},
                           headers={"Accept": "text/event-stream"}, stream=True,
                           timeout=30) as s:
            assert s.status_code == 200
            assert s.headers["Content-Type"].startswith("text/event-stream")
            t0 = time.monotonic()
            events = sse_events(s)
            assert time.monotonic() - t0 > 0.5
        text = "".join(d.get("data", "") for e, d in events if e == "stdout")
        assert text == "1\n2\n3\n", events
        # errors come back as the holding node gave them
        r = b.post(base + "/commands", {"nonsense": 1})
        assert r.status_code == 400 and r.json() == a.post(base + "/commands",
                                                           {"nonsense": 1}).json()
        # the same through b's gRPC port: forwarded to a's, streams relayed
        import grpc
        with grpc.insecure_channel(b.grpc_target) as ch:
            ss = pb.ss_grpc.SessionsStub(ch)
            got = ss.GetSandbox(pb.ss.SandboxRef(id=sid), timeout=30)
            assert (got.id, got.state) == (sid, "running")
            events = list(ss.RunCommand(pb.ss.RunCommandRequest(
                id=sid, cmd="for i in 1 2; do echo g$i; sleep 0.2; done"), timeout=30))
            kinds = [e.WhichOneof("event") for e in events]
            assert kinds[0] == "started" and kinds[-1] == "exited", kinds
            assert b"".join(e.output.data for e in events if e.HasField("output")) == \
                b"g1\ng2\n"
            assert events[-1].exited.status == "ok"
            content = ss.ReadFile(pb.ss.FileRef(id=sid, path="/workspace/x.bin"), timeout=30)
            assert content.content == blob
            with pytest.raises(grpc.RpcError) as e:
                ss.GetSandbox(pb.ss.SandboxRef(id="no-such-sandbox"), timeout=30)
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
            # the cluster's view through gRPC
            view = pb.sb_grpc.SoulBoxStub(ch).GetCluster(pb.sb.GetClusterRequest(), timeout=30)
            assert view.store == "postgres"
            assert {n.name for n in view.nodes if n.state == "up"} == {"a", "b"}
            assert all(n.url.startswith("http://127.0.0.1:") for n in view.nodes)
        # no loop: a request already forwarded is never forwarded again
        r = requests.get(b.url + base, headers={"X-SoulBox-Forwarded": "1"}, timeout=10)
        assert r.status_code == 404
        # ended through b: gone everywhere
        assert requests.delete(b.url + base, timeout=30).status_code in (200, 204)
        assert a.get(base).status_code == 404 and b.get(base).status_code == 404
        assert rows(pg, "sess", f"SELECT state FROM sessions WHERE id = '{sid}'") == [["ended"]]
        # a session whose node dies is reported lost
        sid2 = a.post("/api/sandboxes", {"template": "base"}).json()["id"]
        a_id = a.node_id()
        a.kill9()
        assert wait_until(lambda: b.get(f"/api/sandboxes/{sid2}").status_code == 404, 10)
        r = b.get(f"/api/sandboxes/{sid2}").json()
        assert r["error"]["message"].startswith(f"sandbox {sid2} was lost: node a ({a_id}) "
                                                "was lost (no heartbeat for ")
        with grpc.insecure_channel(b.grpc_target) as ch:
            with pytest.raises(grpc.RpcError) as e:
                pb.ss_grpc.SessionsStub(ch).GetSandbox(pb.ss.SandboxRef(id=sid2), timeout=30)
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
            assert e.value.details().startswith(f"sandbox {sid2} was lost: node a ({a_id})")
        # restarted, a clears what the killed one left (its sandbox's cgroups)
        a2 = Node(url, "a")
        a2.config, a2.tmp = a.config, a.tmp
        a2.start()
        stop_all([a2])
        assert rows(pg, "sess", f"SELECT state FROM sessions WHERE id = '{sid2}'") == [["lost"]]
    finally:
        stop_all([a, b])


def test_e2b_calls_for_a_sandbox_on_another_node_are_forwarded(pg):
    url = new_database(pg, "e2b")
    a, b = Node(url, "a").start(), Node(url, "b").start()
    try:
        r = requests.post(a.url + "/v2/sandboxes", json={"templateID": "base", "timeout": 60},
                          timeout=30)
        assert r.status_code == 201, r.text
        sb = r.json()
        # the control plane, through b
        got = requests.get(b.url + "/sandboxes/" + sb["sandboxID"], timeout=30)
        assert got.status_code == 200, got.text
        assert got.json()["sandboxID"] == sb["sandboxID"]
        # envd (Connect RPC, routed by E2b-Sandbox-Id), through b: the stream relayed
        data = json.dumps({"process": {"cmd": "/bin/bash", "args": ["-c", "printf hi; exit 4"]},
                           "stdin": False}).encode()
        h = {"E2b-Sandbox-Id": sb["sandboxID"], "E2b-Sandbox-Port": "49983",
             "X-Access-Token": sb["envdAccessToken"],
             "Content-Type": "application/connect+json", "Connect-Protocol-Version": "1"}
        r = requests.post(b.url + "/process.Process/Start", headers=h,
                          data=struct.pack(">BI", 0, len(data)) + data, timeout=30)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/connect+json"
        body, evs, off = r.content, [], 0
        while off < len(body):
            flags, n = struct.unpack(">BI", body[off:off + 5])
            evs.append((flags, json.loads(body[off + 5:off + 5 + n])))
            off += 5 + n
        assert evs[0][1]["event"]["start"]["pid"] > 0
        assert evs[-2][1]["event"]["end"]["exitCode"] == 4
        assert evs[-1] == (2, {})
        # a wrong token is refused by the node that holds it, as it would be there
        h["X-Access-Token"] = "wrong"
        r = requests.post(b.url + "/filesystem.Filesystem/Stat", json={"path": "/"},
                          headers={**h, "Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert requests.delete(b.url + "/sandboxes/" + sb["sandboxID"],
                               timeout=30).status_code in (200, 204)
        assert requests.get(a.url + "/sandboxes/" + sb["sandboxID"],
                            timeout=30).status_code == 404
    finally:
        stop_all([a, b])


def test_another_keys_session_stays_404_through_every_node(pg, pb):
    """The attack: key B, knowing key A's session id, asks the node that does
    not hold it (REST, gRPC, a forged X-SoulBox-Forwarded). The holding node
    checks the key again: 404 everywhere, as on one node."""
    import grpc
    url = new_database(pg, "keys")
    env = {"SOULBOX_API_KEYS": "ka:secret-a,kb:secret-b"}
    a, b = Node(url, "a", env=env), Node(url, "b", env=env)
    a.key = b.key = "secret-a"
    a.start(), b.start()
    A, B = {"Authorization": "Bearer secret-a"}, {"Authorization": "Bearer secret-b"}
    try:
        sid = a.post("/api/sandboxes", {"template": "base"}, headers=A).json()["id"]
        base = f"/api/sandboxes/{sid}"
        assert b.get(base, headers=A).status_code == 200          # its owner, through b
        for n in (a, b):
            assert n.get(base, headers=B).status_code == 404
            r = n.post(base + "/commands", {"cmd": "id"}, headers=B)
            assert r.status_code == 404 and r.json()["error"]["message"] == "no such sandbox"
            r = requests.get(n.url + base + "/files", params={"path": "/etc/hostname"},
                             headers=B, timeout=30)
            assert r.status_code == 404
        assert b.get(base).status_code == 401                        # no key at all
        # a forged "already forwarded" only keeps the request on b: not found there
        r = requests.get(b.url + base, headers={**A, "X-SoulBox-Forwarded": "1"}, timeout=30)
        assert r.status_code == 404
        with grpc.insecure_channel(b.grpc_target) as ch:
            ss = pb.ss_grpc.SessionsStub(ch)
            with pytest.raises(grpc.RpcError) as e:
                ss.GetSandbox(pb.ss.SandboxRef(id=sid), timeout=30,
                              metadata=[("authorization", "Bearer secret-b")])
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
            got = ss.GetSandbox(pb.ss.SandboxRef(id=sid), timeout=30,
                                metadata=[("authorization", "Bearer secret-a")])
            assert got.id == sid
        assert requests.delete(b.url + base, headers=B, timeout=30).status_code == 404
        assert requests.delete(b.url + base, headers=A, timeout=30).status_code in (200, 204)
    finally:
        stop_all([a, b])
