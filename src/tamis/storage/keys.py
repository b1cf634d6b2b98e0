"""API keys (stored as SHA-256 hashes, shown once) and the audit log of admin changes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tamis.errors import TamisError
from tamis.storage.db import Database, utcnow
from tamis.storage.models import AuditRow, KeyRow

SCOPES = ("scan", "review", "admin", "metrics")
PREFIX = "tamis_"


class KeyRequestError(TamisError):
    code = "bad_key_request"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    profile: str | None
    rate_limit: int
    created_at: datetime
    revoked_at: datetime | None
    #: Review queues a ``review`` key may work on (None: every queue).
    queues: frozenset[str] | None = None

    @classmethod
    def of(cls, row: KeyRow) -> ApiKey:
        from tamis.storage.reviewers import parse_queues

        return cls(row.id, row.name, row.prefix, tuple(s for s in row.scopes.split(",") if s), row.profile,
                   row.rate_limit, row.created_at, row.revoked_at, parse_queues(row.queues))

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def may_review(self, queue: str) -> bool:
        return self.allows("review") and (self.queues is None or queue in self.queues)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "prefix": self.prefix, "scopes": list(self.scopes),
                "profile": self.profile, "rate_limit": self.rate_limit,
                "queues": sorted(self.queues) if self.queues else ["*"],
                "created_at": self.created_at.isoformat() + "Z",
                "revoked_at": self.revoked_at.isoformat() + "Z" if self.revoked_at else None}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, scopes: tuple[str, ...] | list[str], profile: str | None = None,
               rate_limit: int = 0, actor: str = "cli", queues: str | list | None = None) -> tuple[ApiKey, str]:
        """A new key; returns it and its secret, which is not stored and cannot be shown again."""
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise KeyRequestError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
        if not name or len(name) > 128:
            raise KeyRequestError("a key needs a name of 1 to 128 characters")
        if rate_limit < 0:
            raise KeyRequestError("rate limit must not be negative")
        from tamis.storage.reviewers import parse_queues

        allowed = parse_queues(queues)
        secret = PREFIX + secrets.token_urlsafe(32)
        row = KeyRow(id=uuid.uuid4().hex, name=name, key_hash=_hash(secret), prefix=secret[:12],
                     scopes=",".join(dict.fromkeys(scopes)), profile=profile, rate_limit=rate_limit,
                     queues=",".join(sorted(allowed)) if allowed else "", created_at=utcnow())
        try:
            with self.db.session() as s:
                s.add(row)
                s.flush()
                self._audit(s, actor, "key.create", name, {"scopes": list(scopes), "profile": profile,
                                                              "queues": row.queues or "*"})
        except IntegrityError:
            raise KeyRequestError(f"a key named {name!r} exists already") from None
        return ApiKey.of(row), secret

    def list(self, include_revoked: bool = False) -> list[ApiKey]:
        with self.db.session() as s:
            q = select(KeyRow).order_by(KeyRow.created_at)
            if not include_revoked:
                q = q.where(KeyRow.revoked_at.is_(None))
            return [ApiKey.of(r) for r in s.scalars(q)]

    def revoke(self, name: str, actor: str = "cli") -> ApiKey:
        with self.db.session() as s:
            row = s.scalars(select(KeyRow).where((KeyRow.name == name) | (KeyRow.id == name))).first()
            if row is None:
                raise KeyRequestError(f"no key named {name!r}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                self._audit(s, actor, "key.revoke", row.name, {})
            return ApiKey.of(row)

    def verify(self, secret: str) -> ApiKey | None:
        """The active key with this secret, or None."""
        if not secret.startswith(PREFIX) or len(secret) > 100:
            return None
        with self.db.session() as s:
            row = s.scalars(select(KeyRow).where(KeyRow.key_hash == _hash(secret))).first()
            return ApiKey.of(row) if row is not None and row.revoked_at is None else None

    def any_active(self) -> bool:
        with self.db.session() as s:
            return bool(s.scalar(select(func.count()).select_from(KeyRow).where(KeyRow.revoked_at.is_(None))))

    def audit(self, actor: str, action: str, target: str, detail: dict | None = None) -> None:
        with self.db.session() as s:
            self._audit(s, actor, action, target, detail or {})

    @staticmethod
    def _audit(s, actor: str, action: str, target: str, detail: dict) -> None:
        s.add(AuditRow(at=utcnow(), actor=actor, action=action, target=target[:255], detail=detail))

    def audit_log(self, limit: int = 100) -> list[dict]:
        with self.db.session() as s:
            rows = s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit))
            return [{"at": r.at.isoformat() + "Z", "actor": r.actor, "action": r.action, "target": r.target,
                     "detail": r.detail} for r in rows]
