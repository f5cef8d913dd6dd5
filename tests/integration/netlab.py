"""NetLab: a small fake "internet" in a network namespace, for network-policy tests.

    with NetLab() as lab:
        urllib.request.urlopen(f"http://{lab.web}/")     # b"hello from 203.0.113.10:80\\n"
        ... point the service's resolver at lab.dns_v4 ...
        assert ("allowed.test", "A") in lab.dns_queries()

What it builds (as root, with `ip` from iproute2, no sysctl or firewall change):

* a network namespace `sbnet-<pid>-<n>` and a veth pair: on the host `sbv<6 hex>`
  with lab.host_v4 and lab.host_v6, in the namespace `eth0` with lab.dns_v4
  and lab.dns_v6 (normally 192.0.2.1, 2001:db8::1 and 192.0.2.10,
  2001:db8::10 on a /24 and a /64; see below; IPv6 with nodad: usable at once);
* "internet" addresses on the namespace's lo: 198.51.100.10, 198.51.100.20,
  203.0.113.10, 203.0.113.20 and 2001:db8:1::10, routed on the host through the
  veth (198.51.100.0/24, 203.0.113.0/24, 2001:db8:1::/48); the namespace's
  default routes point back at the host. The host needs no forwarding: the
  traffic goes from the host itself into the namespace;
* inside the namespace one server process (this file run with --serve) with
    - HTTP on ports 80 and 8080 of every address: GET / answers
      "hello from <destination address>:<port>\\n" (IPv6 unbracketed, e.g.
      "hello from 2001:db8:1::10:8080\\n"); GET /bytes/N sends N (<= 2**31)
      bytes of b"x" with a Content-Length; GET /slow (or /slow/SECONDS)
      answers only after 30 s; POST /echo sends the body back. One request
      a connection;
    - plain TCP on port 9000 of every address: writes "tcp <dst>:9000\\n" and
      keeps the connection open until the client closes it;
    - an authoritative DNS server on UDP port 53 of lab.dns_v4 and lab.dns_v6,
      answering from the zone (see DEFAULT_ZONE and NetLab's zone=), with
      every query logged: lab.dns_queries() -> [(name, "A"), ...].

The link addresses are 192.0.2.1 (host) / 192.0.2.10 (namespace) and
2001:db8::1 / 2001:db8::10 unless the host already uses those networks (a
host whose own eth0 is on 192.0.2.0/24, say): adding them there would take
the host's gateway address and break its networking, so the lab then uses
198.51.100.249 / 198.51.100.250 on 198.51.100.248/29 (and 2001:db8:ffff::/64)
instead. Always use the attributes (lab.dns_v4, lab.host_v4, ...), never the
literals. The "internet" addresses (lab.web, lab.web2, lab.other, lab.web6)
never move; if they clash with the host's routes start() refuses.

One lab at a time on a host: a lab holds a host-wide lock (an abstract Unix
socket, so nothing is left on disk) from start() to stop(), and a second one,
in another process, waits for it (lock_timeout=). A lab in the same process
while one is running is an error. Under the lock, start() also removes what a
lab whose process died (kill -9) left behind: its netns, host veth and
temporary directory (its server exits by itself when its owner dies, as its
stdin closes).

stop() (also run at exit, idempotent) kills the server's process group,
deletes the routes, the veth and the netns, and removes the lab's temporary
directory; lab.leftovers() lists whatever of the lab is still there ([] after
stop()). lab.exec(*argv) runs a command inside the namespace.

Self-test: /usr/bin/python3 tests/integration/netlab.py  (prints OK).
"""
import atexit
import errno
import ipaddress
import itertools
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_ZONE = {
    "allowed.test": ["203.0.113.10", "2001:db8:1::10"],
    "other.test": ["198.51.100.10"],
    "rebind.test": ["10.0.0.1"],
    "meta.test": ["169.254.169.254"],
    "alias.test": ["cname:allowed.test"],
    "two.test": ["203.0.113.10", "203.0.113.20"],
}

# (host address, namespace address, prefix length), first one the host does not use.
LINK_V4_CHOICES = [("192.0.2.1", "192.0.2.10", 24), ("198.51.100.249", "198.51.100.250", 29)]
LINK_V6_CHOICES = [("2001:db8::1", "2001:db8::10", 64), ("2001:db8:ffff::1", "2001:db8:ffff::10", 64)]

WEB, WEB2, OTHER, OTHER2, WEB6 = "203.0.113.10", "203.0.113.20", "198.51.100.10", "198.51.100.20", "2001:db8:1::10"
ROUTED = ["198.51.100.0/24", "203.0.113.0/24", "2001:db8:1::/48"]
HTTP_PORTS = (80, 8080)
TCP_PORT = 9000
DNS_PORT = 53

_LOCK_NAME = b"\0soulbox-netlab-lock"
_ALIAS = "soulbox-netlab"
_counter = itertools.count()
_active = set()          # labs started and not yet stopped in this process

QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
          33: "SRV", 64: "SVCB", 65: "HTTPS", 255: "ANY"}


def _ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip() or r.returncode}")
    return r


def _ip_json(*args):
    r = _ip("-j", *args, check=False)
    if r.returncode != 0 or not r.stdout.strip():
        return []
    return json.loads(r.stdout)


def _netns_list():
    r = _ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _link_exists(name):
    return _ip("link", "show", "dev", name, check=False).returncode == 0


def _owner_gone(pid):
    """Whether the process that made a lab is gone (or is us, with no lab running)."""
    if pid == os.getpid():
        return not _active
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False


def _host_networks():
    """Every network the host has an address in or a route to (default routes aside)."""
    nets = []
    for link in _ip_json("addr", "show"):
        for a in link.get("addr_info", []):
            if a.get("family") in ("inet", "inet6"):
                nets.append(ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", strict=False))
    for fam in ("-4", "-6"):
        for r in _ip_json(fam, "route", "show", "table", "all"):
            dst = r.get("dst", "default")
            if dst == "default" or r.get("type") == "multicast":
                continue
            try:
                net = ipaddress.ip_network(dst if "/" in dst else dst + ("/128" if ":" in dst else "/32"),
                                           strict=False)
            except ValueError:
                continue
            if not net.is_multicast and not net.is_link_local:
                nets.append(net)
    return nets


def _overlaps(net, nets):
    return [n for n in nets if n.version == net.version and n.overlaps(net)]


def _normalize_zone(zone):
    out = {}
    for name, entries in zone.items():
        if isinstance(entries, str):
            entries = [entries]
        norm = []
        for e in entries:
            if e.lower().startswith("cname:"):
                norm.append("cname:" + e[6:].strip().lower().rstrip("."))
            else:
                norm.append(str(ipaddress.ip_address(e)))
        out[name.lower().rstrip(".")] = norm
    return out


class NetLab:
    """A fake internet in a network namespace; see the module docstring."""

    web, web2, other, other2, web6 = WEB, WEB2, OTHER, OTHER2, WEB6

    def __init__(self, zone=None, ttl=60, link_v4=None, link_v6=None, lock_timeout=300.0,
                 start_timeout=20.0):
        self.zone = _normalize_zone(DEFAULT_ZONE if zone is None else zone)
        self.ttl = int(ttl)
        self._link_v4 = link_v4
        self._link_v6 = link_v6
        self.lock_timeout = lock_timeout
        self.start_timeout = start_timeout
        self.ns = None
        self.host_if = None
        self.host_v4 = self.dns_v4 = self.host_v6 = self.dns_v6 = None
        self._prefix_v4 = self._prefix_v6 = None
        self._dir = None
        self._proc = None
        self._lock = None
        self._queries = None     # the DNS log, kept at stop()
        self._routes = []
        self._started = False
        self._pid = os.getpid()

    # ------------------------------------------------------------------ life
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"NetLab(ns={self.ns!r}, host_if={self.host_if!r}, dns_v4={self.dns_v4!r})"

    @property
    def addresses(self):
        """Every address the namespace answers on."""
        return [self.dns_v4, self.web, self.web2, self.other, self.other2, self.dns_v6, self.web6]

    def start(self):
        if self._started:
            return self
        if os.geteuid() != 0:
            raise RuntimeError("NetLab needs root (ip netns, veth)")
        if _active:
            raise RuntimeError(f"a NetLab is already running in this process: {next(iter(_active))!r}")
        self._started = True
        _active.add(self)
        atexit.register(self.stop)
        try:
            self._lock = self._acquire_lock()
            self._remove_stale()
            self._pick_addresses()
            self._build()
            self._start_servers()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if not self._started or os.getpid() != self._pid:
            return
        self._started = False
        try:
            if self._proc is not None:
                proc, self._proc = self._proc, None
                try:
                    proc.stdin.close()
                except OSError:
                    pass
                if proc.poll() is None:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                if proc.stdout:
                    proc.stdout.close()
            if self._dir and self._queries is None:
                self._queries = self._read_queries()
            for fam, dst, _ in reversed(self._routes):
                _ip(fam, "route", "del", dst, "dev", self.host_if, check=False)
            self._routes = []
            if self.host_if and _link_exists(self.host_if):
                _ip("link", "del", self.host_if, check=False)
            if self.ns and self.ns in _netns_list():
                _ip("netns", "del", self.ns, check=False)
            if self._dir:
                shutil.rmtree(self._dir, ignore_errors=True)
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None
            _active.discard(self)
            atexit.unregister(self.stop)

    def leftovers(self):
        """What of this lab is still there: [] before start() and after stop()."""
        left = []
        if self.ns and self.ns in _netns_list():
            left.append(f"netns {self.ns}")
        if self.host_if:
            if _link_exists(self.host_if):
                left.append(f"link {self.host_if}")
            for fam in ("-4", "-6"):
                for r in _ip_json(fam, "route", "show", "table", "all"):
                    if r.get("dev") == self.host_if:
                        left.append(f"route {r.get('dst')} dev {self.host_if}")
        if self._proc is not None and self._proc.poll() is None:
            left.append(f"process {self._proc.pid}")
        if self._dir and os.path.exists(self._dir):
            left.append(f"dir {self._dir}")
        return left

    # ------------------------------------------------------------- helpers
    def exec(self, *argv, **kw):
        """Runs argv inside the namespace; subprocess.run keywords pass through
        (capture_output=True and text=True unless given). Returns the CompletedProcess."""
        if not self.ns:
            raise RuntimeError("the lab is not started")
        kw.setdefault("capture_output", True)
        if "input" not in kw or isinstance(kw.get("input"), str):
            kw.setdefault("text", True)
        return subprocess.run(["ip", "netns", "exec", self.ns, *map(str, argv)], **kw)

    def dns_queries(self):
        """Every query the DNS server answered so far, in order: [(name, qtype)],
        the name in lower case without the final dot, qtype "A", "AAAA", "CNAME",
        ... (or the number as text). Still readable after stop()."""
        if self._queries is not None and not self._started:
            return list(self._queries)
        return self._read_queries()

    def clear_dns_queries(self):
        if self._dir:
            with open(os.path.join(self._dir, "dns.log"), "w"):
                pass

    def set_zone(self, zone, ttl=None):
        """Replaces the zone (and the TTL) of the running DNS server; the next
        query already sees it."""
        self.zone = _normalize_zone(zone)
        if ttl is not None:
            self.ttl = int(ttl)
        if self._dir:
            self._write_zone()

    def url(self, path="/", host=None, port=80):
        """http:// URL of the lab's web server (default lab.web)."""
        host = host or self.web
        h = f"[{host}]" if ":" in host else host
        return f"http://{h}{'' if port == 80 else ':' + str(port)}{path}"

    def _read_queries(self):
        try:
            with open(os.path.join(self._dir, "dns.log")) as f:
                data = f.read()
        except (OSError, TypeError):
            return []
        out = []
        for line in data.split("\n")[:-1]:
            name, _, qtype = line.rpartition(" ")
            out.append((name, qtype))
        return out

    def _write_zone(self):
        path = os.path.join(self._dir, "zone.json")
        with open(path + ".new", "w") as f:
            json.dump({"ttl": self.ttl, "zone": self.zone}, f)
        os.replace(path + ".new", path)

    # --------------------------------------------------------------- build
    def _acquire_lock(self):
        deadline = time.monotonic() + self.lock_timeout
        said = False
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                s.bind(_LOCK_NAME)
                return s
            except OSError as e:
                s.close()
                if e.errno != errno.EADDRINUSE:
                    raise
            if time.monotonic() > deadline:
                raise RuntimeError(f"another NetLab (another process) kept running for {self.lock_timeout} s")
            if not said:
                said = True
                print("NetLab: waiting for another process's lab to stop", file=sys.stderr, flush=True)
            time.sleep(0.1)

    def _remove_stale(self):
        """Under the lock: removes what labs of dead processes left behind."""
        for name in _netns_list():
            m = re.fullmatch(r"sbnet-(\d+)-\d+", name)
            if m and _owner_gone(int(m.group(1))):
                _ip("netns", "del", name, check=False)
        for link in _ip_json("link", "show"):
            alias = link.get("ifalias", "")
            m = re.fullmatch(_ALIAS + r" pid=(\d+) ns=\S+", alias)
            if m and re.fullmatch(r"sbv[0-9a-f]{6}", link.get("ifname", "")) and _owner_gone(int(m.group(1))):
                _ip("link", "del", link["ifname"], check=False)
        tmp = tempfile.gettempdir()
        for name in os.listdir(tmp):
            m = re.fullmatch(r"netlab-(\d+)-[\w]+", name)
            if m and _owner_gone(int(m.group(1))) and os.path.isfile(os.path.join(tmp, name, "zone.json")):
                shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)

    def _pick_addresses(self):
        nets = _host_networks()
        for dst in ROUTED + [f"{a}/32" for a in (WEB, WEB2, OTHER, OTHER2)] + [f"{WEB6}/128"]:
            clash = _overlaps(ipaddress.ip_network(dst), nets)
            if clash:
                raise RuntimeError(f"the host already routes {', '.join(map(str, clash))}: "
                                   f"it overlaps the lab's {dst}")

        def pick(given, choices, what):
            for host, ns, plen in ([given] if given else choices):
                net = ipaddress.ip_network(f"{host}/{plen}", strict=False)
                if not _overlaps(net, nets):
                    return host, ns, plen
            raise RuntimeError(f"no free {what} link network for the lab (tried {[given] if given else choices})")

        self.host_v4, self.dns_v4, self._prefix_v4 = pick(self._link_v4, LINK_V4_CHOICES, "IPv4")
        self.host_v6, self.dns_v6, self._prefix_v6 = pick(self._link_v6, LINK_V6_CHOICES, "IPv6")

    def _build(self):
        existing = set(_netns_list())
        while True:
            ns = f"sbnet-{os.getpid()}-{next(_counter)}"
            if ns not in existing:
                break
        while True:
            host_if = "sbv" + secrets.token_hex(3)
            if not _link_exists(host_if):
                break
        self._dir = tempfile.mkdtemp(prefix=f"netlab-{os.getpid()}-")
        self._write_zone()
        open(os.path.join(self._dir, "dns.log"), "w").close()

        self.ns = ns
        _ip("netns", "add", ns)
        self.host_if = host_if
        _ip("link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _ip("link", "set", "dev", host_if, "alias", f"{_ALIAS} pid={os.getpid()} ns={ns}")
        _ip("addr", "add", f"{self.host_v4}/{self._prefix_v4}", "dev", host_if)
        _ip("-6", "addr", "add", f"{self.host_v6}/{self._prefix_v6}", "dev", host_if, "nodad")
        _ip("link", "set", "dev", host_if, "up")

        n = ("-n", ns)
        _ip(*n, "link", "set", "dev", "lo", "up")
        _ip(*n, "addr", "add", f"{self.dns_v4}/{self._prefix_v4}", "dev", "eth0")
        _ip(*n, "-6", "addr", "add", f"{self.dns_v6}/{self._prefix_v6}", "dev", "eth0", "nodad")
        for a in (WEB, WEB2, OTHER, OTHER2):
            _ip(*n, "addr", "add", f"{a}/32", "dev", "lo")
        _ip(*n, "-6", "addr", "add", f"{WEB6}/128", "dev", "lo", "nodad")
        _ip(*n, "link", "set", "dev", "eth0", "up")
        _ip(*n, "route", "add", "default", "via", self.host_v4, "dev", "eth0")
        _ip(*n, "-6", "route", "add", "default", "via", self.host_v6, "dev", "eth0")

        for dst in ROUTED:
            fam, gw = ("-6", self.dns_v6) if ":" in dst else ("-4", self.dns_v4)
            _ip(fam, "route", "add", dst, "via", gw, "dev", host_if)
            self._routes.append((fam, dst, gw))

    def _start_servers(self):
        cfg = {
            "http_ports": list(HTTP_PORTS), "tcp_port": TCP_PORT, "dns_port": DNS_PORT,
            "dns_addrs": [self.dns_v4, self.dns_v6],
            "zone": os.path.join(self._dir, "zone.json"), "log": os.path.join(self._dir, "dns.log"),
        }
        cfg_path = os.path.join(self._dir, "config.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        err_path = os.path.join(self._dir, "server.err")
        with open(err_path, "w") as err:
            self._proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, sys.executable or "/usr/bin/python3",
                 os.path.abspath(__file__), "--serve", cfg_path],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, start_new_session=True)

        def failed(why):
            with open(err_path) as f:
                return RuntimeError(f"NetLab server: {why}; its stderr: {f.read()[-2000:]!r}")

        deadline = time.monotonic() + self.start_timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise failed("not ready in time")
            r, _, _ = select.select([self._proc.stdout], [], [], left)
            if r:
                chunk = os.read(self._proc.stdout.fileno(), 100)
                if not chunk:
                    raise failed(f"exited ({self._proc.wait()})")
                line += chunk
        if line.strip() != b"READY":
            raise failed(f"said {line!r}")
        # Every address and port must take connections from the host (over the
        # veth and the routes; the IPv6 ones too).
        for addr in self.addresses:
            for port in (*HTTP_PORTS, TCP_PORT):
                while True:
                    try:
                        with socket.create_connection((addr, port), timeout=1):
                            break
                    except OSError as e:
                        if time.monotonic() > deadline:
                            raise failed(f"{addr} port {port} unreachable from the host: {e}")
                        time.sleep(0.02)


# ====================================================================== server
# Everything below runs inside the namespace (python3 netlab.py --serve CONFIG).

def _dns_name(name):
    out = b""
    for label in name.split(".") if name else []:
        b = label.encode("idna") if not label.isascii() else label.encode()
        out += bytes([len(b)]) + b
    return out + b"\0"


class _Zone:
    def __init__(self, path):
        self.path = path
        self.key = None
        self.zone, self.ttl = {}, 60
        self.lock = threading.Lock()

    def get(self):
        with self.lock:
            try:
                st = os.stat(self.path)
                key = (st.st_ino, st.st_mtime_ns, st.st_size)
                if key != self.key:
                    with open(self.path) as f:
                        data = json.load(f)
                    self.zone, self.ttl, self.key = data["zone"], data["ttl"], key
            except (OSError, ValueError):
                pass
            return self.zone, self.ttl


def _dns_reply(q, zone, ttl):
    """(reply bytes or None, (name, qtype) or None) for one query datagram."""
    if len(q) < 12:
        return None, None
    qid, flags, qdcount = struct.unpack("!3H", q[:6])
    if flags & 0x8000:
        return None, None
    opcode = (flags >> 11) & 0xF
    base = 0x8000 | (opcode << 11) | 0x0400 | (flags & 0x0100)

    def header_only(rcode):
        return struct.pack("!6H", qid, base | rcode, 0, 0, 0, 0)

    if opcode != 0:
        return header_only(4), None
    if qdcount != 1:
        return header_only(1), None
    pos, labels = 12, []
    try:
        while True:
            n = q[pos]
            pos += 1
            if n == 0:
                break
            if n & 0xC0:
                return header_only(1), None
            labels.append(q[pos:pos + n])
            pos += n
            if pos > len(q):
                return header_only(1), None
        qtype, qclass = struct.unpack("!2H", q[pos:pos + 4])
    except (IndexError, struct.error):
        return header_only(1), None
    pos += 4
    question = q[12:pos]
    name = b".".join(labels).decode("ascii", "replace").lower()
    qname = (name, QTYPES.get(qtype, str(qtype)))

    answers, rcode, cur, seen = [], 0, name, set()
    while True:
        entries = zone.get(cur)
        if entries is None:
            rcode = 3
            break
        owner = b"\xc0\x0c" if cur == name else _dns_name(cur)
        cname = next((e[6:] for e in entries if e.startswith("cname:")), None)
        if cname is not None:
            answers.append(owner + struct.pack("!2HIH", 5, 1, ttl, len(_dns_name(cname))) + _dns_name(cname))
            seen.add(cur)
            if qtype == 5 or cname in seen:
                break
            cur = cname
            continue
        for e in entries:
            ip = ipaddress.ip_address(e)
            if ip.version == 4 and qtype in (1, 255):
                answers.append(owner + struct.pack("!2HIH", 1, 1, ttl, 4) + ip.packed)
            elif ip.version == 6 and qtype in (28, 255):
                answers.append(owner + struct.pack("!2HIH", 28, 1, ttl, 16) + ip.packed)
        break
    if qclass not in (1, 255):
        answers, rcode = [], 5
    head = struct.pack("!6H", qid, base | rcode, 1, len(answers), 0, 0)
    return head + question + b"".join(answers), qname


def _serve(cfg_path):
    import http.server
    import socketserver

    with open(cfg_path) as f:
        cfg = json.load(f)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 1024

        def server_bind(self):
            if self.address_family == socket.AF_INET6:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            socketserver.TCPServer.server_bind(self)   # no getfqdn(): no DNS in here
            self.server_name, self.server_port = "netlab", self.server_address[1]

        def handle_error(self, request, client_address):
            pass

    class Server6(Server):
        address_family = socket.AF_INET6

    chunk = b"x" * 65536

    class Web(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def version_string(self):
            return "netlab"

        def log_message(self, *args):
            pass

        def reply(self, code, body, ctype="text/plain"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.close_connection = True
            path = self.path.split("?", 1)[0]
            try:
                if path == "/":
                    dst, port = self.connection.getsockname()[:2]
                    return self.reply(200, f"hello from {dst}:{port}\n".encode())
                m = re.fullmatch(r"/bytes/(\d+)", path)
                if m:
                    n = int(m.group(1))
                    if n > 2**31:
                        return self.reply(400, b"at most 2**31 bytes\n")
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(n))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    while n > 0:
                        self.wfile.write(chunk if n >= len(chunk) else chunk[:n])
                        n -= len(chunk)
                    return
                m = re.fullmatch(r"/slow(?:/(\d+(?:\.\d+)?))?", path)
                if m:
                    time.sleep(float(m.group(1) or 30))
                    return self.reply(200, b"slow\n")
                self.reply(404, b"not found\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self):
            self.close_connection = True
            try:
                if self.path.split("?", 1)[0] != "/echo":
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    return self.reply(404, b"not found\n")
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.reply(200, body, self.headers.get("Content-Type") or "application/octet-stream")
            except (BrokenPipeError, ConnectionResetError, ValueError):
                pass

    class Tcp(socketserver.BaseRequestHandler):
        def handle(self):
            dst, port = self.request.getsockname()[:2]
            try:
                self.request.sendall(f"tcp {dst}:{port}\n".encode())
                while self.request.recv(65536):
                    pass
            except OSError:
                pass

    servers = []
    for port, handler in [(p, Web) for p in cfg["http_ports"]] + [(cfg["tcp_port"], Tcp)]:
        servers.append(Server(("0.0.0.0", port), handler))
        servers.append(Server6(("::", port), handler))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()

    zone = _Zone(cfg["zone"])
    log = open(cfg["log"], "a")
    log_lock = threading.Lock()

    def dns(sock):
        while True:
            try:
                q, peer = sock.recvfrom(65535)
            except OSError:
                continue
            z, ttl = zone.get()
            try:
                reply, asked = _dns_reply(q, z, ttl)
            except Exception:
                continue
            if asked:
                with log_lock:
                    log.write(f"{asked[0]} {asked[1]}\n")
                    log.flush()
            if reply:
                try:
                    sock.sendto(reply, peer)
                except OSError:
                    pass

    for addr in cfg["dns_addrs"]:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((addr, cfg["dns_port"]))
        threading.Thread(target=dns, args=(s,), daemon=True).start()

    sys.stdout.write("READY\n")
    sys.stdout.flush()
    # Lives as long as its owner: stdin closes when the owner stops or dies.
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


# =================================================================== self-test

def dns_query(server, name, qtype="A", timeout=2.0):
    """Asks server (UDP port 53) for name; returns (rcode, [(type, value)]) with
    values as text (addresses, CNAME targets). For tests."""
    code = {v: k for k, v in QTYPES.items()}[qtype] if isinstance(qtype, str) else qtype
    qid = secrets.randbits(16)
    q = struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0) + _dns_name(name.rstrip(".")) + struct.pack("!2H", code, 1)
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (server, DNS_PORT))
        while True:
            r, _ = s.recvfrom(65535)
            if r[:2] == q[:2]:
                break

    def read_name(pos):
        labels, jumped, end = [], False, None
        while True:
            n = r[pos]
            if n & 0xC0 == 0xC0:
                if end is None:
                    end = pos + 2
                pos = ((n & 0x3F) << 8) | r[pos + 1]
                jumped = True
                continue
            pos += 1
            if n == 0:
                break
            labels.append(r[pos:pos + n].decode())
            pos += n
        return ".".join(labels), (end if jumped else pos)

    _, flags, qd, an = struct.unpack("!4H", r[:8])
    pos = 12
    for _ in range(qd):
        _, pos = read_name(pos)
        pos += 4
    out = []
    for _ in range(an):
        _, pos = read_name(pos)
        rtype, _, _, rdlen = struct.unpack("!2HIH", r[pos:pos + 10])
        pos += 10
        rdata = r[pos:pos + rdlen]
        if rtype in (1, 28):
            out.append((QTYPES[rtype], str(ipaddress.ip_address(rdata))))
        elif rtype == 5:
            out.append(("CNAME", read_name(pos)[0]))
        pos += rdlen
    return flags & 0xF, out


def _selftest():
    import urllib.request
    t0 = time.monotonic()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(url, data=None):
        with opener.open(urllib.request.Request(url, data=data), timeout=10) as r:
            return r.read()

    names = set()
    for round_ in range(2):
        lab = NetLab()
        assert lab.leftovers() == []
        with lab:
            assert lab.ns not in names and lab.ns.startswith(f"sbnet-{os.getpid()}-")
            names.add(lab.ns)
            assert get("http://203.0.113.10/") == b"hello from 203.0.113.10:80\n"
            assert get("http://[2001:db8:1::10]:8080/") == b"hello from 2001:db8:1::10:8080\n"
            assert get(f"http://{lab.other}:8080/") == f"hello from {lab.other}:8080\n".encode()
            assert get(lab.url(host=lab.dns_v6)) == f"hello from {lab.dns_v6}:80\n".encode()
            assert get(lab.url("/bytes/200000", host=lab.web2)) == b"x" * 200000
            assert get(lab.url("/echo"), data=b"ping\0pong") == b"ping\0pong"
            with socket.create_connection((lab.web6, TCP_PORT), timeout=5) as c:
                assert c.makefile("rb").readline() == f"tcp {lab.web6}:9000\n".encode()

            assert dns_query(lab.dns_v4, "allowed.test") == (0, [("A", "203.0.113.10")])
            assert dns_query(lab.dns_v6, "ALLOWED.test", "AAAA") == (0, [("AAAA", "2001:db8:1::10")])
            assert dns_query(lab.dns_v4, "alias.test") == (0, [("CNAME", "allowed.test"), ("A", "203.0.113.10")])
            assert dns_query(lab.dns_v4, "two.test") == (0, [("A", "203.0.113.10"), ("A", "203.0.113.20")])
            assert dns_query(lab.dns_v4, "other.test", "AAAA") == (0, [])
            assert dns_query(lab.dns_v4, "nope.test") == (3, [])
            assert lab.dns_queries() == [("allowed.test", "A"), ("allowed.test", "AAAA"), ("alias.test", "A"),
                                         ("two.test", "A"), ("other.test", "AAAA"), ("nope.test", "A")]
            lab.clear_dns_queries()
            lab.set_zone({"new.test": "203.0.113.20"}, ttl=5)
            assert dns_query(lab.dns_v4, "new.test") == (0, [("A", "203.0.113.20")])
            assert dns_query(lab.dns_v4, "allowed.test") == (3, [])
            assert lab.dns_queries() == [("new.test", "A"), ("allowed.test", "A")]
            r = lab.exec("ip", "-br", "addr", "show", "dev", "lo")
            assert r.returncode == 0 and "203.0.113.10/32" in r.stdout, r
            assert lab.leftovers(), "a running lab is there"
        assert lab.leftovers() == [], lab.leftovers()
        lab.stop()   # idempotent
        assert lab.dns_queries() == [("new.test", "A"), ("allowed.test", "A")]
        print(f"lab {round_ + 1}: {lab.ns} {lab.host_if} link {lab.host_v4}/{lab.dns_v4} "
              f"{lab.host_v6}/{lab.dns_v6}")
    print(f"OK ({time.monotonic() - t0:.1f} s)")



try:
    import pytest

    @pytest.fixture(scope="module")
    def lab():
        """A NetLab for the tests of one module (import it into the module)."""
        with NetLab() as l:
            yield l
except ImportError:        # the benchmarks use NetLab without pytest
    pass

if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        _serve(sys.argv[2])
    else:
        _selftest()
