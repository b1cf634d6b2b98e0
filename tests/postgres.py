"""A PostgreSQL server of the tests' own: a fresh cluster in a temporary folder, on
127.0.0.1 and a free port, stopped at the end (and killed with the tests if they are).
It needs the server's programs (Debian's ``postgresql`` package, which .ci/run installs);
without them the PostgreSQL cases skip, unless TAMIS_TEST_POSTGRES=require (as in CI),
where they fail instead."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

REQUIRED = os.environ.get("TAMIS_TEST_POSTGRES", "") == "require"


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the tests' servers listen there)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The server runs in the foreground as this process's child, with a parent-death
    signal: however the tests end (even killed), it ends with them."""

    def __init__(self) -> None:
        initdb, postgres = _bin("initdb"), _bin("postgres")
        if not (initdb and postgres):
            raise FileNotFoundError("PostgreSQL server programs (initdb, postgres) not found")
        self.root = Path(tempfile.mkdtemp(prefix="tamis-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        prefix = ["setpriv", "--pdeathsig", "KILL"]
        if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
            shutil.chown(self.root, "postgres")
            os.chmod(self.root, 0o755)
            prefix += ["--reuid=postgres", "--regid=postgres", "--init-groups"]
        subprocess.run([*prefix, initdb, "-D", str(self.data), "-A", "trust", "-U", "tamis", "-E", "UTF8"],
                       check=True, capture_output=True)
        self.log = open(self.root / "log", "wb")
        self.proc = subprocess.Popen([*prefix, postgres, "-D", str(self.data), "-h", "127.0.0.1", "-p",
                                      str(self.port), "-k", str(self.root), "-c", "fsync=off",
                                      "-c", "max_connections=100"], stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, seconds: float = 60.0) -> None:
        import time

        import psycopg

        deadline = time.monotonic() + seconds
        while True:
            if self.proc.poll() is not None:
                raise subprocess.CalledProcessError(self.proc.returncode, "postgres",
                                                    stderr=(self.root / "log").read_bytes())
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://tamis@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM: a smart shutdown
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    try:
        cluster = Cluster()
    except (FileNotFoundError, subprocess.CalledProcessError, ImportError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        message = f"no PostgreSQL server to test against: {exc} {detail.decode(errors='replace')[-300:]}"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database of each kind the service stores in."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tamis.db'}"
    return request.getfixturevalue("postgres").new_database()
