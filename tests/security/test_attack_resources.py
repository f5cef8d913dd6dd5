"""Attacks through the real server. Resource exhaustion: limited, and a neighbour still runs meanwhile.

The server, the helpers and what "intact" means: attack.py; the C programs:
attack_programs.py."""
import re

from attack import Background, c_body, intact, leftovers, marker, neighbour, neighbour_during, run, srv, wait_until  # noqa: F401 (srv: the fixture)
from attack_programs import MEM_C, PROCS_C


def test_fork_bomb_c(srv):
    """A C fork bomb fills the process table of the host."""
    bomb = Background(srv, c_body(PROCS_C, "forkbomb",
                                  limits={"processes": 16, "wall_time_ms": 3000}))
    neighbour_during(srv, bomb)
    res = bomb.finish()
    assert res["status"] == "time_limit_exceeded", res
    assert res["message"] == "wall time limit of 3000 ms exceeded"
    m = re.fullmatch(r"go\nforked=(\d+) failed=1000 EAGAIN\n", res["stdout"])
    assert m and int(m.group(1)) < 16, res["stdout"]
    intact(srv)


def test_fork_bomb_bash(srv):
    """The classic shell fork bomb `:(){ :|:& };:` exhausts host pids."""
    bomb = Background(srv, {"language": "bash", "code": "echo go\n:(){ :|:& };:\nsleep 10\n",
                            "limits": {"processes": 16, "wall_time_ms": 2500}})
    neighbour_during(srv, bomb)
    res = bomb.finish()
    assert res["status"] == "time_limit_exceeded", res
    assert res["stdout"] == "go\n"
    assert "fork: retry: Resource temporarily unavailable" in res["stderr"]
    intact(srv)


def test_thread_bomb_python(srv):
    """Threads until the host cannot create any more tasks."""
    code = ("import threading, time\nprint('go', flush=True)\nn = 0\ntry:\n"
            "    while True:\n"
            "        threading.Thread(target=time.sleep, args=(30,), daemon=True).start(); n += 1\n"
            "except RuntimeError as e:\n    print('threads', n, e, flush=True)\ntime.sleep(30)\n")
    bomb = Background(srv, {"language": "python", "code": code,
                            "limits": {"processes": 32, "wall_time_ms": 2500}})
    neighbour_during(srv, bomb)
    res = bomb.finish()
    assert res["status"] == "time_limit_exceeded", res
    assert res["stdout"] == "go\nthreads 31 can't start new thread\n"
    intact(srv)


def test_thread_bomb_c(srv):
    """pthread_create with tiny stacks until EAGAIN: tasks, not memory, run out."""
    bomb = Background(srv, c_body(PROCS_C, "threadbomb",
                                  limits={"processes": 64, "wall_time_ms": 2500}))
    neighbour_during(srv, bomb)
    res = bomb.finish()
    assert res["status"] == "time_limit_exceeded", res
    assert res["stdout"] == "go\nthreads=63 EAGAIN\n"
    intact(srv)


def test_cpu_spin_in_many_threads(srv):
    """32 threads spinning to take every host core; CPU time is counted for all of them."""
    spin = Background(srv, c_body(PROCS_C, "cpuspin",
                                  limits={"cpu_time_ms": 1500, "wall_time_ms": 8000}))
    neighbour_during(srv, spin)
    res = spin.finish()
    assert res["status"] == "time_limit_exceeded", res
    assert res["message"] == "CPU time limit of 1500 ms exceeded"
    assert 1500 <= res["cpu_time_ms"] < 3000
    # max_cpu_percent 100: one core's worth, however many threads spin
    assert res["wall_time_ms"] >= 1400
    intact(srv)


def test_memory_bomb_anonymous(srv):
    """malloc + touch, 1 MiB every 25 ms, past the memory limit into host memory."""
    bomb = Background(srv, c_body(MEM_C, "slow_anon",
                                  limits={"memory_mb": 64, "wall_time_ms": 8000}))
    neighbour_during(srv, bomb, still_running_after=False)
    res = bomb.finish()
    assert res["status"] == "memory_limit_exceeded", res
    assert res["signal"] == 9 and res["stdout"] == "go\n"
    assert res["message"] == "memory limit of 65536 KB exceeded"
    assert res["memory_kb"] <= 65536
    intact(srv)


def test_memory_bomb_tmpfs_tmp(srv):
    """Files in /tmp live in RAM (tmpfs): a disk quota larger than memory must not let them exceed it."""
    code = "echo go\nfor i in $(seq 200); do head -c 1M /dev/zero > /tmp/f$i || exit 1; done\necho survived\n"
    bomb = Background(srv, {"language": "bash", "code": code,
                            "limits": {"memory_mb": 32, "disk_mb": 256, "wall_time_ms": 5000}})
    neighbour_during(srv, bomb, still_running_after=False)
    res = bomb.finish()
    assert res["status"] == "memory_limit_exceeded", res
    assert res["memory_kb"] <= 32768
    assert "survived" not in res["stdout"]
    intact(srv)


def test_memory_bomb_dev_shm(srv):
    """/dev/shm is a tmpfs of its own: filling it must count as the sandbox's memory."""
    code = ("import os\nprint('go', flush=True)\nblock = b'x' * (1 << 20)\n"
            "with open('/dev/shm/bomb', 'wb') as f:\n"
            "    for i in range(200):\n        f.write(block); f.flush()\nprint('survived')\n")
    res = run(srv, "python", code, {"memory_mb": 32, "disk_mb": 256, "wall_time_ms": 5000})
    assert res["status"] == "memory_limit_exceeded", res
    assert res["stdout"] == "go\n" and res["memory_kb"] <= 32768
    intact(srv)


def test_memory_via_kernel_socket_buffers(srv):
    """Unix socket buffers are kernel memory: thousands of full socketpairs must still hit the memory limit."""
    res = run(srv, "c", MEM_C, {"memory_mb": 32, "open_files": 4096, "wall_time_ms": 5000},
              args=["sockets"])
    assert res["status"] == "memory_limit_exceeded", res
    assert res["memory_kb"] <= 32768
    intact(srv)


def test_memory_via_kernel_pipe_buffers(srv):
    """Pipes grown to 1 MiB with F_SETPIPE_SZ and filled: kernel memory charged to the sandbox."""
    res = run(srv, "c", MEM_C, {"memory_mb": 32, "open_files": 4096, "wall_time_ms": 5000},
              args=["pipes"])
    assert res["status"] == "memory_limit_exceeded", res
    assert res["memory_kb"] <= 32768
    intact(srv)


def test_memfd_secret_is_bounded(srv):
    """memfd_secret takes pages out of the kernel's direct map: it must stay within RLIMIT_MEMLOCK."""
    res = run(srv, "c", MEM_C, {"memory_mb": 32, "file_size_kb": 1048576}, args=["secretmem"])
    assert res["status"] == "ok", res
    assert res["stdout"] in ("mmap EAGAIN\n", "memfd_secret ENOSYS\n", "memfd_secret EPERM\n")
    intact(srv)


def test_disk_fill(srv):
    """Writing until the disk is full: /tmp and /workspace together stop at disk_mb."""
    code = ("head -c 20M /dev/zero > /tmp/a; echo rc=$?\n"
            "head -c 20M /dev/zero > /workspace/b; echo rc=$?\n"
            "stat -c %s /tmp/a /workspace/b\n")
    res = run(srv, "bash", code, {"disk_mb": 8, "memory_mb": 64})
    assert res["status"] == "ok", res
    lines = res["stdout"].split()
    assert lines[:2] == ["rc=1", "rc=1"], res
    assert int(lines[2]) + int(lines[3]) <= 8 << 20
    assert res["stderr"].count("No space left on device") == 2
    intact(srv)


def test_inode_fill(srv):
    """Empty files and directories until no inode is left (tmpfs inodes are host memory)."""
    code = ("import os, errno\n"
            "def fill(make):\n    n = 0\n    try:\n        while True:\n            make(n); n += 1\n"
            "    except OSError as e:\n        return n, errno.errorcode[e.errno]\n"
            "print(*fill(lambda n: open(f'/tmp/f{n}', 'w').close()))\n"
            "print(*fill(lambda n: os.mkdir(f'/workspace/d{n}')))\n"
            "print(*fill(lambda n: open(f'/dev/shm/f{n}', 'w').close()))\n")
    res = run(srv, "python", code, {"wall_time_ms": 8000})
    assert res["status"] == "ok", res
    tmp, work, shm = [l.split() for l in res["stdout"].splitlines()]
    assert tmp[1] == work[1] == shm[1] == "ENOSPC", res["stdout"]
    assert 16000 < int(tmp[0]) <= 16384       # sandbox.max_inodes, shared by /tmp and /workspace
    assert int(work[0]) == 0
    assert int(shm[0]) <= 1024
    intact(srv)


def test_output_flood(srv):
    """An endless stdout stream, to exhaust the server's memory or starve its other clients."""
    rss = lambda: int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{srv.proc.pid}/status").read()).group(1))
    before = rss()
    code = "import sys\nwhile True:\n    sys.stdout.write('A' * 65536)\n"
    flood = Background(srv, {"language": "python", "code": code,
                             "limits": {"output_kb": 16384, "wall_time_ms": 5000}}, sse=False)
    assert wait_until(lambda: leftovers(srv) or flood.done.is_set()), "the flood never started"
    neighbour(srv)
    res = flood.finish()
    assert res["status"] == "output_limit_exceeded", res
    assert res["truncated"] is True and res["signal"] == 9
    assert res["message"] == "output limit of 16777216 bytes exceeded"
    assert len(res["stdout"]) + len(res["stderr"]) <= 16 << 20
    assert set(res["stdout"]) == {"A"}
    assert res["wall_time_ms"] < 3000
    del res, flood
    # what the server kept for it is bounded by the limit, not by the flood
    assert rss() - before < 128 << 10, (before, rss())
    intact(srv)


def test_output_flood_from_many_processes(srv):
    """Eight background writers on stdout and stderr; the writers must die with the run."""
    m = marker("yes")
    code = (f"for i in 1 2 3 4; do (exec -a {m} yes out) & (exec -a {m} yes err >&2) & done\n"
            "wait\n")
    res = run(srv, "bash", code, {"output_kb": 32, "wall_time_ms": 5000})
    assert res["status"] == "output_limit_exceeded", res
    assert res["truncated"] is True
    assert len(res["stdout"]) + len(res["stderr"]) <= 32768
    assert set(res["stdout"].split()) <= {"out"} and set(res["stderr"].split()) <= {"err"}
    intact(srv, m)


def test_fd_exhaustion(srv):
    """Descriptors until EMFILE, then pipes and sockets: the host's file table is not the limit."""
    res = run(srv, "c", MEM_C, {"open_files": 64}, args=["fds"])
    assert res["status"] == "ok", res
    assert res["stdout"] == "open 61 EMFILE\npipe EMFILE\nsocket EMFILE\ndup EMFILE\n"
    intact(srv)
