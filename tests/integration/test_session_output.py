"""sessions.max_output_held_mb bounds the command output the server keeps for
all sessions together: beyond it, output still streams to followers but is not
kept (output_dropped), and what a deleted session held is given back."""
import json

import requests

from server import Server


def create(s):
    r = requests.post(s.url + "/api/sandboxes", json={"template": "base"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def run(s, sid, cmd, **kw):
    return requests.post(f"{s.url}/api/sandboxes/{sid}/commands", json={"cmd": cmd}, **kw)


# 3 MiB of output
BIG = "head -c 3145728 /dev/zero | tr '\\0' x"


def test_output_held_is_bounded_across_sessions():
    with Server("sessions:\n  max_output_held_mb: 2\n") as s:
        a, b = create(s), create(s)
        res = run(s, a, BIG).json()
        assert res["status"] == "ok" and res["stdout_bytes"] == 3145728
        assert res["output_dropped"] is True
        assert 0 < len(res["stdout"]) <= 2 << 20
        # a follower of the live stream still sees all of it
        with run(s, b, BIG, headers={"Accept": "text/event-stream"}, stream=True) as r:
            got = 0
            for line in r.iter_lines(decode_unicode=True):
                if line.startswith("data: ") and '"stdout"' in line:
                    got += len(json.loads(line[6:])["data"])
        assert got == 3145728
        # what a ended session held goes back to the pool
        for sid in (a, b):
            assert requests.delete(f"{s.url}/api/sandboxes/{sid}").status_code == 204
        c = create(s)
        res = run(s, c, "head -c 1048576 /dev/zero | tr '\\0' y").json()
        assert "output_dropped" not in res and len(res["stdout"]) == 1048576


def test_small_outputs_are_never_dropped():
    with Server() as s:
        sid = create(s)
        res = run(s, sid, "seq 1 1000").json()
        assert "output_dropped" not in res and res["stdout"].endswith("1000\n")
