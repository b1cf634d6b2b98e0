"""The service's store, on SQLite and on a real PostgreSQL server: jobs are taken by one
worker at a time, survive their worker, and are never lost or done twice."""

from __future__ import annotations

import threading
import time

import pytest

from tamis.storage import Database, JobStatus, JobStore, KeyStore
from tamis.storage.jobs import IdempotencyConflictError, QueueFullError
from tamis.storage.keys import KeyRequestError


@pytest.fixture
def db(database_url):
    d = Database(database_url)
    yield d
    d.close()


def test_migrations_run_once_and_again(db):
    db.migrate()  # a second time is a no-op
    from sqlalchemy import inspect

    assert {"jobs", "api_keys", "audit_log", "alembic_version"} <= set(inspect(db.engine).get_table_names())
    assert db.ping()


def test_submit_claim_finish_and_idempotency(db):
    jobs = JobStore(db)
    job, new = jobs.submit("a", text="hello", options={"profile": None}, idempotency_key="k")
    again, new_again = jobs.submit("a", text="hello", options={"profile": None}, idempotency_key="k")
    assert new and not new_again and again.id == job.id
    with pytest.raises(IdempotencyConflictError, match="another request"):
        jobs.submit("a", text="other", idempotency_key="k")
    other_owner, created = jobs.submit("a", text="other", idempotency_key="k", owner="someone-else")
    assert created and other_owner.id != job.id  # keys are per owner
    claimed = jobs.claim("w1")
    assert claimed.id == job.id and claimed.status is JobStatus.RUNNING and claimed.attempts == 1
    assert jobs.finish(claimed, {"source": "a"})
    done = jobs.get(job.id)
    assert done.status is JobStatus.DONE and done.result == {"source": "a"} and done.finished_at is not None
    assert not jobs.finish(claimed, {"source": "twice"})  # finished once only
    assert jobs.get(job.id).result == {"source": "a"}
    assert jobs.get(job.id, owner="someone-else") is None


def test_concurrent_workers_take_each_job_once(db):
    jobs = JobStore(db)
    ids = {jobs.submit(f"t{i}", text=f"text {i}")[0].id for i in range(60)}
    taken: list[str] = []
    lock = threading.Lock()

    def work(name):
        while (job := jobs.claim(name)) is not None:
            with lock:
                taken.append(job.id)
            assert jobs.finish(job, {"by": name})

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(taken) == sorted(ids)  # every job, none twice
    assert jobs.counts()["done"] == 60


def test_a_dead_workers_job_is_taken_again_then_failed(db):
    jobs = JobStore(db, max_attempts=2, lease_seconds=0.2)
    job, _ = jobs.submit("a", text="hello")
    first = jobs.claim("dies")
    assert jobs.claim("other") is None  # claimed, lease not over
    time.sleep(0.3)
    second = jobs.claim("other")
    assert second.id == job.id and second.attempts == 2 and second.worker == "other"
    assert not jobs.finish(first, {"late": True})  # the first worker lost its claim
    assert not jobs.renew(first) and jobs.renew(second)
    time.sleep(0.3)  # the second dies too: no try left
    assert jobs.claim("third") is None
    failed = jobs.get(job.id)
    assert failed.status is JobStatus.FAILED and failed.error["code"] == "worker_died"


def test_retry_after_a_fault_then_fail(db):
    jobs = JobStore(db, max_attempts=2)
    jobs.submit("a", text="x")
    j = jobs.claim("w")
    assert jobs.retry(j, {"code": "internal_error", "message": "boom"})
    assert jobs.get(j.id).status is JobStatus.QUEUED
    j = jobs.claim("w")
    assert j.attempts == 2 and jobs.retry(j, {"code": "internal_error", "message": "boom"})
    assert jobs.get(j.id).status is JobStatus.FAILED and jobs.get(j.id).error["message"] == "boom"


def test_cancel_and_a_full_queue(db):
    jobs = JobStore(db, max_queued=2)
    a, _ = jobs.submit("a", text="1")
    jobs.submit("b", text="2")
    with pytest.raises(QueueFullError):
        jobs.submit("c", text="3")
    running = jobs.claim("w")
    assert jobs.cancel(running.id).status is JobStatus.CANCELLED
    assert not jobs.finish(running, {"x": 1})  # a cancelled job keeps no result
    assert jobs.get(running.id).result is None
    jobs.submit("c", text="3")  # room again


def test_listing_pages_newest_first(db):
    jobs = JobStore(db)
    made = [jobs.submit(f"j{i}", text=str(i))[0].id for i in range(7)]
    page1 = jobs.list(limit=4)
    page2 = jobs.list(limit=4, before=page1[-1].id)
    assert [j.id for j in page1 + page2] == made[::-1]
    assert [j.id for j in jobs.list(status=JobStatus.DONE)] == []


def test_keys_are_stored_hashed_and_audited(db):
    keys = KeyStore(db)
    key, secret = keys.create("platform", ["scan", "review"], profile=None, rate_limit=60)
    assert secret.startswith("tamis_") and key.prefix == secret[:12]
    assert keys.verify(secret).name == "platform" and keys.verify(secret + "x") is None
    from sqlalchemy import text

    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys")).scalar()
    assert secret not in stored and len(stored) == 64
    with pytest.raises(KeyRequestError, match="exists already"):
        keys.create("platform", ["scan"])
    with pytest.raises(KeyRequestError, match="scopes"):
        keys.create("bad", ["root"])
    keys.revoke("platform")
    assert keys.verify(secret) is None and not keys.any_active()
    assert [e["action"] for e in keys.audit_log()] == ["key.revoke", "key.create"]


def test_an_older_schema_is_upgraded_with_its_data(database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from tamis.storage.db import MIGRATIONS

    db = Database(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")  # as a server of the first release left it
    assert "webhook_deliveries" not in inspect(db.engine).get_table_names()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO jobs (id, status, owner, request_hash, name, text, options, attempts, "
                             "max_attempts, created_at) VALUES ('old', 'queued', '', 'h', 'a', 'x', '{}', 0, 3, "
                             "'2026-11-30 10:00:00')")
    db.close()
    upgraded = Database(database_url)  # the next release opens it
    jobs = JobStore(upgraded)
    assert jobs.get("old").status is JobStatus.QUEUED and jobs.get("old").webhook_url is None
    assert "webhook_deliveries" in inspect(upgraded.engine).get_table_names()
    upgraded.close()


def test_retention_deletes_what_ended_long_ago(database_url, tmp_path):
    import os
    from datetime import timedelta

    from sqlalchemy import update

    from tamis.storage import BlobStore
    from tamis.storage.db import utcnow
    from tamis.storage.models import JobRow

    db = Database(database_url)
    jobs, blobs = JobStore(db), BlobStore(tmp_path / "uploads")
    shared, _ = blobs.put_bytes(b"the same upload twice")
    alone, _ = blobs.put_bytes(b"an upload of one old job")
    old_done, _ = jobs.submit("old", blob=alone)
    old_shared, _ = jobs.submit("old shared", blob=shared)
    for _ in range(2):
        claimed = jobs.claim("w")
        jobs.finish(claimed, {"source": claimed.name})
    live, _ = jobs.submit("still queued", blob=shared)
    recent, _ = jobs.submit("recent", text="x")
    jobs.finish(jobs.claim("w"), {"source": "still queued"})  # ended now: kept
    with db.session() as s:
        s.execute(update(JobRow).where(JobRow.id.in_([old_done.id, old_shared.id]))
                  .values(finished_at=utcnow() - timedelta(days=40)))
    for sha in (shared, alone):
        os.utime(blobs.path(sha), (0, 0))  # stored long ago
    freed = jobs.purge(utcnow() - timedelta(days=30))
    assert freed == {alone}  # the shared upload is still needed by a live job
    assert jobs.get(old_done.id) is None and jobs.get(old_shared.id) is None
    assert jobs.get(live.id) is not None and jobs.get(recent.id) is not None
    assert blobs.delete(alone, older_than=1) and blobs.path(shared).exists()
    db.close()
