"""Review items: what the policy sent for review, waiting in queues for people.

An item is claimed like a job, by a conditional UPDATE with a lease: two reviewers (or two
servers on one database) never hold the same item, and a claim left open runs out. A
decision needs the claim; it is written with its audit entry (and the job's callback, when
the item came from a job with a webhook) in one transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from tamis.storage.db import Database, stamp, utcnow
from tamis.storage.models import AuditRow, ReviewItemRow
from tamis.storage.webhooks import add_delivery

PENDING, DECIDED = "pending", "decided"
DECISIONS = ("approve", "remove", "escalate")
ORDERS = ("oldest", "riskiest")


@dataclass(frozen=True)
class ReviewItem:
    id: str
    queue: str
    status: str
    origin: str
    job_id: str | None
    owner: str
    name: str
    kind: str
    media_type: str | None
    text: str | None
    blob: str | None
    action: str
    risk: float
    labels: list
    result: dict
    webhook_url: str | None
    created_at: datetime
    claimed_by: str | None
    claim_until: datetime | None
    escalated_from: str | None
    escalated_by: str | None
    decision: str | None
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    bank: str | None

    @classmethod
    def of(cls, r: ReviewItemRow) -> ReviewItem:
        return cls(**{f: getattr(r, f) for f in cls.__dataclass_fields__})

    def claimed(self, now: datetime | None = None) -> bool:
        return self.claim_until is not None and self.claim_until > (now or utcnow())

    def to_dict(self, with_result: bool = True) -> dict:
        out = {"id": self.id, "queue": self.queue, "status": self.status, "origin": self.origin,
               "job_id": self.job_id, "name": self.name, "kind": self.kind, "media_type": self.media_type,
               "action": self.action, "risk": round(self.risk, 6), "labels": self.labels,
               "created_at": stamp(self.created_at),
               "claimed_by": self.claimed_by if self.claimed() else None,
               "claim_until": stamp(self.claim_until) if self.claimed() else None,
               "escalated_from": self.escalated_from, "escalated_by": self.escalated_by,
               "decision": self.decision, "reason": self.reason, "decided_by": self.decided_by,
               "decided_at": stamp(self.decided_at), "bank": self.bank}
        if with_result:
            out["result"] = self.result
        return out


def _storable(text: str | None) -> str | None:
    """Text PostgreSQL can store (it refuses NUL characters; a scan of a text holding some
    still needs its item)."""
    return text.replace("\x00", "\ufffd") if text is not None else None


class ClaimLost(Exception):
    """The item is not (or no longer) held by the one deciding it."""


class ReviewStore:
    def __init__(self, db: Database, claim_seconds: float = 300.0) -> None:
        self.db = db
        self.claim = timedelta(seconds=claim_seconds)

    # -- adding -----------------------------------------------------------------------

    @staticmethod
    def add_row(s: Session, *, queue: str, origin: str, name: str, kind: str, action: str, risk: float,
                labels: list, result: dict, owner: str = "", job_id: str | None = None,
                media_type: str | None = None, text: str | None = None, blob: str | None = None,
                webhook_url: str | None = None) -> str:
        """Queue an item in the caller's transaction (a job's end and its item commit together)."""
        item_id = secrets.token_hex(16)
        name, text = _storable(name)[:512], _storable(text)
        s.add(ReviewItemRow(id=item_id, queue=queue, status=PENDING, origin=origin, job_id=job_id, owner=owner,
                            name=name, kind=kind, media_type=media_type, text=text, blob=blob, action=action,
                            risk=float(risk), labels=labels, result=result, webhook_url=webhook_url,
                            created_at=utcnow()))
        return item_id

    def add(self, **fields) -> ReviewItem:
        with self.db.session() as s:
            item_id = self.add_row(s, **fields)
        return self.get(item_id)

    # -- reading ----------------------------------------------------------------------

    def get(self, item_id: str) -> ReviewItem | None:
        with self.db.session() as s:
            row = s.get(ReviewItemRow, item_id)
            return ReviewItem.of(row) if row is not None else None

    def _pending(self, queues: frozenset[str] | None):
        q = select(ReviewItemRow).where(ReviewItemRow.status == PENDING)
        return q if queues is None else q.where(ReviewItemRow.queue.in_(sorted(queues)))

    @staticmethod
    def _ordered(q, order: str):
        if order == "riskiest":
            return q.order_by(ReviewItemRow.risk.desc(), ReviewItemRow.created_at, ReviewItemRow.id)
        return q.order_by(ReviewItemRow.created_at, ReviewItemRow.id)

    def list(self, queues: frozenset[str] | None = None, status: str = PENDING, order: str = "oldest",
             limit: int = 50, offset: int = 0, queue: str | None = None) -> list[ReviewItem]:
        """Items of the given queues (``None``: every queue), oldest or riskiest first."""
        q = select(ReviewItemRow).where(ReviewItemRow.status == status)
        if queues is not None:
            q = q.where(ReviewItemRow.queue.in_(sorted(queues)))
        if queue is not None:
            q = q.where(ReviewItemRow.queue == queue)
        if status == DECIDED:
            q = q.order_by(ReviewItemRow.decided_at.desc(), ReviewItemRow.id)
        else:
            q = self._ordered(q, order)
        with self.db.session() as s:
            return [ReviewItem.of(r) for r in s.scalars(q.limit(limit).offset(offset))]

    def counts(self, queues: frozenset[str] | None = None) -> dict[str, dict[str, int]]:
        """Per queue: items waiting, items claimed now."""
        now = utcnow()
        held = func.sum(case((ReviewItemRow.claim_until > now, 1), else_=0))
        q = select(ReviewItemRow.queue, func.count(), held).where(
            ReviewItemRow.status == PENDING).group_by(ReviewItemRow.queue)
        if queues is not None:
            q = q.where(ReviewItemRow.queue.in_(sorted(queues)))
        with self.db.session() as s:
            return {queue: {"pending": n, "claimed": int(c or 0)} for queue, n, c in s.execute(q)}

    # -- claims -----------------------------------------------------------------------

    def _free_or(self, who: str, now: datetime):
        return or_(ReviewItemRow.claim_until.is_(None), ReviewItemRow.claim_until <= now,
                   ReviewItemRow.claimed_by == who)

    def take(self, item_id: str, who: str, queues: frozenset[str] | None = None) -> ReviewItem | None:
        """Claim an item for ``who`` (or renew their claim), if it is in one of ``queues``
        (None: any) as it is claimed; None when someone else holds it, it was decided, or it
        moved to a queue they may not see."""
        now = utcnow()
        q = update(ReviewItemRow).where(ReviewItemRow.id == item_id, ReviewItemRow.status == PENDING,
                                        self._free_or(who, now))
        if queues is not None:
            q = q.where(ReviewItemRow.queue.in_(sorted(queues)))
        with self.db.session() as s:
            taken = s.execute(q.values(claimed_by=who, claim_until=now + self.claim)).rowcount == 1
        return self.get(item_id) if taken else None

    def take_next(self, queues: frozenset[str] | None, who: str, order: str = "oldest",
                  queue: str | None = None) -> ReviewItem | None:
        """Claim the first item of these queues no one else holds (one already held by
        ``who`` first, so a reload does not take a second one; never one ``who`` escalated)."""
        now = utcnow()
        with self.db.session() as s:
            q = self._pending(queues)
            if queue is not None:
                q = q.where(ReviewItemRow.queue == queue)
            mine = s.scalars(q.where(ReviewItemRow.claimed_by == who, ReviewItemRow.claim_until > now)
                             .with_only_columns(ReviewItemRow.id).limit(1)).first()
            free = q.where(or_(ReviewItemRow.claim_until.is_(None), ReviewItemRow.claim_until <= now),
                           or_(ReviewItemRow.escalated_by.is_(None), ReviewItemRow.escalated_by != who))
            candidates = [mine] if mine else list(s.scalars(self._ordered(free, order)
                                                            .with_only_columns(ReviewItemRow.id).limit(20)))
        for item_id in candidates:  # another reviewer may take one between the read and the claim
            item = self.take(item_id, who, queues)
            if item is not None:
                return item
        return None

    def renew(self, item_id: str, who: str) -> bool:
        """Extend ``who``'s claim, if it is still theirs: a claim that ran out is theirs until
        someone else takes the item."""
        now = utcnow()
        with self.db.session() as s:
            return s.execute(update(ReviewItemRow).where(
                ReviewItemRow.id == item_id, ReviewItemRow.status == PENDING, ReviewItemRow.claimed_by == who)
                .values(claim_until=now + self.claim)).rowcount == 1

    def release(self, item_id: str, who: str) -> bool:
        with self.db.session() as s:
            return s.execute(update(ReviewItemRow).where(
                ReviewItemRow.id == item_id, ReviewItemRow.claimed_by == who, ReviewItemRow.status == PENDING).values(
                claimed_by=None, claim_until=None)).rowcount == 1

    # -- deciding ---------------------------------------------------------------------

    def decide(self, item_id: str, who: str, decision: str, reason: str, *, bank: str | None = None,
               escalate_to: str = "escalated", event: dict | None = None) -> ReviewItem:
        """Record ``who``'s decision on an item they hold; raises :class:`ClaimLost` when
        they do not hold it (any more). ``escalate`` moves it to ``escalate_to``, unclaimed.
        ``event``: the payload of the job's webhook, if the item has one."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
        now = utcnow()
        reason = _storable(reason)
        mine = and_(ReviewItemRow.id == item_id, ReviewItemRow.status == PENDING, ReviewItemRow.claimed_by == who)
        with self.db.session() as s:
            row = s.get(ReviewItemRow, item_id)
            if row is None:
                raise ClaimLost(item_id)
            was = row.queue
            if decision == "escalate":
                values = {"queue": escalate_to, "claimed_by": None, "claim_until": None, "reason": reason,
                          "escalated_from": was, "escalated_by": who}
            else:
                values = {"status": DECIDED, "decision": decision, "reason": reason, "decided_by": who,
                          "decided_at": now, "bank": bank, "claim_until": None}
            if s.execute(update(ReviewItemRow).where(mine, ReviewItemRow.queue == was)
                         .values(**values)).rowcount != 1:
                raise ClaimLost(item_id)
            moved = escalate_to if decision == "escalate" else None
            s.add(AuditRow(at=now, actor=who[:128], action=f"review.{decision}", target=item_id,
                           detail={"reason": reason, "queue": was, "to": moved, "bank": bank, "job_id": row.job_id,
                                   "labels": row.labels}))
            if row.webhook_url and row.job_id and event is not None:
                add_delivery(s, row.job_id, row.webhook_url, event["event"], event)
        return self.get(item_id)

    def purge(self, before: datetime) -> set[str]:
        """Delete items decided before ``before``; returns the uploads they held."""
        with self.db.session() as s:
            old = s.execute(select(ReviewItemRow.id, ReviewItemRow.blob).where(
                ReviewItemRow.status == DECIDED, ReviewItemRow.decided_at < before)).all()
            ids = [i for i, _ in old]
            for chunk in range(0, len(ids), 500):
                s.execute(delete(ReviewItemRow).where(ReviewItemRow.id.in_(ids[chunk:chunk + 500])))
        return {b for _, b in old if b}

    def blobs_in_use(self, blobs: set[str]) -> set[str]:
        if not blobs:
            return set()
        with self.db.session() as s:
            return set(s.scalars(select(ReviewItemRow.blob).where(ReviewItemRow.blob.in_(sorted(blobs)))))
