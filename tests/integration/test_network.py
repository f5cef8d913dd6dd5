"""Controlled network access: off unless the config enables it and the request
asks; what the config allows, narrowed by the request, reachable with real
traffic; everything else refused at once with the exact error the program
sees, audited; names resolved only when allowed; counts, bandwidth and
connection caps; nothing left behind.

The "internet" is tests/integration/netlab.py: an HTTP server, a TCP server
and a DNS zone on TEST-NET addresses in a network namespace of the test's
own, routed from the host."""
import json
import os
import subprocess
import threading
import time

import pytest
import requests

from netlab import lab  # noqa: F401 (the fixture)
from server import Server, wait_until

# Inside the sandbox: get(host, port, path) -> the body, or "connect: <error>"
# / "recv: <error>"; resolve(name) -> sorted addresses or the error.
PRELUDE = r'''
import socket, time
def get(host, port=80, path="/"):
    try:
        s = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        return "connect: " + (e.strerror or str(e))
    try:
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError as e:
        return "recv: " + (e.strerror or str(e))
    return data.split(b"\r\n\r\n", 1)[-1].decode()
def resolve(name, family=0):
    try:
        return sorted({a[4][0] for a in socket.getaddrinfo(name, 80, family, socket.SOCK_STREAM)})
    except socket.gaierror as e:
        return e.strerror
def timed(f, *a):
    t = time.monotonic()
    r = f(*a)
    return r, time.monotonic() - t
'''

ALLOW = ["203.0.113.0/24", "[2001:db8:1::/48]", "allowed.test", "alias.test", "two.test",
         "rebind.test", "meta.test", "*.good.test:80"]
DENY = ["203.0.113.20", "203.0.113.0/24:8080"]


def net_config(lab, allow=ALLOW, deny=DENY, extra="", audit=None, pools=False):
    q = lambda xs: "[" + ", ".join(json.dumps(x) for x in xs) + "]"
    server = f"server:\n  audit_log: {audit}\n" if audit else ""
    return (f"{server}sandbox:\n  security:\n    enable_network: true\n"
            f"  network:\n    allow: {q(allow)}\n    deny: {q(deny)}\n"
            f"    dns: [\"{lab.dns_v4}\"]\n{extra}")


@pytest.fixture(scope="module")
def srv(lab, tmp_path_factory):
    audit = tmp_path_factory.mktemp("network") / "audit.jsonl"
    with Server(net_config(lab, audit=audit)) as s:
        s.audit_file = str(audit)
        yield s


def run(s, code, network=True, timeout=60):
    body = {"language": "python", "code": PRELUDE + code}
    if network is not None:
        body["network"] = network
    r = s.execute(body, timeout=timeout)
    assert r.status_code == 200, r.text
    return r.json()


def lines(res):
    assert res["status"] == "ok", res
    return res["stdout"].splitlines()


def audit(s):
    with open(s.audit_file) as f:
        return [json.loads(line) for line in f]


def host_addresses():
    out = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    return sorted({l.split()[3].split("/")[0] for l in out.splitlines()
                   if len(l.split()) > 3 and not l.split()[3].startswith("fe80")})


# ---- reachable ----

def test_allowed_addresses_and_names_are_reached(srv, lab):
    res = run(srv, "print(repr(get('203.0.113.10')))\nprint(repr(get('allowed.test')))\n"
                   "print(repr(get('alias.test', 80)))\n"
                   "print(repr(get('2001:db8:1::10', 8080)))\n"
                   "print(repr(get('203.0.113.10', 80, '/bytes/5')))\n")
    assert lines(res) == ["'hello from 203.0.113.10:80\\n'", "'hello from 203.0.113.10:80\\n'",
                          "'hello from 203.0.113.10:80\\n'",
                          "'hello from 2001:db8:1::10:8080\\n'", "'xxxxx'"]
    assert res["network"]["connections"] == 5
    assert res["network"]["connections_refused"] == 0


# 1000 bytes up, one line down (also tests/microvm/test_microvm_network.py)
BYTE_COUNT_CODE = ("s = socket.create_connection(('203.0.113.10', 9000))\n"
                   "line = b''\n"
                   "while not line.endswith(b'\\n'): line += s.recv(100)\n"
                   "s.sendall(b'0123456789' * 100)\n"
                   "print(line.decode(), end='')\ns.close()\n")
BYTE_COUNTS = {"bytes_sent": 1000, "bytes_received": len("tcp 203.0.113.10:9000\n"),
               "connections": 1, "connections_refused": 0}


def test_byte_counts_are_exact(srv, lab):
    res = run(srv, BYTE_COUNT_CODE)
    assert lines(res) == ["tcp 203.0.113.10:9000"]
    assert res["network"] == BYTE_COUNTS
    # and so it is stored
    assert wait_until(lambda: srv.get(f"/api/executions/{res['id']}").json().get("network")
                      == res["network"]), srv.get(f"/api/executions/{res['id']}").json()


# ---- refused ----

REFUSED = [("203.0.113.20", 80), ("203.0.113.10", 8080), ("198.51.100.10", 80),
           ("169.254.169.254", 80), ("10.0.0.1", 80), ("100.64.0.1", 80), ("192.168.1.1", 443),
           ("::ffff:10.0.0.1", 80), ("fc00::1", 80), ("2001:db8:2::1", 80)]


@pytest.mark.parametrize("host,port", REFUSED)
def test_refused_at_once_with_connection_refused(srv, host, port):
    res = run(srv, f"r, t = timed(get, {host!r}, {port})\nprint(r)\nprint(t < 1.0)\n")
    assert lines(res) == ["connect: Connection refused", "True"]
    assert res["network"]["connections"] == 0
    assert res["network"]["connections_refused"] == 1


def test_multicast_and_link_local_fail_in_the_kernel(srv):
    res = run(srv, "print(get('224.0.0.1'))\nprint(get('ff02::1'))\nprint(get('fe80::1'))\n")
    assert lines(res) == ["connect: Network is unreachable"] * 2 + ["connect: Invalid argument"]


def test_the_hosts_own_addresses_and_services_are_refused(srv, lab):
    targets = [(a, p) for a in host_addresses() for p in (80, srv.port, srv.grpc_port)]
    assert (lab.host_v4, 80) in targets
    code = "".join(f"print({a!r}, {p}, get({a!r}, {p}))\n" for a, p in targets)
    res = run(srv, code)
    for line, (a, p) in zip(lines(res), targets):
        # loopback is the sandbox's own: nothing listens there
        assert line == f"{a} {p} connect: Connection refused", line


def test_the_soulbox_api_is_not_reached_and_nothing_runs(srv):
    before = srv.get("/api/executions?limit=1").json()["executions"][0]["id"]
    res = run(srv, f"print(get('127.0.0.1', {srv.port}, '/health'))\n"
                   f"print(get('localhost', {srv.port}, '/health'))\n")
    assert lines(res) == ["connect: Connection refused"] * 2
    assert srv.get("/api/executions?limit=2").json()["executions"][1]["id"] == before


def test_the_proxy_listener_itself_gives_nothing(srv):
    """Connecting to SoulBox's listener inside the namespace directly."""
    res = run(srv, "print(get('127.0.0.1', 1))\n")
    # reset at once: seen by connect() or by the first recv(), as it races
    assert lines(res)[0] in ("connect: Connection reset by peer",
                             "recv: Connection reset by peer"), res


def test_other_protocols_are_refused(srv):
    code = ("u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "try: u.sendto(b'x', ('203.0.113.10', 123)); print('sent')\n"
            "except OSError as e: print(e.strerror)\n"
            "try: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print('raw')\n"
            "except OSError as e: print(e.strerror)\n")
    assert lines(run(srv, code)) == ["Operation not permitted", "Operation not permitted"]


def test_refusals_are_audited_with_sandbox_destination_and_port(srv):
    res = run(srv, "print(get('198.51.100.10', 8443))\n")
    assert lines(res) == ["connect: Connection refused"]
    want = "TCP to 198.51.100.10 port 8443 refused: not allowed by the policy"
    assert wait_until(lambda: any(a["event"] == "network_refused" and a.get("detail") == want
                                  and a["request_id"] == res["id"] for a in audit(srv)))


# ---- names ----

def test_allowed_names_resolve_exactly_and_others_are_nxdomain(srv, lab):
    lab.clear_dns_queries()
    res = run(srv, "print(resolve('allowed.test'))\nprint(resolve('two.test', socket.AF_INET))\n"
                   "print(resolve('other.test'))\nprint(resolve('sub.good.test'))\n"
                   "print(resolve('exfiltrate-secret.example'))\n")
    assert lines(res) == ["['2001:db8:1::10', '203.0.113.10']", "['203.0.113.10', '203.0.113.20']",
                          "Name or service not known", "Name or service not known",
                          "Name or service not known"]
    asked = {name for name, _ in lab.dns_queries()}
    # names the policy does not allow never leave the host
    assert "allowed.test" in asked and "sub.good.test" in asked
    assert "other.test" not in asked and "exfiltrate-secret.example" not in asked


def test_a_name_opens_its_addresses_and_the_deny_list_still_wins(lab):
    """Only names allowed: an IP is refused until the resolver gave it out."""
    with Server(net_config(lab, allow=["two.test:80"], deny=["203.0.113.20"])) as s:
        res = run(s, "print(get('203.0.113.10'))\nprint(resolve('two.test', socket.AF_INET))\n"
                     "print(get('203.0.113.10'), end='')\nprint(get('203.0.113.10', 9000, '/'))\n"
                     "print(get('203.0.113.20'))\n")
        assert lines(res) == ["connect: Connection refused", "['203.0.113.10', '203.0.113.20']",
                              "hello from 203.0.113.10:80", "connect: Connection refused",
                              "connect: Connection refused"]


def test_dns_rebinding_to_private_addresses_is_refused(srv):
    res = run(srv, "print(resolve('rebind.test'))\nprint(get('rebind.test'))\n"
                   "print(resolve('meta.test'))\nprint(get('meta.test'))\n")
    assert lines(res) == ["['10.0.0.1']", "connect: Connection refused",
                          "['169.254.169.254']", "connect: Connection refused"]
    want = "DNS answer for rebind.test gave 10.0.0.1, a reserved address: not learned"
    assert wait_until(lambda: any(a.get("detail") == want and a["request_id"] == res["id"]
                                  for a in audit(srv)))


# ---- what a request may ask ----

def test_a_request_narrows_and_never_widens(srv):
    res = run(srv, "print(get('203.0.113.10'), end='')\nprint(get('203.0.113.11'))\n"
                   "print(resolve('allowed.test'))\n",
              network={"enabled": True, "allow": ["203.0.113.10:80"]})
    assert lines(res) == ["hello from 203.0.113.10:80", "connect: Connection refused",
                          "Name or service not known"]
    for entry in ["198.51.100.0/24", "203.0.113.0/23", "10.0.0.0/8", "other.test",
                  "203.0.113.10:80:80"]:
        r = srv.execute({"language": "python", "code": "print(1)",
                         "network": {"enabled": True, "allow": [entry]}})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid_argument"
        assert f'"{entry}"' in r.json()["error"]["message"], r.text
    r = srv.execute({"language": "python", "code": "print(1)",
                     "network": {"enabled": True, "allow": ["198.51.100.0/24"]}})
    assert r.json()["error"]["message"] == \
        'network.allow: "198.51.100.0/24" is not allowed by the server\'s network policy'


def test_without_asking_there_is_no_network(srv):
    for network in (None, False, {"enabled": False}):
        res = run(srv, "print(get('203.0.113.10'))\n", network=network)
        assert lines(res) == ["connect: Network is unreachable"]
        assert "network" not in res


def test_a_server_without_network_refuses_the_request():
    with Server("") as s:
        r = s.execute({"language": "python", "code": "print(1)", "network": {"enabled": True}})
        assert r.status_code == 400
        assert r.json()["error"]["message"] == ("network: this server does not allow network "
                                                "access (sandbox.security.enable_network is false)")


def test_sessions_get_the_network_they_ask_for(srv):
    r = srv.post("/api/sandboxes", {"template": "python",
                                    "network": {"enabled": True, "allow": ["allowed.test:80"]}})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    try:
        assert r.json()["network"]["enabled"] is True
        assert r.json()["network"]["allow"] == ["allowed.test:80"]
        code = PRELUDE + "print(get('allowed.test'), end='')\nprint(get('203.0.113.10', 9000))\n"
        c = srv.post(f"/api/sandboxes/{sid}/commands", {"argv": ["python3", "-c", code]})
        assert c.status_code == 200, c.text
        assert c.json()["stdout"] == "hello from 203.0.113.10:80\nconnect: Connection refused\n"
        usage = srv.get(f"/api/sandboxes/{sid}").json()["network"]["usage"]
        assert usage["connections"] == 1 and usage["connections_refused"] == 1
    finally:
        assert requests.delete(f"{srv.url}/api/sandboxes/{sid}").status_code in (200, 204)


# ---- limits ----

@pytest.fixture(scope="module")
def capped(lab):
    extra = ("    max_connections: 3\n    bandwidth_down_kbit: 8000\n"
             "    bandwidth_up_kbit: 4000\n")
    with Server(net_config(lab, extra=extra)) as s:
        yield s


def test_connection_cap(capped):
    code = ("held = []\n"
            "for i in range(3):\n"
            "    s = socket.create_connection(('203.0.113.10', 9000)); print(s.recv(100).decode(), end='')\n"
            "    held.append(s)\n"
            "s = socket.create_connection(('203.0.113.10', 9000))\n"
            "try: print(repr(s.recv(100)))\n"
            "except OSError as e: print(e.strerror)\n"
            "held.pop().close(); time.sleep(0.3)\n"
            "s = socket.create_connection(('203.0.113.10', 9000)); print(s.recv(100).decode(), end='')\n")
    res = run(capped, code)
    assert lines(res) == ["tcp 203.0.113.10:9000"] * 3 + ["Connection reset by peer",
                                                         "tcp 203.0.113.10:9000"]
    assert res["network"]["connections"] == 4
    assert res["network"]["connections_refused"] == 1


def test_download_bandwidth_cap(capped):
    """8000 kbit/s = 1,000,000 bytes/s: 2,000,000 bytes take 2 s, within 20%."""
    res = run(capped, "body, t = timed(get, '203.0.113.10', 80, '/bytes/2000000')\n"
                      "print(len(body), round(t, 2))\n")
    n, t = lines(res)[0].split()
    assert int(n) == 2000000
    assert 1.6 <= float(t) <= 2.4, t


def test_upload_bandwidth_cap(capped):
    """4000 kbit/s = 500,000 bytes/s: 1,000,000 bytes take 2 s, within 20%."""
    code = ("s = socket.create_connection(('203.0.113.10', 80))\n"
            "body = b'y' * 1000000\n"
            "t = time.monotonic()\n"
            "s.sendall(b'POST /echo HTTP/1.0\\r\\nContent-Length: 1000000\\r\\n\\r\\n' + body)\n"
            "data = b''\n"
            "while True:\n"
            "    d = s.recv(65536)\n"
            "    if not d: break\n"
            "    data += d\n"
            "t = time.monotonic() - t\n"
            "print(data.split(b'\\r\\n\\r\\n', 1)[1] == body, round(t, 2))\n")
    res = run(capped, code)
    ok, t = lines(res)[0].split()
    assert ok == "True"
    # up 2 s for the request, down 1 s for the echo: 3 s
    assert 2.4 <= float(t) <= 3.6, t


def test_total_bytes_cap(lab):
    with Server(net_config(lab, extra="    max_total_mb: 1\n")) as s:
        res = run(s, "body = get('203.0.113.10', 80, '/bytes/3000000')\nprint(len(body))\n"
                     "print(get('203.0.113.10'))\n")
        got, after = lines(res)
        assert got.startswith("recv: Connection reset by peer") or int(got) < 3000000, got
        # the limit is reached: new connections end at once (reset by SoulBox's
        # listener, while or right after the kernel completes the handshake)
        assert after in ("connect: Connection reset by peer", "recv: Connection reset by peer",
                         "recv: Broken pipe"), after
        # exactly the limit went through, both ways together
        assert res["network"]["bytes_sent"] + res["network"]["bytes_received"] == 1 << 20


# ---- nothing left behind ----

def netns_count():
    seen = set()
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                seen.add(os.stat(f"/proc/{p}/ns/net").st_ino)
            except OSError:
                pass
    return len(seen)


def host_network_state():
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    return ruleset, sorted(l.split(":")[1] for l in links.splitlines()), routes


def test_a_thousand_runs_leave_nothing(lab):
    before_state, before_ns = host_network_state(), netns_count()
    with Server(net_config(lab), extra_args=()) as s:
        fds = len(os.listdir(f"/proc/{s.proc.pid}/fd"))
        code = {"language": "python", "network": {"enabled": True},
                "code": "import socket\ns = socket.create_connection(('203.0.113.10', 9000))\n"
                        "print(s.recv(100).decode(), end='')\n"}

        def one(_):
            r = requests.post(s.url + "/api/execute", json=code, timeout=60)
            return r.json().get("stdout")
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            outs = list(pool.map(one, range(1000)))
        assert outs == ["tcp 203.0.113.10:9000\n"] * 1000
        assert wait_until(lambda: len(os.listdir(f"/proc/{s.proc.pid}/fd")) <= fds, timeout=20)
        assert wait_until(lambda: netns_count() <= before_ns + 1, timeout=20)  # +1: the lab's
    assert host_network_state() == before_state


def test_kill9_with_connections_open_then_restart(lab, tmp_path):
    before_state = host_network_state()
    data = str(tmp_path / "data")
    s = Server(net_config(lab), data_dir=data).start()
    try:
        s.wait_languages()
        body = {"language": "python", "network": {"enabled": True},
                "code": "import socket, time\ns = socket.create_connection(('203.0.113.10', 9000))\n"
                        "print(s.recv(100).decode(), flush=True)\ntime.sleep(30)\n"}
        def post():
            try:
                requests.post(s.url + "/api/execute", json=body, timeout=60)
            except requests.RequestException:
                pass                         # the server was killed under it
        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(2)
        s.kill9()
        for t in threads:
            t.join()
    finally:
        if s.proc.poll() is None:
            s.stop()
    from conftest import sandbox_processes
    assert wait_until(lambda: sandbox_processes() == [], timeout=20)
    with Server(net_config(lab), data_dir=data) as s2:
        res = run(s2, "print(get('203.0.113.10'), end='')\n")
        assert lines(res) == ["hello from 203.0.113.10:80"]
    assert host_network_state() == before_state


# ---- pooled ----

def test_pooled_sandboxes_with_network(lab):
    """A language may have a pool plumbed for network besides its plain one;
    a claimed sandbox gets the request's own policy, nothing from before."""
    extra = ("  pools:\n    - {language: python, size: 1}\n"
             "    - {language: python, size: 1, network: true}\n")
    with Server(net_config(lab, extra=extra), pools=True) as s:
        s.wait_languages()
        assert wait_until(lambda: 'soulbox_pool_ready{language="python",network="true"} 1'
                          in s.get("/metrics").text, timeout=30)
        for allow, want in [(["203.0.113.10:80"], ["hello from 203.0.113.10:80",
                                                   "connect: Connection refused"]),
                            (["203.0.113.10:9000"], ["connect: Connection refused",
                                                     "tcp 203.0.113.10:9000"])]:
            assert wait_until(lambda: 'soulbox_pool_ready{language="python",network="true"} 1'
                              in s.get("/metrics").text, timeout=30)
            res = run(s, "print(get('203.0.113.10').strip())\n"
                         "try:\n    s = socket.create_connection(('203.0.113.10', 9000))\n"
                         "    print(s.recv(100).decode().strip())\n"
                         "except OSError as e: print('connect: ' + e.strerror)\n",
                      network={"enabled": True, "allow": allow})
            assert res["warm"] is True, res
            assert lines(res) == want
        assert wait_until(lambda: 'soulbox_pool_ready{language="python"} 1'
                          in s.get("/metrics").text, timeout=30)
        plain = run(s, "print(get('203.0.113.10'))\n", network=None)
        assert plain["warm"] is True and lines(plain) == ["connect: Network is unreachable"]


def test_long_allow_lists_reach_the_kernel_whole(lab):
    """Hundreds of entries: every one is enforced (the rules go in batches)."""
    allow = [f"203.0.113.{n}:{1000 + n}" for n in range(256)] + ["203.0.113.10:9000"]
    with Server(net_config(lab, allow=allow, deny=[])) as s:
        res = run(s, "s = socket.create_connection(('203.0.113.10', 9000))\n"
                     "print(s.recv(100).decode().strip())\nprint(get('203.0.113.10', 80))\n")
        assert lines(res) == ["tcp 203.0.113.10:9000", "connect: Connection refused"]


def test_the_cli_asks_with_network_and_allow(lab, tmp_path):
    from conftest import soulbox_run
    cfg = tmp_path / "net.yaml"
    cfg.write_text(net_config(lab))
    code = (PRELUDE + "print(get('allowed.test'), end='')\nprint(get('2001:db8:1::10', 8080).strip())\n")
    r = soulbox_run("python", code, "--config", str(cfg), "--allow", "allowed.test:80")
    assert r.code == 0, r
    assert r.out == "hello from 203.0.113.10:80\nconnect: Connection refused\n", r
    assert r.err == ("soulbox: network_refused: TCP to [2001:db8:1::10] port 8080 refused: "
                     "not allowed by the policy\n")
    r = soulbox_run("python", code, "--config", str(cfg), "--network")
    assert r.out == "hello from 203.0.113.10:80\nhello from 2001:db8:1::10:8080\n", r
    r = soulbox_run("python", "print(1)", "--config", str(cfg), "--allow", "198.51.100.0/24")
    assert r.code == 2
    assert r.err == ('soulbox: network.allow: "198.51.100.0/24" is not allowed by the '
                     "server's network policy\n")
    r = soulbox_run("python", "print(1)", "--network")
    assert r.code == 2 and "sandbox.security.enable_network is false" in r.err
