"""A throwaway PostgreSQL cluster for tests: ``initdb`` in a temporary folder, ``pg_ctl start``
on a free loopback port (unix socket in the same folder), removed afterwards.

Finds ``initdb``/``pg_ctl`` on PATH or under ``/usr/lib/postgresql/*/bin`` (Debian's
``postgresql`` package). PostgreSQL refuses to run as root: as root the cluster runs as the
``postgres`` user the Debian package creates (``subprocess`` ``user=``). When the binaries
are missing the fixture fails with the one command to run.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

INSTALL = "sudo apt-get install postgresql"


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    cands = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return cands[-1] if cands else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self):
        self.initdb, self.pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            raise FileNotFoundError(f"PostgreSQL server binaries (initdb, pg_ctl) not found: "
                                    f"run `{INSTALL}`")
        self.run_as: dict = {}
        if os.getuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(f"running as root and there is no 'postgres' user to run the "
                                   f"server as: run `{INSTALL}` (it creates one)") from None
            self.run_as = {"user": pw.pw_uid, "group": pw.pw_gid}
        self.dir = Path(tempfile.mkdtemp(prefix="wbpg-"))
        if self.run_as:
            os.chown(self.dir, self.run_as["user"], self.run_as["group"])
        self.data = self.dir / "data"
        self.port = None

    def _run(self, *cmd, timeout=120):
        return subprocess.run(list(cmd), check=True, capture_output=True, text=True,
                              timeout=timeout, cwd=self.dir, **self.run_as)

    def start(self) -> "PgCluster":
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        for attempt in range(5):
            self.port = _free_port()
            opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                    f"-c max_connections=100")
            try:
                self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.dir / "log"),
                          "-o", opts, "-w", "-t", "60", "start")
                return self
            except subprocess.CalledProcessError:
                if attempt == 4:
                    log = (self.dir / "log").read_text() if (self.dir / "log").exists() else ""
                    raise RuntimeError(f"PostgreSQL did not start: {log[-2000:]}") from None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            if self.port is not None:
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
