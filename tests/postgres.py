"""A PostgreSQL server of the tests' own: a fresh cluster in a temporary folder, on
127.0.0.1 and a free port, stopped at the end. It needs the server's programs (Debian's
``postgresql`` package, which .ci/run installs); without them the PostgreSQL cases skip,
unless TAMIS_TEST_POSTGRES=require (as in CI), where they fail instead."""

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self) -> None:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if not (initdb and pg_ctl):
            raise FileNotFoundError("PostgreSQL server programs (initdb, pg_ctl) not found")
        self.pg_ctl = pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="tamis-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
            shutil.chown(self.root, "postgres")
            os.chmod(self.root, 0o755)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.prefix, initdb, "-D", str(self.data), "-A", "trust", "-U", "tamis", "-E", "UTF8"],
                       check=True, capture_output=True)
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=100"
        subprocess.run([*self.prefix, pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"),
                        "-w", "start"], check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://tamis@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([*self.prefix, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    try:
        cluster = Cluster()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
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
