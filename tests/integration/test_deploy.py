"""`make install` and the systemd unit (deploy/systemd/soulbox.service, docs/deploy.md).

Installs into a staging root (DESTDIR), checks what lands where and that a
second install keeps an edited config, and has systemd-analyze verify the
unit as installed: every directive must parse with no warning (systemd
itself is not running on the test machines, so the unit is checked, not
started).
"""
import os
import shutil
import stat
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def install(dest, *extra):
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", *extra], cwd=REPO,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_make_install_puts_everything_in_place(tmp_path):
    install(tmp_path)
    binary = tmp_path / "usr/local/bin/soulbox"
    assert mode(binary) == 0o755
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("soulbox "), r
    assert mode(tmp_path / "etc/soulbox/soulbox.yaml") == 0o640
    assert (tmp_path / "etc/soulbox/soulbox.yaml").read_text() == \
        open(os.path.join(REPO, "config/soulbox.yaml")).read()
    assert mode(tmp_path / "var/lib/soulbox") == 0o700
    unit = (tmp_path / "etc/systemd/system/soulbox.service").read_text()
    assert "ExecStart=/usr/local/bin/soulbox serve --config /etc/soulbox/soulbox.yaml " \
           "--data-dir /var/lib/soulbox" in unit
    assert (tmp_path / "usr/local/share/doc/soulbox/deploy.md").exists()
    # an edited config survives the next install
    (tmp_path / "etc/soulbox/soulbox.yaml").write_text("server:\n  port: 9999\n")
    install(tmp_path)
    assert (tmp_path / "etc/soulbox/soulbox.yaml").read_text() == "server:\n  port: 9999\n"


def test_prefix_moves_the_binary_and_the_unit_follows(tmp_path):
    install(tmp_path, "PREFIX=/opt/soulbox")
    assert (tmp_path / "opt/soulbox/bin/soulbox").exists()
    unit = (tmp_path / "etc/systemd/system/soulbox.service").read_text()
    assert "ExecStart=/opt/soulbox/bin/soulbox serve" in unit and "/usr/local" not in unit


def verify(unit_text, tmp_path, name="soulbox.service"):
    path = tmp_path / name
    path.write_text(unit_text)
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze missing: make setup installs systemd"
    return subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True,
                          timeout=60)


def test_the_unit_verifies_clean(tmp_path):
    install(tmp_path / "root")
    unit = (tmp_path / "root/etc/systemd/system/soulbox.service").read_text()
    # the binary where the staged install put it, so ExecStart resolves
    staged = unit.replace("/usr/local/bin/soulbox", str(tmp_path / "root/usr/local/bin/soulbox"))
    r = verify(staged, tmp_path)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    for key in ("NoNewPrivileges=yes", "ProtectSystem=full", "CapabilityBoundingSet=",
                "TimeoutStopSec=30s", "Restart=on-failure"):
        assert key in unit
    # and the check can fail: a directive systemd cannot parse is reported
    r = verify(staged.replace("ProtectSystem=full", "ProtectSystem=bogus"), tmp_path,
               "soulbox-bad.service")
    assert "Failed to parse protect system value" in r.stderr


def test_compose_file_is_valid_and_asks_for_keys():
    """deploy/compose.yaml, as Debian's docker-compose reads it: the image's
    documented flags, and no start without API keys."""
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose missing: make setup installs it"
    args = [compose, "-f", os.path.join(REPO, "deploy/compose.yaml"), "config"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, SOULBOX_API_KEYS="me:secret"))
    assert r.returncode == 0, r.stderr
    for want in ("SYS_ADMIN", "NET_ADMIN", "seccomp=unconfined", "apparmor=unconfined",
                 "8080", "50051", "soulbox-data", "/var/lib/soulbox", "stop_grace_period: 15s"):
        assert want in r.stdout, (want, r.stdout)
    env = {k: v for k, v in os.environ.items() if k != "SOULBOX_API_KEYS"}
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode != 0 and "set SOULBOX_API_KEYS=id:secret" in r.stderr, r.stderr
