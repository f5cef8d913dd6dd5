"""Attacks through the real server. Escaping the kill: nothing outlives its run.

The server, the helpers and what "intact" means: attack.py; the C programs:
attack_programs.py."""
import glob
import json
import os
import socket
import time

from attack import Background, UID_BASE, _ancestry, c_body, host_pids, intact, marker, run, srv, wait_until  # noqa: F401 (srv: the fixture)
from attack_programs import PROCS_C


def test_daemonize_double_fork_setsid(srv):
    """A double-forked, setsid, SIGTERM-ignoring daemon outlives the run."""
    m = marker("daemon")
    attack = Background(srv, c_body(PROCS_C, "daemonize", m, "1000"))
    attack.started()
    seen = host_pids(m)
    res = attack.finish()
    assert seen, "the daemon never ran: the probe proves nothing"
    assert res["status"] == "ok", res
    assert res["stdout"] == "daemon running\nparent done\n"
    intact(srv, m)


def test_daemonize_bash_nohup_disown(srv):
    """`setsid nohup ... & disown` from a shell script, then the script exits."""
    m = marker("nohup")
    code = (f"setsid nohup bash -c 'exec -a {m} sleep 1000' </dev/null >/dev/null 2>&1 &\n"
            "disown\nsleep 0.3\necho started\n")
    res = run(srv, "bash", code)
    assert res["status"] == "ok" and res["stdout"] == "started\n", res
    intact(srv, m)


def test_pdeathsig_and_subreaper_games(srv):
    """A subreaper orphans children that cleared PR_SET_PDEATHSIG, then kills itself."""
    m = marker("orphan")
    attack = Background(srv, c_body(PROCS_C, "orphans", m))
    attack.started()
    seen = host_pids(m)
    res = attack.finish()
    assert len(seen) >= 3, seen
    assert res["status"] == "runtime_error" and res["signal"] == 9, res
    assert res["stdout"] == "orphans running\n"
    intact(srv, m)


def test_ignoring_every_catchable_signal(srv):
    """A process (and its child) ignoring SIGTERM, SIGINT, SIGHUP... to survive a polite kill."""
    m = marker("ignore")
    code = ("import signal, subprocess, time\n"
            "for s in signal.valid_signals():\n    try: signal.signal(s, signal.SIG_IGN)\n"
            "    except (OSError, ValueError): pass\n"
            f"subprocess.Popen(['{m}', '1000'], executable='/bin/sleep')\n"
            "print('ignoring', flush=True)\n"
            "while True:\n    try: time.sleep(1)\n    except BaseException: pass\n")
    t0 = time.monotonic()
    res = run(srv, "python", code, {"wall_time_ms": 1500})
    took = time.monotonic() - t0
    assert res["status"] == "time_limit_exceeded", res
    assert res["stdout"] == "ignoring\n" and res["signal"] == 9
    assert 1500 <= res["wall_time_ms"] < 2500 and took < 5
    intact(srv, m)


def test_sigstop_itself(srv):
    """A program stops itself (and a child) with SIGSTOP to hang the supervisor."""
    m = marker("stopped")
    code = ("import os, signal, subprocess\n"
            f"p = subprocess.Popen(['{m}', '1000'], executable='/bin/sleep')\n"
            "os.kill(p.pid, signal.SIGSTOP)\nprint('stopping', flush=True)\n"
            "os.kill(os.getpid(), signal.SIGSTOP)\nprint('resumed')\n")
    t0 = time.monotonic()
    res = run(srv, "python", code, {"wall_time_ms": 1500})
    assert time.monotonic() - t0 < 5
    assert res["status"] == "time_limit_exceeded", res
    assert res["stdout"] == "stopping\n"
    intact(srv, m)


def test_zombie_pile(srv):
    """Unreaped children fill the process table with zombies."""
    res = run(srv, "c", PROCS_C, {"processes": 64}, args=["zombies"])
    assert res["status"] == "ok", res
    assert res["stdout"] == "zombies=63 EAGAIN\n"

    def zombies():
        found = []
        for st in glob.glob("/proc/[0-9]*/status"):
            try:
                with open(st) as f:
                    fields = dict(l.split(":", 1) for l in f if ":" in l)
                uid = int(fields["Uid"].split()[0])
                if UID_BASE <= uid < UID_BASE + 65536 and fields["State"].strip().startswith("Z"):
                    if any(p == srv.proc.pid for p, _ in _ancestry(int(st.split("/")[2]))):
                        found.append(st)
            except (OSError, KeyError, ValueError):
                pass
        return found
    assert wait_until(lambda: zombies() == [], timeout=10), zombies()
    intact(srv)


def test_output_pipe_held_by_orphan(srv):
    """A background child keeps stdout open after the program exits, to stall the result."""
    m = marker("holder")
    code = f"(exec -a {m} sleep 1000) &\ndisown\necho done\n"
    t0 = time.monotonic()
    res = run(srv, "bash", code, {"wall_time_ms": 8000})
    assert time.monotonic() - t0 < 4
    assert res["status"] == "ok" and res["stdout"] == "done\n", res
    assert res["wall_time_ms"] < 2000
    intact(srv, m)


def test_signals_to_the_agent(srv):
    """Every signal, plain and queued, to pid 1 (the agent) and kill(-1): the supervisor must report truly."""
    res = run(srv, "c", PROCS_C, args=["signal_agent"])
    assert res["status"] == "runtime_error" and res["exit_code"] == 7, res
    assert res["stdout"] == "survived, 0 refused\n"
    assert res["message"] == "exited with code 7"
    intact(srv)


def test_agent_rlimits_cannot_be_changed(srv):
    """prlimit() on pid 1 (the agent, same real uid) to lower its CPU and file limits from inside."""
    res = run(srv, "c", PROCS_C, args=["agent_rlimit"])
    try:
        assert res["stdout"] == "prlimit(1, RLIMIT_CPU) EPERM\nprlimit(1, RLIMIT_NOFILE) EPERM\n", res
    finally:
        intact(srv)


def test_program_cannot_kill_its_agent(srv):
    """Kill the supervisor (pid 1) through its rlimits, turning the run into a server-side internal error."""
    r = srv.execute(c_body(PROCS_C, "agent_cpu_kill", "15",
                           limits={"wall_time_ms": 30000, "cpu_time_ms": 60000}))
    try:
        assert r.status_code == 200, r.text
        res = r.json()
        assert res["status"] == "ok" and res["stdout"].endswith("agent survived\n"), res
    finally:
        intact(srv)


def test_kill_host_processes_by_pid(srv):
    """Signal the server, the test runner and host init by their host pids."""
    code = ("import os, errno\n"
            f"for pid in ({srv.proc.pid}, {os.getpid()}, {os.getppid()}):\n"
            "    try:\n        os.kill(pid, 9); print(pid, 'KILLED')\n"
            "    except OSError as e:\n        print(pid, errno.errorcode[e.errno])\n")
    res = run(srv, "python", code)
    assert res["status"] == "ok", res
    assert res["stdout"] == "".join(f"{p} ESRCH\n" for p in (srv.proc.pid, os.getpid(), os.getppid()))
    intact(srv)


def test_client_disconnect_kills_the_sandbox(srv):
    """A client that hangs up leaves its sandbox running forever."""
    m = marker("abandoned")
    body = json.dumps({"language": "bash", "code": f"exec -a {m} sleep 30",
                       "limits": {"wall_time_ms": 30000}}).encode()
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.sendall(b"POST /api/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert wait_until(lambda: host_pids(m), timeout=10), "the program never started"
    sock.close()
    intact(srv, m)
