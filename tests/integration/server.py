"""Starts the real `soulbox serve` for tests: own port, config and data dir."""
import json
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time

import requests

from conftest import SOULBOX


def free_ports(n):
    """n distinct free ports (held open together while picked)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def free_port():
    return free_ports(1)[0]


def wait_until(cond, timeout=10.0, step=0.05):
    """Polls cond() until it returns something true or timeout seconds pass;
    returns its last value, so `assert wait_until(...)` fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def _tcp_address(field):
    ip, port = field.split(":")
    return socket.inet_ntoa(struct.pack("<I", int(ip, 16))), int(port, 16)


def tcp_sockets():
    """This network namespace's IPv4 TCP sockets, from /proc/net/tcp:
    (local, remote) -> (state, bytes sent but not acknowledged, bytes received
    but not read by the owner, inode; 0 while no process holds the socket)."""
    table = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            v = line.split()
            tx, rx = (int(n, 16) for n in v[4].split(":"))
            table[(_tcp_address(v[1]), _tcp_address(v[2]))] = (int(v[3], 16), tx, rx, int(v[9]))
    return table


TCP_ESTABLISHED = 1


def server_progress(socks):
    """How far the server has got with what each client socket sent: "closed"
    (the server closed the connection), "queued" (still in the listener's
    backlog: not accepted yet), or how many of its bytes the server has not
    read yet (unacknowledged, or waiting in the server's end). 0 for a
    request: the server has seen all of it."""
    table = tcp_sockets()
    out = []
    for s in socks:
        try:
            mine, theirs = s.getsockname(), s.getpeername()
        except OSError:
            out.append("closed")            # reset by the server
            continue
        client, server = table.get((mine, theirs)), table.get((theirs, mine))
        if not client or client[0] != TCP_ESTABLISHED:
            out.append("closed")
        elif not server or not server[3]:
            out.append("queued")
        else:
            out.append(client[1] + server[2])
    return out


def server_ends(socks):
    """The inodes of the server's ends of these connected client sockets."""
    table = tcp_sockets()
    return {table[(s.getpeername(), s.getsockname())][3] for s in socks}


def sse_started(port, body):
    """Starts an execution streamed as Server-Sent Events on a connection of
    its own; returns (socket, id) once the `started` event has arrived."""
    data = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /api/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Accept: text/event-stream\r\nContent-Length: " + str(len(data)).encode() +
              b"\r\n\r\n" + data)
    got = b""
    while b"event: started" not in got or not got.endswith(b"\n\n\r\n"):
        chunk = s.recv(4096)
        assert chunk, got
        got += chunk
    return s, json.loads(got.split(b"data: ", 1)[1].split(b"\n", 1)[0])["id"]


def read_until_closed(sock, timeout=5):
    """All the server sends, and whether it closed the connection in time
    (timeout 0: only what has arrived already, without waiting)."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if timeout and left <= 0:
            return data, False
        sock.settimeout(left if timeout else 0.0)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, BlockingIOError):
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def h2_call(port, path, frame, timeout=10, source="127.0.0.1"):
    """One gRPC call over a raw HTTP/2 connection from the address `source`:
    the response headers and trailers (merged) and the response body."""
    import h2.config
    import h2.connection
    import h2.events
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8"))
    headers, body = {}, b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=(source, 0)) as sock:
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", path),
                                (":authority", f"127.0.0.1:{port}"),
                                ("content-type", "application/grpc"), ("te", "trailers")])
        conn.send_data(sid, frame, end_stream=True)
        sock.sendall(conn.data_to_send())
        done = False
        while not done:
            data = sock.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    headers.update(ev.headers)
                elif isinstance(ev, h2.events.DataReceived):
                    body += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                    done = done or ev.stream_id == sid
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    done = True
            sock.sendall(conn.data_to_send())
    return headers, body


# Most test servers offer a few languages: probing all of them at every start
# would only cost time. Tests about languages pass all_languages=True. Warm
# pools are off unless a test asks for them (pools=True): idle pooled
# sandboxes would look like leftovers to the tests that count sandboxes.
FEW_LANGUAGES = "  languages: [python, bash, c]\n"
NO_POOLS = "  pool_memory_mb: 0\n"


def with_languages(config_yaml, all_languages, pools=False):
    extra = ("" if all_languages else FEW_LANGUAGES) + ("" if pools else NO_POOLS)
    if not extra:
        return config_yaml
    if "sandbox:" in config_yaml:
        return config_yaml.replace("sandbox:\n", "sandbox:\n" + extra, 1)
    return config_yaml + "\nsandbox:\n" + extra


class Server:
    def __init__(self, config_yaml="", env=None, data_dir=None, extra_args=(), all_languages=False,
                 pools=False):
        self.tmp = tempfile.mkdtemp(prefix="soulbox-test-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.port, self.grpc_port = free_ports(2)
        self.config = os.path.join(self.tmp, "soulbox.yaml")
        with open(self.config, "w") as f:
            f.write(with_languages(config_yaml, all_languages, pools))
        self.env = dict(os.environ, **(env or {}))
        self.extra_args = list(extra_args)
        self.proc = None
        self.log = os.path.join(self.tmp, "server.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_target(self):
        return f"127.0.0.1:{self.grpc_port}"

    def argv(self):
        return [SOULBOX, "serve", "--config", self.config, "--port", str(self.port),
                "--grpc-port", str(self.grpc_port), "--data-dir", self.data_dir,
                *self.extra_args]

    def start(self, timeout=30):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.argv(),
            stdout=self.logf, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.read_log()}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start: " + self.read_log())

    def wait_languages(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.get("/health").json().get("languages_ready"):
                return
            time.sleep(0.1)
        raise RuntimeError("languages were not probed in time")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        finally:
            self.logf.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()

    def open_sockets(self):
        """Inodes of the sockets the server process holds open."""
        found = set()
        fds = f"/proc/{self.proc.pid}/fd"
        for fd in os.listdir(fds):
            try:
                link = os.readlink(os.path.join(fds, fd))
            except OSError:
                continue                    # closed while listed
            if link.startswith("socket:["):
                found.add(int(link[8:-1]))
        return found

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_lines(self):
        out = []
        for line in self.read_log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    # ---- requests ----

    def post(self, path, body=None, headers=None, **kw):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return requests.post(self.url + path, data=data, headers=h, timeout=kw.pop("timeout", 60), **kw)

    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=kw.pop("timeout", 30), **kw)

    def execute(self, body, **kw):
        return self.post("/api/execute", body, **kw)

    def finished(self, ex_id, timeout=10, **kw):
        """GET /api/executions/{ex_id} once it is no longer queued or running;
        fails if it still is after timeout seconds."""
        last = {}

        def ended():
            last["e"] = self.get(f"/api/executions/{ex_id}", **kw).json()
            return last["e"].get("status") not in ("queued", "running")
        assert wait_until(ended, timeout), f"still not finished: {last['e']}"
        return last["e"]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        rc = self.stop()
        assert rc == 0, f"server exit code {rc}\n{self.read_log()[-3000:]}"
