#!/usr/bin/env python3
"""make check-cgroup2: SoulBox's engine tests in a VM with pure cgroup v2.

The host here has a cgroup v1 hybrid, so the v2 code of src/sandbox/cgroup.c
never runs for real on it. This boots Debian's cloud kernel under QEMU
(microvm machine, TCG: no KVM needed) with systemd.unified_cgroup_hierarchy=1
cgroup_no_v1=all, shares the host's / read-only over virtiofs (virtiofsd),
and runs tests/vm/guest.sh as root in it: it asserts the cgroup is v2 only,
then runs the engine's unit tests and `soulbox run` with limit breaches.
Each check reports "SBX-RESULT name status" on the serial console.

Exits non-zero (printing the guest's output) if a check failed or did not
report, if the guest did not boot, or after --timeout seconds.
usage: run_in_vm.py [--build DIR] [--timeout SEC] [--keep] [--script GUEST_SCRIPT]
(another --script: every check it reports must pass, and it must report one)
"""
import argparse, glob, os, re, shutil, signal, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QEMU = "qemu-system-x86_64"
VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
# /init's modules, dependencies first (no modprobe in the initramfs). Once
# the host's / is mounted, the kernel loads anything else itself through the
# host's /sbin/modprobe and /lib/modules/<version>.
MODULES = ["drivers/virtio/virtio_ring", "drivers/virtio/virtio", "drivers/virtio/virtio_mmio",
           "fs/fuse/fuse", "fs/fuse/virtiofs"]
EXPECTED = ["cgroup-v2-only", "host-fs-read-only", "test_cgroup", "test_sandbox", "test_pool",
            "run-echo", "run-memory-breach", "run-time-limit", "run-cpu-time-limit", "run-pids-breach",
            "run-json-stats", "run-cgroup-files"]


def fail(msg):
    print("check-cgroup2: " + msg, file=sys.stderr)
    sys.exit(2)


GUEST_KERNEL_DIR = "/var/lib/soulbox/guest-kernel"  # where make setup unpacks it


def modules_of(kernel, ver):
    """The kernel's modules: /lib/modules/<ver>, else beside its boot/."""
    for d in ("/lib/modules/" + ver,
              os.path.join(os.path.dirname(os.path.dirname(kernel)), "lib/modules", ver)):
        if os.path.isdir(d + "/kernel"):
            return d
    return None


def find_kernel():
    """The newest Debian cloud kernel with its modules, unpacked by make setup
    or installed (as SoulBox's microVMs pick theirs)."""
    best = None
    for pattern in (GUEST_KERNEL_DIR + "/boot/vmlinuz-*-cloud-amd64",
                    "/boot/vmlinuz-*-cloud-amd64"):
        for k in sorted(glob.glob(pattern)):
            ver = k.rsplit("/vmlinuz-", 1)[1]
            mods = modules_of(k, ver)
            if mods and os.access(k, os.R_OK) and (
                    best is None or version_key(ver) > version_key(best[1])):
                best = (k, ver, mods)
    if best is None:
        fail("no Debian cloud kernel with its modules (in %s or /boot): make setup unpacks "
             "linux-image-cloud-amd64" % GUEST_KERNEL_DIR)
    return best


def version_key(ver):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", ver)]


def build_initramfs(work, mods):
    root = os.path.join(work, "initramfs")
    os.makedirs(os.path.join(root, "modules"))
    for d in ("dev", "proc", "sys", "newroot"):
        os.mkdir(os.path.join(root, d))
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Werror",
                    "-I", os.path.join(REPO, "src"), "-o", os.path.join(root, "init"),
                    os.path.join(REPO, "tests/vm/init.c")], check=True)
    order = []
    for m in MODULES:
        base = "%s/kernel/%s.ko" % (mods, m)
        name = os.path.basename(base)
        if os.path.exists(base):
            shutil.copy(base, os.path.join(root, "modules", name))
        elif os.path.exists(base + ".xz"):
            import lzma
            with lzma.open(base + ".xz") as f, open(os.path.join(root, "modules", name), "wb") as o:
                o.write(f.read())
        else:
            fail("kernel module %s missing in %s" % (m, mods))
        order.append(name)
    with open(os.path.join(root, "modules/order"), "w") as f:
        f.write("\n".join(order) + "\n")
    out = os.path.join(work, "initramfs.cpio")
    files = subprocess.run("find . | sort", shell=True, cwd=root, check=True,
                           capture_output=True).stdout
    with open(out, "wb") as o:
        subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root, input=files,
                       stdout=o, check=True)
    return out


def tsc_khz():
    for line in open("/proc/cpuinfo"):
        if line.startswith("cpu MHz"):
            return int(float(line.split(":")[1]) * 1000)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build", help="build directory (relative to the repo)")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--mem", default="2G")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--script", default=os.path.join(REPO, "tests/vm/guest.sh"),
                    help="the guest script (absolute, on the host's root filesystem)")
    a = ap.parse_args()

    if not shutil.which(QEMU):
        fail(QEMU + " not found: install qemu-system-x86 (make setup does)")
    if not os.access(VIRTIOFSD, os.X_OK):
        fail(VIRTIOFSD + " not found: install qemu-system-x86 (make setup does)")
    if os.geteuid() != 0:
        fail("needs root (virtiofsd exports /; the guest runs the engine as root)")
    for b in ("soulbox", "tests/test_cgroup", "tests/test_sandbox", "tests/test_pool"):
        if not os.access(os.path.join(REPO, a.build, b), os.X_OK):
            fail("%s/%s missing: run make all unit first" % (a.build, b))
    kernel, ver, mods = find_kernel()
    if os.path.dirname(mods) != "/lib/modules" and not os.path.isdir("/lib/modules"):
        # the guest binds the modules over the host's /lib/modules
        fail("/lib/modules is missing on this host (the guest binds the unpacked kernel's "
             "modules onto it): make setup creates it")

    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix="soulbox-vm-")
    procs = []
    try:
        initrd = build_initramfs(work, mods)
        sock = os.path.join(work, "vfs.sock")
        # The guest gets the host's root filesystem alone (no submounts:
        # it mounts its own /proc, /sys, /dev, /run, /tmp), read-only on the
        # host side too: virtiofsd serves a read-only bind mount of / made in
        # a mount namespace of its own. (sandbox=namespace cannot pivot_root
        # here; chroot confines it to that tree as well.)
        rootdir = os.path.join(work, "root")
        os.mkdir(rootdir)
        vfs = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                'mount --bind / "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"',
                                "sh", rootdir,
                                VIRTIOFSD, "--socket-path=" + sock, "-o", "source=" + rootdir,
                                "-o", "cache=always", "-o", "sandbox=chroot", "-o", "log_level=err"],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "virtiofsd.log"), "w"))
        procs.append(vfs)
        for _ in range(500):
            if os.path.exists(sock) or vfs.poll() is not None:
                break
            time.sleep(0.01)
        if not os.path.exists(sock):
            fail("virtiofsd did not start: " + open(os.path.join(work, "virtiofsd.log")).read())
        console = os.path.join(work, "console.log")
        # a script in the repository is named relative to it: the guest binds
        # the repository to /run/repo (a clone under /tmp is hidden otherwise)
        script = os.path.abspath(a.script)
        if script.startswith(REPO + "/"):
            script = script[len(REPO) + 1:]
        append = ("console=ttyS0 panic=-1 quiet tsc_early_khz=%d tsc=reliable "
                  "systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all "
                  "sbx_repo=%s sbx_script=%s sbx_build=%s sbx_modules=%s"
                  % (tsc_khz(), REPO, script, a.build, os.path.dirname(mods)))
        cmd = [QEMU, "-M", "microvm,pit=on,pic=on,rtc=on,isa-serial=on", "-accel", "tcg",
               "-m", a.mem, "-smp", str(a.smp),
               "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
               "-global", "virtio-mmio.force-legacy=false",
               "-object", "memory-backend-memfd,id=mem,size=%s,share=on" % a.mem,
               "-machine", "memory-backend=mem",
               "-chardev", "socket,id=vfs,path=" + sock,
               "-device", "vhost-user-fs-device,chardev=vfs,tag=hostroot,queue-size=1024",
               "-chardev", "file,id=con,path=" + console, "-serial", "chardev:con",
               "-kernel", kernel, "-initrd", initrd, "-append", append]
        print("check-cgroup2: booting %s under TCG (%d vCPUs, %s), up to %.0f s" %
              (ver, a.smp, a.mem, a.timeout), flush=True)
        qemu = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(qemu)
        timed_out = False
        try:
            qemu.wait(a.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            qemu.kill()
            qemu.wait()
        out = open(console, errors="replace").read().replace("\r\n", "\n")
        print(out, end="" if out.endswith("\n") else "\n")
        err = qemu.stderr.read().decode(errors="replace").strip()
        if err:
            print("qemu stderr:", err)
        results = {}
        # anywhere in a line: a test's output may lack its last newline
        for name, status in re.findall(r"SBX-RESULT (\S+) (\S+)", out):
            results[name] = status
        problems = []
        if timed_out:
            problems.append("timed out after %.0f s" % a.timeout)
        elif qemu.returncode != 0:
            problems.append("qemu exited %d" % qemu.returncode)
        if "SBX-INIT-FAIL" in out:
            problems.append("the guest's /init failed")
        if not results:
            problems.append("the guest did not boot or reported nothing")
        default = os.path.abspath(a.script) == os.path.join(REPO, "tests/vm/guest.sh")
        expected = EXPECTED if default else list(results)
        for name in expected:
            if name not in results:
                problems.append("%s: no result" % name)
            elif results[name] != "0":
                problems.append("%s: exit status %s" % (name, results[name]))
        print("check-cgroup2: %d/%d checks passed in %.0f s%s" %
              (sum(1 for n in expected if results.get(n) == "0"), len(expected),
               time.monotonic() - t0, "" if not problems else ": " + "; ".join(problems)))
        return 1 if problems else 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if a.keep:
            print("check-cgroup2: work directory kept:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
