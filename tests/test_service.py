"""The HTTP service, through its ASGI app, on SQLite and on a real PostgreSQL server:
scans now and as jobs, errors in one shape, keys and scopes, OpenAI's moderation shape."""

from __future__ import annotations

import base64
import time

import pytest
from fastapi.testclient import TestClient
from service_fixtures import make_service

from conftest import ROOT, SAMPLES
from tamis.results import ScanResult
from tamis.service import create_app

VIDEO = ROOT / "samples" / "video" / "holiday_clip.mkv"


def wait_job(client, job_id, headers=None, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers or {}).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']}")


def test_scan_text_image_and_document_now(client):
    r = client.post("/v1/scan", json={"text": "I will kill you."})
    assert r.status_code == 200 and r.json()["decision"]["action"] == "block"
    assert r.headers["x-request-id"]
    photo = (SAMPLES / "cat.jpg").read_bytes()
    raw = client.post("/v1/scan?name=cat.jpg", content=photo, headers={"content-type": "image/jpeg"}).json()
    form = client.post("/v1/scan", files={"file": ("cat.jpg", photo, "image/jpeg")}).json()
    b64 = client.post("/v1/scan", json={"data": base64.b64encode(photo).decode(), "name": "cat.jpg"}).json()
    for result in (raw, form, b64):
        assert result["kind"] == "image" and result["source"] == "cat.jpg" and result["width"] > 0
    strip = [{k: v for k, v in x.items() if k != "timings_ms"} for x in (raw, form, b64)]
    assert strip[0] == strip[1] == strip[2]  # the same bytes, the same result, however sent
    pdf = (ROOT / "samples" / "documents" / "meeting_notes.pdf").read_bytes()
    doc = client.post("/v1/scan", files={"file": ("notes.pdf", pdf)}).json()
    assert doc["kind"] == "document" and doc["document"]["parts"]
    assert ScanResult.from_dict(doc).to_dict() == doc  # what the service sends round-trips


def test_options_per_call(client):
    text = "I will kill you. Call me at +1 202 555 0143"
    every = client.post("/v1/scan", json={"text": text}).json()
    some = client.post("/v1/scan", json={"text": text, "labels": ["pii"]}).json()
    assert {f["label"] for f in every["findings"]} > {f["label"] for f in some["findings"]}
    assert all(f["label"].startswith("pii") for f in some["findings"])
    r = client.post("/v1/scan", json={"text": text, "profile": "no-such-profile"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "policy_error"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"json": {"text": "hi", "data": "aGk="}}, 422, "invalid_request"),
    ({"json": {"data": "not base64!"}}, 422, "invalid_request"),
    ({"json": {"text": "hi", "colour": "red"}}, 422, "invalid_request"),
    ({"content": b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "headers": {"content-type": "image/png"}}, 422, "corrupt_input"),
    ({"content": b"", "headers": {"content-type": "image/png"}}, 422, "empty_input"),
    ({"json": {"text": "hi", "labels": ["ethnicity"]}}, 400, "prohibited_attribute"),
    ({"json": {"text": "hi", "labels": ["nonsense"]}}, 400, "unknown_label"),
    ({"data": {"a": "b"}}, 422, "invalid_request"),
])
def test_errors_have_one_shape(client, body, status, code):
    r = client.post("/v1/scan", **body)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_unknown_route_and_method(client):
    assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"
    assert client.get("/v1/scan").status_code == 405


def test_size_limits_while_streaming(tmp_path, database_url):
    svc = make_service(tmp_path, database_url, max_bytes=10_000, max_upload_bytes=20_000)
    with TestClient(create_app(svc)) as c:
        big = b"x" * 30_000
        r = c.post("/v1/scan", content=big, headers={"content-type": "application/octet-stream"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(30):
                yield b"y" * 1000

        r = c.post("/v1/jobs", content=chunks(), headers={"content-type": "application/octet-stream"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        # A body FastAPI parses itself (a route with a model for it): 413 too, not its 400.
        r = c.post("/v1/banks", content=(b"z" * 1000 for _ in range(2000)),
                   headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        # A NUL in the URL: refused before any store sees it (PostgreSQL's text cannot hold one).
        for url in ("/v1/jobs/%00", "/v1/jobs?before=%00", "/v1/banks/x/entries?after=0%00"):
            r = c.get(url)
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", url
    svc.stop()


def test_slow_body_times_out(tmp_path):
    """A body trickled in: 408 body_timeout and Connection: close once the waits for it pass
    body_timeout_seconds plus a second per body_min_bytes_per_second bytes; a body that keeps
    up the rate is read to its end (tests/test_service_live.py does it over real sockets)."""
    import asyncio

    svc = make_service(tmp_path, None, body_timeout_seconds=0.3, body_min_bytes_per_second=1000)
    app = create_app(svc)

    async def post(chunks: list[bytes], gap: float) -> tuple[int, dict, float]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v1/scan", "raw_path": b"/v1/scan", "query_string": b"",
                 "root_path": "", "headers": [(b"host", b"x"), (b"content-type", b"text/plain")],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "app": app}
        queue = list(chunks)
        sent: list[dict] = []

        async def receive():
            if not queue:
                await asyncio.sleep(3600)  # only a disconnect would come
            await asyncio.sleep(gap)
            return {"type": "http.request", "body": queue.pop(0), "more_body": bool(queue)}

        async def send(message):
            sent.append(message)

        start = time.monotonic()
        await app(scope, receive, send)
        head = next(m for m in sent if m["type"] == "http.response.start")
        return head["status"], dict(head["headers"]), time.monotonic() - start

    async def both():
        svc.ready = True  # no lifespan here: these requests never reach a model
        trickle = await post([b"a"] * 100, gap=0.1)  # 10 bytes a second
        steady = await post([b"b" * 200] * 6, gap=0.1)  # 2,000 a second, 0.6 s in all
        return trickle, steady

    (status, headers, seconds), (steady_status, steady_headers, steady_seconds) = asyncio.run(both())
    assert status == 408 and headers[b"connection"] == b"close" and 0.3 <= seconds < 1.0
    assert steady_status != 408 and b"connection" not in steady_headers and steady_seconds >= 0.6
    svc.stop()


def test_text_batches(client):
    r = client.post("/v1/scan/texts", json={"texts": ["hello there", {"id": "m2", "text": "I will kill you."}, ""]})
    results = r.json()["results"]
    assert [x["source"] for x in results] == ["<text 0>", "m2", "<text 2>"]
    assert results[0]["decision"]["action"] == "allow" and results[1]["decision"]["action"] == "block"
    assert results[2]["error"]["code"] == "empty_input"  # one bad text, the others scanned
    r = client.post("/v1/scan/texts", json={"texts": ["x"] * 300})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_jobs_run_and_report(client):
    text = client.post("/v1/jobs", json={"text": "I will kill you."})
    assert text.status_code == 202 and text.json()["status"] == "queued"
    assert text.headers["location"] == f"/v1/jobs/{text.json()['id']}"
    photo = client.post("/v1/jobs", files={"file": ("cat.jpg", (SAMPLES / "cat.jpg").read_bytes())})
    broken = client.post("/v1/jobs?name=broken.png", content=b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
                         headers={"content-type": "image/png"})
    done = wait_job(client, text.json()["id"])
    assert done["status"] == "done" and done["result"]["decision"]["action"] == "block" and done["attempts"] == 1
    assert wait_job(client, photo.json()["id"])["result"]["kind"] == "image"
    failed = wait_job(client, broken.json()["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "corrupt_input" and failed["attempts"] == 1
    result = client.get(f"/v1/jobs/{text.json()['id']}/result").json()
    assert ScanResult.from_dict(result).decision.action == "block"
    listed = client.get("/v1/jobs", params={"limit": 2}).json()
    assert [j["id"] for j in listed["jobs"]] == [broken.json()["id"], photo.json()["id"]] and listed["next"]
    rest = client.get("/v1/jobs", params={"limit": 2, "before": listed["next"]}).json()
    assert [j["id"] for j in rest["jobs"]] == [text.json()["id"]]
    again = client.post(f"/v1/jobs/{text.json()['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancellable"
    assert client.get("/v1/jobs/nope").json()["error"]["code"] == "job_not_found"


@pytest.mark.skipif(not VIDEO.exists(), reason="no sample video")
def test_a_video_is_a_job(client):
    pytest.importorskip("av")
    data = VIDEO.read_bytes()
    now = client.post("/v1/scan", files={"file": ("clip.mkv", data)})
    assert now.status_code == 422 and now.json()["error"]["code"] == "use_jobs"
    job = client.post("/v1/jobs", files={"file": ("clip.mkv", data)}).json()
    done = wait_job(client, job["id"], timeout=300)
    assert done["status"] == "done" and done["result"]["kind"] == "video" and done["result"]["video"]["segments"]


def test_idempotent_submission(client):
    first = client.post("/v1/jobs", json={"text": "hello"}, headers={"Idempotency-Key": "order-1"})
    second = client.post("/v1/jobs", json={"text": "hello"}, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == 202 and second.status_code == 200 and first.json()["id"] == second.json()["id"]
    other = client.post("/v1/jobs", json={"text": "bye"}, headers={"Idempotency-Key": "order-1"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"


def test_a_full_queue_says_when_to_come_back(tmp_path, database_url):
    svc = make_service(tmp_path, database_url, max_queued_jobs=2, job_workers=0)
    with TestClient(create_app(svc)) as c:
        assert all(c.post("/v1/jobs", json={"text": f"t{i}"}).status_code == 202 for i in range(2))
        r = c.post("/v1/jobs", json={"text": "one more"})
        assert r.status_code == 429 and r.json()["error"]["code"] == "queue_full" and int(r.headers["retry-after"]) > 0
    svc.stop()


def test_keys_scopes_owners_and_rate_limits(service, client):
    assert client.post("/v1/scan", json={"text": "hi"}).status_code == 200  # no key exists: open
    _, scan_key = service.keys.create("platform", ["scan"], rate_limit=3)
    _, other_key = service.keys.create("other", ["scan"])
    _, review_key = service.keys.create("moderators", ["review"])
    service.keys_changed()  # see the new keys now, not in a second
    r = client.post("/v1/scan", json={"text": "hi"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized" and r.headers["www-authenticate"]
    bad = client.post("/v1/scan", json={"text": "hi"}, headers={"Authorization": "Bearer tamis_wrong"})
    assert bad.status_code == 401
    forbidden = client.post("/v1/scan", json={"text": "hi"}, headers={"Authorization": f"Bearer {review_key}"})
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    mine = {"Authorization": f"Bearer {scan_key}"}
    job = client.post("/v1/jobs", json={"text": "hi"}, headers=mine).json()
    assert client.get(f"/v1/jobs/{job['id']}", headers=mine).status_code == 200
    theirs = client.get(f"/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {other_key}"})
    assert theirs.status_code == 404  # another key's jobs are not seen
    codes = [client.post("/v1/scan", json={"text": "hi"}, headers=mine).status_code for _ in range(3)]
    assert codes[-1] == 429  # 3 a minute: the job and one scan used two
    assert int(client.post("/v1/scan", json={"text": "hi"}, headers=mine).headers["retry-after"]) >= 1
    assert client.get("/healthz").status_code == 200  # operations stay open
    assert client.get("/readyz").status_code == 200
    _, metrics_key = service.keys.create("prometheus", ["metrics"])
    service.keys_changed()
    assert client.get("/metrics").status_code == 401  # job counts are not everyone's
    assert client.get("/metrics", headers=mine).status_code == 403
    scraper = {"Authorization": f"Bearer {metrics_key}"}
    assert client.get("/metrics", headers=scraper).status_code == 200
    assert client.post("/v1/scan", json={"text": "hi"}, headers=scraper).status_code == 403  # and nothing else


def test_moderations_shape(client):
    r = client.post("/v1/moderations", json={"input": ["I will kill you.", "What a lovely day"]})
    body = r.json()
    assert r.status_code == 200 and body["id"].startswith("modr-") and len(body["results"]) == 2
    threat, calm = body["results"]
    assert threat["flagged"] and threat["categories"]["violence"] and not calm["flagged"]
    assert len(threat["categories"]) == len(threat["category_scores"]) == 13
    assert threat["category_applied_input_types"]["violence"] == ["text"]
    photo = base64.b64encode((SAMPLES / "cat.jpg").read_bytes()).decode()
    mixed = client.post("/v1/moderations", json={"input": [
        {"type": "text", "text": "look at my cat"},
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{photo}"}}]}).json()
    assert len(mixed["results"]) == 1  # parts of one input: one result
    types = mixed["results"][0]["category_applied_input_types"]
    assert types["sexual"] == ["image", "text"] and types["hate"] == ["text"]
    fetch = client.post("/v1/moderations", json={"input": [
        {"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest/meta-data"}}]})
    assert fetch.status_code == 422 and fetch.json()["error"]["code"] == "url_not_allowed"


def test_operations(client):
    assert client.get("/readyz").json()["checks"] == {"models": True, "database": True}
    client.post("/v1/scan", json={"text": "hello"})
    metrics = client.get("/metrics").text
    assert 'tamis_http_requests_total{method="POST",route="/v1/scan",status="200"}' in metrics
    assert 'tamis_jobs{status="queued"}' in metrics and "tamis_detector_seconds_bucket" in metrics
    doc = client.get("/openapi.json").json()
    assert {"/v1/scan", "/v1/scan/texts", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/moderations"} <= set(doc["paths"])
    assert "ScanResult" in doc["components"]["schemas"]
    assert client.get("/docs").status_code == 200


class Receiver:
    """A webhook receiver on 127.0.0.1: records each POST, answers the statuses given in turn."""

    def __init__(self, statuses=(200,)) -> None:
        import http.server
        import threading

        self.calls: list[tuple[dict, bytes]] = []
        self.statuses = list(statuses)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls.append((dict(self.headers), body))
                self.send_response(outer.statuses.pop(0) if len(outer.statuses) > 1 else outer.statuses[0])
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_webhooks_are_signed_retried_and_visible(tmp_path, database_url):
    import hashlib
    import hmac
    import json

    receiver = Receiver(statuses=(500, 200))
    svc = make_service(tmp_path, database_url, webhook_hosts=receiver.host, webhook_backoff_seconds=0.2)
    try:
        with TestClient(create_app(svc)) as c:
            url = f"http://{receiver.host}/hooks/tamis"
            refused = c.post("/v1/jobs", json={"text": "hi", "webhook_url": "http://10.0.0.1/x"})
            assert refused.status_code == 422 and refused.json()["error"]["code"] == "webhook_not_allowed"
            now = c.post("/v1/scan", json={"text": "hi", "webhook_url": url})
            assert now.status_code == 422 and "jobs" in now.json()["error"]["message"]
            job = c.post("/v1/jobs", json={"text": "I will kill you.", "webhook_url": url}).json()
            wait_job(c, job["id"])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                tries = c.get(f"/v1/jobs/{job['id']}/deliveries").json()["deliveries"]
                if tries and tries[0]["status"] == "delivered":
                    break
                time.sleep(0.1)
            assert tries[0]["status"] == "delivered" and tries[0]["attempts"] == 2 and tries[0]["last_status"] == 200
            assert len(receiver.calls) == 2 and receiver.calls[0][1] == receiver.calls[1][1]  # the same body again
            headers, body = receiver.calls[-1]
            expected = hmac.new(svc.deliveries.secret().encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Hub-Signature"] == f"sha256={expected}" and headers["X-Tamis-Event"] == "job.done"
            sent = json.loads(body)
            assert sent["event"] == "job.done" and sent["job"]["id"] == job["id"]
            assert sent["job"]["result"]["decision"]["action"] == "block"
    finally:
        svc.stop()
        receiver.close()


@pytest.mark.timeout(300)
def test_a_job_that_crashes_its_worker_costs_only_itself(tmp_path):
    """Jobs in worker processes (the default): a crash in a native library fails that job
    after its tries, the worker is replaced, and the server and the other jobs go on."""
    import hostile

    svc = make_service(tmp_path, f"sqlite:///{tmp_path / 'tamis.db'}", job_processes=True, job_max_attempts=2,
                       max_input_seconds=20)
    svc.workers.engine_options = {"settings": svc.settings, "detectors": [hostile.Misbehaving()]}
    try:
        with TestClient(create_app(svc)) as c:
            crash = c.post("/v1/jobs", json={"text": "CRASH now"}).json()
            calm = c.post("/v1/jobs", json={"text": "a calm note"}).json()
            failed = wait_job(c, crash["id"], timeout=200)
            assert failed["status"] == "failed" and failed["attempts"] == 2
            assert failed["error"]["code"] == "worker_died" and "SIGSEGV" in failed["error"]["message"]
            done = wait_job(c, calm["id"], timeout=200)
            assert done["status"] == "done" and done["result"]["kind"] == "text" and done["attempts"] == 1
            assert c.get("/healthz").status_code == 200
    finally:
        svc.stop()


@pytest.mark.timeout(300)
def test_cancelling_a_running_job_stops_its_scan(tmp_path):
    """The job's worker process is killed when its claim is lost (cancelled), so the job
    thread is free for the next job at once, not after the scan would have ended (60 s)."""
    import hostile

    svc = make_service(tmp_path, None, job_processes=True, job_lease_seconds=1.5, max_input_seconds=120)
    svc.workers.engine_options = {"settings": svc.settings, "detectors": [hostile.Misbehaving()]}
    try:
        with TestClient(create_app(svc)) as c:
            slow = c.post("/v1/jobs", json={"text": "SLEEP for a minute"}).json()
            deadline = time.monotonic() + 120
            while c.get(f"/v1/jobs/{slow['id']}").json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(1.0)  # in the worker's sleep
            assert c.post(f"/v1/jobs/{slow['id']}/cancel").json()["status"] == "cancelled"
            calm = c.post("/v1/jobs", json={"text": "a calm note"}).json()
            done = wait_job(c, calm["id"], timeout=50)  # well before the minute the sleep takes
            assert done["status"] == "done", done
            assert c.get(f"/v1/jobs/{slow['id']}").json()["status"] == "cancelled"  # not revived by the kill
    finally:
        svc.stop()


@pytest.mark.timeout(300)
def test_a_file_that_crashes_its_scan_costs_only_its_request(tmp_path, samples):
    """Scans now of files run in worker processes (scan_processes): a decoder's crash is that
    request's 422 worker_died, the process is replaced, and the server goes on."""
    import hostile

    svc = make_service(tmp_path, None, scan_processes=1, max_input_seconds=20)
    svc.lanes.engine_options = {"settings": svc.settings, "detectors": [hostile.Misbehaving()]}
    photo = (samples / "cat.jpg").read_bytes()
    try:
        with TestClient(create_app(svc)) as c:
            crash = c.post("/v1/scan", files={"file": ("CRASH.jpg", photo, "image/jpeg")})
            assert crash.status_code == 422 and crash.json()["error"]["code"] == "worker_died"
            assert "SIGSEGV" in crash.json()["error"]["message"]
            calm = c.post("/v1/scan", files={"file": ("calm.jpg", photo, "image/jpeg")})
            assert calm.status_code == 200 and calm.json()["kind"] == "image"
            assert calm.json()["decision"]["action"] == "allow"
            pictrs = c.post("/v1/pictrs/validate", content=photo, headers={"content-type": "image/jpeg"})
            assert pictrs.status_code == 200
            assert c.post("/v1/scan", json={"text": "CRASH in a text is scanned in the server"}).status_code == 200
            [lane] = svc.lanes._pools
            lane.workers[0].proc.kill()  # dies while idle (the kernel's OOM killer, say)
            lane.workers[0].proc.join(10)
            after = c.post("/v1/scan", files={"file": ("next.jpg", photo, "image/jpeg")})
            assert after.status_code == 200, after.text  # not blamed on the next request: a new lane took it
            assert c.get("/healthz").status_code == 200
    finally:
        svc.stop()


def test_texts_of_concurrent_requests_are_scanned_together(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    svc = make_service(tmp_path, f"sqlite:///{tmp_path / 'tamis.db'}", batch_max_wait_ms=300, batch_max_texts=64)
    try:
        with TestClient(create_app(svc)) as c:
            texts = [f"message number {i}: see you at five" for i in range(24)] + ["I will kill you."]
            with ThreadPoolExecutor(25) as pool:
                answers = list(pool.map(lambda t: c.post("/v1/scan", json={"text": t}).json(), texts))
            assert [a["decision"]["action"] for a in answers] == ["allow"] * 24 + ["block"]
            strict = c.post("/v1/scan", json={"text": "I will kill you.", "labels": ["pii"]}).json()
            assert strict["findings"] == [] and strict["decision"]["action"] == "allow"  # labels per request
            metrics = c.get("/metrics").text
            batches = float(next(ln.split()[-1] for ln in metrics.splitlines()
                                 if ln.startswith("tamis_text_batch_size_count")))
            assert batches < 13  # 26 requests, far fewer model batches
    finally:
        svc.stop()


def test_hardening_found_in_review(tmp_path):
    """Revoking the last key closes the service; a webhook URL httpx cannot send is refused
    up front; a JSON job body is held to the scan limit; NUL in a text job; no batching."""
    receiver_host = "hooks.example:8443"
    svc = make_service(tmp_path, f"sqlite:///{tmp_path / 'tamis.db'}", webhook_hosts=receiver_host,
                       max_bytes=10_000, batch_max_wait_ms=0)
    try:
        with TestClient(create_app(svc)) as c:
            assert c.post("/v1/scan", json={"text": "I will kill you."}).json()["decision"]["action"] == "block"
            bad = c.post("/v1/jobs", json={"text": "x", "webhook_url": f"http://{receiver_host}/a\u0001"})
            assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
            big = c.post("/v1/jobs", json={"data": base64.b64encode(b"x" * 1_200_000).decode()})
            assert big.status_code == 413  # JSON is read whole: the scan limit, not the upload one
            nul = c.post("/v1/jobs", json={"text": "a\u0000b"})
            assert nul.status_code == 422 and "NUL" in nul.json()["error"]["message"]
            svc.keys.create("only", ["scan"])
            svc.keys_changed()
            assert c.post("/v1/scan", json={"text": "hi"}).status_code == 401
            svc.keys.revoke("only")
            svc.keys_changed()
            assert c.post("/v1/scan", json={"text": "hi"}).status_code == 401  # closed, not reopened
    finally:
        svc.stop()


def test_listening_beyond_loopback_needs_keys():
    from tamis.errors import ConfigError
    from tamis.service.server import check_bind

    assert check_bind("127.0.0.1", keys_exist=False) and check_bind("localhost", keys_exist=False)
    with pytest.raises(ConfigError, match="refusing to listen on 0.0.0.0"):
        check_bind("0.0.0.0", keys_exist=False)
    assert check_bind("0.0.0.0", keys_exist=True) is False  # allowed, and every request will need a key
