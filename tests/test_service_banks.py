"""Hash banks over HTTP, and the drop-in endpoints of Meta's HMA and pict-rs, through the
ASGI app on SQLite and on a real PostgreSQL server (the service's database; the banks are
the SQLite bank store in the data folder either way)."""

from __future__ import annotations

import hashlib
import io
import logging

import pytest
from PIL import Image

from conftest import ROOT, SAMPLES

CAT = (SAMPLES / "cat.jpg").read_bytes()
ROCKET = (SAMPLES / "rocket_launch.jpg").read_bytes()
VIDEO = ROOT / "samples" / "video" / "holiday_clip.mkv"


def reencoded(data: bytes, scale: float = 0.5, quality: int = 50) -> bytes:
    """The same picture, smaller and saved again as a lossy JPEG: another file, a near PDQ."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    img = img.resize((int(img.width * scale), int(img.height * scale)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def add_cat(client, bank: str = "removed", **params) -> dict:
    if client.post("/v1/banks", json={"name": bank}).status_code not in (201, 409):
        raise AssertionError("could not create the bank")
    r = client.post(f"/v1/banks/{bank}/entries", files={"file": ("cat.jpg", CAT, "image/jpeg")}, params=params)
    assert r.status_code in (200, 201), r.text
    return r.json()


def pdq_of(client, data: bytes) -> str:
    return client.post("/h/hash", files={"photo": ("x.jpg", data, "image/jpeg")}).json()["pdq"]


def labels_of(result: dict) -> set[str]:
    return {f["label"] for f in result["findings"]}


# -- the bank API --------------------------------------------------------------------------------


def test_create_list_delete_and_audit(client):
    assert client.get("/v1/banks").json() == {"banks": []}
    r = client.post("/v1/banks", json={"name": "terror", "description": "removed before"})
    assert r.status_code == 201 and r.json()["name"] == "terror" and r.json()["entries"] == 0
    assert r.json()["created_at"].endswith("Z")
    again = client.post("/v1/banks", json={"name": "terror"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "bank_exists"
    bad = client.post("/v1/banks", json={"name": "Not A Name!"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bank_error"
    assert client.post("/v1/banks", json={"nom": "x"}).json()["error"]["code"] == "invalid_request"
    add_cat(client, "terror")
    (listed,) = client.get("/v1/banks").json()["banks"]
    assert listed["name"] == "terror" and listed["entries"] == 3 and listed["description"] == "removed before"
    assert client.delete("/v1/banks/terror").status_code == 204
    gone = client.delete("/v1/banks/terror")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    actions = [(e["action"], e["target"], e["actor"]) for e in client.get("/v1/audit").json()["entries"]]
    assert actions[:3] == [("bank.delete", "terror", "anonymous"), ("bank.add", "terror", "anonymous"),
                           ("bank.create", "terror", "anonymous")]


def test_add_by_upload_and_by_hash(client):
    first = add_cat(client, note="removed 2026-01")
    assert first["added"] == 3 and {e["signal"] for e in first["entries"]} == {"md5", "sha256", "pdq"}
    assert all(e["source"] == "cat.jpg" and e["note"] == "removed 2026-01" and e["id"] for e in first["entries"])
    raw = client.post("/v1/banks/removed/entries?name=cat.jpg", content=CAT, headers={"content-type": "image/jpeg"})
    assert raw.status_code == 200 and raw.json()["duplicates"] == 3 and raw.json()["added"] == 0
    md5 = hashlib.md5(b"some video").hexdigest()
    r = client.post("/v1/banks/removed/entries", json={"signal": "md5", "value": md5.upper(), "note": "by hash"})
    (one,) = r.json()["entries"]
    assert r.status_code == 201 and one["value"] == md5 and one["note"] == "by hash"
    text = client.post("/v1/banks/removed/entries?label=extremism", json={"text": "Join the Movement now"})
    assert "text" in {e["signal"] for e in text.json()["entries"]}
    assert {e["label"] for e in text.json()["entries"]} == {"extremism"}
    for body, status, code in [({"signal": "md5", "value": "nope"}, 422, "bad_signal"),
                               ({"signal": "colour", "value": md5}, 422, "bad_signal"),
                               ({"signal": "md5", "value": md5, "extra": 1}, 422, "invalid_request")]:
        bad = client.post("/v1/banks/removed/entries", json=body)
        assert bad.status_code == status and bad.json()["error"]["code"] == code, bad.text
    assert client.post("/v1/banks/nope/entries", json={"signal": "md5", "value": md5}).status_code == 404
    entries = client.get("/v1/banks/removed/entries", params={"limit": 2}).json()
    assert len(entries["entries"]) == 2 and entries["next"] == entries["entries"][-1]["id"]
    rest = client.get("/v1/banks/removed/entries", params={"after": entries["next"]}).json()
    assert len(rest["entries"]) == 3 + 1 + 3 - 2 and rest["next"] is None
    victim = first["entries"][0]["id"]
    assert client.delete(f"/v1/banks/removed/entries/{victim}").status_code == 204
    assert client.delete(f"/v1/banks/removed/entries/{victim}").json()["error"]["code"] == "not_found"


def test_import_export_round_trip(client):
    for name in ("source", "copy"):
        assert client.post("/v1/banks", json={"name": name}).status_code == 201
    csv = (f"signal,value,label,note\nmd5,{'a' * 32},,first\nmd5,nope,,\n"
           f"pdq,{'f' * 64},extremism,flag\n")
    r = client.post("/v1/banks/source/import", content=csv, headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["added"] == 2 and r.json()["error_count"] == 1
    assert r.json()["errors"][0]["line"] == 3 and "md5" in r.json()["errors"][0]["message"]
    jsonl = client.get("/v1/banks/source/export", params={"format": "jsonl"})
    assert jsonl.status_code == 200 and jsonl.headers["content-type"].startswith("application/x-ndjson")
    assert len(jsonl.text.splitlines()) == 2
    back = client.post("/v1/banks/copy/import?format=jsonl", content=jsonl.text)
    assert back.json()["added"] == 2 and back.json()["errors"] == []
    export = [client.get(f"/v1/banks/{b}/export").text for b in ("source", "copy")]
    assert export[0] == export[1] and export[0].startswith("signal,value,label,note,source\n")
    assert client.get("/v1/banks/nope/export").status_code == 404
    bad = client.post("/v1/banks/copy/import", content=b"\xff\xfe", headers={"content-type": "text/csv"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_lookup_exact_and_near(client):
    entries = {e["signal"]: e for e in add_cat(client)["entries"]}
    md5 = client.get("/v1/banks/lookup", params={"signal": "md5", "value": entries["md5"]["value"]}).json()
    assert [(m["id"], m["distance"]) for m in md5["matches"]] == [(entries["md5"]["id"], 0)]
    exact = client.get("/v1/banks/lookup", params={"signal": "pdq", "value": entries["pdq"]["value"]}).json()
    assert [(m["id"], m["distance"]) for m in exact["matches"]] == [(entries["pdq"]["id"], 0)]
    near_pdq = pdq_of(client, reencoded(CAT))
    assert near_pdq != entries["pdq"]["value"]
    (near,) = client.get("/v1/banks/lookup", params={"signal": "pdq", "value": near_pdq}).json()["matches"]
    assert near["id"] == entries["pdq"]["id"] and 0 < near["distance"] <= 31 and near["bank"] == "removed"
    other = client.get("/v1/banks/lookup", params={"signal": "pdq", "value": pdq_of(client, ROCKET)}).json()
    assert other["matches"] == []
    bad = client.get("/v1/banks/lookup", params={"signal": "pdq", "value": "xyz"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_signal"


def test_an_entry_added_over_http_is_seen_by_the_next_scan(client):
    near = reencoded(CAT)
    before = client.post("/v1/scan", files={"file": ("cat.jpg", near)}).json()
    assert "known_content" not in labels_of(before)  # no bank store existed when the service started
    add_cat(client)
    after = client.post("/v1/scan", files={"file": ("cat.jpg", near)}).json()
    (hit,) = [f for f in after["findings"] if f["label"] == "known_content"]
    assert hit["data"]["bank"] == "removed" and 0 < hit["data"]["distance"] <= 31
    assert after["decision"]["action"] == "block"
    md5 = hashlib.md5(ROCKET).hexdigest()
    client.post("/v1/banks/removed/entries", json={"signal": "md5", "value": md5})
    rocket = client.post("/v1/scan", files={"file": ("rocket.jpg", ROCKET)}).json()
    assert "known_content" in labels_of(rocket)  # a later change too, without a restart
    client.delete("/v1/banks/removed")
    assert "known_content" not in labels_of(client.post("/v1/scan", files={"file": ("r.jpg", ROCKET)}).json())


def test_scopes(service, client):
    _, scan_key = service.keys.create("platform", ["scan"])
    _, admin_key = service.keys.create("trust-and-safety", ["admin"])
    service.keys_changed()  # see the new keys now, not in a second
    scan, admin = ({"Authorization": f"Bearer {k}"} for k in (scan_key, admin_key))
    assert client.get("/v1/banks").status_code == 401
    r = client.post("/v1/banks", json={"name": "mine"}, headers=scan)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.post("/v1/banks", json={"name": "mine"}, headers=admin).status_code == 201
    md5 = hashlib.md5(b"x").hexdigest()
    for method, path, kw in [("post", "/v1/banks/mine/entries", {"json": {"signal": "md5", "value": md5}}),
                             ("post", "/v1/banks/mine/import", {"content": f"value\n{md5}\n"}),
                             ("delete", "/v1/banks/mine/entries/1", {}), ("delete", "/v1/banks/mine", {})]:
        assert client.request(method, path, headers=scan, **kw).status_code == 403, path
    assert client.post("/v1/banks/mine/entries", json={"signal": "md5", "value": md5}, headers=admin).status_code == 201
    assert client.get("/v1/banks", headers=scan).json()["banks"][0]["entries"] == 1
    for path in ("/v1/banks/mine/export", "/v1/banks/mine/entries"):  # a bank's contents are not a scanner's
        assert client.get(path, headers=scan).status_code == 403, path
        assert client.get(path, headers=admin).status_code == 200, path
    found = client.get("/v1/banks/lookup", params={"signal": "md5", "value": md5}, headers=scan).json()
    assert len(found["matches"]) == 1
    assert client.get("/m/lookup", params={"signal_type": "md5", "signal": md5}, headers=scan).status_code == 200
    log = client.get("/v1/audit", headers=admin).json()["entries"]
    assert (log[0]["action"], log[0]["actor"], log[0]["detail"]["added"]) == ("bank.add", "trust-and-safety", 1)


# -- Meta's HMA -------------------------------------------------------------------------------------


def test_hma_hash_wire_format(client):
    r = client.post("/h/hash", files={"photo": ("cat.jpg", CAT, "image/jpeg")})
    assert r.status_code == 200 and list(r.json()) == ["pdq", "md5"]
    assert len(r.json()["pdq"]) == 64 and r.json()["md5"] == hashlib.md5(CAT).hexdigest()
    raw = client.post("/h/hash", content=CAT, headers={"content-type": "image/jpeg"})
    assert raw.json() == r.json()
    assert client.post("/h/hash?types=pdq", files={"photo": ("c.jpg", CAT)}).json() == {"pdq": r.json()["pdq"]}
    bad_type = client.post("/h/hash?types=tmk", files={"photo": ("c.jpg", CAT)})
    assert bad_type.status_code == 422 and bad_type.json()["error"]["code"] == "invalid_request"
    two = client.post("/h/hash", files=[("photo", ("a.jpg", CAT)), ("photo", ("b.jpg", CAT))])
    assert two.status_code == 422 and "Only one file" in two.json()["error"]["message"]
    text = client.post("/h/hash", files={"photo": ("t.txt", b"hello there", "text/plain")})
    assert text.status_code == 415 and text.json()["error"]["code"] == "unsupported_media"
    fetch = client.get("/h/hash", params={"url": "http://169.254.169.254/"})
    assert fetch.status_code == 422 and fetch.json()["error"]["code"] == "url_not_allowed"


def test_hma_lookup_wire_format(client):
    entries = {e["signal"]: e for e in add_cat(client)["entries"]}
    pdq = entries["pdq"]["value"]
    same = client.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq})
    assert same.status_code == 200
    assert same.json() == {"removed": [{"bank_content_id": entries["pdq"]["id"], "distance": "0"}]}
    near = client.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq_of(client, reencoded(CAT)),
                                           "bypass_coinflip": "true", "seed": "1234"}).json()
    ((match,),) = near.values()
    assert set(match) == {"bank_content_id", "distance"} and isinstance(match["distance"], str)
    assert 0 < int(match["distance"]) <= 31
    assert client.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq, "banks": "other"}).json() == {}
    video_md5 = hashlib.md5(b"a banked video file").hexdigest()
    client.post("/v1/banks/removed/entries", json={"signal": "md5", "value": video_md5})
    (vid,) = client.get("/m/lookup", params={"signal_type": "video_md5", "signal": video_md5}).json()["removed"]
    assert vid["distance"] == "0"
    upload = client.post("/m/lookup", files={"photo": ("c.jpg", reencoded(CAT), "image/jpeg")}).json()
    assert set(upload) == {"pdq", "md5"} and upload["md5"] == {}
    assert upload["pdq"]["removed"][0]["bank_content_id"] == entries["pdq"]["id"]
    whole = client.post("/m/lookup", files={"photo": ("c.jpg", CAT)}).json()
    assert whole["md5"] == {"removed": [{"bank_content_id": entries["md5"]["id"], "distance": "0"}]}
    missing = client.get("/m/lookup", params={"signal_type": "pdq"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_request"
    unknown = client.get("/m/lookup", params={"signal_type": "tmk_pdqf", "signal": pdq})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "bad_signal"
    fetch = client.get("/m/lookup", params={"url": "https://example.org/x.png"})
    assert fetch.json()["error"]["code"] == "url_not_allowed"


@pytest.mark.skipif(not VIDEO.exists(), reason="no sample video")
def test_hma_hashes_a_video_by_its_file_md5(client):
    pytest.importorskip("av")
    data = VIDEO.read_bytes()
    r = client.post("/h/hash", files={"video": ("clip.mkv", data)})
    assert r.status_code == 200 and r.json() == {"video_md5": hashlib.md5(data).hexdigest()}


# -- pict-rs ----------------------------------------------------------------------------------------


def test_pictrs_external_validation(client, caplog):
    ok = client.post("/v1/pictrs/validate", content=ROCKET, headers={"content-type": "image/jpeg"})
    assert ok.status_code == 200 and ok.json()["accepted"] and ok.json()["action"] in ("allow", "review")
    threat = client.post("/v1/pictrs/validate", content=b"I will kill you.", headers={"content-type": "text/plain"})
    assert threat.status_code == 406 and set(threat.json()) == {"error"}
    assert threat.json()["error"]["code"] == "refused_by_policy" and "violence" in threat.json()["error"]["message"]
    add_cat(client)
    banked = client.post("/v1/pictrs/validate", content=reencoded(CAT), headers={"content-type": "image/jpeg"})
    assert banked.status_code == 406 and "known_content" in banked.json()["error"]["message"]
    broken = client.post("/v1/pictrs/validate", content=b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
                         headers={"content-type": "image/png"})
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "corrupt_input"  # refused, not waved through
    add_cat(client, "weapons", label="weapons")  # weapons: review, never block, in the default policy
    client.delete("/v1/banks/removed")
    with caplog.at_level(logging.WARNING, logger="tamis.service.pictrs"):
        review = client.post("/v1/pictrs/validate", content=CAT, headers={"content-type": "image/jpeg"})
    assert review.status_code == 200 and review.json()["action"] == "review" and "weapons" in review.json()["labels"]
    assert any("to review" in r.getMessage() and hashlib.sha256(CAT).hexdigest() in r.getMessage()
               for r in caplog.records)
    queued = client.get(f"/v1/review/items/{review.json()['review_item']}").json()  # a moderator looks later
    assert queued["labels"] == ["weapons"] and queued["kind"] == "image"
    bad_profile = client.post("/v1/pictrs/validate?profile=nope", content=ROCKET,
                              headers={"content-type": "image/jpeg"})
    assert bad_profile.status_code == 400 and bad_profile.json()["error"]["code"] == "policy_error"


def test_pictrs_key_in_the_url(service, client):
    _, key = service.keys.create("pict-rs", ["scan"])
    service.keys_changed()
    headers = {"content-type": "image/jpeg"}
    assert client.post("/v1/pictrs/validate", content=ROCKET, headers=headers).status_code == 401
    assert client.post("/v1/pictrs/validate?key=tamis_wrong", content=ROCKET, headers=headers).status_code == 401
    assert client.post(f"/v1/pictrs/validate?key={key}", content=ROCKET, headers=headers).status_code == 200
    bearer = {**headers, "Authorization": f"Bearer {key}"}
    assert client.post("/v1/pictrs/validate", content=ROCKET, headers=bearer).status_code == 200


def test_openapi_lists_the_new_routes(client):
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/v1/banks", "/v1/banks/{name}/entries", "/v1/banks/lookup", "/h/hash", "/m/lookup",
            "/v1/pictrs/validate"} <= paths
