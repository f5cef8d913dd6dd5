"""make check-microvm: the microVM backend (QEMU microvm, TCG here) end to end.

Every run here boots a guest (~3 s under TCG, more for compilers), so the set
is small and fixed: a representative language subset, each limit's status,
the isolation proofs, the VMM's confinement read from /proc, and nothing left
behind.
"""
import asyncio
import glob
import json
import os
import re
import subprocess
import sys
import time

import pytest
import requests
import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
from conftest import SOULBOX, run_json, sandbox_cgroups, soulbox_run  # noqa: E402
from server import Server, wait_until  # noqa: E402

VM = ("--isolation", "microvm")
T = 240  # seconds for one CLI run (compilers under TCG on a loaded machine)


def vmm_processes():
    """QEMU and virtiofsd processes SoulBox started (their command lines)."""
    found = []
    for cmd in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmd, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        joined = b" ".join(argv)
        if b"sbx_agent=/.soulbox/soulbox" in joined or (b"virtiofsd" in argv[0] and
                                                          b"/vm-sbx-" in joined):
            found.append((int(cmd.split("/")[2]), joined.decode(errors="replace")))
    return found


@pytest.fixture(scope="module", autouse=True)
def no_vm_left():
    yield
    assert wait_until(lambda: not vmm_processes(), timeout=10), vmm_processes()
    assert sandbox_cgroups() == []
    assert glob.glob("/run/soulbox/vm-*") == []


# ---- languages: the same exact output as on namespaces ----

HELLO = {
    "python": 'print("Hello, SoulBox!")',
    "bash": 'echo "Hello, SoulBox!"',
    "javascript": 'console.log("Hello, SoulBox!")',
    "c": '#include <stdio.h>\nint main(void){ puts("Hello, SoulBox!"); return 0; }\n',
    "go": 'package main\nimport "fmt"\nfunc main() { fmt.Println("Hello, SoulBox!") }\n',
    "java": 'public class Main { public static void main(String[] a) '
            '{ System.out.println("Hello, SoulBox!"); } }\n',
}


@pytest.mark.parametrize("lang", list(HELLO))
def test_hello_in_each_language(lang):
    r = soulbox_run(lang, HELLO[lang], *VM, timeout=T)
    assert (r.code, r.out, r.err) == (0, "Hello, SoulBox!\n", ""), r


def test_result_shape_is_the_namespace_backends():
    code = "import sys\nprint(sys.stdin.read().upper())\nsys.exit(3)"
    ns = run_json("python", code, "--stdin", "-", stdin="abc", timeout=T)
    vm = run_json("python", code, *VM, "--stdin", "-", stdin="abc", timeout=T)
    assert set(vm) == set(ns)
    for k in ("status", "stdout", "stderr", "exit_code", "signal", "truncated"):
        assert vm[k] == ns[k], k
    assert vm["stdout"] == "ABC\n" and vm["exit_code"] == 3 and vm["status"] == "runtime_error"


# ---- limits: each status ----

def test_wall_time_limit():
    res = run_json("bash", "sleep 30", *VM, "--time-limit", "1", timeout=T)
    assert res["status"] == "time_limit_exceeded" and "wall" in res["message"]
    assert 1000 <= res["wall_time_ms"] < 4000


def test_cpu_time_limit():
    res = run_json("python", "while True: pass", *VM, "--cpu-time", "1", "--time-limit", "20",
                   timeout=T)
    assert res["status"] == "time_limit_exceeded" and "CPU" in res["message"]
    assert 1000 <= res["cpu_time_ms"] < 2500


def test_memory_limit():
    res = run_json("python", "x = bytearray(300 * 1024 * 1024)\nprint(len(x))", *VM,
                   "--memory", "64", timeout=T)
    assert res["status"] == "memory_limit_exceeded" and res["stdout"] == ""
    assert res["memory_kb"] <= 64 * 1024


def test_output_limit():
    res = run_json("bash", "yes 0123456789", *VM, "--output-limit", "64", timeout=T)
    assert res["status"] == "output_limit_exceeded" and res["truncated"] is True
    assert len(res["stdout"]) == 64 * 1024


def test_pids_limit():
    code = ("import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
            "            time.sleep(5); os._exit(0)\n        n += 1\nexcept OSError:\n"
            "    print('stopped at', n)\n")
    res = run_json("python", code, *VM, "--processes", "20", timeout=T)
    assert res["status"] == "ok" and res["stdout"].startswith("stopped at ")
    assert int(res["stdout"].split()[-1]) < 20


# ---- isolation proofs ----

def test_guest_kernel_is_not_the_hosts():
    r = soulbox_run("bash", "uname -r; cat /proc/version", *VM, timeout=T)
    assert r.code == 0, r
    release, version = r.out.splitlines()[:2]
    assert release != os.uname().release
    with open("/proc/version") as f:
        assert version != f.read().strip()
    assert release.endswith("-cloud-amd64")


def test_host_is_invisible():
    marker = "/run/soulbox-microvm-test-%d" % os.getpid()
    with open(marker, "w") as f:
        f.write("host secret\n")
    try:
        script = ("ls /proc | grep -c '^[0-9]'; cat %s 2>&1; ls /work /root 2>&1 | head -2; "
                  "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; "
                  "grep -c . /proc/mounts" % marker)
        r = soulbox_run("bash", script, *VM, timeout=T)
        lines = r.out.splitlines()
        assert int(lines[0]) < 10          # the sandbox's own processes only
        assert "host secret" not in r.out and "No such file" in lines[1]
        assert "No such file" in r.out     # /work, /root: not there
        assert [l for l in lines if l == "lo"] == ["lo"] and "eth0" not in r.out
    finally:
        os.unlink(marker)


def test_guest_sees_only_its_own_memory():
    r = soulbox_run("bash", "grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2", *VM,
                    "--memory", "128", timeout=T)
    kb = int(r.out)
    with open("/proc/meminfo") as f:
        host_kb = int(f.readline().split()[1])
    assert kb < 1024 * 1024 < host_kb  # a guest of 128 + 256 MiB, not the host's 24 GiB


# ---- the VMM's own confinement, read from /proc ----

def _cgroup_value(pid, controller, name):
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(",") or (ctrls == "" and controller == "unified"):
                for root in ("/sys/fs/cgroup/%s" % controller, "/sys/fs/cgroup"):
                    p = root + path + "/" + name
                    if os.path.exists(p):
                        with open(p) as g:
                            return g.read().strip(), path
    return None, None


def test_vmm_is_confined():
    with Server() as srv:
        r = srv.post("/api/executions", {"language": "bash", "code": "sleep 10; echo done",
                                         "isolation": "microvm",
                                         "limits": {"wall_time_ms": 60000, "memory_mb": 128}})
        assert r.status_code == 202, r.text
        ex = r.json()["id"]
        assert wait_until(lambda: len(vmm_processes()) == 2, timeout=30), vmm_processes()
        procs = dict(vmm_processes())
        qemu = [p for p, c in procs.items() if "sbx_agent" in c][0]
        fsd = [p for p, c in procs.items() if "virtiofsd" in c][0]
        def status():
            with open("/proc/%d/status" % qemu) as f:
                return dict(l.split(":", 1) for l in f if ":" in l)
        # QEMU installs its seccomp filter while it starts, a moment after exec
        assert wait_until(lambda: status()["Seccomp"].strip() == "2", timeout=20), status()
        st = status()
        uid = int(st["Uid"].split()[0])
        assert 2100000000 <= uid < 2100000000 + 65536    # a pool uid, never root
        assert st["Seccomp"].strip() == "2"             # QEMU's -sandbox on
        assert st["NoNewPrivs"].strip() == "1"
        assert st["CapEff"].strip() == "0000000000000000"
        mem, path = _cgroup_value(qemu, "memory", "memory.limit_in_bytes")
        if mem is None:
            mem, path = _cgroup_value(qemu, "unified", "memory.max")
        # guest RAM (128 + 256 overhead, rounded to 64) + the VMM's 320 MiB
        assert int(mem) == (384 + 320) << 20
        assert "/soulbox/sbx-" in path
        pids, _ = _cgroup_value(qemu, "pids", "pids.max")
        assert pids == "256"
        assert _cgroup_value(fsd, "pids", "pids.max")[1] == _cgroup_value(qemu, "pids",
                                                                          "pids.max")[1]
        # QEMU holds no host file open but /dev/null, the kernel and memfds
        fds = [os.readlink("/proc/%d/fd/%s" % (qemu, n)) for n in os.listdir("/proc/%d/fd" % qemu)]
        kernels = ("/boot/vmlinuz-", "/var/lib/soulbox/guest-kernel/boot/vmlinuz-")
        assert not [f for f in fds if f.startswith("/") and f != "/dev/null"
                    and not f.startswith("/memfd:") and not f.startswith(kernels)], fds
        res = srv.finished(ex, timeout=90)
        assert res["status"] == "ok" and res["stdout"] == "done\n", res
        assert wait_until(lambda: not vmm_processes(), timeout=30), vmm_processes()


def test_requests_validate_isolation():
    with Server() as srv:
        r = srv.execute({"language": "bash", "code": "true", "isolation": "kvm"})
        assert r.status_code == 400
        assert r.json()["error"]["message"] == "isolation: 'kvm' is not namespaces or microvm"
        r = srv.execute({"language": "bash", "code": "echo via rest", "isolation": "microvm"},
                        timeout=T)
        assert r.status_code == 200 and r.json()["stdout"] == "via rest\n", r.text
    with Server("sandbox:\n  microvm:\n    enabled: false\n") as srv:
        r = srv.execute({"language": "bash", "code": "true", "isolation": "microvm"})
        assert r.status_code == 400
        assert r.json()["error"]["message"] == "isolation: microvm is not enabled on this server"


def test_cli_rejects_unknown_isolation():
    r = soulbox_run("bash", "true", "--isolation", "xen")
    assert r.code == 2 and "--isolation: 'xen' is not namespaces or microvm" in r.err


# ---- sessions: commands, files, code contexts, pause and resume ----

def test_session_in_a_microvm():
    with Server() as srv:
        r = srv.post("/api/sandboxes", {"template": "python", "isolation": "microvm"}, timeout=T)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        assert r.json()["isolation"] == "microvm"
        r = srv.post("/api/sandboxes/%s/commands" % sid,
                     {"cmd": "uname -r; printf hi > /home/user/f.txt; cat f.txt"}, timeout=T)
        assert r.status_code == 200, r.text
        release, out = r.json()["stdout"].splitlines()
        assert release != os.uname().release and out == "hi"
        r = requests.put(srv.url + "/api/sandboxes/%s/files?path=/home/user/in.bin" % sid,
                         data=bytes(range(256)) * 64, timeout=60,
                         headers={"Content-Type": "application/octet-stream"})
        assert r.status_code in (200, 201), r.text
        r = srv.get("/api/sandboxes/%s/files?path=/home/user/in.bin" % sid)
        assert r.status_code == 200 and r.content == bytes(range(256)) * 64
        r = srv.post("/api/sandboxes/%s/execute" % sid, {"code": "x = 6 * 7\nx"}, timeout=T)
        assert r.status_code == 200, r.text
        assert '"text/plain":"42"' in r.text.replace(" ", "")
        r = srv.post("/api/sandboxes/%s/pause" % sid, timeout=T)
        assert r.status_code == 200, r.text
        assert wait_until(lambda: not vmm_processes(), timeout=30)
        r = srv.post("/api/sandboxes/%s/resume" % sid, timeout=T)
        assert r.status_code == 200, r.text
        r = srv.post("/api/sandboxes/%s/commands" % sid, {"cmd": "cat f.txt; echo; uname -r"},
                     timeout=T)
        assert r.json()["stdout"].splitlines()[0] == "hi"
        assert r.json()["stdout"].splitlines()[1] != os.uname().release
        assert srv.get("/api/sandboxes/%s" % sid).json()["isolation"] == "microvm"
        r = requests.delete(srv.url + "/api/sandboxes/%s" % sid, timeout=60)
        assert r.status_code == 204
        assert wait_until(lambda: not vmm_processes(), timeout=30)


def test_server_default_isolation_applies_to_sessions_and_runs():
    with Server("sandbox:\n  isolation: microvm\n") as srv:
        r = srv.post("/api/sandboxes", {"template": "base"}, timeout=T)
        assert r.status_code == 201 and r.json()["isolation"] == "microvm", r.text
        requests.delete(srv.url + "/api/sandboxes/%s" % r.json()["id"], timeout=60)
        r = srv.execute({"language": "bash", "code": "uname -r"}, timeout=T)
        assert r.json()["stdout"].strip() != os.uname().release
        r = srv.execute({"language": "bash", "code": "uname -r", "isolation": "namespaces"},
                        timeout=T)
        assert r.json()["stdout"].strip() == os.uname().release


# ---- streaming: output as it comes, interactive stdin, test cases ----

def test_streaming_and_interactive_stdin():
    with Server() as srv:
        body = {"language": "python", "isolation": "microvm",
                "code": "import sys\nprint('ready', flush=True)\nfor l in sys.stdin:\n"
                        "    print(l.strip().upper(), flush=True)\n"}
        r = requests.post(srv.url + "/api/execute", json=dict(body, stdin="a\nb\n"),
                          headers={"Accept": "text/event-stream"}, stream=True, timeout=T)
        assert r.status_code == 200
        events = [l for l in r.iter_lines(decode_unicode=True) if l.startswith("data:")]
        text = "".join(json.loads(e[5:]).get("data", "") for e in events
                       if '"stdout"' in e)
        assert "ready\nA\nB\n" in text, events
    with Server() as srv:
        asyncio.run(asyncio.wait_for(_interactive(srv, body), T))


async def _interactive(srv, body):
    async with websockets.connect("ws://127.0.0.1:%d/api/ws" % srv.port) as c:
        await c.send(json.dumps(dict(body, type="execute")))
        got = ""

        async def until(text):
            nonlocal got
            while text not in got:
                m = json.loads(await c.recv())
                got += m.get("data", "") if m.get("type") == "stdout" else ""

        await until("ready\n")
        await c.send(json.dumps({"type": "stdin", "data": "hello vm\n"}))
        await until("HELLO VM\n")
        await c.send(json.dumps({"type": "stdin_close"}))
        while True:
            m = json.loads(await c.recv())
            if m.get("type") == "exit":
                break
        assert m["status"] == "ok" and m["stdout"] == "ready\nHELLO VM\n", m


def test_test_cases_in_a_microvm():
    with Server() as srv:
        r = srv.execute({"language": "c", "isolation": "microvm",
                         "code": '#include <stdio.h>\nint main(void){int a,b;scanf("%d %d",&a,&b);'
                                 'printf("%d\\n",a+b);return 0;}\n',
                         "test_cases": [{"stdin": "1 2", "expected_output": "3\n"},
                                        {"stdin": "2 2", "expected_output": "5\n"}]},
                        timeout=T)
        assert r.status_code == 200, r.text
        cases = r.json()["test_cases"]
        assert [c["verdict"] for c in cases] == ["accepted", "wrong_answer"], cases


# ---- a guest that panics or hangs: internal_error with the reason, that VM only ----

HOOKS = {"SOULBOX_TEST_VM_HOOKS": "1"}


def test_guest_kernel_panic_ends_that_vm_only():
    with Server(env=HOOKS) as srv:
        other = srv.post("/api/executions", {"language": "bash", "isolation": "microvm",
                                             "code": "sleep 8; echo survived"})
        assert other.status_code == 202
        assert wait_until(lambda: len(vmm_processes()) == 2, timeout=60)
        r = srv.execute({"language": "bash", "isolation": "microvm",
                         "code": "echo SOULBOX-TEST-GUEST-PANIC; sleep 30"}, timeout=T)
        assert r.status_code == 500 and r.json()["error"] == {
            "code": "internal_error", "message": "sandbox agent ended unexpectedly (guest kernel "
            "panic (Kernel panic - not syncing: sysrq triggered crash))"}, r.text
        rec = srv.get("/api/executions?limit=5").json()
        rec = rec.get("executions", rec.get("items", rec))
        panicked = [e for e in rec if e.get("status") == "internal_error"]
        assert panicked and "guest kernel panic" in json.dumps(panicked[0]), rec
        done = srv.finished(other.json()["id"], timeout=90)
        assert done["status"] == "ok" and done["stdout"] == "survived\n", done
        assert srv.execute({"language": "bash", "code": "echo fine", "isolation": "microvm"},
                           timeout=T).json()["stdout"] == "fine\n"


def test_hung_guest_is_destroyed():
    with Server("sandbox:\n  microvm:\n    hang_timeout_ms: 5000\n", env=HOOKS) as srv:
        t0 = time.monotonic()
        r = srv.execute({"language": "bash", "isolation": "microvm",
                         "limits": {"wall_time_ms": 60000},
                         "code": "echo SOULBOX-TEST-GUEST-HANG; sleep 50"}, timeout=T)
        assert r.status_code == 500 and r.json()["error"] == {
            "code": "internal_error", "message": "sandbox agent ended unexpectedly (the guest "
            "stopped responding for 5000 ms)"}, r.text
        assert time.monotonic() - t0 < 30
        assert wait_until(lambda: not vmm_processes(), timeout=10)


def test_without_the_hooks_markers_are_just_output():
    r = run_json("bash", "echo SOULBOX-TEST-GUEST-PANIC", *VM, timeout=T)
    assert r["status"] == "ok" and r["stdout"] == "SOULBOX-TEST-GUEST-PANIC\n"


# ---- pools of booted VMs ----

def test_pool_of_booted_vms_serves_warm_runs():
    cfg = "sandbox:\n  pools:\n    - {language: python, size: 1, isolation: microvm}\n"
    with Server(cfg, pools=True) as srv:
        def ready():
            for l in srv.get("/metrics").text.splitlines():
                if l.startswith('soulbox_pool_ready{language="python",isolation="microvm"}'):
                    return float(l.split()[-1])
            return 0
        assert wait_until(lambda: ready() == 1, timeout=90)
        r = srv.execute({"language": "python", "isolation": "microvm",
                         "code": "import os\nprint(os.uname().release)"}, timeout=T)
        res = r.json()
        assert res["status"] == "ok" and res["warm"] is True, res
        assert res["stdout"].strip() != os.uname().release
        # a namespace request never takes a VM from the pool, nor the reverse
        r = srv.execute({"language": "python", "code": "import os\nprint(os.uname().release)"})
        assert r.json()["stdout"].strip() == os.uname().release and r.json()["warm"] is False
        m = srv.get("/metrics").text
        assert 'soulbox_pool_hits_total{language="python",isolation="microvm"} 1' in m


def test_cli_sandbox_create_and_exec_in_a_microvm():
    with Server() as srv:
        cli = [SOULBOX, "sandbox", "--server", srv.url]
        r = subprocess.run(cli + ["create", "--isolation", "microvm", "--json"],
                           capture_output=True, text=True, timeout=T)
        assert r.returncode == 0, r.stderr
        sb = json.loads(r.stdout)
        assert sb["isolation"] == "microvm"
        r = subprocess.run(cli + ["exec", sb["id"], "--", "uname", "-r"], capture_output=True,
                           text=True, timeout=T)
        assert r.returncode == 0 and r.stdout.strip() != os.uname().release, r
        r = subprocess.run(cli + ["ls"], capture_output=True, text=True, timeout=60)
        assert re.search(rf"^{sb['id']} +base +running +microvm +\d+$", r.stdout, re.M), r.stdout
        r = subprocess.run(cli + ["kill", sb["id"]], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert wait_until(lambda: not vmm_processes(), timeout=30)
