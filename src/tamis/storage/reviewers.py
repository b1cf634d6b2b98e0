"""Reviewers (the people who sign in to the review page) and their browser sessions.

Passwords are hashed with argon2id (argon2-cffi, its default parameters, re-hashed when
those change). A session cookie is 32 random bytes, stored as its SHA-256; each session has
its own CSRF token that every form it posts must carry.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from tamis.config import queue_name
from tamis.errors import TamisError
from tamis.storage.db import Database, utcnow
from tamis.storage.models import AuditRow, ReviewerRow, ReviewSessionRow

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
#: Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash(secrets.token_hex(16))


class ReviewerError(TamisError):
    code = "bad_reviewer_request"


class SignInBusy(TamisError):
    code = "rate_limited"


def parse_queues(raw: str | list | tuple | None) -> frozenset[str] | None:
    """``*`` (or nothing): every queue (None); else the set of queue names."""
    items = [q.strip() for q in (raw.split(",") if isinstance(raw, str) else raw or []) if q.strip()]
    if not items or "*" in items:
        return None
    for q in items:
        try:
            queue_name(q)
        except ValueError as exc:
            raise ReviewerError(str(exc)) from None
    return frozenset(items)


@dataclass(frozen=True)
class Reviewer:
    id: str
    name: str
    #: The queues they may work on (None: all).
    queues: frozenset[str] | None
    prefs: dict
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, r: ReviewerRow) -> Reviewer:
        return cls(r.id, r.name, parse_queues(r.queues), dict(r.prefs or {}), r.created_at, r.disabled_at)

    def may_review(self, queue: str) -> bool:
        return self.queues is None or queue in self.queues

    @property
    def blur(self) -> bool:
        return bool(self.prefs.get("blur", True))

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "queues": sorted(self.queues) if self.queues else ["*"],
                "prefs": self.prefs, "created_at": self.created_at.isoformat() + "Z",
                "disabled_at": self.disabled_at.isoformat() + "Z" if self.disabled_at else None}


@dataclass(frozen=True)
class SignedIn:
    reviewer: Reviewer
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ReviewerStore:
    def __init__(self, db: Database, session_hours: float = 12.0) -> None:
        self.db = db
        self.session_life = timedelta(hours=session_hours)
        self._any_checked = (0.0, False)
        #: Password checks at once (argon2id takes tens of ms and 64 MiB each): a flood of
        #: sign-ins waits here, not in the database pool or in memory.
        self._verifying = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))

    def create(self, name: str, password: str, queues: str | list | tuple | None = "*", actor: str = "cli") -> Reviewer:
        if not NAME.match(name or ""):
            raise ReviewerError("a reviewer name is 1-128 letters, digits, '_', '.', '@' or '-'")
        if len(password) < MIN_PASSWORD:
            raise ReviewerError(f"a password has at least {MIN_PASSWORD} characters")
        allowed = parse_queues(queues)
        row = ReviewerRow(id=uuid.uuid4().hex, name=name, password_hash=_hasher.hash(password),
                          queues=",".join(sorted(allowed)) if allowed else "*", prefs={}, created_at=utcnow())
        try:
            with self.db.session() as s:
                s.add(row)
                s.flush()
                s.add(AuditRow(at=utcnow(), actor=actor, action="reviewer.create", target=name,
                               detail={"queues": row.queues}))
        except IntegrityError:
            raise ReviewerError(f"a reviewer named {name!r} exists") from None
        return self.get(name)

    def get(self, name: str) -> Reviewer | None:
        with self.db.session() as s:
            row = s.scalars(select(ReviewerRow).where(ReviewerRow.name == name)).first()
            return Reviewer.of(row) if row else None

    def any(self) -> bool:
        """Whether any reviewer was ever made (checked at most every few seconds)."""
        now = time.monotonic()
        if now - self._any_checked[0] > 5.0 or not self._any_checked[1]:
            with self.db.session() as s:
                self._any_checked = (now, s.scalar(select(func.count()).select_from(ReviewerRow)) > 0)
        return self._any_checked[1]

    def list(self) -> list[Reviewer]:
        with self.db.session() as s:
            return [Reviewer.of(r) for r in s.scalars(select(ReviewerRow).order_by(ReviewerRow.name))]

    def disable(self, name: str, actor: str = "cli") -> Reviewer:
        with self.db.session() as s:
            row = s.scalars(select(ReviewerRow).where(ReviewerRow.name == name)).first()
            if row is None:
                raise ReviewerError(f"no reviewer named {name!r}")
            row.disabled_at = row.disabled_at or utcnow()
            s.execute(delete(ReviewSessionRow).where(ReviewSessionRow.reviewer_id == row.id))
            s.add(AuditRow(at=utcnow(), actor=actor, action="reviewer.disable", target=name, detail={}))
        return self.get(name)

    def set_prefs(self, reviewer: Reviewer, **prefs) -> Reviewer:
        with self.db.session() as s:
            s.execute(update(ReviewerRow).where(ReviewerRow.id == reviewer.id).values(
                prefs={**reviewer.prefs, **prefs}))
        return self.get(reviewer.name)

    # -- sessions ---------------------------------------------------------------------

    def sign_in(self, name: str, password: str) -> tuple[str, SignedIn] | None:
        """A new session (its cookie value, and who it is) for the right password; None
        otherwise. Raises :class:`SignInBusy` when too many checks run at once."""
        with self.db.session() as s:
            row = s.scalars(select(ReviewerRow).where(ReviewerRow.name == name)).first()
            found = (row.id, row.password_hash) if row is not None and row.disabled_at is None else None
        stored = found[1] if found else _DUMMY
        if not self._verifying.acquire(timeout=2.0):
            raise SignInBusy("too many sign-ins at once: try again in a moment")
        try:  # outside any database session: a slow hash holds no connection
            _hasher.verify(stored, password)
            rehash = _hasher.hash(password) if found and _hasher.check_needs_rehash(stored) else None
        except (VerificationError, InvalidHashError):
            return None
        finally:
            self._verifying.release()
        if found is None:
            return None
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
        with self.db.session() as s:
            row = s.get(ReviewerRow, found[0])
            if row is None or row.disabled_at is not None:
                return None
            if rehash:
                row.password_hash = rehash
            s.execute(delete(ReviewSessionRow).where(ReviewSessionRow.expires_at < now))
            s.add(ReviewSessionRow(token_hash=_digest(token), reviewer_id=row.id, csrf=csrf, created_at=now,
                                   expires_at=now + self.session_life))
            return token, SignedIn(Reviewer.of(row), csrf)

    def session(self, token: str | None) -> SignedIn | None:
        if not token or len(token) > 128:
            return None
        with self.db.session() as s:
            found = s.execute(select(ReviewSessionRow, ReviewerRow).join(
                ReviewerRow, ReviewerRow.id == ReviewSessionRow.reviewer_id).where(
                ReviewSessionRow.token_hash == _digest(token), ReviewSessionRow.expires_at > utcnow(),
                ReviewerRow.disabled_at.is_(None))).first()
            return SignedIn(Reviewer.of(found[1]), found[0].csrf) if found else None

    def sign_out(self, token: str | None) -> None:
        if token:
            with self.db.session() as s:
                s.execute(delete(ReviewSessionRow).where(ReviewSessionRow.token_hash == _digest(token)))
