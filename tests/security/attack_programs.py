"""The hostile C programs of the attack suite, one source per theme; each
takes the attack to run as its first argument (compiled once per source,
then served from the compile cache)."""

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
