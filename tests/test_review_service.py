"""The review queue through the service: what the policy sends for review is queued by its
labels, the review API claims and decides, removing banks the hashes so a re-upload is
blocked, and the review page keeps items and media to signed-in reviewers of their queue."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from service_fixtures import make_service

from tamis.service import create_app

REVIEW_TEXT = "Call me at +1 415 555 0100, send bitcoin now or I will kill you"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    service = make_service(tmp_path_factory.mktemp("review"), None, review_queues="spam=spam;minors=sexual/minors")
    service.review.reviewers.create("alice", PASSWORD, "*")
    service.review.reviewers.create("bob", PASSWORD, "spam")
    service.review.reviewers.create("mallory", PASSWORD, "minors")
    yield service
    service.stop()


@pytest.fixture(scope="module")
def app(svc):
    return create_app(svc)


def client(app) -> TestClient:
    return TestClient(app)


def upload(c: TestClient, path, **headers):
    return c.post("/v1/scan", files={"file": (path.name, path.read_bytes(), "image/png")}, headers=headers)


def sign_in(c: TestClient, name: str, password: str = PASSWORD):
    form = c.get("/review/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    return c.post("/review/login", data={"name": name, "password": password, "csrf": token, "next": "/review"})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_review_decisions_are_queued_by_label(app, svc, samples):
    with client(app) as c:
        r = upload(c, samples / "qr_payment.png")
        assert r.json()["decision"]["action"] == "review"
        item_id = r.headers["tamis-review-item"]
        allowed = c.post("/v1/scan", json={"text": "we shot the wedding photos on saturday"})
        assert allowed.json()["decision"]["action"] == "allow" and "tamis-review-item" not in allowed.headers
        blocked = upload(c, samples / "scam_banner.png")
        assert blocked.json()["decision"]["action"] == "block" and "tamis-review-item" not in blocked.headers
        batch = c.post("/v1/scan/texts", json={"texts": [REVIEW_TEXT, "hello there"]})
        assert [x["decision"]["action"] for x in batch.json()["results"]] == ["review", "allow"]
        item = c.get(f"/v1/review/items/{item_id}").json()
        assert (item["queue"], item["kind"], item["labels"], item["status"]) == ("spam", "image", ["spam"], "pending")
        assert item["result"]["decision"]["action"] == "review"
        names = [i["name"] for i in c.get("/v1/review/items", params={"queue": "spam"}).json()["items"]]
        assert "qr_payment.png" in names and "<text 0>" in names


def test_blocked_items_are_reviewed_when_asked(tmp_path, samples):
    service = make_service(tmp_path, None, review_blocked=True)
    try:
        with TestClient(create_app(service)) as c:
            r = upload(c, samples / "scam_banner.png")
            assert r.json()["decision"]["action"] == "block"
            item = c.get(f"/v1/review/items/{r.headers['tamis-review-item']}").json()
            assert (item["queue"], item["action"]) == ("default", "block")
    finally:
        service.stop()


def test_api_claims_and_decisions(app, svc, samples):
    svc.keys.create("review-admin-api", ["admin"])
    spam_key = svc.keys.create("spam-api", ["review"], queues="spam")[1]
    other_key = svc.keys.create("minors-api", ["review"], queues="minors")[1]
    scan_key = svc.keys.create("scan-api", ["scan"])[1]
    svc.keys_changed()
    with client(app) as c:
        r = upload(c, samples / "qr_payment.png", authorization=f"Bearer {scan_key}")
        item_id = r.headers["tamis-review-item"]
        spam, other = {"authorization": f"Bearer {spam_key}"}, {"authorization": f"Bearer {other_key}"}
        assert c.get("/v1/review/items", headers={"authorization": f"Bearer {scan_key}"}).status_code == 403
        assert c.get(f"/v1/review/items/{item_id}", headers=other).status_code == 403
        assert c.get(f"/v1/review/items/{item_id}/media", headers=other).status_code == 403
        assert c.get("/v1/review/items", params={"queue": "spam"}, headers=other).status_code == 403
        assert item_id not in {i["id"] for i in c.get("/v1/review/items", headers=other).json()["items"]}
        assert c.get("/v1/review/items/" + "0" * 32, headers=spam).json()["error"]["code"] == "not_found"
        no_claim = c.post(f"/v1/review/items/{item_id}/decision", headers=spam,
                          json={"decision": "approve", "reason": "fine"})
        assert no_claim.status_code == 409 and no_claim.json()["error"]["code"] == "claim_lost"
        claim = c.post(f"/v1/review/items/{item_id}/claim", headers=spam)
        assert claim.status_code == 200 and claim.json()["claimed_by"] == "key:spam-api"
        media = c.get(f"/v1/review/items/{item_id}/media", headers=spam)
        assert media.content == (samples / "qr_payment.png").read_bytes()
        assert media.headers["cache-control"] == "no-store"
        bad = c.post(f"/v1/review/items/{item_id}/decision", headers=spam, json={"decision": "approve", "reason": ""})
        assert bad.status_code == 422
        banked = c.post(f"/v1/review/items/{item_id}/decision", headers=spam,
                        json={"decision": "approve", "reason": "fine", "bank": "x"})
        assert banked.json()["error"]["code"] == "invalid_request"  # only removals are banked
        done = c.post(f"/v1/review/items/{item_id}/decision", headers=spam,
                      json={"decision": "approve", "reason": "an ordinary invoice"})
        assert done.status_code == 200 and done.json()["decision"] == "approve"
        again = c.post(f"/v1/review/items/{item_id}/claim", headers=spam)
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_decided"
        decided = c.get("/v1/review/items", params={"status": "decided"}, headers=spam).json()["items"]
        assert decided[0]["id"] == item_id and decided[0]["reason"] == "an ordinary invoice"
    log = svc.keys.audit_log(20)
    assert any(e["action"] == "review.approve" and e["actor"] == "key:spam-api" for e in log)
    svc.keys.revoke("review-admin-api")
    for name in ("spam-api", "minors-api", "scan-api"):
        svc.keys.revoke(name)
    svc.require_keys = False
    svc.keys_changed()


def test_a_job_review_decision_reaches_its_webhook(tmp_path):
    service = make_service(tmp_path, None, webhook_hosts="127.0.0.1:9")
    try:
        with TestClient(create_app(service)) as c:
            job = c.post("/v1/jobs", json={"text": REVIEW_TEXT, "webhook_url": "http://127.0.0.1:9/hook"}).json()
            for _ in range(300):
                if c.get(f"/v1/jobs/{job['id']}").json()["status"] == "done":
                    break
                import time

                time.sleep(0.05)
            [item] = c.get("/v1/review/items").json()["items"]
            assert item["job_id"] == job["id"] and item["origin"] == "job"
            c.post(f"/v1/review/items/{item['id']}/claim")
            c.post(f"/v1/review/items/{item['id']}/decision", json={"decision": "remove", "reason": "threat"})
            events = [d["event"] for d in c.get(f"/v1/jobs/{job['id']}/deliveries").json()["deliveries"]]
            assert events == ["job.done", "review.decided"]
    finally:
        service.stop()


def test_sign_in_is_csrf_protected_and_throttled(app):
    with client(app) as c:
        assert c.get("/review", follow_redirects=False).headers["location"].startswith("/review/login")
        c.get("/review/login")
        refused = c.post("/review/login", data={"name": "alice", "password": PASSWORD, "csrf": "forged"})
        assert refused.status_code == 403 and "stale" in refused.text
        wrong = sign_in(c, "alice", "not the password")
        assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
        ok = sign_in(c, "alice")
        assert ok.status_code == 200 and "Queues" in ok.text
        cookie = ok.history[0].headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert ok.headers["content-security-policy"].startswith("default-src 'none'")
        assert ok.headers["x-frame-options"] == "DENY"
        logout = c.post("/review/logout", data={"csrf": "forged"})
        assert logout.status_code == 403
        cross = c.post("/review/logout", data={"csrf": csrf_of(ok.text)}, headers={"origin": "https://evil.example"})
        assert cross.status_code == 403
    with client(app) as c:
        for _ in range(5):
            assert sign_in(c, "carol", "wrong password").status_code == 401
        assert sign_in(c, "carol", "wrong password").status_code == 429
    with client(app) as c:
        redirect = c.get("/review/login", params={"next": "//evil.example/x"})
        assert 'name="next" value="/review"' in redirect.text  # no open redirect


def test_the_page_keeps_items_to_their_queue(app, svc, samples):
    with client(app) as c:
        item_id = upload(c, samples / "qr_payment.png").headers["tamis-review-item"]
        assert c.get(f"/review/items/{item_id}/media").status_code == 401  # not signed in
    with client(app) as c:
        sign_in(c, "mallory")  # the minors queue only
        page = c.get(f"/review/items/{item_id}")
        assert page.status_code == 403 and "qr_payment" not in page.text and item_id not in page.text.split("<main>")[1]
        assert c.get(f"/review/items/{item_id}/media").status_code == 403
        assert c.get("/review/next", params={"queue": "spam"}).status_code == 403
        assert "qr_payment" not in c.get("/review").text
    with client(app) as c:
        sign_in(c, "bob")
        page = c.get(f"/review/items/{item_id}")
        assert page.status_code == 200 and 'class="media picture blurred"' in page.text
        assert "<rect" in page.text and "qr_code" in page.text
        media = c.get(f"/review/items/{item_id}/media")
        assert media.headers["content-type"] == "image/jpeg" and media.content[:2] == b"\xff\xd8"
        assert media.headers["cache-control"] == "no-store"
    with client(app) as c:
        sign_in(c, "alice")
        held = c.get(f"/review/items/{item_id}")  # bob holds it
        assert held.status_code == 409 and "qr_payment" not in held.text.split("<main>")[1]
        assert c.get(f"/review/items/{item_id}/media").status_code == 403


def test_text_items_mask_personal_data_until_asked(app, svc):
    with client(app) as c:
        r = c.post("/v1/scan", json={"text": REVIEW_TEXT})
        item_id = r.headers["tamis-review-item"]
        sign_in(c, "alice")
        page = c.get(f"/review/items/{item_id}").text
        masked = page.split('class="masked">')[1].split("</p>")[0]
        plain = page.split('class="plain" hidden>')[1].split("</p>")[0]
        assert "415 555" not in masked and "<mark" in masked and "415 555 0100" in plain
        assert 'id="unmask"' in page
        form = csrf_of(page)
        r = c.post(f"/review/items/{item_id}/decision", data={"csrf": form, "decision": "remove", "reason": "threat"},
                   follow_redirects=False)
        assert r.status_code == 303
        assert c.get(f"/v1/review/items/{item_id}").json()["decided_by"] == "reviewer:alice"


def test_removing_banks_the_hashes_and_the_reupload_is_blocked(app, svc, samples):
    """Last of the module's tests on its service: from here on qr_payment.png is banked."""
    svc.bank_store.create_bank("removed", "removed by reviewers")
    with client(app) as c:
        first = upload(c, samples / "qr_payment.png")
        item_id = first.headers["tamis-review-item"]
        c.post(f"/v1/review/items/{item_id}/claim")
        r = c.post(f"/v1/review/items/{item_id}/decision",
                   json={"decision": "remove", "reason": "payment scam", "bank": "removed", "label": "spam/scam"})
        assert r.status_code == 200 and r.json()["bank"] == "removed"
        entries = c.get("/v1/banks/removed/entries").json()["entries"]
        assert {e["signal"] for e in entries} >= {"md5", "sha256", "pdq"}
        assert all(e["label"] == "spam/scam" for e in entries)
        again = upload(c, samples / "qr_payment.png").json()
        assert again["decision"]["action"] == "block"
        assert any(f["detector"] == "banks" for f in again["findings"])
        missing = c.post(f"/v1/review/items/{first.headers['tamis-review-item']}/decision",
                         json={"decision": "remove", "reason": "x", "bank": "removed"})
        assert missing.status_code == 409


def test_a_video_item_has_its_timeline_with_best_frames(app, svc, samples):
    pytest.importorskip("av")
    video = samples.parent / "video" / "holiday_clip.mkv"
    blob, _ = svc.blobs.put_bytes(video.read_bytes())
    segment = {"label": "violence", "start": 1.0, "end": 2.0, "max_score": 0.7, "frame": 25, "timestamp": 1.0,
               "frames": 2}
    from tamis.results import SCHEMA_VERSION

    result = {"schema_version": SCHEMA_VERSION, "source": "holiday_clip.mkv", "kind": "video", "width": 320,
              "height": 240,
              "decision": {"action": "review", "policy": "default",
                           "reasons": [{"label": "violence", "score": 0.7, "action": "review", "threshold": 0.5,
                                        "rule": "default:violence"}]},
              "findings": [], "faces": [], "video": {"segments": [segment]}}
    item = svc.review.items.add(queue="default", origin="job", name="holiday_clip.mkv", kind="video",
                                media_type="video/x-matroska", blob=blob, action="review", risk=0.7,
                                labels=["violence"], result=result)
    with client(app) as c:
        sign_in(c, "alice")
        page = c.get(f"/review/items/{item.id}")
        assert page.status_code == 200 and "<video" in page.text and " muted " in page.text
        assert f"/review/items/{item.id}/frames/0" in page.text and 'data-t="1.0"' in page.text
        frame = c.get(f"/review/items/{item.id}/frames/0")
        assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"
        assert c.get(f"/review/items/{item.id}/frames/1").status_code == 404
        media = c.get(f"/review/items/{item.id}/media")
        assert media.content == video.read_bytes() and media.headers["content-type"] == "video/x-matroska"
        c.post(f"/review/items/{item.id}/release", data={"csrf": csrf_of(page.text)})
