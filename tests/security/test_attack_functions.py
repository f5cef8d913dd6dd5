"""Attacks through the real server. Serverless functions: code deployed once
and invoked over plain HTTP (/fn/{name}), possibly by anyone (public
functions), running in sandboxes that may live across invocations (reuse).

What a function controls is its response (status, headers, body) and, with
reuse, a long-lived process that talks to the server over a line protocol.
Neither may reach past its own HTTP answer: no header injection or framing
of its own, no forged answer taken for another function's, no flood that
costs the server its memory, no state that leaks to another version or
function, no instance that outlives its function. The host and the neighbour
stay intact (attack.py); every test deletes its functions before `intact`
(warm instances would count as leftovers)."""
import contextlib
import socket
import uuid

import pytest
import requests

from attack import SECRET, attack_server, intact, marker  # noqa: F401

KEYS = "alice:ka-attack-fn,bob:kb-attack-fn"
A = {"X-API-Key": "ka-attack-fn"}
B = {"X-API-Key": "kb-attack-fn"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with attack_server(tmp_path_factory.mktemp("functions"), name="functions",
                       env={"SOULBOX_API_KEYS": KEYS}, neighbour_key="kb-attack-fn") as s:
        yield s


@contextlib.contextmanager
def function(s, code, headers=A, **spec):
    name = f"atk-{uuid.uuid4().hex[:10]}"
    r = requests.post(s.url + "/api/functions", json={"name": name, "language": "python",
                                                       "code": code, **spec},
                      headers=headers, timeout=120)
    assert r.status_code == 201, r.text
    try:
        yield name
    finally:
        r = requests.delete(f"{s.url}/api/functions/{name}", headers=headers, timeout=30)
        assert r.status_code == 204, r.text


def invoke(s, target, headers=A, **kw):
    return requests.post(f"{s.url}/fn/{target}", headers=headers, timeout=60, **kw)


def raw_invoke(s, target):
    """The exact bytes of the answer (requests would hide framing)."""
    with socket.create_connection(("127.0.0.1", s.port), timeout=30) as c:
        c.sendall(f"GET /fn/{target} HTTP/1.1\r\nHost: x\r\nX-API-Key: ka-attack-fn\r\n"
                  f"Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := c.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize("reuse", [False, True])
def test_response_headers_cannot_inject_or_reframe(srv, reuse):
    """A handler's response headers carry CR/LF, a bad name, or its own Content-Length, Transfer-Encoding and Connection."""
    code = ("def handler(event, context):\n"
            "    if event['query'].get('crlf'):\n"
            "        return {'headers': {'x-a': 'v\\r\\nSet-Cookie: stolen=1'}, 'body': 'x'}\n"
            "    if event['query'].get('name'):\n"
            "        return {'headers': {'bad name': 'v'}, 'body': 'x'}\n"
            "    return {'headers': {'Content-Length': '1', 'Transfer-Encoding': 'chunked',"
            " 'Connection': 'keep-alive', 'x-ok': 'fine'}, 'body': 'HTTP/1.1 200 OK smuggled'}\n")
    with function(srv, code, reuse=reuse) as fn:
        r = invoke(srv, fn, params={"crlf": "1"})
        assert r.status_code == 502 and "stolen" not in r.headers.get("set-cookie", "")
        assert "header" in r.json()["error"]["message"]
        assert invoke(srv, fn, params={"name": "1"}).status_code == 502
        data = raw_invoke(srv, fn)
        head, _, body = data.partition(b"\r\n\r\n")
        assert body == b"HTTP/1.1 200 OK smuggled"
        assert b"content-length: 24" in head.lower() and b"chunked" not in head.lower()
        assert b"x-ok: fine" in head.lower() and head.lower().count(b"content-length") == 1
    intact(srv)


def test_a_forged_answer_only_answers_its_own_invocation(srv):
    """Code in a warm instance writes forged protocol answers to every fd it has, hoping to answer another function's callers."""
    forger = ("import os\n"
              "def handler(event, context):\n"
              "    for fd in range(3, 64):\n"
              "        try:\n"
              "            os.write(fd, b'{\"type\":\"response\",\"id\":\"x\",\"ok\":true,'\n"
              "                     b'\"value\":\"forged\",\"bytes\":false}\\n')\n"
              "        except OSError:\n"
              "            pass\n"
              "    return 'mine'\n")
    with function(srv, forger, reuse=True) as bad, \
            function(srv, "def handler(e, c):\n    return 'victim'\n", reuse=True,
                     headers=B) as victim:
        assert invoke(srv, bad).text == "mine"
        for _ in range(3):
            assert invoke(srv, victim, headers=B).text == "victim"
    intact(srv)


def test_a_flood_on_the_protocol_is_cut_at_the_output_limit(srv):
    """Code in a warm instance floods its protocol fd without a newline, to exhaust the server's memory."""
    code = ("import os\n"
            "def handler(event, context):\n"
            "    for fd in range(3, 64):\n"
            "        try:\n"
            "            os.fstat(fd)\n"
            "        except OSError:\n"
            "            continue\n"
            "        try:\n"
            "            while True:\n"
            "                os.write(fd, b'A' * 65536)\n"
            "        except OSError:\n"
            "            pass\n"
            "    return 'survived'\n")
    with function(srv, code, reuse=True, limits={"output_kb": 256}) as fn:
        r = invoke(srv, fn)
        assert r.status_code == 502, r.text
        assert srv.proc.poll() is None
        assert invoke(srv, fn).status_code in (200, 502)   # a fresh instance answers
    intact(srv)


def test_state_never_crosses_versions_or_functions(srv):
    """A file planted by one version or function, looked for by the next version and by another function."""
    code = ("import os\n"
            "def handler(event, context):\n"
            "    seen = os.path.exists('/tmp/planted')\n"
            "    open('/tmp/planted', 'w').write('x')\n"
            "    return seen\n")
    with function(srv, code, reuse=True) as fn:
        assert invoke(srv, fn).json() is False
        assert invoke(srv, fn).json() is True             # the same warm instance
        r = requests.post(srv.url + "/api/functions", headers=A,
                          json={"name": fn, "language": "python", "code": code, "reuse": True})
        assert r.status_code == 201 and r.json()["version"] == 2
        assert invoke(srv, fn).json() is False            # version 2: its own instance
        assert invoke(srv, f"{fn}@1").json() is True      # version 1 kept its own
        with function(srv, code, reuse=True) as other:
            assert invoke(srv, other).json() is False
    intact(srv)


def test_a_fork_bomb_in_a_warm_instance_stays_there(srv):
    """A fork bomb in a warm instance's handler."""
    code = ("import os\n"
            "def handler(event, context):\n"
            "    if event['query'].get('bomb'):\n"
            "        while True:\n"
            "            try:\n"
            "                os.fork()\n"
            "            except OSError:\n"
            "                pass\n"
            "    return 'calm'\n")
    with function(srv, code, reuse=True, timeout_ms=2000, limits={"processes": 32}) as fn:
        r = invoke(srv, fn, params={"bomb": "1"})
        assert r.status_code == 504, r.text
        assert invoke(srv, fn).text == "calm"
    intact(srv)


def test_the_host_secret_is_not_in_a_functions_environment(srv):
    """A function lists its environment, looking for the host's secrets and the server's API keys."""
    code = ("import os\n"
            "def handler(event, context):\n"
            "    return sorted(os.environ.items())\n")
    with function(srv, code) as fn:
        r = invoke(srv, fn)
        assert r.status_code == 200 and SECRET not in r.text
        assert "SOULBOX_API_KEYS" not in r.text and "ka-attack-fn" not in r.text
    intact(srv)


def test_a_private_function_is_not_public(srv):
    """Another key, no key or a wrong key invokes, calls asynchronously or deletes a private function."""
    with function(srv, "def handler(e, c):\n    return 'private'\n") as fn:
        assert invoke(srv, fn, headers={}).status_code == 401
        assert invoke(srv, fn, headers=B).status_code == 404
        assert invoke(srv, fn, headers={"X-API-Key": "wrong"}).status_code == 401
        r = requests.post(f"{srv.url}/api/functions/{fn}/invocations", headers=B, json={})
        assert r.status_code == 404
        assert requests.delete(f"{srv.url}/api/functions/{fn}", headers=B).status_code == 404
    intact(srv)
