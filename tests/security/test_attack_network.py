"""Attacks through the real server. Network.

The server, the helpers and what "intact" means: attack.py; the C programs:
attack_programs.py."""
import socket
import subprocess

import pytest

from attack import Background, c_body, intact, marker, run, srv  # noqa: F401 (srv: the fixture)
from attack_programs import IPC_C


def test_only_loopback_exists(srv):
    """Find a network interface to the host or the internet (/proc/net/dev, /sys/class/net, if_nameindex)."""
    code = ("import os, socket\nprint(socket.if_nameindex())\n"
            "print(os.path.exists('/sys/class/net'))\n"
            "print([l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]])\n"
            "print(open('/proc/net/route').read().count('\\n'))\n")
    res = run(srv, "python", code)
    assert res["status"] == "ok", res
    assert res["stdout"] == "[(1, 'lo')]\nFalse\n['lo']\n1\n"
    intact(srv)


def _host_addresses():
    out = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    addrs = {l.split()[3].split("/")[0] for l in out.splitlines() if len(l.split()) > 3}
    return sorted(a for a in addrs if not a.startswith("fe80"))


def test_cannot_reach_the_soulbox_api(srv):
    """From inside, call the server's own HTTP and gRPC ports to run code outside the sandbox's limits."""
    before = srv.get("/api/executions?limit=1").json()["executions"][0]["id"]
    code = ("import socket, errno, urllib.request\n"
            f"for host, port in [('127.0.0.1', {srv.port}), ('localhost', {srv.port}), "
            f"('127.0.0.1', {srv.grpc_port}), ('::1', {srv.port})]:\n"
            "    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET); s.settimeout(2)\n"
            "    try: s.connect((host, port)); print('CONNECTED', port)\n"
            "    except OSError as e: print(host, errno.errorcode[e.errno])\n"
            "try:\n"
            f"    urllib.request.urlopen('http://127.0.0.1:{srv.port}/health', timeout=2); print('HTTP OK')\n"
            "except Exception as e: print('http', type(e).__name__)\n")
    res = run(srv, "python", code)
    assert res["status"] == "ok", res
    assert res["stdout"] == ("127.0.0.1 ECONNREFUSED\nlocalhost ECONNREFUSED\n127.0.0.1 ECONNREFUSED\n"
                             "::1 ECONNREFUSED\nhttp URLError\n"), res["stdout"]
    # the only execution since is the attack itself: nothing ran through the API from inside
    after = [e["id"] for e in srv.get("/api/executions?limit=2").json()["executions"]]
    assert after == [res["id"], before]
    intact(srv)


def test_cannot_reach_host_listeners(srv):
    """Connect (TCP and UDP) to a host service on every host address, the cloud metadata address and the internet."""
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", 0))
    tcp.listen(5)
    tcp.settimeout(0.5)
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", port))
    udp.settimeout(0.5)
    hosts = [h for h in _host_addresses() if ":" not in h] + ["169.254.169.254", "10.0.2.2",
                                                                 "172.17.0.1", "8.8.8.8"]
    code = ("import socket, errno, sys\nport = int(sys.argv[1])\n"
            "for host in sys.argv[2:]:\n"
            "    s = socket.socket(); s.settimeout(2)\n"
            "    try: s.connect((host, port)); print(host, 'CONNECTED')\n"
            "    except OSError as e: print(host, errno.errorcode.get(e.errno, e))\n"
            "    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "    try: u.sendto(b'sandbox', (host, port)); print(host, 'udp sent')\n"
            "    except OSError as e: print(host, 'udp', errno.errorcode.get(e.errno, e))\n")
    try:
        res = run(srv, "python", code, args=[str(port)] + hosts)
        hits = []
        for sock, fn in ((tcp, tcp.accept), (udp, lambda: udp.recvfrom(100))):
            try:
                hits.append(fn())
            except OSError:
                pass
    finally:
        tcp.close()
        udp.close()
    assert res["status"] == "ok", res
    assert hits == []
    expected = "".join(f"{h} ECONNREFUSED\n{h} udp sent\n" if h.startswith("127.") else
                       f"{h} ENETUNREACH\n{h} udp ENETUNREACH\n" for h in hosts)
    assert res["stdout"] == expected, res["stdout"]
    intact(srv)


def test_dns_does_not_resolve(srv):
    """Resolve names to reach (or exfiltrate through) the host's resolver."""
    code = ("import os, socket\nprint(os.path.exists('/etc/resolv.conf'))\n"
            "for name in ('example.com', 'metadata.google.internal', 'host.docker.internal'):\n"
            "    try: print(name, socket.getaddrinfo(name, 80)[0][4])\n"
            "    except socket.gaierror as e: print(name, 'unresolved')\n")
    res = run(srv, "python", code)
    assert res["status"] == "ok", res
    assert res["stdout"] == ("False\nexample.com unresolved\nmetadata.google.internal unresolved\n"
                             "host.docker.internal unresolved\n")
    intact(srv)


def test_proc_net_hides_host_sockets(srv):
    """List the host's listening sockets and unix sockets (the server's ports) through /proc/net."""
    res = run(srv, "bash", "cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/unix")
    assert res["status"] == "ok", res
    lines = res["stdout"].splitlines()
    # headers only: four files, no socket of anyone else
    assert len(lines) == 4, lines
    assert f":{srv.port:04X}" not in res["stdout"]
    intact(srv)


def test_abstract_unix_socket_of_another_sandbox(srv):
    """Sandbox B connects to an abstract unix socket that sandbox A (or the host) listens on."""
    name = marker("abstract")
    host_name = marker("host-abstract")
    host = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    host.bind("\0" + host_name)
    host.listen(5)
    host.settimeout(0.2)
    try:
        a = Background(srv, c_body(IPC_C, "abs_listen", name))
        a.started()
        b = run(srv, "c", IPC_C, args=["abs_connect", name, host_name])
        ra = a.finish()
        with pytest.raises(socket.timeout):
            host.accept()
    finally:
        host.close()
    assert b["stdout"] == "connect ECONNREFUSED\nconnect ECONNREFUSED\n", b
    assert ra["stdout"] == "listening\nnobody came\n", ra
    intact(srv)
