"""The tables. Changing one means a new migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: Who submitted it (an API key's id, or "" when the service runs without keys).
    owner: Mapped[str] = mapped_column(String(32), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: SHA-256 of what was asked (input and options): the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    #: The input: text, or the SHA-256 of an upload in the blob store.
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True, index=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    #: Where the outcome is POSTed when the job ends (one of the hosts the operator allows).
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)


class DeliveryRow(Base):
    """One webhook call to make (and the tries made): written with the job's end, in the
    same transaction, so an outcome is never lost between the job and its callback."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    #: pending, sending, delivered, failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(512), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)


class SecretRow(Base):
    """Secrets every server sharing the database must agree on (the webhook signing key)."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class KeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    #: SHA-256 of the key (a key is 32 random bytes: a slow hash adds nothing against guessing).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(128))
    profile: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: Requests per minute allowed (0: no limit).
    rate_limit: Mapped[int] = mapped_column(Integer, default=0)
    #: Review queues a ``review`` key may work on (comma-separated); empty: all of them.
    queues: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ReviewItemRow(Base):
    """A scan or job the policy sent for review: what was scanned (text, or an upload by
    SHA-256), its result, the queue it waits in, who holds it (a lease) and what was decided."""

    __tablename__ = "review_items"

    #: 128 random bits: an item's pages and media cannot be guessed.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), index=True)
    #: pending (waiting or claimed) or decided
    status: Mapped[str] = mapped_column(String(16), index=True)
    origin: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    owner: Mapped[str] = mapped_column(String(32), default="")
    name: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The policy's action: review, or block when blocked items are reviewed too.
    action: Mapped[str] = mapped_column(String(16))
    #: The highest score among the reasons (for riskiest-first order).
    risk: Mapped[float] = mapped_column(Float, index=True)
    labels: Mapped[list] = mapped_column(JSON, default=list)
    result: Mapped[dict] = mapped_column(JSON)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    claim_until: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    #: Where an escalated item came from, and who escalated it (it does not come back to them).
    escalated_from: Mapped[str | None] = mapped_column(String(64), nullable=True)
    escalated_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: approve, remove (or escalate, which moves the item to another queue and leaves it pending)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True, index=True)
    #: The bank the item's hashes were added to when it was removed.
    bank: Mapped[str | None] = mapped_column(String(128), nullable=True)


class ReviewerRow(Base):
    """A person who signs in to the review page (password hashed with argon2id)."""

    __tablename__ = "reviewers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    #: Queues this reviewer may work on (comma-separated); ``*``: all of them.
    queues: Mapped[str] = mapped_column(String(512))
    #: Page defaults of this reviewer (``blur``: media blurred until revealed).
    prefs: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)


class ReviewSessionRow(Base):
    """A signed-in browser: the SHA-256 of its cookie, and the token its forms must carry."""

    __tablename__ = "review_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[str] = mapped_column(String(32), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime())
    expires_at: Mapped[datetime] = mapped_column(DateTime(), index=True)
