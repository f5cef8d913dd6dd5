"""make check-microvm: egress from a microVM sandbox (docs/network.md, docs/microvm.md).

The guest's network card is QEMU's user-mode stack, and QEMU runs in a
network namespace SoulBox filters exactly as it filters a namespace
sandbox's: the same policy, resolver, proxy, counts and audit. These cases
repeat the namespace suite's (tests/integration/test_network.py) against
the fake internet of netlab.py with "isolation": "microvm", and prove the
VMM's side: QEMU's namespace is not the host's, and a VM without network has
no network device at all.
"""
import glob
import os
import sys

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
sys.path.insert(0, HERE)
from netlab import lab  # noqa: F401,E402 (the fixture)
from server import Server, wait_until  # noqa: E402
from test_microvm import no_vm_left, vmm_processes  # noqa: F401,E402
from test_network import (BYTE_COUNT_CODE, BYTE_COUNTS, PRELUDE, audit,  # noqa: E402
                          host_addresses, lines, net_config)


@pytest.fixture(scope="module")
def srv(lab, tmp_path_factory):
    log = tmp_path_factory.mktemp("vmnet") / "audit.jsonl"
    with Server(net_config(lab, audit=log)) as s:
        s.audit_file = str(log)
        yield s


def run(s, code, network=True):
    body = {"language": "python", "code": PRELUDE + code, "isolation": "microvm"}
    if network is not None:
        body["network"] = network
    r = s.execute(body, timeout=240)
    assert r.status_code == 200, r.text
    return r.json()


def test_allowed_addresses_and_names_are_reached(srv):
    res = run(srv, "print(repr(get('203.0.113.10')))\nprint(repr(get('allowed.test')))\n"
                   "print(repr(get('2001:db8:1::10', 8080)))\n"
                   "print(repr(get('203.0.113.10', 80, '/bytes/5')))\n")
    assert lines(res) == ["'hello from 203.0.113.10:80\\n'", "'hello from 203.0.113.10:80\\n'",
                          "'hello from 2001:db8:1::10:8080\\n'", "'xxxxx'"]
    assert res["network"]["connections"] == 4
    assert res["network"]["connections_refused"] == 0


def test_byte_counts_are_exact(srv):
    res = run(srv, BYTE_COUNT_CODE)
    assert lines(res) == ["tcp 203.0.113.10:9000"]
    assert res["network"] == BYTE_COUNTS


def test_refused_destinations_are_refused(srv):
    targets = [("203.0.113.20", 80), ("198.51.100.10", 80), ("169.254.169.254", 80),
               ("10.0.0.1", 80), ("192.168.1.1", 443), ("fc00::1", 80), ("2001:db8:2::1", 80)]
    code = "".join(f"print(get({h!r}, {p}))\n" for h, p in targets)
    res = run(srv, code)
    assert lines(res) == ["connect: Connection refused"] * len(targets)
    assert res["network"]["connections"] == 0
    assert res["network"]["connections_refused"] == len(targets)


def test_the_hosts_addresses_and_services_are_refused(srv, lab):
    targets = [(a, p) for a in host_addresses() for p in (80, srv.port)]
    assert (lab.host_v4, 80) in targets
    res = run(srv, "".join(f"print({a!r}, {p}, get({a!r}, {p}))\n" for a, p in targets))
    for line, (a, p) in zip(lines(res), targets):
        assert line == f"{a} {p} connect: Connection refused", line


def test_qemus_gateway_is_its_own_loopback(srv):
    """10.0.2.2 is QEMU's loopback, in QEMU's namespace: SoulBox's proxy
    listener there resets at once, nothing else listens."""
    res = run(srv, "print(get('10.0.2.2', 1))\nprint(get('10.0.2.2', 80))\n"
                   "print(get('10.0.2.2', 53))\n")
    out = lines(res)
    assert out[0] in ("connect: Connection reset by peer", "recv: Connection reset by peer"), out
    assert out[1:] == ["connect: Connection refused"] * 2


def test_names_resolve_only_when_allowed(srv, lab):
    lab.clear_dns_queries()
    res = run(srv, "print(resolve('allowed.test'))\nprint(resolve('two.test', socket.AF_INET))\n"
                   "print(resolve('other.test'))\nprint(resolve('exfiltrate-secret.example'))\n")
    assert lines(res) == ["['2001:db8:1::10', '203.0.113.10']", "['203.0.113.10', '203.0.113.20']",
                          "Name or service not known", "Name or service not known"]
    asked = {q[0] for q in lab.dns_queries()}
    assert "allowed.test" in asked and "exfiltrate-secret.example" not in asked


def test_refusals_are_audited_with_the_request(srv):
    res = run(srv, "print(get('198.51.100.10', 8443))\n")
    assert lines(res) == ["connect: Connection refused"]
    want = "TCP to 198.51.100.10 port 8443 refused: not allowed by the policy"
    assert wait_until(lambda: any(a["event"] == "network_refused" and a.get("detail") == want
                                  and a["request_id"] == res["id"] for a in audit(srv)))


def test_udp_other_than_dns_never_leaves(srv):
    """The guest's send succeeds (QEMU takes the datagram), QEMU's own send is
    refused in its namespace: nothing reaches the destination, and it counts."""
    code = ("u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "u.sendto(b'x', ('203.0.113.10', 123)); print('sent')\n"
            "try: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print('raw')\n"
            "except OSError as e: print(e.strerror)\n")
    res = run(srv, code)
    assert lines(res) == ["sent", "Operation not permitted"]
    assert res["network"]["connections_refused"] >= 1


def test_without_asking_there_is_no_network(srv):
    res = run(srv, "print(sorted(n for _, n in socket.if_nameindex()))\n"
                   "print(get('203.0.113.10'))\n", network=None)
    assert lines(res) == ["['lo']", "connect: Network is unreachable"]
    assert "network" not in res


def test_sessions_get_the_network_they_ask_for(srv):
    """Also the VMM's side: the QEMU of a session with network runs in a
    namespace of its own with a user-mode network card; one without network
    shares nothing and has no network card at all."""
    r = srv.post("/api/sandboxes", {"template": "python", "isolation": "microvm",
                                    "network": {"enabled": True,
                                                "allow": ["203.0.113.10:80"]}})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r2 = srv.post("/api/sandboxes", {"template": "python", "isolation": "microvm"})
    assert r2.status_code == 201, r2.text
    try:
        assert r.json()["network"]["allow"] == ["203.0.113.10:80"]
        host_ns = os.readlink("/proc/self/ns/net")
        qemu = [(pid, cmd) for pid, cmd in vmm_processes() if "sbx_agent" in cmd]
        assert len(qemu) == 2, vmm_processes()
        with_net = [pid for pid, cmd in qemu if "-netdev user" in cmd]
        assert len(with_net) == 1, qemu
        for pid, cmd in qemu:
            if pid in with_net:
                assert "virtio-net-device" in cmd
                assert os.readlink(f"/proc/{pid}/ns/net") != host_ns
            else:
                assert "netdev" not in cmd and "virtio-net" not in cmd
        code = PRELUDE + "print(get('203.0.113.10'), end='')\nprint(get('203.0.113.10', 8080))\n"
        c = srv.post(f"/api/sandboxes/{sid}/commands", {"argv": ["python3", "-c", code]},
                     timeout=120)
        assert c.status_code == 200, c.text
        assert c.json()["stdout"].splitlines() == ["hello from 203.0.113.10:80",
                                                   "connect: Connection refused"]
        usage = srv.get(f"/api/sandboxes/{sid}").json()["network"]["usage"]
        assert (usage["connections"], usage["connections_refused"]) == (1, 1)
    finally:
        for i in (sid, r2.json()["id"]):
            assert requests.delete(f"{srv.url}/api/sandboxes/{i}").status_code in (200, 204)


def test_nothing_left_behind(srv):
    assert wait_until(lambda: not vmm_processes(), timeout=10), vmm_processes()
    assert wait_until(lambda: glob.glob("/run/soulbox/vm-*") == [], timeout=10)
