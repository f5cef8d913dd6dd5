"""return_files: a single execution hands back the files its program left in
/workspace that match the request's patterns (base64), bounded, never
following a symlink; bad patterns are refused."""
import base64

import pytest
import requests

from server import Server


@pytest.fixture(scope="module")
def srv():
    with Server() as s:
        yield s


def run(srv, code, patterns, lang="python"):
    r = requests.post(srv.url + "/api/execute", json={"language": lang, "code": code,
                                                      "return_files": patterns})
    return r


def files_of(r):
    return {f["name"]: base64.b64decode(f["content"]) for f in r.json().get("files", [])}


def test_matching_files_come_back_and_others_do_not(srv):
    code = ("import os\nos.makedirs('out/sub')\nopen('out/sub/a.txt','w').write('deep')\n"
            "open('chart.png','wb').write(b'\\x89PNG')\nopen('notes.txt','w').write('no')\n"
            "os.makedirs('d')\nopen('d/x.png','w').write('not top level')\n")
    r = run(srv, code, ["*.png", "out/**"])
    assert r.status_code == 200, r.text
    assert files_of(r) == {"chart.png": b"\x89PNG", "out/sub/a.txt": b"deep"}
    assert r.json()["files_truncated"] is False
    sizes = {f["name"]: f["size"] for f in r.json()["files"]}
    assert sizes == {"chart.png": 4, "out/sub/a.txt": 4}


def test_symlinks_are_never_followed(srv):
    code = ("import os\nos.symlink('/etc/passwd', 'leak.png')\nos.symlink('/etc', 'out')\n"
            "open('real.png','w').write('ok')\n")
    r = run(srv, code, ["*.png", "out/**"])
    assert files_of(r) == {"real.png": b"ok"}


def test_nothing_matches_means_no_files_field(srv):
    r = run(srv, "print(1)", ["*.png"])
    assert r.status_code == 200 and "files" not in r.json()


def test_total_size_is_bounded(srv):
    # 3 files of 7 MiB: the 16 MiB bound keeps two, and says it cut the list
    code = "for n in 'abc':\n    open(n + '.bin', 'wb').write(b'x' * (7 << 20))\n"
    r = requests.post(srv.url + "/api/execute", json={
        "language": "python", "code": code, "return_files": ["*.bin"],
        "limits": {"disk_mb": 64, "memory_mb": 512}})
    assert r.status_code == 200, r.text
    got = files_of(r)
    assert len(got) == 2 and all(len(v) == 7 << 20 for v in got.values())
    assert r.json()["files_truncated"] is True


@pytest.mark.parametrize("bad", ["../x", "/etc/*", "a/./b", "", "x" * 300, "a/[b", 5])
def test_bad_patterns_are_refused(srv, bad):
    r = run(srv, "print(1)", [bad])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_argument"
    assert "return_files[0]" in r.json()["error"]["message"]


def test_not_with_test_cases(srv):
    r = requests.post(srv.url + "/api/execute", json={
        "language": "python", "code": "print(input())", "return_files": ["*"],
        "test_cases": [{"stdin": "1"}]})
    assert r.status_code == 400 and "return_files" in r.json()["error"]["message"]
