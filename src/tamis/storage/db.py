"""The service's database: one SQLAlchemy engine, its schema kept by Alembic migrations.

SQLite (the default, a file in the data folder) runs in WAL mode with a busy timeout, so
that the API and the job workers write from several threads; PostgreSQL is used by URL
(``TAMIS_DATABASE_URL=postgresql://...``, driven by psycopg 3).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tamis.errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    """Now, in UTC, without a zone (stored the same way by SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


def stamp(t: datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC (``...Z``)."""
    return t.isoformat(timespec="milliseconds") + "Z" if t is not None else None


def _url(url: str):
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database URL {url!r} is not valid: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"database URL {url!r}: tamis stores in SQLite or PostgreSQL")
    return parsed


class Database:
    """An engine and a session factory for one URL, migrated to the current schema."""

    def __init__(self, url: str, migrate: bool = True) -> None:
        parsed = _url(url)
        self.url = parsed
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise ConfigError("a PostgreSQL database needs the 'postgres' extra: pip install 'tamis[postgres]' "
                                  "(psycopg 3, LGPL-3.0)") from None
            self.engine = create_engine(parsed, pool_pre_ping=True, pool_size=8, max_overflow=8)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.migrate()

    def migrate(self) -> None:
        """Bring the schema to the newest migration (a no-op when it is there already)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise ConfigError(f"database {self.url.render_as_string(hide_password=True)}: {exc}") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on leaving, rolled back on an error."""
        with self.sessions.begin() as s:
            yield s

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cur.execute("PRAGMA synchronous=NORMAL")  # durable across a crash of the process (WAL)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
