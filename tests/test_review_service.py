"""The review queue through the service: what the policy sends for review is queued by its
labels, the review API claims and decides, removing banks the hashes so a re-upload is
blocked, and the review page keeps items and media to signed-in reviewers of their queue."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from service_fixtures import make_service, spam_review_policy

from tamis.service import create_app

REVIEW_TEXT = "Call me at +1 415 555 0100, send bitcoin now or I will kill you"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    folder = tmp_path_factory.mktemp("review")
    service = make_service(folder, None, review_queues="spam=spam;minors=sexual/minors",
                           review_blur_queues="default", policy=spam_review_policy(folder))
    service.review.reviewers.create("alice", PASSWORD, "*")
    service.review.reviewers.create("bob", PASSWORD, "spam")
    service.review.reviewers.create("mallory", PASSWORD, "minors")
    _, service.lead_key = service.keys.create("lead", ["scan", "review", "admin"])
    yield service
    service.stop()


@pytest.fixture(scope="module")
def app(svc):
    return create_app(svc)


def client(app) -> TestClient:
    """A client with a key of every scope (once reviewers exist, the review API needs a key)."""
    return TestClient(app, headers={"authorization": f"Bearer {app.state.service.lead_key}"})


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


def test_without_keys_the_review_api_is_closed_once_reviewers_exist(tmp_path):
    service = make_service(tmp_path, None)
    try:
        with TestClient(create_app(service)) as c:
            assert c.get("/v1/review/items").status_code == 200  # open, on loopback, until...
            service.review.reviewers.create("alice", PASSWORD)
            service.review.reviewers._any_checked = (0.0, False)
            closed = c.get("/v1/review/items")
            assert closed.status_code == 401 and "reviewers exist" in closed.json()["error"]["message"]
    finally:
        service.stop()


def test_moderators_sharing_a_key_name_themselves(app, svc):
    with client(app) as c:
        item_id = c.post("/v1/scan", json={"text": REVIEW_TEXT}).headers["tamis-review-item"]
        ann = c.post(f"/v1/review/items/{item_id}/claim", headers={"x-tamis-reviewer": "ann"})
        assert ann.status_code == 200 and ann.json()["claimed_by"] == "key:lead/ann"
        ben = c.post(f"/v1/review/items/{item_id}/claim", headers={"x-tamis-reviewer": "ben"})
        assert ben.status_code == 409 and ben.json()["error"]["code"] == "claimed"
        ben = c.post(f"/v1/review/items/{item_id}/decision", headers={"x-tamis-reviewer": "ben"},
                     json={"decision": "approve", "reason": "not ann's"})
        assert ben.status_code == 409 and ben.json()["error"]["code"] == "claim_lost"
        bad = c.post(f"/v1/review/items/{item_id}/claim", headers={"x-tamis-reviewer": "a b/../c"})
        assert bad.status_code == 422
        done = c.post(f"/v1/review/items/{item_id}/decision", headers={"x-tamis-reviewer": "ann"},
                      json={"decision": "approve", "reason": "ann decides"})
        assert done.json()["decided_by"] == "key:lead/ann"


def test_escalation_moves_the_item_on_and_not_back(app, svc):
    with client(app) as c:
        item_id = c.post("/v1/scan", json={"text": REVIEW_TEXT}).headers["tamis-review-item"]
        me = {"x-tamis-reviewer": "first"}
        c.post(f"/v1/review/items/{item_id}/claim", headers=me)
        up = c.post(f"/v1/review/items/{item_id}/decision", headers=me,
                    json={"decision": "escalate", "reason": "not sure"}).json()
        assert (up["queue"], up["status"], up["escalated_from"], up["claimed_by"]) == (
            "escalated", "pending", "spam", None)
        assert svc.review.items.take_next(None, "key:lead/first", queue="escalated") is None  # not back to them
        again = c.post(f"/v1/review/items/{item_id}/claim", headers={"x-tamis-reviewer": "second"})
        assert again.status_code == 200
        twice = c.post(f"/v1/review/items/{item_id}/decision", headers={"x-tamis-reviewer": "second"},
                       json={"decision": "escalate", "reason": "still not sure"})
        assert twice.status_code == 422
        c.post(f"/v1/review/items/{item_id}/release", headers={"x-tamis-reviewer": "second"})
    entry = next(e for e in svc.keys.audit_log(50) if e["action"] == "review.escalate" and e["target"] == item_id)
    assert entry["detail"]["queue"] == "spam" and entry["detail"]["to"] == "escalated"


def test_an_upload_gone_is_410_not_500(app, svc, samples):
    with client(app) as c:
        item = svc.review.items.add(queue="spam", origin="scan", name="gone.png", kind="image", action="review",
                                    risk=0.5, labels=["spam"], blob="f" * 64,
                                    result={"decision": {"action": "review", "reasons": []}})
        r = c.get(f"/v1/review/items/{item.id}/media")
        assert r.status_code == 410 and r.json()["error"]["code"] == "media_gone"


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
        post_only = c.get("/review/login", params={"next": "/review/items/" + "a" * 32 + "/decision"})
        assert 'name="next" value="/review"' in post_only.text
        item = c.get("/review/login", params={"next": "/review/items/" + "a" * 32})
        assert 'name="next" value="/review/items/' + "a" * 32 + '"' in item.text
    with client(app) as c:
        sign_in(c, "alice")
        page = c.get("/review", params={"notice": "Call +1 555 0100 to verify your account"}).text
        assert "555 0100" not in page  # no words of the URL on the page
        assert "Saved." in c.get("/review", params={"notice": "saved"}).text


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
        text = page.split('class="masked">')[1].split("</p>")[0]
        assert "415 555" not in page and "<mark" in text  # not in the page at all, not only hidden
        assert f'href="/review/items/{item_id}?plain=1"' in page
        shown = c.get(f"/review/items/{item_id}", params={"plain": 1}).text
        assert "415 555 0100" in shown.split('class="plain">')[1].split("</p>")[0]
        assert any(e["action"] == "review.show_personal_data" and e["target"] == item_id
                   for e in svc.keys.audit_log(20))
        assert c.post(f"/review/items/{item_id}/renew", data={"csrf": csrf_of(page)}).status_code == 204
        assert c.post(f"/review/items/{item_id}/renew", data={"csrf": "forged"}).status_code == 403
        r = c.post(f"/review/items/{item_id}/decision", data={"csrf": csrf_of(page), "decision": "remove",
                                                               "reason": "threat"}, follow_redirects=False)
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


def test_a_reviewer_may_turn_the_blur_off_except_where_the_queue_keeps_it(app, svc):
    with client(app) as c:
        queue_page = sign_in(c, "alice")
        c.post("/review/prefs", data={"csrf": csrf_of(queue_page.text)})  # blur unchecked
        spam = c.post("/v1/scan", json={"text": REVIEW_TEXT}).headers["tamis-review-item"]
        page = c.get(f"/review/items/{spam}").text
        assert 'class="media text"' in page  # alice sees it as it is
        c.post(f"/review/items/{spam}/release", data={"csrf": csrf_of(page)})
        other = svc.review.items.add(queue="default", origin="scan", name="t", kind="text", text="plain words",
                                     action="review", risk=0.5, labels=["spam"],
                                     result=svc.scan_texts([("t", "plain words")])[0].to_dict())
        kept = c.get(f"/review/items/{other.id}").text
        assert 'class="media text blurred"' in kept  # the queue keeps it blurred
        c.post(f"/review/items/{other.id}/release", data={"csrf": csrf_of(kept)})
        c.post("/review/prefs", data={"csrf": csrf_of(page), "blur": "1"})
        assert svc.review.reviewers.get("alice").blur
