"""A throwaway PostgreSQL for the cluster tests: Debian's server, run as the
`postgres` user in a temporary directory on a loopback port."""
import glob
import os
import shutil
import subprocess
import tempfile
import time


def pg_bin(name):
    """Debian's PostgreSQL binaries (package postgresql, installed by setup)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is missing: run scripts/setup.sh "
                           "(it installs Debian's package postgresql)")
    return found[-1]


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """initdb + pg_ctl start; url() for SoulBox; stop/start/restart for faults."""

    def __init__(self, port=None):
        self.dir = tempfile.mkdtemp(prefix="soulbox-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.port = port or free_port()
        os.mkdir(self.data, 0o700)
        shutil.chown(self.data, "postgres", "postgres")
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_pg([pg_bin("initdb"), "-D", self.data, "-U", "soulbox", "--auth=trust",
                     "-E", "UTF8", "--no-sync"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                    "synchronous_commit = off\nmax_connections = 200\n")
        self.start()
        self._as_pg([pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                     "soulbox", "soulbox"])

    def _as_pg(self, argv, check=True):
        return subprocess.run(["runuser", "-u", "postgres", "--"] + argv, check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def url(self, port=None):
        return f"postgres://soulbox@127.0.0.1:{port or self.port}/soulbox"

    def start(self):
        self._as_pg([pg_bin("pg_ctl"), "-D", self.data, "-l",
                     os.path.join(self.dir, "log"), "-w", "-t", "30", "start"])

    def stop(self, mode="fast"):
        self._as_pg([pg_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def psql(self, sql):
        """Rows of a query, as lists of strings (psql -At)."""
        r = subprocess.run([pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                            "soulbox", "-d", "soulbox", "-At", "-F", "\t", "-v",
                            "ON_ERROR_STOP=1", "-c", sql], check=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def close(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def new_database(pg, name):
    """A fresh, empty database on pg; its URL."""
    pg.psql(f"DROP DATABASE IF EXISTS {name}")
    pg.psql(f"CREATE DATABASE {name}")
    return f"postgres://soulbox@127.0.0.1:{pg.port}/{name}"


def psql_db(pg, db, sql):
    r = subprocess.run([pg_bin("psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "soulbox",
                        "-d", db, "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return [line.split("\t") for line in r.stdout.splitlines() if line]
