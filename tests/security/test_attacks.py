"""Attacks through the real server: every program here is hostile, and goes in
over HTTP (`POST /api/execute`) like any client's code.

Each test asserts two things: the attack failed (the exact status, errno or
output), and the host and the other sandboxes are unchanged afterwards
(`intact`: host canary files and system files untouched, no sandbox process
left, the server healthy and still running a neighbour's `print(6*7)`).
Resource attacks also run a neighbour *while* they are running.

Tests marked `xfail(strict=True)` with a reason starting `VULNERABILITY` or
`LEAK` are attacks that currently SUCCEED: the test asserts the secure
behaviour, and turns into a failure (XPASS) once the hole is closed so the
marker can be removed. See docs/security.md.
"""
import base64
import ctypes
import glob
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import ROOT, UID_BASE, sandbox_processes  # noqa: E402
from server import Server  # noqa: E402

SECRET_ENV = "SOULBOX_ATTACK_TEST_SECRET"
SECRET = "host-secret-" + uuid.uuid4().hex
RUN_ID = uuid.uuid4().hex[:10]


def marker(name):
    """A string unique to this test run, for `pgrep -f` on the host."""
    return f"sbx-attack-{name}-{RUN_ID}"


# ---- the server, the host's canaries, and what "intact" means ----

def _file_state(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    digest = None
    if os.path.isfile(path) and not os.path.islink(path):
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
    return (digest, st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns)


def host_state(s):
    """What no sandbox may change: canaries, system files, the server's config,
    the compile cache (no symlinks in it), and the top of the host tree."""
    files = [s.host_canary, s.private_canary, s.config, "/etc/passwd", "/etc/shadow",
             "/etc/group", "/etc/hostname", "/etc/hosts"]
    state = {p: _file_state(p) for p in files}
    for d in ("/", "/usr", "/etc", s.tmp, s.data_dir):
        state["ls " + d] = sorted(os.listdir(d))
    links = []
    for dirpath, dirnames, filenames in os.walk(s.cache_dir):
        links += [os.path.join(dirpath, n) for n in dirnames + filenames
                  if os.path.islink(os.path.join(dirpath, n))]
    state["cache symlinks"] = links
    with open("/proc/sys/kernel/core_pattern") as f:
        state["core_pattern"] = f.read()
    with open("/proc/sys/kernel/hostname") as f:
        state["hostname"] = f.read()
    return state


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    cache = base / "cache"
    s = Server(f"server:\n  max_concurrent: 8\nsandbox:\n  compile_cache_dir: {cache}\n",
               env={SECRET_ENV: SECRET})
    s.cache_dir = str(cache)
    # A host file where sandboxes write their own files (/tmp), under a name an
    # attack can guess, and one next to the server's config and data.
    s.host_canary = f"/tmp/soulbox-canary-{RUN_ID}"
    with open(s.host_canary, "w") as f:
        f.write("#!/bin/sh\necho HOST FILE FOLLOWED\n")
    os.chmod(s.host_canary, 0o755)
    s.private_canary = os.path.join(s.tmp, "canary")
    with open(s.private_canary, "w") as f:
        f.write(SECRET + "\n")
    with s:
        s.wait_languages()
        s.baseline = host_state(s)
        yield s
    os.unlink(s.host_canary)


def _ancestry(pid):
    """(pid, comm) from the process up to init."""
    chain = []
    while pid > 1 and len(chain) < 64:
        try:
            with open(f"/proc/{pid}/stat") as f:
                data = f.read()
        except OSError:
            break
        comm = data[data.index("(") + 1:data.rindex(")")]
        chain.append((pid, comm))
        pid = int(data[data.rindex(")") + 2:].split()[1])
    return chain


def leftovers(s):
    """Live processes with a sandbox uid that belong to this server, or to no
    SoulBox at all (an escapee is re-parented away from its server). Other
    SoulBox instances on the same machine (other test sessions) are theirs."""
    mine = []
    for status in sandbox_processes():
        pid = int(status.split("/")[2])
        chain = _ancestry(pid)[1:]
        owner = next((p for p, comm in chain if comm.startswith("soulbox") and
                      comm != "soulbox-agent"), None)
        if owner is None or owner == s.proc.pid:
            mine.append(status)
    return mine


def wait_until(pred, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def host_pids(pattern):
    """Host processes whose command line contains pattern (pgrep -f)."""
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def assert_gone(pattern):
    """Nothing with this marker survives on the host (polled up to 10 s)."""
    left = wait_until(lambda: host_pids(pattern) == [], timeout=10)
    assert left, f"survivors on the host: {host_pids(pattern)} ({pattern})"


def neighbour(s, limit_s=5.0):
    """Another client's ordinary run: correct output, in sane time."""
    t0 = time.monotonic()
    r = s.execute({"language": "python", "code": "print(6*7)"})
    took = time.monotonic() - t0
    assert r.status_code == 200, r.text
    res = r.json()
    assert (res["status"], res["stdout"], res["exit_code"]) == ("ok", "42\n", 0), res
    assert took < limit_s, f"neighbour took {took:.2f} s"
    return took


def intact(s, *markers):
    """The host and the service are unchanged by the attack that just ran."""
    for m in markers:
        assert_gone(m)
    left = wait_until(lambda: leftovers(s) == [], timeout=10)
    assert left, f"sandbox processes left: {leftovers(s)}"
    assert host_state(s) == s.baseline
    assert s.proc.poll() is None, "the server died"
    h = s.get("/health")
    assert h.status_code == 200 and h.json()["status"] == "ok", h.text
    neighbour(s)


def run(s, language, code=None, limits=None, files=None, args=None, **extra):
    body = {"language": language, **extra}
    if code is not None:
        body["code"] = code
    if files is not None:
        body["files"] = files
    if limits:
        body["limits"] = limits
    if args:
        body["args"] = args
    r = s.execute(body)
    assert r.status_code == 200, r.text
    return r.json()


class Background:
    """An execution started in a thread. With sse (the default) it streams
    Server-Sent Events, so `started()` returns once the program has printed its
    first output: from then on it is certainly running."""

    def __init__(self, s, body, sse=True):
        self.result = None
        self.error = None
        self.output = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sse if sse else self._sync,
                                       args=(s, body), daemon=True)
        self.thread.start()

    def _sse(self, s, body):
        try:
            with requests.post(s.url + "/api/execute", data=json.dumps(body), stream=True,
                               headers={"Content-Type": "application/json",
                                        "Accept": "text/event-stream"}, timeout=90) as r:
                assert r.status_code == 200, r.text
                event = None
                for line in r.iter_lines():
                    line = line.decode()
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        if event in ("stdout", "stderr"):
                            self.output.set()
                        elif event == "exit":
                            self.result = json.loads(line[6:])
        except Exception as e:  # reported by finish()
            self.error = e
        finally:
            self.done.set()
            self.output.set()

    def _sync(self, s, body):
        try:
            r = s.execute(body, timeout=90)
            assert r.status_code == 200, r.text
            self.result = r.json()
        except Exception as e:
            self.error = e
        finally:
            self.done.set()

    def started(self, timeout=30):
        assert self.output.wait(timeout), "the attack printed nothing"
        assert not self.done.is_set(), f"the attack already ended: {self.result or self.error}"
        return self

    def running(self):
        return not self.done.is_set()

    def finish(self, timeout=90):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the attack's request never returned"
        if self.error:
            raise self.error
        assert self.result is not None
        return self.result


def neighbour_during(s, attack, still_running_after=True):
    """While `attack` runs, a neighbour's request still completes correctly."""
    attack.started()
    took = neighbour(s)
    if still_running_after:
        assert attack.running(), "the attack ended before the neighbour: nothing was tested"
    return took


def c_body(src, *args, limits=None, **extra):
    body = {"language": "c", "code": src, "args": list(args), **extra}
    if limits:
        body["limits"] = limits
    return body


# ---- hostile C programs, one source per theme (compiled once, then cached) ----

PROCS_C = r'''
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *s) { puts(s); fflush(stdout); }

/* Every child forks on until it cannot, then sleeps: the tree stays full. */
static int forkbomb(void) {
    say("go");
    int forked = 0, failed = 0, err = 0;
    while (failed < 1000) {
        pid_t p = fork();
        if (p == 0)
            for (;;)
                if (fork() < 0)
                    pause();
        if (p < 0) { failed++; err = errno; } else forked++;
    }
    printf("forked=%d failed=%d %s\n", forked, failed, strerrorname_np(err));
    fflush(stdout);
    for (;;) pause();
}

static void *sleeper(void *a) { pause(); return a; }
static int threadbomb(void) {
    say("go");
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 << 10);
    pthread_t t;
    int n = 0, e;
    while ((e = pthread_create(&t, &at, sleeper, 0)) == 0) n++;
    printf("threads=%d %s\n", n, strerrorname_np(e));
    fflush(stdout);
    for (;;) pause();
}

static void *spin(void *a) { for (;;) __asm__ volatile(""); return a; }
static int cpuspin(void) {
    pthread_t t;
    for (int i = 0; i < 32; i++) pthread_create(&t, 0, spin, 0);
    say("go");
    spin(0);
    return 0;
}

/* Starts `sleep 1000` with argv[0] = marker, detached every way there is, and
 * returns once it has exec'd (the CLOEXEC pipe closes). */
static void detached_sleeper(const char *marker, int fds[2]) {
    if (fork() == 0) {
        close(fds[0]);
        setsid();
        if (fork() == 0) {
            prctl(PR_SET_PDEATHSIG, 0);
            signal(SIGTERM, SIG_IGN); signal(SIGHUP, SIG_IGN); signal(SIGINT, SIG_IGN);
            if (chdir("/") < 0) _exit(1);
            int nul = open("/dev/null", O_RDWR);
            dup2(nul, 0); dup2(nul, 1); dup2(nul, 2);
            execl("/bin/sleep", marker, "1000", (char *)0);
            _exit(1);
        }
        _exit(0);
    }
}

static int daemonize(const char *marker, int hold_ms) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return 1;
    detached_sleeper(marker, fds);
    close(fds[1]);
    char c;
    while (read(fds[0], &c, 1) > 0) ;
    wait(NULL);
    say("daemon running");
    usleep(hold_ms * 1000);
    say("parent done");
    return 0;
}

/* A subreaper that orphans grandchildren, which clear their parent-death
 * signal, then the main program SIGKILLs itself. */
static int orphans(const char *marker) {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_PDEATHSIG, 0);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return 1;
    for (int i = 0; i < 3; i++) detached_sleeper(marker, fds);
    close(fds[1]);
    char c;
    while (read(fds[0], &c, 1) > 0) ;
    say("orphans running");
    usleep(500 * 1000);
    kill(getpid(), SIGKILL);
    return 0;
}

static int zombies(void) {
    int n = 0;
    for (;;) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        if (p < 0) break;
        n++;
    }
    int e = errno;
    usleep(200 * 1000);
    printf("zombies=%d %s\n", n, strerrorname_np(e));
    return 0;
}

/* Every signal to pid 1 (the agent), queued ones too, then kill(-1). */
static int signal_agent(void) {
    union sigval v = {0};
    int refused = 0;
    for (int s = 1; s < 65; s++) {
        if (kill(1, s) < 0) refused++;
        sigqueue(1, s, v);
    }
    usleep(200 * 1000);
    kill(-1, SIGKILL);
    printf("survived, %d refused\n", refused);
    return 7;
}

/* The agent (pid 1) shares the program's real uid: try to lower its limits with prlimit(). */
static int agent_rlimit(void) {
    struct rlimit cpu = {1, 1}, nofile = {3, 3};
    printf("prlimit(1, RLIMIT_CPU) %s\n", prlimit(1, RLIMIT_CPU, &cpu, 0) < 0 ? strerrorname_np(errno) : "SUCCEEDED");
    printf("prlimit(1, RLIMIT_NOFILE) %s\n", prlimit(1, RLIMIT_NOFILE, &nofile, 0) < 0 ? strerrorname_np(errno) : "SUCCEEDED");
    return 0;
}

/* ...then make it burn its one second of CPU (SIGCHLD wakes it up) until the
 * kernel SIGKILLs it: the run ends as the server's internal error. */
static int agent_cpu_kill(int seconds) {
    struct rlimit cpu = {1, 1};
    printf("prlimit %s\n", prlimit(1, RLIMIT_CPU, &cpu, 0) < 0 ? strerrorname_np(errno) : "SUCCEEDED");
    fflush(stdout);
    pid_t main_pid = getpid();
    for (int i = 0; i < 3; i++)
        if (fork() == 0) break;
    time_t end = time(0) + seconds;
    while (time(0) < end)
        for (int i = 0; i < 1000; i++) kill(1, SIGCHLD);
    if (getpid() == main_pid) { puts("agent survived"); return 0; }
    pause();
    return 0;
}

int main(int argc, char **argv) {
    const char *w = argv[1];
    if (!strcmp(w, "agent_rlimit")) return agent_rlimit();
    if (!strcmp(w, "agent_cpu_kill")) return agent_cpu_kill(atoi(argv[2]));
    if (!strcmp(w, "forkbomb")) return forkbomb();
    if (!strcmp(w, "threadbomb")) return threadbomb();
    if (!strcmp(w, "cpuspin")) return cpuspin();
    if (!strcmp(w, "daemonize")) return daemonize(argv[2], atoi(argv[3]));
    if (!strcmp(w, "orphans")) return orphans(argv[2]);
    if (!strcmp(w, "zombies")) return zombies();
    if (!strcmp(w, "signal_agent")) return signal_agent();
    return 2;
}
'''

MEM_C = r'''
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static char buf[65536];

/* Grows by 1 MiB every 25 ms, touching every page. */
static int slow_anon(void) {
    puts("go"); fflush(stdout);
    for (int mb = 1;; mb++) {
        char *p = malloc(1 << 20);
        if (!p) { printf("malloc failed at %d MiB\n", mb); return 0; }
        memset(p, 1, 1 << 20);
        usleep(25000);
    }
}

/* Kernel memory: socket or pipe buffers, as many and as full as allowed. */
static int buffers(int pipes) {
    memset(buf, 'x', sizeof buf);
    long long total = 0;
    int n = 0, e = 0;
    for (;;) {
        int fd[2];
        if (pipes ? pipe2(fd, O_NONBLOCK) : socketpair(AF_UNIX, SOCK_STREAM, 0, fd)) { e = errno; break; }
        if (pipes) {
            fcntl(fd[1], F_SETPIPE_SZ, 1 << 20);
        } else {
            int big = 1 << 30;
            setsockopt(fd[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
            setsockopt(fd[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
            fcntl(fd[1], F_SETFL, O_NONBLOCK);
        }
        for (;;) { ssize_t k = write(fd[1], buf, sizeof buf); if (k <= 0) break; total += k; }
        n++;
    }
    printf("buffers=%d stop=%s queued=%lld MiB\n", n, strerrorname_np(e), total >> 20);
    return 0;
}

/* memfd_secret: memory taken out of the kernel's direct map. */
static int secretmem(void) {
    int fd = syscall(447 /* memfd_secret */, 0);
    if (fd < 0) { printf("memfd_secret %s\n", strerrorname_np(errno)); return 0; }
    size_t sz = 256 << 20;
    if (ftruncate(fd, sz)) { printf("ftruncate %s\n", strerrorname_np(errno)); return 0; }
    char *p = mmap(0, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { printf("mmap %s\n", strerrorname_np(errno)); return 0; }
    for (size_t i = 0; i < sz; i += 4096) p[i] = 1;
    printf("touched %zu MiB\n", sz >> 20);
    return 0;
}

static int fds(void) {
    int n = 0, fd[2];
    while (open("/dev/null", O_RDONLY) >= 0) n++;
    printf("open %d %s\n", n, strerrorname_np(errno));
    printf("pipe %s\n", pipe(fd) < 0 ? strerrorname_np(errno) : "SUCCEEDED");
    printf("socket %s\n", socket(AF_UNIX, SOCK_STREAM, 0) < 0 ? strerrorname_np(errno) : "SUCCEEDED");
    printf("dup %s\n", dup(0) < 0 ? strerrorname_np(errno) : "SUCCEEDED");
    return 0;
}

int main(int argc, char **argv) {
    const char *w = argv[1];
    if (!strcmp(w, "slow_anon")) return slow_anon();
    if (!strcmp(w, "sockets")) return buffers(0);
    if (!strcmp(w, "pipes")) return buffers(1);
    if (!strcmp(w, "secretmem")) return secretmem();
    if (!strcmp(w, "fds")) return fds();
    return 2;
}
'''

IPC_C = r'''
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t abstract(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(a->sun_path + 1, name, n);
    return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

int main(int argc, char **argv) {
    const char *w = argv[1];
    if (!strcmp(w, "shm_create")) {
        int id = shmget(0x50b0c5, 4096, IPC_CREAT | 0666);
        if (id < 0) { printf("shmget %s\n", strerrorname_np(errno)); return 1; }
        strcpy(shmat(id, 0, 0), argv[2]);
        printf("created %d\n", id); fflush(stdout);
        sleep(3);
        return 0;
    }
    if (!strcmp(w, "shm_attach")) {
        for (int i = 2; i < argc; i++) {
            int id = shmget((key_t)strtol(argv[i], 0, 0), 0, 0);
            printf("shmget %s %s\n", argv[i], id < 0 ? strerrorname_np(errno) : "FOUND");
        }
        for (int id = 0; id < 4; id++) {
            void *p = shmat(id, 0, SHM_RDONLY);
            printf("shmat %d %s\n", id, p == (void *)-1 ? strerrorname_np(errno) : "ATTACHED");
        }
        return 0;
    }
    if (!strcmp(w, "abs_listen")) {
        struct sockaddr_un a;
        socklen_t len = abstract(&a, argv[2]);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (bind(s, (void *)&a, len) < 0 || listen(s, 8) < 0) { printf("bind %s\n", strerrorname_np(errno)); return 1; }
        puts("listening"); fflush(stdout);
        struct pollfd p = {s, POLLIN, 0};
        printf("%s\n", poll(&p, 1, 2500) > 0 ? "ACCEPTED A CONNECTION" : "nobody came");
        return 0;
    }
    if (!strcmp(w, "abs_connect")) {
        for (int i = 2; i < argc; i++) {
            struct sockaddr_un a;
            socklen_t len = abstract(&a, argv[i]);
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            int r = connect(s, (void *)&a, len);
            printf("connect %s\n", r < 0 ? strerrorname_np(errno) : "CONNECTED");
        }
        return 0;
    }
    if (!strcmp(w, "mq")) {
        struct mq_attr at = {0, 4, 64, 0};
        mqd_t q = mq_open("/soulbox-mq", O_CREAT | O_RDWR, 0666, &at);
        printf("mq_open create %s\n", q < 0 ? strerrorname_np(errno) : "CREATED");
        q = mq_open("/soulbox-mq-host", O_RDWR);
        printf("mq_open existing %s\n", q < 0 ? strerrorname_np(errno) : "OPENED");
        return 0;
    }
    if (!strcmp(w, "flock_hold")) {
        int fd = open(argv[2], O_RDONLY);
        printf("flock %s\n", flock(fd, LOCK_EX) < 0 ? strerrorname_np(errno) : "locked"); fflush(stdout);
        sleep(3);
        return 0;
    }
    if (!strcmp(w, "flock_try")) {
        for (int i = 2; i < argc; i++) {
            int fd = open(argv[i], O_RDONLY);
            printf("flock %s\n", flock(fd, LOCK_EX | LOCK_NB) < 0 ? strerrorname_np(errno) : "free");
        }
        return 0;
    }
    return 2;
}
'''

KERNEL_C = r'''
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long up(int res) { struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY}; return setrlimit(res, &r); }

static long probe(const char *w) {
#define IS(x) !strcmp(w, x)
    /* debugging other processes */
    if (IS("ptrace_attach_agent")) return ptrace(PTRACE_ATTACH, 1, 0, 0);
    if (IS("ptrace_traceme")) return ptrace(PTRACE_TRACEME, 0, 0, 0);
    if (IS("ptrace_attach_child")) {
        pid_t c = fork();
        if (c == 0) { pause(); _exit(0); }
        long r = ptrace(PTRACE_ATTACH, c, 0, 0);
        int e = errno; kill(c, SIGKILL); waitpid(c, 0, 0); errno = e;
        return r;
    }
    if (IS("process_vm_readv")) return syscall(SYS_process_vm_readv, 1, 0, 0, 0, 0, 0);
    if (IS("pidfd_getfd")) {
        int p = syscall(SYS_pidfd_open, 1, 0);
        return p < 0 ? p : syscall(SYS_pidfd_getfd, p, 0, 0);
    }
    /* mounts and namespaces */
    if (IS("mount_tmpfs")) return mount("none", "/tmp", "tmpfs", 0, 0);
    if (IS("mount_cgroup")) return mount("cgroup", "/tmp", "cgroup2", 0, 0);
    if (IS("remount_root_rw")) return mount(0, "/", 0, MS_REMOUNT | MS_BIND, 0);
    if (IS("umount_proc")) return umount2("/proc", MNT_DETACH);
    if (IS("open_tree")) return syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */);
    if (IS("fsopen")) return syscall(SYS_fsopen, "tmpfs", 0);
    if (IS("pivot_root")) return syscall(SYS_pivot_root, "/tmp", "/tmp");
    if (IS("chroot")) return chroot("/tmp");
    if (IS("unshare_user")) return unshare(CLONE_NEWUSER);
    if (IS("unshare_mount")) return unshare(CLONE_NEWNS);
    if (IS("unshare_net")) return unshare(CLONE_NEWNET);
    if (IS("unshare_pid")) return unshare(CLONE_NEWPID);
    if (IS("clone_newuser")) {
        long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (r == 0) _exit(0);
        return r;
    }
    if (IS("clone_newns")) {
        long r = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
        if (r == 0) _exit(0);
        return r;
    }
    if (IS("clone3_newuser")) {
        struct clone_args a;
        memset(&a, 0, sizeof a);
        a.flags = CLONE_NEWUSER;
        a.exit_signal = SIGCHLD;
        long r = syscall(SYS_clone3, &a, sizeof a);
        if (r == 0) _exit(0);
        return r;
    }
    if (IS("setns_own_net")) {
        int fd = open("/proc/self/ns/net", O_RDONLY);
        return fd < 0 ? fd : setns(fd, 0);
    }
    if (IS("setns_agent_mnt")) {
        int fd = open("/proc/1/ns/mnt", O_RDONLY);
        return fd < 0 ? fd : setns(fd, 0);
    }
    /* kernel interfaces with a history of exploits */
    if (IS("keyctl")) return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    if (IS("add_key")) return syscall(SYS_add_key, "user", "soulbox", "x", 1, KEY_SPEC_SESSION_KEYRING);
    if (IS("bpf_prog_load")) {
        union bpf_attr a;
        memset(&a, 0, sizeof a);
        return syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
    }
    if (IS("bpf_map_create")) {
        union bpf_attr a;
        memset(&a, 0, sizeof a);
        a.map_type = BPF_MAP_TYPE_ARRAY; a.key_size = 4; a.value_size = 4; a.max_entries = 1;
        return syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
    }
    if (IS("perf_event_open")) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a; a.type = PERF_TYPE_SOFTWARE; a.config = PERF_COUNT_SW_CPU_CLOCK;
        return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    }
    if (IS("userfaultfd")) return syscall(SYS_userfaultfd, 0);
    if (IS("io_uring_setup")) { char p[120]; memset(p, 0, sizeof p); return syscall(SYS_io_uring_setup, 4, p); }
    if (IS("clone3")) return syscall(SYS_clone3, 0, 0);
    if (IS("personality_no_aslr")) return personality(ADDR_NO_RANDOMIZE);
    if (IS("personality_read_implies_exec")) return personality(READ_IMPLIES_EXEC);
    if (IS("open_by_handle_at")) {
        char b[128];
        struct file_handle *h = (void *)b;
        h->handle_bytes = 8; h->handle_type = 1; memset(h->f_handle, 0, 8);
        return syscall(SYS_open_by_handle_at, AT_FDCWD, h, O_RDONLY);
    }
    if (IS("name_to_handle_at")) {
        char b[256];
        struct file_handle *h = (void *)b;
        int m;
        h->handle_bytes = 128;
        return syscall(SYS_name_to_handle_at, AT_FDCWD, "/usr", h, &m, 0);
    }
    if (IS("fanotify_init")) return fanotify_init(0, 0);
    if (IS("iopl")) return iopl(3);
    if (IS("ioperm")) return ioperm(0x80, 1, 1);
    if (IS("syslog")) { char b[64]; return syscall(SYS_syslog, 3, b, sizeof b); }
    if (IS("quotactl")) return quotactl(QCMD(Q_GETQUOTA, USRQUOTA), "/dev/vda", 0, 0);
    if (IS("kcmp")) return syscall(SYS_kcmp, 1, getpid(), 0, 0, 0);
    if (IS("lookup_dcookie")) return syscall(SYS_lookup_dcookie, 0, 0, 0);
    if (IS("vhangup")) return vhangup();
    /* identity and privileges */
    if (IS("setuid_root")) return setuid(0);
    if (IS("setgid_root")) return setgid(0);
    if (IS("setresuid_root")) return setresuid(0, 0, 0);
    if (IS("setgroups_root")) { gid_t g = 0; return setgroups(1, &g); }
    if (IS("capset_all")) {
        struct { unsigned v; int pid; } h = {0x20080522, 0};
        unsigned d[6] = {~0u, ~0u, ~0u, ~0u, ~0u, ~0u};
        return syscall(SYS_capset, &h, d);
    }
    if (IS("chown_to_root")) {
        int fd = open("/tmp/mine", O_CREAT | O_WRONLY, 0644);
        return fd < 0 ? fd : fchown(fd, 0, 0);
    }
    if (IS("raise_nofile")) { struct rlimit r = {1 << 20, 1 << 20}; return setrlimit(RLIMIT_NOFILE, &r); }
    if (IS("raise_nproc")) return up(RLIMIT_NPROC);
    if (IS("raise_cpu")) return up(RLIMIT_CPU);
    if (IS("raise_core")) return up(RLIMIT_CORE);
    if (IS("raise_fsize")) return up(RLIMIT_FSIZE);
    if (IS("raise_msgqueue")) return up(RLIMIT_MSGQUEUE);
    if (IS("prlimit_agent")) { struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY}; return prlimit(1, RLIMIT_NPROC, &r, 0); }
    if (IS("sched_fifo")) { struct sched_param p = {.sched_priority = 50}; return sched_setscheduler(0, SCHED_FIFO, &p); }
    if (IS("nice_minus_20")) return setpriority(PRIO_PROCESS, 0, -20);
    if (IS("oom_score_adj_min")) {
        int fd = open("/proc/self/oom_score_adj", O_WRONLY);
        return fd < 0 ? fd : write(fd, "-1000", 5);
    }
    if (IS("mlock_64m")) {
        void *p = mmap(0, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return mlock(p, 64 << 20);
    }
    /* the machine itself */
    if (IS("settimeofday")) { struct timeval tv = {0, 0}; return settimeofday(&tv, 0); }
    if (IS("clock_settime")) { struct timespec ts = {0, 0}; return clock_settime(CLOCK_REALTIME, &ts); }
    if (IS("sethostname")) return sethostname("pwned", 5);
    if (IS("mknod_block")) return mknod("/tmp/vda", S_IFBLK | 0600, makedev(254, 0));
    if (IS("mknod_char_mem")) return mknod("/workspace/mem", S_IFCHR | 0600, makedev(1, 1));
    /* terminals */
    if (IS("tiocsti")) { char c = 'x'; return ioctl(0, TIOCSTI, &c); }
    if (IS("open_dev_tty")) return open("/dev/tty", O_RDWR);
    /* sockets */
    if (IS("vsock")) return socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
    if (IS("raw_socket")) return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (IS("packet_socket")) return socket(AF_PACKET, SOCK_RAW, 0);
    if (IS("ping_socket")) return socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (IS("netlink_audit")) return socket(AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */) < 0 ? -1 : 0;
    /* killed by the filter: the process never returns from these */
    if (IS("reboot")) return syscall(SYS_reboot, 0xfee1dead, 672274793, 0x1234567, 0);
    if (IS("kexec_load")) return syscall(SYS_kexec_load, 0, 0, 0, 0);
    if (IS("kexec_file_load")) return syscall(SYS_kexec_file_load, 0, 0, 0, "", 0);
    if (IS("init_module")) return syscall(SYS_init_module, 0, 0, "");
    if (IS("finit_module")) return syscall(SYS_finit_module, 0, "", 0);
    if (IS("delete_module")) return syscall(SYS_delete_module, "x", 0);
    if (IS("swapon")) return syscall(SYS_swapon, "/tmp/swap", 0);
    if (IS("swapoff")) return syscall(SYS_swapoff, "/tmp/swap");
    if (IS("acct")) return syscall(SYS_acct, "/tmp/acct");
    if (IS("x32_getpid")) return syscall(0x40000000 | 39);
    if (IS("i386_int80")) { long r; __asm__ volatile("int $0x80" : "=a"(r) : "a"(20)); return r; }
    errno = EINVAL;
    return -1;
}

int main(int argc, char **argv) {
    puts("ready");
    fflush(stdout);
    for (int i = 1; i < argc; i++) {
        long r = probe(argv[i]);
        printf("%s %s\n", argv[i], r < 0 ? strerrorname_np(errno) : "SUCCEEDED");
        fflush(stdout);
    }
    return 0;
}
'''


# =====================================================================
# Resource exhaustion: limited, and a neighbour still runs meanwhile
# =====================================================================

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
    time.sleep(0.05)
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


# =====================================================================
# Escaping the kill: nothing outlives its run
# =====================================================================

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


# =====================================================================
# Filesystem
# =====================================================================

def test_read_host_secrets(srv):
    """Read /etc/shadow, /root, the server's config, data dir and cache, and the host through /proc/1."""
    host_paths = ["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/root", "/root/.bashrc", "/home",
                  "/var/lib", "/run/soulbox", "/boot", "/sys/firmware", "/dev/vda", "/dev/kmsg",
                  srv.data_dir, srv.config, srv.cache_dir, srv.log, srv.private_canary, ROOT,
                  "/proc/self/root/etc/shadow"]
    agent_paths = ["/proc/1/root", "/proc/1/root/etc/shadow", "/proc/1/cwd/x", "/proc/1/environ",
                   "/proc/1/mem", "/proc/1/maps", "/proc/1/fd", "/proc/1/exe"]
    code = ("import os, errno, sys\n"
            "for p in sys.argv[1:]:\n"
            "    try:\n"
            "        if os.path.isdir(p) and not p.startswith('/proc/1/'):\n"
            "            print(p, 'LISTED', os.listdir(p))\n"
            "        else:\n"
            "            print(p, 'READ', open(p, 'rb').read(100))\n"
            "    except OSError as e:\n        print(p, errno.errorcode[e.errno])\n")
    res = run(srv, "python", code, args=host_paths + agent_paths + ["/proc/kcore", "/proc/kmsg"])
    assert res["status"] == "ok", res
    got = dict(l.split(" ", 1) for l in res["stdout"].splitlines())
    for p in host_paths:
        assert got[p] == "ENOENT", (p, got[p])
    for p in agent_paths:
        assert got[p] == "EACCES", (p, got[p])
    assert got["/proc/kcore"] in ("ENOENT", "EACCES") and got["/proc/kmsg"] == "EACCES"
    assert SECRET not in res["stdout"] and "root:" not in res["stdout"]
    intact(srv)


def test_mountinfo_does_not_leak_host_paths(srv):
    """/proc/self/mountinfo names the host directories behind the sandbox's mounts."""
    res = run(srv, "bash", "cat /proc/self/mountinfo /proc/self/mounts /proc/mounts")
    assert res["status"] == "ok", res
    out = res["stdout"]
    for leak in (srv.data_dir, srv.tmp, srv.cache_dir, srv.config, "/run/soulbox", ROOT,
                 "/var/cache/soulbox", "pytest-of"):
        assert leak not in out, leak
    points = {l.split()[4] for l in out.splitlines() if " - " in l}
    assert points <= {"/", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/proc", "/proc/locks", "/dev", "/dev/shm",
                      "/tmp", "/workspace"} | {p for p in points if p.startswith("/etc/")}, points
    intact(srv)


def test_write_outside_the_box(srv):
    """Create or modify files in /usr, /etc, /, /bin, /lib, /dev, /proc and host kernel settings."""
    m = marker("planted")
    with open("/proc/sys/kernel/core_pattern") as f:
        core_pattern = f.read().strip()   # written back unchanged, should it ever succeed
    targets = [f"/usr/{m}", f"/usr/bin/{m}", f"/etc/{m}", f"/{m}", f"/bin/{m}", f"/lib/{m}",
               f"/dev/{m}", f"/proc/{m}", "/etc/passwd", "/etc/hosts", "/usr/bin/python3",
               "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/hostname",
               "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger", "/proc/sys/net/ipv4/ip_forward"]
    values = {"/proc/sys/kernel/core_pattern": core_pattern, "/proc/sys/kernel/hostname": "soulbox",
              "/proc/sys/vm/drop_caches": "1", "/proc/sysrq-trigger": "m",
              "/proc/sys/net/ipv4/ip_forward": "0"}
    script = "".join(f"if printf '%s\\n' '{values.get(t, 'pwned')}' >> {t}; then echo WROTE {t}; "
                     f"else echo denied {t}; fi\n" for t in targets)
    res = run(srv, "bash", script)
    assert res["status"] == "ok", res
    assert res["stdout"] == "".join(f"denied {t}\n" for t in targets)
    for t in targets:
        if m in t:
            assert not os.path.exists(t), t
    intact(srv)


def test_symlinks_planted_for_the_host(srv):
    """Symlinks named like the C artifact and the entry file, aimed at host files and the server's data."""
    links = {"main": "/etc/passwd", "main.py.bak": srv.config, "data": srv.data_dir,
             "cache": srv.cache_dir, "canary": srv.host_canary, "shadow": "/etc/shadow",
             "agent_root": "/proc/1/root"}
    code = ("import os, errno, json, sys\nlinks = json.loads(sys.argv[1])\n"
            "def attempt(what, f):\n"
            "    try: print(what, f())\n"
            "    except OSError as e: print(what, errno.errorcode[e.errno])\n"
            "for name, target in links.items():\n"
            "    os.symlink(target, '/workspace/' + name); os.symlink(target, '/tmp/' + name)\n"
            "os.unlink('/workspace/main.py'); os.symlink('/etc/passwd', '/workspace/main.py')\n"
            "attempt('read main', lambda: open('/workspace/main').read().count('\\n'))\n"
            "attempt('write data', lambda: open('/workspace/data/pwned', 'w').close())\n"
            "attempt('write cache', lambda: open('/workspace/cache/pwned', 'w').close())\n"
            "attempt('write config', lambda: open('/tmp/main.py.bak', 'a').close())\n"
            "attempt('read shadow', lambda: open('/tmp/shadow').read())\n"
            "attempt('agent root', lambda: os.listdir('/workspace/agent_root'))\n"
            "attempt('write canary', lambda: open('/workspace/canary', 'w').write('pwned'))\n")
    res = run(srv, "python", code, args=[json.dumps(links)])
    assert res["status"] == "ok", res
    # the sandbox's own generated passwd (a handful of lines), never the host's
    assert res["stdout"] == ("read main " + str(res["stdout"].split("\n")[0].split()[-1]) + "\n"
                             "write data ENOENT\nwrite cache ENOENT\nwrite config ENOENT\n"
                             "read shadow ENOENT\nagent root EACCES\nwrite canary 5\n"), res
    assert int(res["stdout"].split("\n")[0].split()[-1]) < 6
    # the next sandbox starts clean
    nxt = run(srv, "bash", "ls -A /workspace /tmp")
    assert nxt["stdout"] == "/tmp:\n\n/workspace:\nmain.sh\n", nxt
    assert not os.path.exists(os.path.join(srv.data_dir, "pwned"))
    intact(srv)


def test_hardlinks_to_host_files(srv):
    """Hard links from the writable workspace to system files (to write them, or pin them)."""
    pairs = [("/etc/passwd", "/workspace/passwd"), ("/usr/bin/env", "/tmp/env"),
             ("/usr/lib/os-release", "/workspace/os-release"), ("/workspace/main.py", "/tmp/main.py"),
             ("/dev/null", "/tmp/null")]
    code = ("import os, errno\n"
            f"for src, dst in {pairs!r}:\n"
            "    try: os.link(src, dst); print(src, 'LINKED')\n"
            "    except OSError as e: print(src, errno.errorcode[e.errno])\n")
    res = run(srv, "python", code)
    assert res["status"] == "ok", res
    assert res["stdout"] == "".join(f"{s} EXDEV\n" for s, _ in pairs)
    intact(srv)


def test_compile_artifact_symlink_planted_at_compile_time(srv, tmp_path):
    """Compile-time code (a gcc plugin via a file named `-fplugin=./plug.c`) makes the artifact `main` a symlink to a host file."""
    plug = tmp_path / "plug.c"
    plug.write_text(r'''
#include <fcntl.h>
#include <unistd.h>
int plugin_is_GPL_compatible;
int plugin_init(void *info, void *version) { (void)info; (void)version; return 0; }
__attribute__((constructor)) static void at_load(void) {
    static const char src[] = "#include <stdio.h>\nint main(void){puts(\"sandbox artifact\");return 0;}\n";
    unlink("plug.c");  /* this ELF was the source: becomes C before cc1 reads it */
    int fd = open("plug.c", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { if (write(fd, src, sizeof src - 1) < 0) {} close(fd); }
    symlink(TARGET, "main");  /* the linker writes through it; the host must not read through it */
}
''')
    so = tmp_path / "plug.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", f'-DTARGET="{srv.host_canary}"', "-o", str(so),
                    str(plug)], check=True)
    files = [{"name": "plug.c", "content": base64.b64encode(so.read_bytes()).decode(),
              "encoding": "base64"},
             {"name": "-fplugin=./plug.c", "content": ""}]
    r = srv.execute({"language": "c", "files": files})
    if r.status_code == 400:   # file names that look like options refused: fine too
        assert "files[1].name" in r.json()["error"]["message"]
    else:
        res = r.json()
        assert res["status"] == "compile_error", res
        assert res["message"] in ("the compiler left no main (missing)",) or \
            res["message"].startswith("compilation failed"), res
        assert "HOST FILE FOLLOWED" not in res["stdout"]
    intact(srv)


def test_program_replaces_its_own_artifact(srv):
    """At run time the C program swaps ./main for a symlink to a host file: the cache and later runs must not care."""
    src = ('#include <stdio.h>\n#include <unistd.h>\n'
           'int main(void){ int u = unlink("main"); int s = symlink("%s", "main");'
           ' printf("replaced %%d %%d\\n", u, s); return 0; }\n' % srv.host_canary)
    first = run(srv, "c", src)
    assert first["status"] == "ok" and first["stdout"] == "replaced 0 0\n", first
    again = run(srv, "c", src, test_cases=[{"stdin": "", "expected_output": "replaced 0 0"}] * 2)
    assert again["compile_cached"] is True
    assert again["summary"]["accepted"] == 2, again
    assert "HOST FILE FOLLOWED" not in json.dumps(again)
    intact(srv)


def test_device_nodes(srv):
    """Make device nodes (a raw disk, /dev/mem) or reach the host's through /dev."""
    code = ("import os, errno, stat\n"
            "for path, kind, dev in [('/tmp/vda', stat.S_IFBLK, os.makedev(254, 0)),\n"
            "                        ('/workspace/mem', stat.S_IFCHR, os.makedev(1, 1)),\n"
            "                        ('/dev/shm/kmsg', stat.S_IFCHR, os.makedev(1, 11))]:\n"
            "    try: os.mknod(path, kind | 0o666, dev); print(path, 'MADE')\n"
            "    except OSError as e: print(path, errno.errorcode[e.errno])\n"
            "print(sorted(os.listdir('/dev')))\n"
            "for p in ('/dev/mem', '/dev/kmem', '/dev/port', '/dev/vda', '/dev/sda', '/dev/kmsg', '/dev/console'):\n"
            "    print(p, os.path.exists(p))\n")
    res = run(srv, "python", code)
    assert res["status"] == "ok", res
    lines = res["stdout"].splitlines()
    assert lines[:3] == ["/tmp/vda EPERM", "/workspace/mem EPERM", "/dev/shm/kmsg EPERM"]
    assert lines[3] == str(sorted(["fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout",
                                   "urandom", "zero"]))
    assert all(l.endswith(" False") for l in lines[4:]), lines
    intact(srv)


def test_setuid_binaries_are_inert(srv):
    """Root-owned setuid binaries (mount) and a chmod u+s copy, to run with another identity."""
    code = ("ls -l /usr/bin/mount | cut -c1-10\n"
            "LD_SHOW_AUXV=1 /usr/bin/mount --version | grep -E '^AT_(SECURE|EUID):' | tr -s ' '\n"
            "id -u\n"
            "cp /usr/bin/id /tmp/id && chmod 4755 /tmp/id && /tmp/id -u\n"
            "/usr/bin/mount -t tmpfs none /tmp >/tmp/out 2>&1; rc=$?; head -1 /tmp/out; echo mount=$rc\n")
    res = run(srv, "bash", code)
    assert res["status"] == "ok", res
    lines = res["stdout"].splitlines()
    uid = lines[3]
    assert int(uid) >= UID_BASE
    assert lines[0] == "-rwsr-xr-x"                 # it is setuid root on the host...
    assert lines[1:3] == [f"AT_EUID: {uid}", "AT_SECURE: 0"]   # ...and runs as the sandbox user
    assert lines[4] == uid
    assert lines[5] == "mount: /tmp: must be superuser to use mount." and lines[6] == "mount=32"
    intact(srv)


def test_request_file_names_cannot_escape_the_workspace(srv):
    """Request `files` named with '..', absolute paths or '.' components, to be written on the host."""
    m = marker("escape")
    for name in (f"../{m}.py", f"/tmp/{m}.py", f"a/../../{m}.py", "..", f"./{m}.py", f"a//{m}.py"):
        r = srv.execute({"language": "python", "files": [{"name": "main.py", "content": "print(1)"},
                                                          {"name": name, "content": "x"}]})
        assert r.status_code == 400, (name, r.text)
        assert r.json()["error"]["code"] == "invalid_argument"
        assert r.json()["error"]["message"].startswith(f"files[1].name: '{name}' must be a relative path")
    assert not os.path.exists(f"/tmp/{m}.py")
    assert subprocess.run(["find", srv.tmp, "/run/soulbox", "-name", f"{m}*"],
                          capture_output=True, text=True).stdout == ""
    intact(srv)


def test_file_names_are_not_compiler_options(srv):
    """A file named like a compiler option (`-DINJECTED.c`, `-fplugin=...`) or an option file (`@opts`) steers the compiler."""
    src = '#include <stdio.h>\nint main(void){\n#ifdef INJECTED\nputs("option injected");\n#else\nputs("plain");\n#endif\nreturn 0;}\n'
    for name in ("-DINJECTED.c", "-fplugin=./main.c", "@opts", "sub/../-x.c"):
        r = srv.execute({"language": "c", "files": [{"name": "main.c", "content": src},
                                                     {"name": name, "content": "-DINJECTED\n"}]})
        assert r.status_code == 400, (name, r.text)
        msg = r.json()["error"]["message"]
        assert msg.startswith("files[1].name: "), msg
    # inside a directory the same name is no option: it is accepted and compiled
    res = run(srv, "c", files=[{"name": "main.c", "content": src},
                               {"name": "sub/-x.c", "content": "int x;\n"}])
    assert (res["status"], res["stdout"]) == ("ok", "plain\n"), res
    intact(srv)


def test_compile_stage_includes_host_files(srv):
    """#include and .incbin of host secrets and of the server's own files at compile time."""
    for src, path in [('#include "/etc/shadow"\nint main(void){return 0;}\n', "/etc/shadow"),
                      ('#include "%s"\nint main(void){return 0;}\n' % srv.config, srv.config),
                      ('__asm__(".incbin \\"%s\\"");\nint main(void){return 0;}\n' % srv.private_canary,
                       srv.private_canary)]:
        res = run(srv, "c", src)
        assert res["status"] == "compile_error", res
        out = res["compile_output"]
        assert f"{path}: No such file or directory" in out or f"file not found: {path}" in out, out
        assert SECRET not in json.dumps(res) and "root:" not in res["compile_output"]
    intact(srv)


# =====================================================================
# Kernel surface: each call fails (and the program lives to say so)
# =====================================================================

DENIED = {
    "ptrace_attach_agent": "EPERM", "ptrace_traceme": "EPERM", "ptrace_attach_child": "EPERM",
    "process_vm_readv": "EPERM", "pidfd_getfd": "EPERM",
    "mount_tmpfs": "EPERM", "mount_cgroup": "EPERM", "remount_root_rw": "EPERM",
    "umount_proc": "EPERM", "open_tree": "EPERM", "fsopen": "EPERM", "pivot_root": "EPERM",
    "chroot": "EPERM",
    "unshare_user": "EPERM", "unshare_mount": "EPERM", "unshare_net": "EPERM", "unshare_pid": "EPERM",
    "clone_newuser": "EPERM", "clone_newns": "EPERM", "clone3_newuser": "ENOSYS", "clone3": "ENOSYS",
    "setns_own_net": "EPERM", "setns_agent_mnt": "EACCES",
    "keyctl": "EPERM", "add_key": "EPERM", "bpf_prog_load": "EPERM", "bpf_map_create": "EPERM",
    "perf_event_open": "EPERM", "userfaultfd": "EPERM", "io_uring_setup": "ENOSYS",
    "personality_no_aslr": "EPERM", "personality_read_implies_exec": "EPERM",
    "open_by_handle_at": "EPERM", "name_to_handle_at": "EPERM", "fanotify_init": "EPERM",
    "iopl": "EPERM", "ioperm": "EPERM", "syslog": "EPERM", "quotactl": "EPERM", "kcmp": "EPERM",
    "lookup_dcookie": "EPERM", "vhangup": "EPERM",
    "setuid_root": "EPERM", "setgid_root": "EPERM", "setresuid_root": "EPERM",
    "setgroups_root": "EPERM", "capset_all": "EPERM", "chown_to_root": "EPERM",
    "raise_nofile": "EPERM", "raise_nproc": "EPERM", "raise_cpu": "EPERM", "raise_core": "EPERM",
    "raise_fsize": "EPERM", "raise_msgqueue": "EPERM", "prlimit_agent": "EPERM",
    "sched_fifo": "EPERM", "nice_minus_20": "EACCES", "oom_score_adj_min": "EACCES",
    "mlock_64m": "ENOMEM",
    "settimeofday": "EPERM", "clock_settime": "EPERM", "sethostname": "EPERM",
    "mknod_block": "EPERM", "mknod_char_mem": "EPERM",
    "tiocsti": "EPERM", "open_dev_tty": "ENOENT",
    "vsock": "EAFNOSUPPORT", "raw_socket": "EPERM", "packet_socket": "EPERM",
    "ping_socket": "EACCES",
}


@pytest.mark.parametrize("call", sorted(DENIED))
def test_kernel_call_is_refused(srv, call):
    """One dangerous kernel interface: ptrace, mount, namespaces, keyrings, bpf, perf, io_uring, privileges, rlimits, devices..."""
    res = run(srv, "c", KERNEL_C, args=[call])
    assert res["status"] == "ok", res
    assert res["stdout"] == f"ready\n{call} {DENIED[call]}\n"
    intact(srv)


@pytest.mark.parametrize("call", ["reboot", "kexec_load", "kexec_file_load", "init_module",
                                  "finit_module", "delete_module", "swapon", "swapoff", "acct"])
def test_machine_level_call_kills_and_is_named(srv, call):
    """Reboot, kexec, kernel modules, swap, process accounting: the program is killed and the call named."""
    res = run(srv, "c", KERNEL_C, args=[call])
    assert res["status"] == "runtime_error", res
    assert res["stdout"] == "ready\n" and res["signal"] == 31
    assert res["message"] == f"killed by seccomp: forbidden system call {call}"
    intact(srv)


def test_x32_syscall_kills(srv):
    """The x32 ABI (syscall nr | 0x40000000) to slip past a filter written for x86-64 numbers."""
    res = run(srv, "c", KERNEL_C, args=["x32_getpid"])
    assert res["status"] == "runtime_error", res
    assert res["stdout"] == "ready\n" and res["signal"] == 31
    intact(srv)


def test_i386_int80_kills(srv):
    """`int 0x80` (the i386 ABI, other syscall numbers) to slip past the filter."""
    res = run(srv, "c", KERNEL_C, args=["i386_int80"])
    assert res["status"] == "runtime_error", res
    # SIGSYS from the foreign-arch rule; a kernel without IA32 emulation SIGSEGVs first
    assert res["stdout"] == "ready\n" and res["signal"] in (31, 11)
    intact(srv)


def test_identity_and_capabilities(srv):
    """Run as root, as a shared uid, or with capabilities, no_new_privs or seccomp missing."""
    a = Background(srv, {"language": "bash", "code": "id -u; sleep 1.5"})
    a.started()
    res = run(srv, "bash", "id -u; id -G; grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status")
    other = a.finish()
    assert res["status"] == "ok", res
    lines = res["stdout"].splitlines()
    uid = int(lines[0])
    assert UID_BASE <= uid < UID_BASE + 65536 and lines[1] == lines[0]
    assert int(other["stdout"].split()[0]) != uid, "two live sandboxes share a uid"
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert f"{cap}:\t0000000000000000" in lines
    assert "NoNewPrivs:\t1" in lines and "Seccomp:\t2" in lines
    intact(srv)


# =====================================================================
# Network
# =====================================================================

def test_only_loopback_exists(srv):
    """Find a network interface to the host or the internet (/proc/net/dev, /sys/class/net, if_nameindex)."""
    code = ("import os, socket\nprint(socket.if_nameindex())\n"
            "print(os.path.exists('/sys/class/net'))\n"
            "print([l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]])\n"
            "print(open('/proc/net/route').read().count('\\n'))\n")
    res = run(srv, "python", code)
    assert res["status"] == "ok", res
    assert res["stdout"] == "[(1, 'lo')]\nFalse\n['lo']\n1\n"
    intact(srv)


def _host_addresses():
    out = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    addrs = {l.split()[3].split("/")[0] for l in out.splitlines() if len(l.split()) > 3}
    return sorted(a for a in addrs if not a.startswith("fe80"))


def test_cannot_reach_the_soulbox_api(srv):
    """From inside, call the server's own HTTP and gRPC ports to run code outside the sandbox's limits."""
    before = srv.get("/api/executions?limit=1").json()["executions"][0]["id"]
    code = ("import socket, errno, urllib.request\n"
            f"for host, port in [('127.0.0.1', {srv.port}), ('localhost', {srv.port}), "
            f"('127.0.0.1', {srv.grpc_port}), ('::1', {srv.port})]:\n"
            "    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET); s.settimeout(2)\n"
            "    try: s.connect((host, port)); print('CONNECTED', port)\n"
            "    except OSError as e: print(host, errno.errorcode[e.errno])\n"
            "try:\n"
            f"    urllib.request.urlopen('http://127.0.0.1:{srv.port}/health', timeout=2); print('HTTP OK')\n"
            "except Exception as e: print('http', type(e).__name__)\n")
    res = run(srv, "python", code)
    assert res["status"] == "ok", res
    assert res["stdout"] == ("127.0.0.1 ECONNREFUSED\nlocalhost ECONNREFUSED\n127.0.0.1 ECONNREFUSED\n"
                             "::1 ECONNREFUSED\nhttp URLError\n"), res["stdout"]
    # the only execution since is the attack itself: nothing ran through the API from inside
    after = [e["id"] for e in srv.get("/api/executions?limit=2").json()["executions"]]
    assert after == [res["id"], before]
    intact(srv)


def test_cannot_reach_host_listeners(srv):
    """Connect (TCP and UDP) to a host service on every host address, the cloud metadata address and the internet."""
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", 0))
    tcp.listen(5)
    tcp.settimeout(0.5)
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", port))
    udp.settimeout(0.5)
    hosts = [h for h in _host_addresses() if ":" not in h] + ["169.254.169.254", "10.0.2.2",
                                                                 "172.17.0.1", "8.8.8.8"]
    code = ("import socket, errno, sys\nport = int(sys.argv[1])\n"
            "for host in sys.argv[2:]:\n"
            "    s = socket.socket(); s.settimeout(2)\n"
            "    try: s.connect((host, port)); print(host, 'CONNECTED')\n"
            "    except OSError as e: print(host, errno.errorcode.get(e.errno, e))\n"
            "    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "    try: u.sendto(b'sandbox', (host, port)); print(host, 'udp sent')\n"
            "    except OSError as e: print(host, 'udp', errno.errorcode.get(e.errno, e))\n")
    try:
        res = run(srv, "python", code, args=[str(port)] + hosts)
        hits = []
        for sock, fn in ((tcp, tcp.accept), (udp, lambda: udp.recvfrom(100))):
            try:
                hits.append(fn())
            except OSError:
                pass
    finally:
        tcp.close()
        udp.close()
    assert res["status"] == "ok", res
    assert hits == []
    expected = "".join(f"{h} ECONNREFUSED\n{h} udp sent\n" if h.startswith("127.") else
                       f"{h} ENETUNREACH\n{h} udp ENETUNREACH\n" for h in hosts)
    assert res["stdout"] == expected, res["stdout"]
    intact(srv)


def test_dns_does_not_resolve(srv):
    """Resolve names to reach (or exfiltrate through) the host's resolver."""
    code = ("import os, socket\nprint(os.path.exists('/etc/resolv.conf'))\n"
            "for name in ('example.com', 'metadata.google.internal', 'host.docker.internal'):\n"
            "    try: print(name, socket.getaddrinfo(name, 80)[0][4])\n"
            "    except socket.gaierror as e: print(name, 'unresolved')\n")
    res = run(srv, "python", code)
    assert res["status"] == "ok", res
    assert res["stdout"] == ("False\nexample.com unresolved\nmetadata.google.internal unresolved\n"
                             "host.docker.internal unresolved\n")
    intact(srv)


def test_proc_net_hides_host_sockets(srv):
    """List the host's listening sockets and unix sockets (the server's ports) through /proc/net."""
    res = run(srv, "bash", "cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/unix")
    assert res["status"] == "ok", res
    lines = res["stdout"].splitlines()
    # headers only: four files, no socket of anyone else
    assert len(lines) == 4, lines
    assert f":{srv.port:04X}" not in res["stdout"]
    intact(srv)


def test_abstract_unix_socket_of_another_sandbox(srv):
    """Sandbox B connects to an abstract unix socket that sandbox A (or the host) listens on."""
    name = marker("abstract")
    host_name = marker("host-abstract")
    host = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    host.bind("\0" + host_name)
    host.listen(5)
    host.settimeout(0.2)
    try:
        a = Background(srv, c_body(IPC_C, "abs_listen", name))
        a.started()
        b = run(srv, "c", IPC_C, args=["abs_connect", name, host_name])
        ra = a.finish()
        with pytest.raises(socket.timeout):
            host.accept()
    finally:
        host.close()
    assert b["stdout"] == "connect ECONNREFUSED\nconnect ECONNREFUSED\n", b
    assert ra["stdout"] == "listening\nnobody came\n", ra
    intact(srv)


# =====================================================================
# Leaks between sandboxes, and from the host
# =====================================================================

def test_tmp_shm_workspace_of_a_concurrent_sandbox(srv):
    """Sandbox B reads what sandbox A, running at the same time, left in /tmp, /dev/shm and /workspace."""
    secret = marker("file")
    a = Background(srv, {"language": "bash", "code":
                         f"for d in /tmp /dev/shm /workspace; do echo {secret} > $d/{secret}; done\n"
                         "echo written; sleep 2"})
    a.started()
    half = len(secret) // 2
    res = run(srv, "bash", f"m={secret[:half]}; m=${{m}}{secret[half:]}\n"
              "ls -A /tmp /dev/shm /workspace\n"
              "grep -rl $m /tmp /dev/shm /workspace 2>/dev/null; echo end")
    a.finish()
    assert res["stdout"] == "/dev/shm:\n\n/tmp:\n\n/workspace:\nmain.sh\nend\n", res["stdout"]
    intact(srv)


def test_files_do_not_persist_to_the_next_sandbox(srv):
    """A writes files everywhere it can; the next sandbox (maybe the same uid) finds them."""
    secret = marker("persist")
    first = run(srv, "bash", f"for d in /tmp /dev/shm /workspace; do echo x > $d/{secret}; "
                "mkdir $d/dir-{secret}; done; echo done")
    assert first["stdout"] == "done\n"
    res = run(srv, "bash", "ls -A /tmp /dev/shm /workspace")
    assert res["stdout"] == "/dev/shm:\n\n/tmp:\n\n/workspace:\nmain.sh\n"
    intact(srv)


def test_sysv_shared_memory(srv):
    """SysV shm: A creates a segment with a fixed key, B (and the host's segment) attach by key or id."""
    libc = ctypes.CDLL(None, use_errno=True)
    host_key = 0x50b0c6
    host_id = libc.shmget(host_key, 4096, 0o1666)   # IPC_CREAT | 0666, on the host
    assert host_id >= 0
    try:
        a = Background(srv, c_body(IPC_C, "shm_create", SECRET))
        a.started()
        b = run(srv, "c", IPC_C, args=["shm_attach", "0x50b0c5", hex(host_key)])
        ra = a.finish()
    finally:
        libc.shmctl(host_id, 0, None)               # IPC_RMID
    assert ra["stdout"] == "created 0\n", ra
    assert b["stdout"] == ("shmget 0x50b0c5 ENOENT\nshmget 0x50b0c6 ENOENT\n" +
                           "".join(f"shmat {i} EINVAL\n" for i in range(4))), b
    intact(srv)


def test_posix_message_queues(srv):
    """POSIX message queues: create one to talk to other sandboxes, or open a host queue."""
    libc = ctypes.CDLL("librt.so.1", use_errno=True)
    q = libc.mq_open(b"/soulbox-mq-host", os.O_CREAT | os.O_RDWR, 0o666, None)
    try:
        res = run(srv, "c", IPC_C, args=["mq"])
    finally:
        if q >= 0:
            libc.mq_close(q)
            libc.mq_unlink(b"/soulbox-mq-host")
    assert res["stdout"] == "mq_open create EMFILE\nmq_open existing ENOENT\n", res
    intact(srv)


def test_process_list_environment_and_uid_of_a_concurrent_sandbox(srv):
    """B lists processes, command lines and environments to find A's secrets."""
    secret = marker("env")
    a = Background(srv, {"language": "bash", "env": {"A_SECRET": secret},
                         "code": f"echo ready; exec -a {secret}-argv sleep 2"})
    a.started()
    # the marker is assembled at run time: B's own code and argv never hold it
    code = ("import os\n"
            f"m = {secret[::-1]!r}[::-1].encode()\n"
            "me, procs, found = os.getpid(), [], []\n"
            "for pid in sorted(p for p in os.listdir('/proc') if p.isdigit()):\n"
            "    if int(pid) == me: continue\n"
            "    procs.append((pid, open(f'/proc/{pid}/comm').read().strip(), os.stat(f'/proc/{pid}').st_uid))\n"
            "    for what in ('cmdline', 'environ'):\n"
            "        try: data = open(f'/proc/{pid}/{what}', 'rb').read()\n"
            "        except OSError: continue\n"
            "        if m in data: found.append((pid, what))\n"
            "print(procs, os.getuid())\nprint(found)\n")
    res = run(srv, "python", code)
    a.finish()
    assert res["status"] == "ok", res
    procs, found = res["stdout"].splitlines()
    assert found == "[]"
    uid = int(procs.split()[-1])
    # the agent's effective uid is not the program's (uid_base - 1, the same in every sandbox)
    assert procs == f"[('1', 'soulbox-agent', {UID_BASE - 1})] {uid}", procs
    assert secret not in res["stdout"]
    intact(srv)


def test_server_environment_is_not_inherited(srv):
    """The server's environment (API keys, credentials) is visible to the program."""
    res = run(srv, "python", "import os\nprint(sorted(os.environ))")
    assert res["status"] == "ok", res
    assert SECRET not in json.dumps(res)
    names = set(eval(res["stdout"]))
    assert SECRET_ENV not in names and not any(n.startswith("SOULBOX") for n in names)
    assert names <= {"HOME", "LANG", "LOGNAME", "PATH", "PWD", "SHELL", "SHLVL", "TMPDIR", "USER",
                     "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "MPLBACKEND", "MPLCONFIGDIR",
                     "OPENBLAS_NUM_THREADS", "LC_CTYPE", "_"}, names
    intact(srv)


def test_server_file_descriptors_are_not_inherited(srv):
    """A descriptor of the server (listening socket, SQLite database, control socket) left open in the program."""
    src = ('#include <stdio.h>\n#include <fcntl.h>\n'
           'int main(void){ for (int fd = 0; fd < 65536; fd++) if (fcntl(fd, F_GETFD) >= 0) printf("%d ", fd);'
           ' puts(""); return 0; }\n')
    res = run(srv, "c", src, {"open_files": 4096})
    assert res["status"] == "ok", res
    assert res["stdout"] == "0 1 2 \n"
    intact(srv)


def test_cgroup_view(srv):
    """Read or join the host's cgroup tree to see other sandboxes or lift the limits."""
    res = run(srv, "bash", "cat /proc/self/cgroup; ls /sys/fs/cgroup 2>&1; "
              "echo $$ > /sys/fs/cgroup/cgroup.procs 2>&1 || echo denied")
    assert res["status"] == "ok", res
    lines = res["stdout"].splitlines()
    cg = [l for l in lines if re.match(r"^\d+:", l)]
    assert cg and all(l.endswith(":/") for l in cg), cg
    assert lines[len(cg)] == "ls: cannot access '/sys/fs/cgroup': No such file or directory"
    assert lines[-1] == "denied"
    intact(srv)


def test_flock_on_shared_read_only_files(srv):
    """A holds flock(LOCK_EX) on a shared system file (/usr/bin/env); B, or the host's lock, sees it."""
    import fcntl
    target = os.path.realpath("/usr/bin/env")
    host_target = os.path.realpath("/usr/lib/os-release")
    a = Background(srv, c_body(IPC_C, "flock_hold", target))
    a.started()
    with open(target) as f:   # the host does not see A's lock either
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(f, fcntl.LOCK_UN)
    with open(host_target) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            b = run(srv, "c", IPC_C, args=["flock_try", target, host_target])
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
    ra = a.finish()
    try:
        assert ra["stdout"] == "flock locked\n"
        assert b["stdout"] == "flock free\nflock free\n", b["stdout"]
    finally:
        intact(srv)


def test_inotify_on_shared_read_only_files(srv):
    """A watches a shared system file with inotify to learn when B, or the host, opens or reads it."""
    watch = ("import ctypes, select\n"
             "libc = ctypes.CDLL(None, use_errno=True)\n"
             "fd = libc.inotify_init1(0)\n"
             "wd = libc.inotify_add_watch(fd, b'/usr/bin/env', 0x1 | 0x20)  # IN_ACCESS | IN_OPEN\n"
             "print('watching', wd >= 0, flush=True)\n"
             "r, _, _ = select.select([fd], [], [], 2.5)\n"
             "print('event' if r else 'quiet')\n")
    a = Background(srv, {"language": "python", "code": watch})
    a.started()
    b = run(srv, "bash", "for i in 1 2 3; do cat /usr/bin/env > /dev/null; done; echo read")
    for _ in range(3):
        with open("/usr/bin/env", "rb") as f:
            f.read(64)
    ra = a.finish()
    assert b["stdout"] == "read\n", b
    assert ra["status"] == "ok" and ra["stdout"] == "watching True\nquiet\n", ra
    intact(srv)


def test_proc_locks_does_not_reveal_other_sandboxes(srv):
    """B reads /proc/locks to learn which uids (sandboxes) are live on the host right now."""
    a = Background(srv, {"language": "bash", "code": "id -u; sleep 2"})
    a.started()
    b = run(srv, "bash", "id -u; cat /proc/locks")
    ra = a.finish()
    uid_a = int(ra["stdout"].split()[0])
    offset = uid_a - UID_BASE
    ranges = []
    for line in b["stdout"].splitlines()[1:]:
        f = line.split()
        ranges.append((int(f[-2]), float("inf") if f[-1] == "EOF" else int(f[-1])))
    try:
        assert not any(lo <= offset <= hi for lo, hi in ranges), b["stdout"]
        assert "OFDLCK" not in b["stdout"]
    finally:
        intact(srv)


def test_kill_minus_one_cannot_reach_another_sandbox(srv):
    """B kills every process it can see (kill -9 -1, every pid up to 4096) to end A's run."""
    a = Background(srv, {"language": "bash", "code": "echo ready; sleep 1.5; echo alive"})
    a.started()
    b = run(srv, "python", "import os\nfor pid in range(2, 4096):\n"
            "    try: os.kill(pid, 9) if pid != os.getpid() else None\n    except OSError: pass\n"
            "try: os.kill(-1, 9)\nexcept OSError as e: print('kill -1', e.errno)\n"
            "print('done')\n")
    ra = a.finish()
    assert b["status"] == "ok" and b["stdout"] in ("done\n", "kill -1 3\ndone\n"), b
    assert ra["status"] == "ok" and ra["stdout"] == "ready\nalive\n", ra
    intact(srv)


# =====================================================================
# The result itself: a program must not forge what the client receives
# =====================================================================

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
