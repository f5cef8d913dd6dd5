"""Attacks through the real server. Kernel surface: each call fails (and the program lives to say so).

The server, the helpers and what "intact" means: attack.py; the C programs:
attack_programs.py."""

import pytest

from attack import Background, UID_BASE, intact, run, srv  # noqa: F401 (srv: the fixture)
from attack_programs import KERNEL_C


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
