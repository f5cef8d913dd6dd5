"""Attacks through the real server. Filesystem.

The server, the helpers and what "intact" means: attack.py; the C programs:
attack_programs.py."""
import base64
import json
import os
import subprocess

from attack import ROOT, SECRET, UID_BASE, intact, marker, run, srv  # noqa: F401 (srv: the fixture)


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


def test_compile_args_reach_host_files(srv):
    """compile_args that make gcc read host secrets (`-include`, `@file`) or run a command of the user's (`-wrapper`)."""
    for args, path in [(["-include", "/etc/shadow"], "/etc/shadow"),
                       (["-include", srv.private_canary], srv.private_canary),
                       (["@" + srv.config], srv.config)]:
        res = run(srv, "c", "int main(void){return 0;}\n", compile_args=args)
        assert res["status"] == "compile_error", res
        assert f"{path}: No such file or directory" in res["compile_output"], res
        assert SECRET not in json.dumps(res) and "root:" not in res["compile_output"]
    # a wrapper runs, but as the compile sandbox's user, in the compile sandbox
    res = run(srv, "c", "int main(void){return 0;}\n", compile_args=[
        "-wrapper", "/bin/sh,-c,id -u >&2; cat /etc/shadow " + srv.private_canary + " >&2; exit 1"])
    assert res["status"] == "compile_error", res
    lines = res["compile_output"].splitlines()
    assert int(lines[0]) >= UID_BASE, lines
    assert "/etc/shadow: No such file or directory" in res["compile_output"], lines
    assert SECRET not in json.dumps(res)
    intact(srv)
