"""Watching a session's directory (GET /api/sandboxes/{id}/files/watch, Server-Sent
Events): created / modified / removed / renamed as they happen, recursive or
not, the end when the directory or the session goes, and what the watch can
see (the session user's view only)."""
import json
import threading
import time

import pytest
import requests

from server import Server


@pytest.fixture(scope="module")
def srv():
    with Server() as s:
        yield s


@pytest.fixture
def sid(srv):
    r = requests.post(srv.url + "/api/sandboxes", json={"template": "base"})
    sid = r.json()["id"]
    yield sid
    requests.delete(f"{srv.url}/api/sandboxes/{sid}")


def sh(srv, sid, cmd):
    r = requests.post(f"{srv.url}/api/sandboxes/{sid}/commands", json={"cmd": cmd})
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text


class Watch:
    """Reads a watch's SSE stream on a thread: events (type, data) in order."""

    def __init__(self, srv, sid, **params):
        self.events, self.ready = [], threading.Event()
        self.r = requests.get(f"{srv.url}/api/sandboxes/{sid}/files/watch", params=params,
                              stream=True, timeout=30)
        self.t = threading.Thread(target=self.read, daemon=True)
        self.t.start()
        assert self.ready.wait(10), "the watch never said ready"

    def read(self):
        try:
            self.read_lines()
        except (requests.RequestException, AttributeError, ValueError):
            pass                           # closed by close(): the test has what it needs

    def read_lines(self):
        kind = None
        for line in self.r.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                self.events.append((kind, json.loads(line[6:])))
                if kind == "ready":
                    self.ready.set()

    def changes(self):
        return [(k, d["path"]) for k, d in self.events if k not in ("ready", "end")]

    def close(self):
        self.r.close()


def test_events_in_order_recursive(srv, sid):
    w = Watch(srv, sid, path="/home/user", recursive="true")
    sh(srv, sid, "echo 1 > a.txt; mkdir d; echo 2 > d/b.txt; mv a.txt c.txt; rm d/b.txt")
    time.sleep(0.5)
    w.close()
    assert w.changes() == [
        ("created", "/home/user/a.txt"), ("modified", "/home/user/a.txt"),
        ("created", "/home/user/d"), ("created", "/home/user/d/b.txt"),
        ("modified", "/home/user/d/b.txt"), ("removed", "/home/user/a.txt"),
        ("renamed", "/home/user/c.txt"), ("removed", "/home/user/d/b.txt")]


def test_a_tree_made_at_once_is_reported_whole(srv, sid):
    """Directories and a file made faster than the watcher adds its watches:
    what it missed comes from a scan of each new directory, nothing twice."""
    w = Watch(srv, sid, path="/home/user", recursive="true")
    sh(srv, sid, "python3 -c \"import os; os.makedirs('t/u/v'); open('t/u/v/f.txt', 'w').write('x')\"")
    time.sleep(0.5)
    w.close()
    assert w.changes() == [
        ("created", "/home/user/t"), ("created", "/home/user/t/u"), ("created", "/home/user/t/u/v"),
        ("created", "/home/user/t/u/v/f.txt"), ("modified", "/home/user/t/u/v/f.txt")]


def test_not_recursive_sees_only_its_own_entries(srv, sid):
    sh(srv, sid, "mkdir -p d")
    w = Watch(srv, sid, path="/home/user")
    sh(srv, sid, "echo 1 > d/inner.txt; echo 2 > top.txt")
    time.sleep(0.5)
    w.close()
    assert w.changes() == [("created", "/home/user/top.txt"), ("modified", "/home/user/top.txt")]


def test_the_stream_ends_when_the_session_does(srv):
    sid = requests.post(srv.url + "/api/sandboxes", json={}).json()["id"]
    w = Watch(srv, sid, path="/tmp")
    requests.delete(f"{srv.url}/api/sandboxes/{sid}")
    w.t.join(10)
    assert not w.t.is_alive()
    assert w.events[-1] == ("end", {"reason": "the session ended"})


def test_missing_directory_ends_at_once(srv, sid):
    r = requests.get(f"{srv.url}/api/sandboxes/{sid}/files/watch", params={"path": "/nope"},
                     timeout=10)
    assert r.status_code == 200
    assert "event: end" in r.text and "No such file" in r.text and "event: ready" not in r.text


def test_a_directory_the_user_cannot_read_is_refused(srv, sid):
    # /root is the host's, hidden: inside the sandbox it does not exist or is closed
    r = requests.get(f"{srv.url}/api/sandboxes/{sid}/files/watch", params={"path": "/root"},
                     timeout=10)
    assert "event: end" in r.text and "event: ready" not in r.text


def test_another_key_gets_404():
    with Server(env={"SOULBOX_API_KEYS": "a:sa,b:sb"}) as s:
        sid = requests.post(s.url + "/api/sandboxes", json={},
                            headers={"X-API-Key": "sa"}).json()["id"]
        r = requests.get(f"{s.url}/api/sandboxes/{sid}/files/watch", headers={"X-API-Key": "sb"})
        assert r.status_code == 404
