"""The compile cache: hit and miss, LRU eviction within its bound, artifacts
verified by hash, one compile for identical concurrent requests, persistence
across restarts, and a directory no sandbox can reach."""
import concurrent.futures
import os
import re
import stat
import time

import pytest

from server import Server, sse_started, wait_until

# A C program whose binary is ~300 KiB (a static array in .data), so that a
# 1 MiB cache holds three of them but not four.
BIG = ("#include <stdio.h>\nstatic volatile char pad[300000] = {%d};\n"
       "int main(void){ printf(\"%%d\\n\", pad[0] + %d); return 0; }\n")


def big(n):
    return BIG % (n, 0)


def metric(srv, name):
    m = re.search(rf"^soulbox_compile_cache_{name} (\d+)$", srv.get("/metrics").text, re.M)
    return int(m.group(1))


def wait_entries(srv, n, timeout=10):
    """Cache writes land off the request path: wait until n entries are in."""
    deadline = time.time() + timeout
    while metric(srv, "entries") != n:
        assert time.time() < deadline, f"cache has {metric(srv, 'entries')} entries, want {n}"
        time.sleep(0.02)


def compile_one(srv, cache_dir, code):
    """Compiles code into an empty cache; returns the path of its entry."""
    run(srv, code)
    wait_entries(srv, 1)
    (entry,) = os.listdir(cache_dir)
    return os.path.join(cache_dir, entry)


def run(srv, code):
    r = srv.execute({"language": "c", "code": code}, timeout=120).json()
    assert r["status"] == "ok", r
    return r


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / "cache")


def server(cache_dir, mb=1):
    return Server(f"sandbox:\n  compile_cache_dir: {cache_dir}\n  compile_cache_mb: {mb}\n"
                  f"server:\n  max_concurrent: 8\n")


def test_miss_then_hit_then_lru_eviction(cache_dir):
    with server(cache_dir) as s:
        a = run(s, big(1))
        assert a["compile_cached"] is False and a["stdout"] == "1\n"
        wait_entries(s, 1)
        a2 = run(s, big(1))
        assert a2["compile_cached"] is True and a2["stdout"] == "1\n"
        assert a2["compile"]["wall_time_ms"] == 0
        assert (metric(s, "hits_total"), metric(s, "misses_total")) == (1, 1)
        # two more fill the cache; A is then used, so B is the least recent
        run(s, big(2))
        wait_entries(s, 2)
        run(s, big(3))
        wait_entries(s, 3)
        assert run(s, big(1))["compile_cached"] is True
        assert metric(s, "bytes") <= 1 << 20
        # a fourth does not fit: B goes
        run(s, big(4))
        deadline = time.time() + 10
        while metric(s, "evictions_total") < 1:
            assert time.time() < deadline
            time.sleep(0.02)
        assert metric(s, "evictions_total") == 1 and metric(s, "entries") == 3
        assert metric(s, "bytes") <= 1 << 20
        assert len(os.listdir(cache_dir)) == 3
        assert run(s, big(2))["compile_cached"] is False     # evicted
        assert run(s, big(1))["compile_cached"] is True      # kept (recently used)


def test_tampered_artifact_is_rejected_and_recompiled(cache_dir):
    with server(cache_dir) as s:
        path = compile_one(s, cache_dir, big(7))
        with open(path, "r+b") as f:       # flip the program's last byte
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([last[0] ^ 0xFF]))
        r = run(s, big(7))
        assert r["compile_cached"] is False and r["stdout"] == "7\n"
        # the bad entry was replaced by a good one, which is then used
        wait_entries(s, 1)
        deadline = time.time() + 10
        while True:
            r = run(s, big(7))
            if r["compile_cached"]:
                break
            assert time.time() < deadline
        assert r["stdout"] == "7\n"


def test_truncated_and_foreign_files_are_ignored(cache_dir):
    with server(cache_dir) as s:
        path = compile_one(s, cache_dir, big(8))
        data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])
    with open(os.path.join(cache_dir, "not-a-key"), "w") as f:
        f.write("x")
    with server(cache_dir) as s:
        r = run(s, big(8))
        assert r["compile_cached"] is False and r["stdout"] == "8\n"


def test_cache_survives_a_restart(cache_dir):
    with server(cache_dir) as s:
        run(s, big(9))
        wait_entries(s, 1)
    with server(cache_dir) as s:
        assert metric(s, "entries") == 1
        r = run(s, big(9))
        assert r["compile_cached"] is True and r["stdout"] == "9\n"


def test_concurrent_identical_compiles_compile_once(cache_dir):
    code = big(11) + f"/* {time.time_ns()} */\n"
    with server(cache_dir, mb=64) as s:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            rs = list(pool.map(lambda _: run(s, code), range(6)))
        assert [r["stdout"] for r in rs] == ["11\n"] * 6
        assert sorted(r["compile_cached"] for r in rs) == [False] + [True] * 5
        # one lookup missed; the others joined it (or, if late, hit)
        assert metric(s, "misses_total") == 1


def test_different_flags_or_files_are_different_entries(cache_dir):
    with server(cache_dir, mb=64) as s:
        one = [{"name": "main.c", "content": '#include "v.h"\n#include <stdio.h>\n'
                                            'int main(void){printf("%d\\n", V);}\n'},
               {"name": "v.h", "content": "#define V 1\n"}]
        two = [one[0], {"name": "v.h", "content": "#define V 2\n"}]
        r1 = s.execute({"language": "c", "files": one}).json()
        wait_entries(s, 1)
        r2 = s.execute({"language": "c", "files": two}).json()
        assert (r1["stdout"], r2["stdout"]) == ("1\n", "2\n")
        assert r2["compile_cached"] is False
        # file names are part of the key too
        renamed = [{"name": "main.c", "content": one[0]["content"]},
                   {"name": "v.h", "content": "#define V 1\n"},
                   {"name": "extra.txt", "content": ""}]
        assert s.execute({"language": "c", "files": renamed}).json()["compile_cached"] is False


def test_cache_dir_is_private_and_out_of_the_sandboxes_reach(cache_dir):
    with server(cache_dir) as s:
        run(s, big(5))
        wait_entries(s, 1)
        st = os.stat(cache_dir)
        assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0
        for e in os.listdir(cache_dir):
            est = os.stat(os.path.join(cache_dir, e))
            assert stat.S_IMODE(est.st_mode) == 0o600 and est.st_uid == 0
        probe = (f"import os\nfor p in ['{cache_dir}', '/var/cache/soulbox']:\n"
                 "    try:\n        print(os.listdir(p))\n"
                 "    except OSError as e:\n        print(type(e).__name__)\n")
        r = s.execute({"language": "python", "code": probe}).json()
        assert r["stdout"] == "FileNotFoundError\nFileNotFoundError\n", r


def test_cache_can_be_turned_off(cache_dir):
    with server(cache_dir, mb=0) as s:
        assert run(s, big(3))["compile_cached"] is False
        assert run(s, big(3))["compile_cached"] is False
        assert not os.path.exists(cache_dir) or os.listdir(cache_dir) == []


def slow_to_compile(tag):
    """A C program gcc -O2 takes seconds over (a thousand functions it must
    keep and optimise: ~3.5 s on a slow machine)."""
    fns = "".join(f"int f{i}(int x){{ for (int j = 0; j < x; j++) x ^= j * {i} + (x >> 3); "
                  f"return x; }}\n" for i in range(1000))
    return f"/* {tag} */\n{fns}int main(void){{ return 0; }}\n"


def test_a_job_cancelled_while_it_waits_for_a_shared_compile_still_ends(cache_dir):
    """Two identical requests share one compile; the one waiting for it is
    cancelled (its client goes away) mid-compile: it ends at once as
    cancelled, and the compile goes on for the other."""
    body = {"language": "c", "code": slow_to_compile(time.time_ns()),
            "limits": {"wall_time_ms": 60000}}
    with server(cache_dir, mb=64) as s:
        s.wait_languages()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            owner = pool.submit(lambda: s.execute(body, timeout=120).json())
            assert wait_until(lambda: metric(s, "misses_total") >= 1, 30)  # its compile began
            sock, waiter = sse_started(s.port, body)
            sock.close()                                  # cancelled while waiting
            e = s.finished(waiter)                     # at once, not after the compile
            assert e["status"] == "internal_error"
            assert e["message"] == "cancelled: the client disconnected"
            assert not owner.done(), "the compile was still running (the test's premise)"
            r = owner.result(timeout=120)
        assert r["status"] == "ok" and r["compile_cached"] is False, r
        assert metric(s, "misses_total") == 1, "the waiter joined the compile, not one of its own"
