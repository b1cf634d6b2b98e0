"""The review desk: what the policy sends for review becomes an item in a queue, and what
reviewers decide is applied. The review API and the review page are two faces of it.

- **Queues** are chosen by the ``review_queues`` rules on the labels of the decision's
  reasons (first rule that names one of them, or a label above it); else ``default``.
  Escalated items go to ``escalated``.
- **Deciding** needs the item's claim. ``remove`` with a bank adds the item's hashes (MD5,
  SHA-256, and PDQ or the text hash) to that bank, so the same upload is caught on its next
  scan; the decision, its audit entry and the job's callback commit together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tamis.results import ScanResult
from tamis.service.errors import ServiceError
from tamis.storage import ClaimLost, Job, ReviewerStore, ReviewItem, ReviewStore
from tamis.storage.review import DECISIONS

log = logging.getLogger("tamis.service.review")

DEFAULT_QUEUE = "default"
ESCALATED_QUEUE = "escalated"
MAX_REASON = 2000


@dataclass(frozen=True)
class Reviewing:
    """Who reviews: an API key's name or a reviewer's, and the queues they may see (None: all)."""

    actor: str
    queues: frozenset[str] | None

    def may(self, queue: str) -> bool:
        return self.queues is None or queue in self.queues


def _matches(rule: str, label: str) -> bool:
    return label == rule or label.startswith(rule + "/")


class ReviewDesk:
    def __init__(self, service) -> None:
        self.service = service
        s = service.settings
        self.items = ReviewStore(service.db, claim_seconds=s.review_claim_minutes * 60)
        self.reviewers = ReviewerStore(service.db, session_hours=s.review_session_hours)

    # -- into the queue ---------------------------------------------------------------

    def wanted(self, result: dict | ScanResult) -> tuple[str, float, list[str]] | None:
        """(Queue, risk, labels) for a result (or its dict) that needs a person; None for one that does not."""
        if isinstance(result, ScanResult):
            decision, error = (result.decision.to_dict() if result.decision else {}), result.error
        else:
            decision, error = result.get("decision") or {}, result.get("error")
        actions = ("review", "block") if self.service.settings.review_blocked else ("review",)
        if error or decision.get("action") not in actions:
            return None
        reasons = decision.get("reasons") or []
        labels = list(dict.fromkeys(r["label"] for r in reasons))
        risk = max((float(r.get("score", 0.0)) for r in reasons), default=0.0)
        for queue, rules in self.service.settings.review_queues:
            if any(_matches(rule, label) for rule in rules for label in labels):
                return queue, risk, labels
        return DEFAULT_QUEUE, risk, labels

    @staticmethod
    def _fields(wanted: tuple[str, float, list[str]], result: dict, name: str, text: str | None,
                blob: str | None) -> dict:
        queue, risk, labels = wanted
        return {"queue": queue, "risk": risk, "labels": labels, "action": result["decision"]["action"],
                "name": name, "kind": result.get("kind") or ("text" if text is not None else "file"),
                "media_type": result.get("media_type"), "text": text, "blob": blob, "result": result}

    def from_scan(self, result: ScanResult, *, owner: str, text: str | None = None,
                  data: bytes | None = None) -> str | None:
        """Queue a scan's result if its decision asks for a person; the item's id."""
        wanted = self.wanted(result)
        if wanted is None:
            return None
        blob = self.service.blobs.put_bytes(data)[0] if data is not None else None
        fields = self._fields(wanted, result.to_dict(), result.source, text, blob)
        return self.items.add(origin="scan", owner=owner, **fields).id

    async def queued(self, result: ScanResult, *, owner: str, text: str | None = None,
                     data: bytes | None = None) -> str | None:
        """:meth:`from_scan` from a request's event loop: in a thread, and only for a result
        that needs a person (most need none, and cost nothing here)."""
        if self.wanted(result) is None:
            return None
        from fastapi.concurrency import run_in_threadpool

        return await run_in_threadpool(self.from_scan, result, owner=owner, text=text, data=data)

    def for_job(self, job: Job, result: dict):
        """What :meth:`JobStore.finish` commits with a job's result: its review item, if any."""
        wanted = self.wanted(result)
        if wanted is None:
            return None
        fields = self._fields(wanted, result, job.name, job.text, job.blob)
        return lambda s: ReviewStore.add_row(s, origin="job", owner=job.owner, job_id=job.id,
                                             webhook_url=job.webhook_url, **fields)

    # -- reviewing --------------------------------------------------------------------

    def item(self, item_id: str, who: Reviewing) -> ReviewItem:
        """An item ``who`` may see: ``not_found``, or ``forbidden`` for another queue's."""
        item = self.items.get(item_id) if len(item_id) <= 64 else None
        if item is None:
            raise ServiceError("not_found", "no such review item")
        if not who.may(item.queue):
            raise ServiceError("forbidden", "this item is in a review queue you have no access to")
        return item

    def claim(self, item_id: str, who: Reviewing) -> ReviewItem:
        item = self.item(item_id, who)
        if item.status != "pending":
            raise ServiceError("already_decided", f"this item was decided ({item.decision}) by {item.decided_by}")
        taken = self.items.take(item_id, who.actor, who.queues)  # the queue checked again as it is claimed
        if taken is None:
            raise ServiceError("claimed", "another reviewer holds this item; it is free again when they "
                               "decide or their claim runs out")
        return taken

    def decide(self, item_id: str, who: Reviewing, decision: str, reason: str, bank: str | None = None,
               label: str | None = None) -> ReviewItem:
        """Apply a decision on an item ``who`` holds (``claim_lost`` otherwise). A removed
        item's hashes go to ``bank`` once the decision is recorded."""
        reason = (reason or "").strip()
        if not reason:
            raise ServiceError("invalid_request", "a decision needs a reason")
        if len(reason) > MAX_REASON:
            raise ServiceError("invalid_request", f"a reason has at most {MAX_REASON} characters")
        if decision not in DECISIONS:
            raise ServiceError("invalid_request", f"decision must be one of {', '.join(DECISIONS)}")
        if bank and decision != "remove":
            raise ServiceError("invalid_request", "only a removed item's hashes go to a bank")
        item = self.item(item_id, who)
        if decision == "escalate" and item.queue == ESCALATED_QUEUE:
            raise ServiceError("invalid_request", "this item was escalated already: approve or remove it")
        if bank:
            label = self._check_bank(bank, label or (item.labels[0] if item.labels else "known_content"))
        if not self.items.renew(item_id, who.actor):  # still ours
            raise ServiceError("claim_lost", "you do not hold this item (another reviewer took it, or it was "
                               "decided): open it again")
        event = None
        if item.job_id and item.webhook_url:
            kind = "review.escalated" if decision == "escalate" else "review.decided"
            event = {"event": kind, "job_id": item.job_id,
                     "review": {"id": item.id, "decision": decision, "reason": reason, "by": who.actor,
                                "queue": item.queue, "bank": bank}}
        try:
            decided = self.items.decide(item_id, who.actor, decision, reason, bank=bank,
                                        escalate_to=ESCALATED_QUEUE, event=event)
        except ClaimLost:
            raise ServiceError("claim_lost", "another reviewer took this item before the decision was "
                               "recorded: open it again") from None
        if bank:
            try:
                self._bank(item, bank, label, who)
            except Exception:  # noqa: BLE001 - the decision stands; the audit log says what was not banked
                log.exception("review item %s: removed, but its hashes could not be added to bank %s", item.id, bank)
                self.service.keys.audit(who.actor, "bank.add_failed", bank, {"review_item": item.id})
                raise ServiceError("bank_failed", f"the item was removed, but its hashes could not be added to "
                                   f"{bank!r}; add them with POST /v1/banks/{bank}/entries") from None
        if event is not None:
            self.service.webhooks.wake()
        return decided

    def _check_bank(self, bank: str, label: str) -> str:
        from tamis.banks.store import BankError
        from tamis.taxonomy import LABELS

        try:
            self.service.bank_store.bank(bank)
        except BankError:
            raise ServiceError("not_found", f"no bank named {bank!r} (create it first: tamis banks create)") from None
        if label not in LABELS:
            raise ServiceError("invalid_request", f"{label!r} is not a label of the taxonomy (tamis labels)")
        return label

    def _bank(self, item: ReviewItem, bank: str, label: str, who: Reviewing) -> None:
        """The item's hashes into ``bank`` (the bank detector sees them at its next scan)."""
        from tamis.banks.store import Entry
        from tamis.detectors.banks import bank_signals

        entries = [Entry(bank, s, v, label, f"review item {item.id}, removed by {who.actor}", source=item.name[:200])
                   for s, v in bank_signals(self.open(item))]
        report = self.service.bank_store.add(entries)
        self.service.keys.audit(who.actor, "bank.add", bank, {"added": report.added, "review_item": item.id,
                                                            "signals": sorted({e.signal for e in entries})})

    def open(self, item: ReviewItem):
        if item.text is not None:
            return self.service.open(name=item.name, text=item.text)
        return self.service.open(name=item.name, path=str(self.media_path(item)))

    def media_path(self, item: ReviewItem):
        """Where an item's upload is; ``media_gone`` when it is not there any more."""
        path = self.service.blobs.path(item.blob)
        if not path.is_file():
            raise ServiceError("media_gone", "this item's upload is no longer stored")
        return path
