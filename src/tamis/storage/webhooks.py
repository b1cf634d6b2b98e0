"""Webhook deliveries: made when a job ends, tried until the receiver says 2xx, with
exponential backoff, each try recorded (``GET /v1/jobs/{id}/deliveries``).

A delivery is claimed like a job (a conditional UPDATE with a lease), so with several
servers on one database each callback is sent by one of them at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tamis.storage.db import Database, stamp, utcnow
from tamis.storage.models import DeliveryRow, SecretRow

SECRET_NAME = "webhook_signing_key"


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value: HMAC-SHA256 of the body, as Mastodon signs its webhooks."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    id: str
    job_id: str
    url: str
    event: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, r: DeliveryRow) -> Delivery:
        return cls(r.id, r.job_id, r.url, r.event, r.body, r.status, r.attempts, r.next_attempt_at, r.last_status,
                   r.last_error, r.created_at, r.delivered_at)

    def to_dict(self) -> dict:
        return {"id": self.id, "event": self.event, "url": self.url, "status": self.status,
                "attempts": self.attempts, "last_status": self.last_status, "last_error": self.last_error,
                "created_at": stamp(self.created_at), "delivered_at": stamp(self.delivered_at),
                "next_attempt_at": stamp(self.next_attempt_at) if self.status == "pending" else None}


def add_delivery(s: Session, job_id: str, url: str, event: str, payload: dict) -> None:
    """Queue a callback, in the caller's transaction (the job's end and its callback commit together)."""
    now = utcnow()
    s.add(DeliveryRow(id=uuid.uuid4().hex, job_id=job_id, url=url, event=event,
                      body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")), status="pending",
                      attempts=0, next_attempt_at=now, created_at=now))


class DeliveryStore:
    def __init__(self, db: Database, max_attempts: int = 8, backoff_seconds: float = 10.0,
                 lease_seconds: float = 60.0, secret: str | None = None) -> None:
        self.db = db
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self._secret = secret or None

    def secret(self) -> str:
        """The signing secret: the setting, else one made once and kept in the database
        (so every server sharing it signs alike)."""
        if self._secret is None:
            with self.db.session() as s:
                row = s.get(SecretRow, SECRET_NAME)
                value = row.value if row is not None else None
            if value is None:
                try:
                    with self.db.session() as s:
                        s.add(SecretRow(name=SECRET_NAME, value=secrets.token_hex(32)))
                except IntegrityError:  # another server made it at the same moment
                    pass
                with self.db.session() as s:
                    value = s.get(SecretRow, SECRET_NAME).value
            self._secret = value
        return self._secret

    def _claimable(self, now: datetime):
        return or_(and_(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now),
                   and_(DeliveryRow.status == "sending", DeliveryRow.lease_until < now))

    def claim(self) -> Delivery | None:
        now = utcnow()
        with self.db.session() as s:
            candidates = s.execute(select(DeliveryRow.id, DeliveryRow.attempts).where(self._claimable(now))
                                   .order_by(DeliveryRow.next_attempt_at).limit(8)).all()
        for delivery_id, attempts in candidates:
            with self.db.session() as s:
                taken = s.execute(update(DeliveryRow).where(
                    DeliveryRow.id == delivery_id, DeliveryRow.attempts == attempts, self._claimable(now)).values(
                    status="sending", attempts=attempts + 1, lease_until=now + self.lease))
                if taken.rowcount == 1:
                    return Delivery.of(s.get(DeliveryRow, delivery_id))
        return None

    def record(self, d: Delivery, status_code: int | None, error: str | None = None) -> str:
        """The outcome of one try; returns the delivery's new status."""
        now = utcnow()
        if status_code is not None and 200 <= status_code < 300:
            values = {"status": "delivered", "delivered_at": now}
        elif d.attempts >= self.max_attempts:
            values = {"status": "failed"}
        else:  # 10 s, 20 s, 40 s, ... by default
            values = {"status": "pending",
                      "next_attempt_at": now + timedelta(seconds=self.backoff * 2 ** (d.attempts - 1))}
        with self.db.session() as s:
            s.execute(update(DeliveryRow).where(DeliveryRow.id == d.id, DeliveryRow.attempts == d.attempts).values(
                lease_until=None, last_status=status_code, last_error=(error or None) and error[:512], **values))
        return values["status"]

    def for_job(self, job_id: str) -> list[Delivery]:
        with self.db.session() as s:
            rows = s.scalars(select(DeliveryRow).where(DeliveryRow.job_id == job_id)
                             .order_by(DeliveryRow.created_at))
            return [Delivery.of(r) for r in rows]

    def purge(self, before: datetime) -> int:
        """Delete deliveries that ended (delivered or failed) before ``before``, whatever their
        job (a review decision's callback can outlive the job it reports on)."""
        with self.db.session() as s:
            return s.execute(delete(DeliveryRow).where(DeliveryRow.status.in_(("delivered", "failed")),
                                                       DeliveryRow.created_at < before)).rowcount
