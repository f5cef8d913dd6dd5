"""Load: 10,000 mixed requests (good, bad, limit-breaking, attacks) at
concurrency 64. Every result must be exactly right, nothing may be lost, no
sandbox may leak, and the server's memory must be flat at the end."""
import os
import random
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import sandbox_cgroups, sandbox_processes  # noqa: E402
from server import Server  # noqa: E402

TOTAL = int(os.environ.get("SOULBOX_LOAD_REQUESTS", "10000"))
CONCURRENCY = 64


def case(i):
    """(request body or raw text, check(response) -> None) for request i."""
    kind = random.Random(i).choices(
        ["echo", "bad_json", "bad_field", "unknown_lang", "output", "wall", "fork_bomb",
         "memory"], weights=[45, 10, 5, 5, 10, 10, 5, 10])[0]
    if kind == "echo":
        body = {"language": "bash", "code": f"echo {i}"}
        def check(r):
            j = r.json()
            assert r.status_code == 200 and j["status"] == "ok" and j["stdout"] == f"{i}\n", r.text
        return body, check
    if kind == "bad_json":
        def check(r):
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_argument"
        return '{"language": "bash", "code": ', check
    if kind == "bad_field":
        def check(r):
            assert r.status_code == 400 and "nope: unknown" in r.json()["error"]["message"]
        return {"language": "bash", "code": "true", "nope": 1}, check
    if kind == "unknown_lang":
        def check(r):
            assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_language"
        return {"language": f"cobra{i}", "code": "x"}, check
    if kind == "output":
        def check(r):
            j = r.json()
            assert j["status"] == "output_limit_exceeded" and len(j["stdout"]) == 4096, j["status"]
        return {"language": "bash", "code": "yes", "limits": {"output_kb": 4}}, check
    if kind == "wall":
        def check(r):
            j = r.json()
            assert j["status"] == "time_limit_exceeded" and j["wall_time_ms"] >= 200, j
        return {"language": "bash", "code": "sleep 5", "limits": {"wall_time_ms": 200}}, check
    if kind == "fork_bomb":
        def check(r):
            # the shell itself exits at once; the bomb dies with the sandbox
            j = r.json()
            assert r.status_code == 200 and j["status"] in ("ok", "time_limit_exceeded",
                                                            "runtime_error"), j
        return {"language": "bash", "code": ":(){ :|:& };:",
                "limits": {"processes": 16, "wall_time_ms": 500}}, check

    def check(r):
        j = r.json()
        assert j["status"] == "memory_limit_exceeded", j
    return {"language": "bash", "code": "head -c 200000000 /dev/zero > /dev/shm/x; echo $?",
            "limits": {"memory_mb": 32}}, check


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS")).split()[1])


def test_10000_mixed_requests_at_concurrency_64():
    cfg = ("server:\n  max_concurrent: 64\n  max_queue: 4096\n  log_level: warn\n"
           "sandbox:\n  languages: [bash]\n")
    with Server(cfg, all_languages=True) as s:
        s.wait_languages()
        url = s.url + "/api/execute"
        next_i, lock, failures, done = [0], threading.Lock(), [], [0]
        rss, results = {}, {}

        def worker():
            sess = requests.Session()
            while True:
                with lock:
                    i = next_i[0]
                    next_i[0] += 1
                if i >= TOTAL:
                    return
                body, check = case(i)
                try:
                    if isinstance(body, str):
                        r = sess.post(url, data=body, timeout=120,
                                      headers={"Content-Type": "application/json"})
                    else:
                        r = sess.post(url, json=body, timeout=120)
                    check(r)
                    if r.status_code == 200:
                        j = r.json()
                        results[j["id"]] = (j["status"], j["stdout"], j["exit_code"])
                except Exception as e:  # noqa: BLE001 - every failure is recorded
                    failures.append((i, repr(e)[:300]))
                with lock:
                    done[0] += 1
                    if done[0] == TOTAL // 10:
                        rss["early"] = rss_kb(s.proc.pid)

        threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - t0
        assert failures == [], f"{len(failures)} wrong or lost: {failures[:5]}"
        assert done[0] == TOTAL
        # every execution is recorded as it was answered: none lost
        bodies = [case(i)[0] for i in range(TOTAL)]
        assert len(results) == sum(1 for b in bodies if isinstance(b, dict) and "nope" not in b
                                   and not b["language"].startswith("cobra"))
        ids = list(results)
        stored_wrong = []

        def verify(part):
            sess = requests.Session()
            for eid in part:
                j = sess.get(f"{s.url}/api/executions/{eid}", timeout=30).json()
                if (j.get("status"), j.get("stdout"), j.get("exit_code")) != results[eid]:
                    stored_wrong.append((eid, j))
        checkers = [threading.Thread(target=verify, args=(ids[k::8],)) for k in range(8)]
        for t in checkers:
            t.start()
        for t in checkers:
            t.join()
        assert stored_wrong == [], f"{len(stored_wrong)} stored results differ: {stored_wrong[:3]}"
        # no sandbox left, memory flat
        deadline = time.time() + 10
        while sandbox_processes() or [c for c in sandbox_cgroups()
                                      if f"/sbx-{s.proc.pid}-" in c]:
            assert time.time() < deadline, (sandbox_processes(), sandbox_cgroups())
            time.sleep(0.1)
        end = rss_kb(s.proc.pid)
        assert end - rss["early"] < 16 * 1024, (rss, end)
        health = s.get("/health").json()
        assert health["active_sandboxes"] == 0 and health["running"] == 0
        print(f"\n{TOTAL} requests in {elapsed:.1f} s ({TOTAL / elapsed:.0f}/s); "
              f"server RSS {rss['early'] // 1024} MB after 10%, {end // 1024} MB at the end")
