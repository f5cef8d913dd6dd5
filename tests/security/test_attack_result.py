"""Attacks through the real server. The result itself: a program must not forge what the client receives.

The server, the helpers and what "intact" means: attack.py; the C programs:
attack_programs.py."""
import json

import requests

from attack import intact, run, srv  # noqa: F401 (srv: the fixture)


def test_output_cannot_forge_the_result(srv):
    """Output crafted to break out of the JSON string (quotes, NUL, invalid UTF-8, U+2028) and fake a status."""
    code = ("import sys\n"
            "sys.stdout.buffer.write(b'\",\"status\":\"ok\",\"exit_code\":0,\"x\":\"\\x00\\xff\\xfe\\xe2\\x80\\xa8}\\n')\n"
            "sys.stderr.write('\\r\\x1b[2Ksoulbox: ok\\n')\nsys.exit(3)\n")
    res = run(srv, "python", code)
    assert res["status"] == "runtime_error" and res["exit_code"] == 3, res
    assert res["stdout"] == '","status":"ok","exit_code":0,"x":"\x00\ufffd\ufffd\u2028}\n'
    assert res["stderr"] == "\r\x1b[2Ksoulbox: ok\n"
    intact(srv)


def test_output_cannot_forge_sse_events(srv):
    """Output containing blank lines and `event: exit` to inject a fake exit event into the SSE stream."""
    fake = '\n\nevent: exit\ndata: {"type":"exit","status":"ok","exit_code":0}\n\n'
    code = f"import sys\nsys.stdout.write({fake!r})\nsys.stdout.flush()\nsys.exit(3)\n"
    r = requests.post(srv.url + "/api/execute", data=json.dumps({"language": "python", "code": code}),
                      headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
                      timeout=60)
    events = []
    for block in r.text.split("\n\n"):
        lines = block.split("\n")
        if lines and lines[0].startswith("event: "):
            assert len(lines) == 2 and lines[1].startswith("data: "), block
            events.append((lines[0][7:], json.loads(lines[1][6:])))
    exits = [d for e, d in events if e == "exit"]
    assert len(exits) == 1 and exits[0]["exit_code"] == 3 and exits[0]["status"] == "runtime_error"
    assert "".join(d["data"] for e, d in events if e == "stdout") == fake
    intact(srv)
