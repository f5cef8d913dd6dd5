#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus/<target>/ (seed-*): a few
small valid and invalid inputs per fuzz target. Entries found by fuzzing and
kept after `-merge=1` sit next to them under their libFuzzer hash names.

    python3 tests/fuzz/make_seeds.py      (from the repository root)
"""
import io
import os
import struct
import subprocess
import tarfile
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- http: first byte = bytes per read (0: all at once), then the stream ----

def http():
    body = b'{"language":"python","code":"print(1)"}'
    seeds = {
        "get": b"\0GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "post-json": b"\0POST /api/execute?wait=1 HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\nX-Request-Id: abc-1.2\r\n\r\n%s"
                     % (len(body), body),
        "chunked-split": b"\x05POST /api/execute HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                         b"X-API-Key: k\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        "pipelined": b"\0GET / HTTP/1.1\r\n\r\nGET /api/languages HTTP/1.1\r\nHost: a\r\n\r\n"
                     b"HEAD /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "expect-continue": b"\x03PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
                           b"\r\n{}",
        "upgrade": b"\0GET /api/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
                   b"Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   b"Sec-WebSocket-Version: 13\r\n\r\n\x81\x80abcd",
        "too-large-body": b"\0POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\nxx",
        "bad-version": b"\0GET / HTTP/2.0\r\n\r\n",
        "bad-request-line": b"\x01GARBAGE / HTTP/1.1\r\n\r\n",
        "folded-headers": b"\x02GET /a?b=c&d HTTP/1.1\r\nX-Long: a\r\n  continued\r\nHOST:  y \r\n"
                          b"x-request-id: ../bad id\r\n\r\n",
        "http10-close": b"\0POST /api/executions HTTP/1.0\r\nContent-Length: 3\r\n\r\nabcGET / "
                        b"HTTP/1.1\r\n\r\n",
    }
    # high bit: through the whole server (http.c over loopback TCP); the
    # harness answers "/s..." streamed, "/a..." later, upgrades by upgrading
    server = {
        "server-pipelined": b"\x80GET / HTTP/1.1\r\n\r\nPOST /s HTTP/1.1\r\nContent-Length: 3\r\n"
                            b"\r\nabcGET /e HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n",
        "server-async": b"\x80POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nxGET /a HTTP/1.1\r\n\r\n"
                        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "server-split": b"\x83POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: "
                        b"100-continue\r\n\r\n2\r\nab\r\n0\r\n\r\n",
        "server-upgrade": b"\x80GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"\r\n\x81\x85abcd12345",
        "server-errors": b"\x80GET / HTTP/1.1\r\nContent-Length: 5000000\r\n\r\nGET / HTTP/3.0\r\n\r\n",
        "server-bad": b"\x81\x00\x01GET\r\n",
        # "/u..." routes stream their body to a spool file ("/us": at most 4 KiB,
        # "/ur": answered without taking it)
        "server-upload": b"\x80POST /u HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1"
                         b"\r\n\r\nPOST /us HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"3\r\nabc\r\n0\r\n\r\n",
        "server-upload-refused": b"\x87POST /ur HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789",
        "server-upload-too-large": b"\x80POST /us HTTP/1.1\r\nContent-Length: 5000\r\n\r\nx",
    }
    seeds.update(server)
    for k, v in seeds.items():
        write("http", k, v)


# ---- request: JSON bodies ----

def request():
    seeds = {
        "code": '{"language":"python","code":"print(1)"}',
        "alias-stdin-args-env": '{"language":"py","code":"import sys","stdin":"in\\n","args":'
                                '["-a","b"],"env":{"A_1":"x","B":""}}',
        "files-base64": '{"language":"c","files":[{"name":"main.c","content":"aW50IG1haW4oKXt9",'
                        '"encoding":"base64"},{"name":"lib/u.h","content":"//","encoding":"utf8"}]}',
        "limits": '{"language":"bash","code":"echo","limits":{"wall_time_ms":1000,"cpu_time_ms":'
                  '500,"memory_mb":64,"disk_mb":8,"processes":4,"output_kb":1,"file_size_kb":1,'
                  '"open_files":16,"stack_kb":1024}}',
        "test-cases": '{"language":"javascript","code":"x","test_cases":[{"stdin":"1","expected_'
                      'output":"2"},{"stdin":""},{}]}',
        "callback": '{"language":"python","code":"1","callback_url":"http://example.com:8080/h?x=1"}',
        "callback-private": '{"language":"python","code":"1","callback_url":"http://[::1]/"}',
        "bad-name": '{"language":"python","files":[{"name":"../etc/passwd","content":""}]}',
        "dup-name": '{"language":"python","files":[{"name":"a","content":""},{"name":"a",'
                    '"content":""}]}',
        "nul": '{"language":"python","code":"a\\u0000b","args":["x\\u0000"],"env":{"A":"\\u0000"}}',
        "unknown-field": '{"language":"python","code":"","extra":1}',
        "limit-too-high": '{"language":"python","code":"","limits":{"memory_mb":99999999}}',
        "unknown-language": '{"language":"brainfuck","code":"+"}',
        "both": '{"language":"python","code":"","files":[]}',
        "not-json": '{"language":',
        "array": '[1,2,{"language":null}]',
        "dup-key": '{"language":"python","language":"c","code":""}',
    }
    for k, v in seeds.items():
        write("request", k, v)


# ---- websocket: first byte = bytes per read, then client frames (masked) ----

def frame(payload, opcode=1, fin=True, mask=b"\x11\x22\x33\x44", masked=True):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if masked else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def websocket():
    exe = '{"type":"execute","language":"python","code":"print(input())"}'
    seeds = {
        "auth-execute": b"\0" + frame('{"type":"auth","key":"secret"}') + frame(exe),
        "execute-stdin-kill": b"\0" + frame(exe) + frame('{"type":"stdin","data":"1\\n"}') +
                              frame('{"type":"stdin_close"}') + frame('{"type":"kill"}'),
        "fragmented": b"\x07" + frame('{"type":"exec', fin=False) + frame(b"p", opcode=9) +
                      frame('ute","language":"c",', opcode=0, fin=False) +
                      frame('"code":"int main(){}"}', opcode=0),
        "ping-close": b"\0" + frame(b"hi", opcode=9) + frame(struct.pack(">H", 1000) + b"bye",
                                                            opcode=8),
        "binary": b"\0" + frame(b"\x00\x01\x02", opcode=2),
        "unmasked": b"\0" + frame('{"type":"kill"}', masked=False),
        "bad-json": b"\x02" + frame('{"type":') + frame('[1,2]') + frame('{"type":"nope"}'),
        "long-126": b"\0" + frame('{"type":"execute","language":"python","code":"' + "x" * 200 +
                                  '"}'),
        "bad-utf8": b"\0" + frame(b'{"type":"stdin","data":"\xff\xfe"}'),
    }
    for k, v in seeds.items():
        write("websocket", k, v)


# ---- grpc: protobuf ExecuteRequest / ClientEvent / FileDescriptorSet ----

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def ld(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def vi(field, n):
    return varint(field << 3) + varint(n)


def execute_request(lang="python", code=None, files=(), stdin=None, args=(), env=(),
                    limits=None, cases=()):
    m = ld(1, lang)
    if code is not None:
        m += ld(2, code)
    for name, content in files:
        m += ld(3, ld(1, name) + ld(2, content))
    if stdin is not None:
        m += ld(4, stdin)
    for a in args:
        m += ld(5, a)
    for k, v in env:
        m += ld(6, ld(1, k) + ld(2, v))
    if limits:
        m += ld(7, b"".join(vi(i + 1, v) for i, v in enumerate(limits) if v))
    for c in cases:
        tc = ld(1, c[0])
        if len(c) > 1:
            tc += ld(2, c[1])
        m += ld(8, tc)
    return m


def grpc(repo):
    seeds = {
        "exec-code": execute_request(code="print(1)"),
        "exec-files": execute_request(lang="c", files=[("main.c", b"int main(){}\n"),
                                                       ("inc/a.h", b"\0\xff")]),
        "exec-full": execute_request(code="x", stdin=b"\xff\0in", args=["-v", "a b"],
                                     env=[("HOME", "/tmp"), ("A", "1")],
                                     limits=[1000, 500, 64, 4, 1, 8, 1, 16, 1024]),
        "exec-cases": execute_request(lang="bash", code="cat", cases=[("1", "1"), ("2",)]),
        "exec-bad-utf8": execute_request(lang="py\xff".encode("latin-1"), code="a\0b"),
        "exec-env-nul": execute_request(code="1", env=[("A\0B", "v"), ("", "")]),
        "event-execute": ld(1, execute_request(code="print(input())")),
        "event-stdin": ld(2, b"hello\n"),
        "event-close-kill": ld(3, b"") + ld(4, b""),
        "truncated": execute_request(code="print(1)")[:-3],
        # a request stream: length-prefixed messages (flag byte, 4-byte length)
        "framed-interact": b"".join(b"\0" + struct.pack(">I", len(m)) + m for m in
                                    (ld(1, execute_request(code="print(input())")),
                                     ld(2, b"hi\n"), ld(3, b""))),
        "framed-compressed": b"\1" + struct.pack(">I", 3) + b"abc",
        "framed-too-large": b"\0" + struct.pack(">I", 1 << 20) + b"x" * 8,
        "timeout-ms": "100m",
        "timeout-hours": "99999999H",
    }
    # a small FileDescriptorSet, as protoc writes it (the health service)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "d.pb")
        try:
            subprocess.run(["protoc-c", "--descriptor_set_out=" + out, "--include_imports",
                            "grpc/health/v1/health.proto"], cwd=os.path.join(repo, "proto"),
                           check=True)
            with open(out, "rb") as f:
                seeds["descriptor-set-health"] = f.read()
        except (OSError, subprocess.CalledProcessError):
            pass
    # hand-made: a file with a package, a nested message, an enum, a service
    fdp = (ld(1, "a/b.proto") + ld(2, "pkg") + ld(3, "dep.proto") +
           ld(4, ld(1, "Outer") + ld(3, ld(1, "Inner")) + ld(4, ld(1, "Kind"))) +
           ld(5, ld(1, "Top")) + ld(6, ld(1, "Svc") + ld(2, ld(1, "Call"))))
    seeds["descriptor-set-small"] = ld(1, ld(1, "dep.proto")) + ld(1, fdp)
    seeds["descriptor-set-dup"] = ld(1, fdp) + ld(1, fdp)
    for k, v in seeds.items():
        write("grpc", k, v)


# ---- config: YAML ----

def config():
    seeds = {
        "empty": "",
        "server": "server:\n  listen: 0.0.0.0\n  port: 8081\n  grpc_port: 50052\n"
                  "  max_body_kb: 1024\n  log_level: warn\n  metrics_public: false\n"
                  "  auth:\n    enabled: true\n    keys:\n      - id: ci\n        sha256: " +
                  "a" * 64 + "\n  rate_limit: {requests_per_second: 10, burst: 20}\n"
                  "  callbacks: {allow_private: False, timeout_ms: 1000, max_attempts: 2}\n",
        "sandbox": "sandbox:\n  security:\n    enable_network: false\n    max_memory_mb: 1024\n"
                   "    allowed_syscalls: [ptrace]\n  defaults: {wall_time_ms: 5000, memory_mb: 128}\n"
                   "  maximums: {cpu_time_ms: 20000}\n  compile: {artifact_mb: 64}\n"
                   "  rootfs:\n    system: [/usr, /lib]\n    etc: [ssl]\n    binds: []\n"
                   "  languages: [python, c]\n  pools:\n    - language: python\n      size: 2\n"
                   "      preload: [json, numpy]\n  workdir: /work\n  hostname: box-1\n",
        "bad-number": "server:\n  port: 1e4\n",
        "bad-bool": "sandbox:\n  security:\n    enable_network: maybe\n",
        "unknown-key": "server:\n  colour: blue\n",
        "bad-path": "sandbox:\n  state_dir: relative/dir\n  workdir: /usr\n",
        "alias": "a: &x {port: 1}\nserver: *x\n",
        "not-a-map": "- 1\n- 2\n",
        "bad-yaml": "server: [\n",
        "port-clash": "server: {port: 9000, grpc_port: 9000}\n",
        "units": "server:\n  max_body_kb: 16MB\n  header_timeout_ms: 10 s\n"
                 "sandbox:\n  security:\n    execution_timeout: 30s\n    max_memory_mb: 1GiB\n"
                 "  defaults: {wall_time_ms: 2m, memory_mb: 512mb, stack_kb: 8388608B}\n"
                 "  compile: {artifact_mb: 1536KB}\n",
    }
    for k, v in seeds.items():
        write("config", k, v)


# ---- names: file names and tar archives; agent: plan and agent messages ----

def tlv(tag, data):
    if isinstance(data, str):
        data = data.encode() + b"\0"
    return struct.pack("<HI", tag, len(data)) + data


def u64(tag, n):
    return tlv(tag, struct.pack("<Q", n))


def exec_body(flags=1):
    rl = tlv(44, u64(70, 7) + u64(71, 64) + u64(72, 128))
    return (u64(46, flags) + tlv(40, "/workspace") + tlv(41, "/usr/bin/python3") +
            tlv(41, "main.py") + tlv(42, "PATH=/usr/bin") + rl)


def plan():
    op_dir = tlv(5, u64(20, 1) + u64(21, 32) + u64(24, 0o755) + tlv(26, "/workspace"))
    op_bind = tlv(5, u64(20, 3) + u64(21, 8) + tlv(25, "/usr") + tlv(26, "/usr"))
    op_write = tlv(5, u64(20, 6) + tlv(26, "/etc/hostname") + tlv(27, b"box\n"))
    op_link = tlv(5, u64(20, 5) + tlv(25, "usr/bin") + tlv(26, "/bin"))
    op_pts = tlv(5, u64(20, 10) + u64(22, 1000) + tlv(26, "/dev/pts"))
    return (b"SBPL" + struct.pack("<I", 2) + u64(1, 1000) + u64(2, 1000) + u64(9, 999) + u64(3, 3) +
            tlv(4, "soulbox") + tlv(8, "/run/soulbox/s1") + op_dir + op_bind + op_write +
            op_link + op_pts + tlv(6, b"\x06\0\0\0\0\0\xff\x7f"))


def file_req(op, path, flags=0, path2=None, data=None, mode=0, mx=0):
    b = u64(1, op) + u64(2, flags) + u64(3, mode) + u64(4, mx) + tlv(5, path)
    if path2:
        b += tlv(6, path2)
    if data is not None:
        b += tlv(7, data)
    return b


def entry(name, kind, target=None):
    b = tlv(21, name) + u64(22, kind) + u64(23, 0o644) + u64(24, 12) + u64(25, 1700000000000)
    if target:
        b += tlv(26, target)
    return tlv(20, b)


def header(kind, ident, ln, magic=b"SBBX", flags=0):
    return magic + struct.pack("<HHIiII", 2, kind, ident, 0, flags, ln)


def agent():
    """First byte: 0 plan, 1 exec, 2 go, 3 file request, 4 reply, 5 frame header."""
    seeds = {
        "plan": b"\0" + plan(),
        "plan-bad-op": b"\0SBPL" + struct.pack("<I", 2) + u64(1, 1) + u64(2, 1) +
                       tlv(8, "/s") + tlv(5, u64(20, 3) + tlv(26, "/a/./b")),
        "exec": b"\1" + exec_body(),
        "exec-pty": b"\1" + exec_body(flags=4) + u64(47, 24) + u64(48, 80),
        "go": b"\2" + tlv(44, u64(70, 0) + u64(71, 5) + u64(72, 5)) + tlv(45, b'{"argv":[]}'),
        "file-write": b"\3" + file_req(1, "/workspace/a.txt", mode=0o600, data=b"hello"),
        "file-move": b"\3" + file_req(5, "/tmp/a", flags=4, path2="/workspace/b"),
        "file-bad-path": b"\3" + file_req(2, "/workspace/../etc/passwd"),
        "file-relative": b"\3" + file_req(4, "a/b"),
        "reply-list": b"\4" + entry("a.txt", 1) + entry("dir", 2) + entry("l", 3, "/etc"),
        "reply-data": b"\4" + entry("/workspace/x", 1) + tlv(40, b"data\0\xff"),
        "reply-error": b"\4" + tlv(41, "open /nope: ENOENT"),
        "header-ok": b"\5" + header(5, 7, 3) + b"abc",
        "header-magic": b"\5" + header(5, 7, 0, magic=b"SBBY"),
        "header-long": b"\5" + header(5, 7, 1 << 20) + b"x",
    }
    for k, v in seeds.items():
        write("agent", k, v)


def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "link":
                ti.type = tarfile.SYMTYPE
                ti.linkname = "/etc/passwd"
                t.addfile(ti)
            else:
                ti.size = len(data)
                ti.mode = 0o755 if kind == "exe" else 0o644
                t.addfile(ti, io.BytesIO(data))
    # up to the end of the last entry, then one zero block (not tarfile's padding)
    data = buf.getvalue().rstrip(b"\0")
    return data + b"\0" * (-len(data) % 512 + 512)


def names():
    seeds = {
        "rel": "src/main.c",
        "abs": "/usr/lib/x86_64-linux-gnu",
        "dotdot": "a/../b",
        "root": "/",
        "trailing": "a/b/",
        "tar-files": tar([("./", "dir", b""), ("./bin/", "dir", b""), ("./bin/app", "exe", b"\x7fELF"),
                          ("./data.txt", "file", b"x" * 100)]),
        "tar-longname": tar([("d/" + "n" * 120, "file", b"1")]),
        "tar-symlink": tar([("evil", "link", b"")]),
        "tar-dotdot": tar([("../escape", "file", b"x")]),
        "zip-files": zipped([("run", b"python3 main.py\n", True), ("main.py", b"print(1)\n" * 20, True),
                             ("./dir/", b"", False), ("./dir/data.txt", b"x" * 300, False)]),
        "zip-dotdot": zipped([("../../escape", b"x", False), ("/abs", b"y", True)]),
    }
    for k, v in seeds.items():
        write("names", k, v)


def zipped(entries):
    """A zip archive of (name, content, deflated) entries."""
    import zipfile
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for name, data, deflated in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
            z.writestr(info, data)
    return b.getvalue()


def client():
    """What a server sends the CLI's client mode: byte 0 is the feed size."""
    seeds = {
        "sse": b"\x00event: stdout\ndata: {\"type\":\"stdout\",\"data\":\"x\"}\n\n",
        "crlf": b"\x03: c\r\nevent: exit\r\ndata: a\r\ndata: b\r\n\r\n",
        "url": b"\x00http://[::1]:8080/p",
        "date": b"\x00Sat, 05 Dec 2026 12:00:05 GMT",
    }
    for k, v in seeds.items():
        write("client", k, v)


def vmstream():
    """First byte: bytes per feed; then a guest's frames back to back."""
    def f(kind, ident, payload=b"", flags=0):
        return header(kind, ident, len(payload), magic=b"BSBX", flags=flags) + payload
    up = f(20, 0, struct.pack("<II", 2, 0) + b"6.1.0-57-cloud-amd64".ljust(64, b"\0"))
    seeds = {
        "boot": b"\0" + up + f(1, 0, struct.pack("<Ii", 2, 1)),
        "output": b"\x07" + f(21, 3, b"hello\n", flags=1) + f(21, 3, b"err", flags=2) +
                  f(22, 3, flags=1) + f(23, 0, b"\0" * 32),
        "split-header": b"\x03" + f(3, 9, struct.pack("<iI", 42, 0)) + f(5, 9, b"\0" * 48),
        "bad-magic": b"\0" + f(21, 1, b"x") + b"XXXX" + b"\0" * 20,
        "too-long": b"\x10" + header(21, 1, (1 << 20) + 1, magic=b"BSBX"),
    }
    for k, v in seeds.items():
        write("vmstream", k, v)


if __name__ == "__main__":
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    http()
    request()
    websocket()
    grpc(repo)
    config()
    names()
    agent()
    client()
    vmstream()
