"""Pausing and resuming sessions: files come back (and nothing else runs),
paused sessions survive a server restart, running ones are recorded as ended
after a crash, and the E2B SDK's pause/connect works on top."""
import json
import os
import subprocess

import pytest
import requests

from conftest import ROOT, sandbox_processes
from server import Server, wait_until

NODE_DIR = os.path.join(ROOT, "tests", "e2b_node")


def create(s, **body):
    r = requests.post(s.url + "/api/sandboxes", json=dict({"template": "python"}, **body))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def run(s, sid, cmd):
    r = requests.post(f"{s.url}/api/sandboxes/{sid}/commands", json={"cmd": cmd})
    return r


def audit(s):
    out = subprocess.run([s.argv()[0], "audit", "--data-dir", s.data_dir, "--json"],
                         capture_output=True, text=True)
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()] if out.returncode == 0 else []


def saved_files(s):
    d = os.path.join(s.data_dir, "sessions")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_pause_keeps_files_and_releases_the_sandbox():
    with Server() as s:
        sid = create(s, metadata={"k": "v"})
        assert run(s, sid, "echo kept > f.txt; mkdir -p /tmp/d; echo t > /tmp/d/x; "
                           "ln -s /etc/passwd lnk; (sleep 300 &)").status_code == 200
        before = len(sandbox_processes())
        r = requests.post(f"{s.url}/api/sandboxes/{sid}/pause")
        assert r.status_code == 200 and r.json()["state"] == "paused"
        assert wait_until(lambda: len(sandbox_processes()) < before, 10)
        assert sandbox_processes() == []           # nothing of it runs (or uses memory)
        assert saved_files(s) == [sid + ".json", sid + ".tar"]
        info = requests.get(f"{s.url}/api/sandboxes/{sid}").json()
        assert info["state"] == "paused" and info["metadata"] == {"k": "v"}
        # a paused session takes no commands, and says why
        r = run(s, sid, "true")
        assert r.status_code == 409 and "resume" in r.json()["error"]["message"]
        assert requests.post(f"{s.url}/api/sandboxes/{sid}/pause").status_code == 409
        listed = requests.get(s.url + "/api/sandboxes?state=paused").json()["sandboxes"]
        assert [x["id"] for x in listed] == [sid]
        r = requests.post(f"{s.url}/api/sandboxes/{sid}/resume")
        assert r.status_code == 200 and r.json()["state"] == "running"
        out = run(s, sid, "cat f.txt /tmp/d/x; readlink lnk; pgrep -c sleep || true").json()
        assert out["stdout"] == "kept\nt\n/etc/passwd\n0\n"
        assert saved_files(s) == [sid + ".json"]   # the snapshot is gone once back
        assert requests.delete(f"{s.url}/api/sandboxes/{sid}").status_code == 204
        assert wait_until(lambda: saved_files(s) == [], 5)


def test_paused_sessions_survive_a_restart_and_running_ones_are_recorded_ended():
    s = Server().start()
    try:
        paused = create(s)
        running = create(s)
        assert run(s, paused, "echo across > a.txt").status_code == 200
        assert requests.post(f"{s.url}/api/sandboxes/{paused}/pause").status_code == 200
        s.kill9()                                   # a crash: nothing is cleaned up
        s.start()
        ids = {x["id"]: x["state"] for x in requests.get(s.url + "/api/sandboxes").json()["sandboxes"]}
        assert ids == {paused: "paused"}
        assert requests.get(f"{s.url}/api/sandboxes/{running}").status_code == 404
        assert requests.post(f"{s.url}/api/sandboxes/{paused}/resume").status_code == 200
        assert run(s, paused, "cat a.txt").json()["stdout"] == "across\n"
        requests.delete(f"{s.url}/api/sandboxes/{paused}")
        ended = [a for a in audit(s) if a.get("event") == "session_ended"]
        assert any(a.get("request_id") == running and "server stopped" in (a.get("detail") or "")
                   for a in ended), ended
    finally:
        s.stop()


def test_graceful_stop_keeps_paused_and_ends_running():
    s = Server().start()
    try:
        paused, running = create(s), create(s)
        requests.post(f"{s.url}/api/sandboxes/{paused}/pause")
        assert s.stop() == 0
        assert saved_files(s) == [paused + ".json", paused + ".tar"]
        s.start()
        listed = requests.get(s.url + "/api/sandboxes").json()["sandboxes"]
        assert [(x["id"], x["state"]) for x in listed] == [(paused, "paused")]
        requests.delete(f"{s.url}/api/sandboxes/{paused}")
    finally:
        s.stop()


def test_another_key_cannot_pause_or_resume():
    keys = {"SOULBOX_API_KEYS": "a:a-secret,b:b-secret"}
    with Server(env=keys) as s:
        ha, hb = {"X-API-Key": "a-secret"}, {"X-API-Key": "b-secret"}
        r = requests.post(s.url + "/api/sandboxes", json={"template": "python"}, headers=ha)
        sid = r.json()["id"]
        assert requests.post(f"{s.url}/api/sandboxes/{sid}/pause", headers=hb).status_code == 404
        assert requests.post(f"{s.url}/api/sandboxes/{sid}/pause", headers=ha).status_code == 200
        assert requests.post(f"{s.url}/api/sandboxes/{sid}/resume", headers=hb).status_code == 404
        assert requests.delete(f"{s.url}/api/sandboxes/{sid}", headers=hb).status_code == 404
        assert requests.delete(f"{s.url}/api/sandboxes/{sid}", headers=ha).status_code == 204


def test_e2b_sdk_pause_and_connect_resumes():
    script = r"""
import { Sandbox } from 'e2b'
const sbx = await Sandbox.create()
await sbx.files.write('/home/user/keep.txt', 'still here')
await sbx.pause()
const info = await Sandbox.getInfo(sbx.sandboxId)
const back = await Sandbox.connect(sbx.sandboxId)
const text = await back.files.read('/home/user/keep.txt')
await back.kill()
console.log(JSON.stringify({ state: info.state, text }))
"""
    with Server() as s:
        path = os.path.join(NODE_DIR, "pause_flow.mjs")
        with open(path, "w") as f:
            f.write(script)
        try:
            env = dict(os.environ, E2B_API_URL=s.url, E2B_SANDBOX_URL=s.url, E2B_API_KEY="k")
            p = subprocess.run(["node", "pause_flow.mjs"], cwd=NODE_DIR, env=env,
                               capture_output=True, text=True, timeout=120)
        finally:
            os.unlink(path)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == {"state": "paused", "text": "still here"}


def test_a_paused_sessions_contexts_wait_for_the_resume():
    with Server() as s:
        sid = create(s)
        r = requests.post(f"{s.url}/api/sandboxes/{sid}/contexts", json={"language": "javascript"})
        js = r.json()["id"]
        ev = requests.post(f"{s.url}/api/sandboxes/{sid}/execute",
                           json={"code": "globalThis.n = 1; n", "context_id": js}).text
        assert '"text/plain":"1"' in ev
        # node's threads count as the session's processes: the pause's tar still runs
        assert requests.post(f"{s.url}/api/sandboxes/{sid}/pause").status_code == 200
        r = requests.post(f"{s.url}/api/sandboxes/{sid}/contexts/{js}/restart")
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
        r = requests.post(f"{s.url}/api/sandboxes/{sid}/execute", json={"code": "1", "context_id": js})
        assert r.status_code == 409
        assert requests.get(s.url + "/health").status_code == 200      # the server is fine
        assert requests.post(f"{s.url}/api/sandboxes/{sid}/resume").status_code == 200
        ev = requests.post(f"{s.url}/api/sandboxes/{sid}/execute",
                           json={"code": "typeof n", "context_id": js}).text
        assert "'undefined'" in ev      # the same context id, a fresh interpreter
        requests.delete(f"{s.url}/api/sandboxes/{sid}")


def test_kill9_with_20_live_sessions_leaves_nothing_and_paused_ones_come_back():
    from conftest import sandbox_cgroups, sandbox_mounts
    s = Server("sessions:\n  max_per_key: 50\n").start()
    try:
        running = [create(s) for _ in range(18)]
        paused = [create(s) for _ in range(2)]
        for sid in running:       # something that would like to outlive its session
            # setsid'd (its own session: it outlives the command) once the command ends
            assert run(s, sid, "(setsid sleep 600 &) ; (nohup sleep 600 >/dev/null 2>&1 &); "
                               "sleep 0.2").status_code == 200
        for sid in paused:
            assert run(s, sid, f"echo {sid} > id.txt").status_code == 200
            assert requests.post(f"{s.url}/api/sandboxes/{sid}/pause").status_code == 200
        # an agent and the setsid'd sleep each (a command's own process group,
        # the nohup'd sleep included, goes when the command exits)
        assert wait_until(lambda: len(sandbox_processes()) >= 18 * 2, 5), len(sandbox_processes())
        s.kill9()
        # they die with the server (as test_faults.py's kill -9 waits for too);
        # their cgroups stay until the next start removes them
        assert wait_until(lambda: sandbox_processes() == [], 15), sandbox_processes()
        s.start()
        # the start removes them; one whose tasks are not reaped yet goes as
        # soon as they are (the engine retries from its loop)
        assert wait_until(lambda: sandbox_cgroups() == [], 15), sandbox_cgroups()
        assert sandbox_mounts() == []
        listed = {x["id"]: x["state"] for x in requests.get(s.url + "/api/sandboxes").json()["sandboxes"]}
        assert listed == {sid: "paused" for sid in paused}
        for sid in paused:
            assert requests.post(f"{s.url}/api/sandboxes/{sid}/resume").status_code == 200
            assert run(s, sid, "cat id.txt").json()["stdout"] == sid + "\n"
            requests.delete(f"{s.url}/api/sandboxes/{sid}")
        ended = {a.get("request_id") for a in audit(s) if a.get("event") == "session_ended"}
        assert set(running) <= ended
    finally:
        s.stop()
