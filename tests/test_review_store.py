"""The review queue's store, on SQLite and on a real PostgreSQL server: an item is held by
one reviewer at a time, a decision needs the claim, and people sign in with hashed passwords."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tamis.storage import ClaimLost, Database, KeyStore, ReviewerError, ReviewerStore, ReviewStore
from tamis.storage.db import utcnow
from tamis.storage.models import AuditRow, DeliveryRow, ReviewerRow


@pytest.fixture
def db(database_url):
    d = Database(database_url)
    yield d
    d.close()


def add(store: ReviewStore, name: str = "x", queue: str = "default", risk: float = 0.5, **extra):
    fields = dict(queue=queue, origin="scan", name=name, kind="text", action="review", risk=risk,
                  labels=["spam"], result={"decision": {"action": "review", "reasons": []}}, text=name)
    return store.add(**{**fields, **extra})


def test_one_reviewer_at_a_time_and_claims_run_out(db):
    store = ReviewStore(db, claim_seconds=0.4)
    item = add(store)
    assert item.id and len(item.id) == 32 and item.status == "pending" and not item.claimed()
    mine = store.take(item.id, "alice")
    assert mine.claimed_by == "alice" and mine.claimed()
    assert store.take(item.id, "bob") is None  # alice holds it
    assert store.take(item.id, "alice").claim_until >= mine.claim_until  # renewing is hers
    time.sleep(0.5)
    assert store.take(item.id, "bob").claimed_by == "bob"  # her claim ran out
    assert store.release(item.id, "alice") is False  # not hers any more
    assert store.release(item.id, "bob") is True
    assert store.get(item.id).claimed_by is None


def test_a_claim_checks_the_queue_as_it_is_made(db):
    store = ReviewStore(db)
    item = add(store, queue="spam")
    assert store.take(item.id, "bob", frozenset({"minors"})) is None  # moved (escalated) since bob looked
    assert store.take(item.id, "bob", frozenset({"spam"})).claimed_by == "bob"
    store.decide(item.id, "bob", "escalate", "a second look")
    assert store.take(item.id, "bob", frozenset({"spam"})) is None
    assert store.take_next(None, "bob") is None  # never back to the one who escalated it
    assert store.take_next(None, "carol").id == item.id
    assert store.renew(item.id, "carol") and not store.renew(item.id, "bob")


def test_text_with_nul_characters_is_stored(db):
    store = ReviewStore(db)
    item = add(store, "a\x00b")
    assert store.get(item.id).text == "a\ufffdb" and store.get(item.id).name == "a\ufffdb"


def test_oldest_or_riskiest_first_and_no_item_twice_under_contention(db):
    store = ReviewStore(db)
    made = [add(store, f"t{i}", risk=i / 40) for i in range(24)]
    assert [i.name for i in store.list(order="oldest")][:2] == ["t0", "t1"]
    assert [i.name for i in store.list(order="riskiest")][:2] == ["t23", "t22"]
    taken: dict[str, list[str]] = {}
    lock = threading.Lock()

    def reviewer(who: str):
        while True:
            item = store.take_next(None, who)
            if item is None:
                return
            with lock:
                taken.setdefault(item.id, []).append(who)
            store.decide(item.id, who, "approve", "fine")

    threads = [threading.Thread(target=reviewer, args=(f"r{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(taken) == sorted(i.id for i in made)
    assert all(len(v) == 1 for v in taken.values()), taken  # never the same item to two reviewers
    assert store.list() == [] and len(store.list(status="decided", limit=100)) == 24


def test_take_next_gives_back_the_item_already_held(db):
    store = ReviewStore(db)
    add(store, "a", queue="spam")
    add(store, "b", queue="minors")
    first = store.take_next(frozenset({"spam", "minors"}), "alice")
    assert store.take_next(frozenset({"spam", "minors"}), "alice").id == first.id  # a reload takes no second one
    assert store.take_next(frozenset({"spam"}), "bob") is None or first.queue != "spam"
    assert store.take_next(frozenset({"other"}), "bob") is None
    assert store.counts() == {"spam": {"pending": 1, "claimed": 1 if first.queue == "spam" else 0},
                              "minors": {"pending": 1, "claimed": 1 if first.queue == "minors" else 0}}


def test_decisions_need_the_claim_and_are_audited(db):
    store = ReviewStore(db)
    item = add(store, "job input", job_id="j" * 32, webhook_url="http://127.0.0.1:9/hook")
    with pytest.raises(ClaimLost):
        store.decide(item.id, "alice", "remove", "not claimed")
    store.take(item.id, "alice")
    with pytest.raises(ClaimLost):
        store.decide(item.id, "bob", "remove", "bob does not hold it")
    with pytest.raises(ValueError, match="decision"):
        store.decide(item.id, "alice", "delete", "no such decision")
    up = store.decide(item.id, "alice", "escalate", "needs a second look")
    assert up.queue == "escalated" and up.status == "pending" and up.claimed_by is None
    store.take(item.id, "carol")
    event = {"event": "review.decided", "job_id": item.job_id, "review": {"decision": "remove"}}
    done = store.decide(item.id, "carol", "remove", "scam", bank="scams", event=event)
    assert (done.status, done.decision, done.decided_by, done.bank) == ("decided", "remove", "carol", "scams")
    assert store.take(item.id, "carol") is None  # decided: no more claims
    with db.session() as s:
        audit = [(a.actor, a.action, a.detail["reason"]) for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]
        deliveries = [(d.event, d.url) for d in s.scalars(select(DeliveryRow))]
    assert audit == [("alice", "review.escalate", "needs a second look"), ("carol", "review.remove", "scam")]
    assert deliveries == [("review.decided", "http://127.0.0.1:9/hook")]


def test_purge_keeps_what_waits(db):
    store = ReviewStore(db)
    waiting = add(store, "w", blob="a" * 64)
    old = add(store, "o", blob="b" * 64)
    store.take(old.id, "alice")
    store.decide(old.id, "alice", "approve", "ok")
    assert store.purge(utcnow() - timedelta(days=1)) == set()
    assert store.purge(utcnow() + timedelta(seconds=1)) == {"b" * 64}
    assert store.get(old.id) is None and store.get(waiting.id) is not None
    assert store.blobs_in_use({"a" * 64, "b" * 64}) == {"a" * 64}


def test_reviewers_sign_in_with_hashed_passwords(db):
    people = ReviewerStore(db, session_hours=1)
    alice = people.create("alice", "correct horse battery", "spam,minors")
    assert alice.queues == frozenset({"spam", "minors"}) and alice.may_review("spam") and not alice.may_review("x")
    with db.session() as s:
        stored = s.scalars(select(ReviewerRow.password_hash)).one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert people.sign_in("alice", "wrong password!") is None
    assert people.sign_in("nobody", "correct horse battery") is None
    token, signed = people.sign_in("alice", "correct horse battery")
    assert signed.reviewer.name == "alice" and len(signed.csrf) >= 32
    again = people.session(token)
    assert again.reviewer.id == alice.id and again.csrf == signed.csrf
    assert people.session("x" * 43) is None and people.session(None) is None and people.session("y" * 500) is None
    people.sign_out(token)
    assert people.session(token) is None
    token, _ = people.sign_in("alice", "correct horse battery")
    people.disable("alice")
    assert people.session(token) is None and people.sign_in("alice", "correct horse battery") is None
    with pytest.raises(ReviewerError, match="exists"):
        people.create("alice", "another password")
    with pytest.raises(ReviewerError, match="at least"):
        people.create("bob", "short")
    with pytest.raises(ReviewerError, match="name"):
        people.create("../bob", "long enough password")
    with pytest.raises(ReviewerError, match="queue name"):
        people.create("bob", "long enough password", "Spam Queue")
    assert people.create("bob", "long enough password").queues is None  # every queue


def test_api_keys_may_be_limited_to_queues(db):
    keys = KeyStore(db)
    limited, _ = keys.create("spam-team", ["review"], queues="spam")
    everyone, _ = keys.create("lead", ["review"])
    scanner, _ = keys.create("scanner", ["scan"])
    assert limited.may_review("spam") and not limited.may_review("minors")
    assert everyone.may_review("minors") and not scanner.may_review("spam")
    assert keys.list()[0].to_dict()["queues"] == ["spam"]


def test_reviewers_from_the_command_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tamis.cli.main import app

    monkeypatch.setenv("TAMIS_HOME", str(tmp_path))
    run = CliRunner()
    made = run.invoke(app, ["reviewers", "create", "alice", "--queues", "spam,default", "--password-stdin"],
                      input="a long enough password\n")
    assert made.exit_code == 0, made.output
    listed = run.invoke(app, ["reviewers", "list", "--format", "json"])
    assert '"name": "alice"' in listed.output and '"default"' in listed.output and "password" not in listed.output
    short = run.invoke(app, ["reviewers", "create", "bob", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    assert run.invoke(app, ["reviewers", "disable", "alice"]).exit_code == 0
    assert run.invoke(app, ["reviewers", "disable", "nobody"]).exit_code != 0


def test_finished_deliveries_are_purged_whatever_their_job(db):
    from sqlalchemy import update

    from tamis.storage import DeliveryStore
    from tamis.storage.webhooks import add_delivery

    with db.session() as s:
        for job in ("gone-job", "live-job"):
            add_delivery(s, job, "http://127.0.0.1:9/hook", "review.decided", {"event": "review.decided"})
    with db.session() as s:
        s.execute(update(DeliveryRow).where(DeliveryRow.job_id == "gone-job").values(status="delivered"))
    deliveries = DeliveryStore(db)
    assert deliveries.purge(utcnow() - timedelta(days=1)) == 0
    assert deliveries.purge(utcnow() + timedelta(seconds=1)) == 1  # the pending one is kept
    with db.session() as s:
        assert [d.job_id for d in s.scalars(select(DeliveryRow))] == ["live-job"]
