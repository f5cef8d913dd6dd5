"""Attacks through the real server. Through Piston's and Judge0's APIs, which cannot name
processes, open files, output size or disk: SoulBox's defaults bound them (the server's
sandbox.defaults: 64 processes, 256 files, 1024 KB of output, 64 MB of disk), so no
endpoint is a way around a limit. make check-piston / check-judge0 run the rest of the
attack suite through each API; this file runs in every suite.

The server, the helpers and what "intact" means: attack.py; the C programs:
attack_programs.py."""
import base64
import json
import re

import pytest
import requests

from attack import intact, srv  # noqa: F401 (srv: the fixture)
from attack_programs import MEM_C, PROCS_C

DISK = ("head -c 100M /dev/zero > /workspace/big; echo rc=$?; stat -c %s /workspace/big\n")
FLOOD = "yes flood-out & yes flood-err >&2\nwait\n"
ATTACKS = {   # name: (language, source, args)
    "forkbomb": ("c", PROCS_C, ["forkbomb"]),
    "fds": ("c", MEM_C, ["fds"]),
    "output": ("bash", FLOOD, []),
    "disk": ("bash", DISK, []),
}
JUDGE0_IDS = {"c": 50, "bash": 46}


def through_piston(s, language, code, args):
    r = requests.post(s.url + "/api/v2/execute", data=json.dumps({
        "language": language, "version": "*", "files": [{"content": code}], "args": args,
        "run_timeout": 3000}), headers={"Content-Type": "text/plain;charset=UTF-8"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["run"], r.headers["X-SoulBox-Execution-Id"]


def through_judge0(s, language, code, args):
    r = requests.post(s.url + "/submissions?wait=true&base64_encoded=true&fields=*", json={
        "language_id": JUDGE0_IDS[language], "source_code": base64.b64encode(code.encode()).decode(),
        "command_line_arguments": " ".join(args), "wall_time_limit": 3}, timeout=60)
    assert r.status_code == 201, r.text
    return r.json(), r.json()["token"]


@pytest.mark.parametrize("api", ["piston", "judge0"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_what_a_compat_api_cannot_name_is_bounded_by_the_defaults(srv, api, attack):
    """A fork bomb, fds until EMFILE, an output flood, a disk fill through an API with no field for that limit."""
    language, code, args = ATTACKS[attack]
    compat, ex_id = (through_piston if api == "piston" else through_judge0)(srv, language, code,
                                                                          args)
    res = srv.get("/api/executions/" + ex_id).json()
    if attack == "forkbomb":
        assert res["status"] == "time_limit_exceeded", res
        m = re.fullmatch(r"go\nforked=(\d+) failed=1000 EAGAIN\n", res["stdout"])
        assert m and int(m.group(1)) < 64, res["stdout"]
    elif attack == "fds":
        assert res["status"] == "ok", res
        assert res["stdout"] == "open 253 EMFILE\npipe EMFILE\nsocket EMFILE\ndup EMFILE\n"
    elif attack == "output":
        assert res["status"] == "output_limit_exceeded", res
        assert res["message"] == "output limit of 1048576 bytes exceeded"
        assert len(res["stdout"]) + len(res["stderr"]) <= 1 << 20
    else:
        rc, size = res["stdout"].split()
        # ENOSPC (the 64 MB disk) or SIGXFSZ (the 64 MiB file size), whichever comes first
        assert rc in ("rc=1", "rc=153") and int(size) <= 64 << 20, res
    # the compat answer says the same
    if api == "piston":
        assert compat["status"] in {"time_limit_exceeded": ("TO",), "ok": (None,),
                                    "output_limit_exceeded": ("OL", "EL")}[res["status"]], compat
    else:
        assert compat["status"]["id"] == {"time_limit_exceeded": 5, "ok": 3,
                                          "output_limit_exceeded": 11}[res["status"]], compat
    intact(srv)


def _zip(entries):
    """entries: (name, data, unix mode or None); deflated."""
    import io
    import zipfile
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.create_system = 3
                info.external_attr = mode << 16
            z.writestr(info, data)
    return b.getvalue()


def _lie_about_size(archive, name):
    """The archive with name's declared uncompressed size (local and central) set to 1."""
    import struct
    out = bytearray(archive)
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = out.find(sig)
        while i >= 0:
            name_at = i + (30 if sig == b"PK\x03\x04" else 46)
            if out[name_at:name_at + len(name)] == name.encode():
                out[i + off:i + off + 4] = struct.pack("<I", 1)
            i = out.find(sig, i + 4)
    return bytes(out)


def test_judge0_additional_files_cannot_escape_or_explode(srv):
    """Judge0's additional_files: a zip bomb, a lying size, a symlink to /etc/shadow, '../' and absolute names."""
    def submit(archive, src="echo ok"):
        return requests.post(srv.url + "/submissions?wait=true", json={
            "language_id": 46, "source_code": src,
            "additional_files": base64.b64encode(archive).decode()}, timeout=60)
    bomb = _zip([("zeros", b"\0" * (200 << 20), None)])
    assert len(bomb) < 300 << 10
    r = submit(bomb)
    assert r.status_code == 422 and r.json() == {"additional_files": [
        "is not a zip archive SoulBox can extract: too large when extracted"]}, r.text
    r = submit(_lie_about_size(_zip([("zeros", b"\0" * (8 << 20), None)]), "zeros"))
    assert r.status_code == 422 and "not its declared size" in r.text, r.text
    r = submit(_zip([("link", b"/etc/shadow", 0o120777), ("../../../tmp/escaped", b"x", None),
                     ("/etc/planted", b"y", 0o100644)]),
               "ls -RA; cat link 2>&1; ls /tmp /etc/planted 2>&1")
    assert r.status_code == 201, r.text
    assert r.json()["stdout"] == (".:\netc\nscript.sh\ntmp\n\n./etc:\nplanted\n\n./tmp:\nescaped\n"
                                  "cat: link: No such file or directory\n"
                                  "ls: cannot access '/etc/planted': No such file or directory\n"
                                  "/tmp:\n"), r.json()
    intact(srv)
