"""The service's OpenAPI document, fuzzed with schemathesis: every operation, with requests
made from its declared parameters and bodies (positive) and from values that break them
(negative), sent in-process to the ASGI app with a key holding every scope. No answer may
be a 5xx, and each must conform to what the document declares (status, content type, body
schema: errors are ``{"error": {"code", "message"}}`` everywhere).

Bounded and repeatable: a fixed number of examples per operation, derandomized, no
example database. Besides the generated requests, each operation gets a few made by hand
that reach its handler's success path (a real bank, a real job, a real image), which random
path parameters and bytes almost never do.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os

import pytest

schemathesis = pytest.importorskip("schemathesis")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from PIL import Image  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tamis.config import load_settings  # noqa: E402
from tamis.service import Service, create_app  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
#: Generated examples per operation and mode; fewer where each request runs the models.
#: FUZZ_SCALE=20 multiplies them for a longer hunt, FUZZ_RANDOM=1 draws new ones each run.
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") not in ("", "0")
EXAMPLES = 40
SCANNING = {"/v1/scan", "/v1/scan/texts", "/v1/jobs", "/v1/moderations", "/h/hash", "/m/lookup",
            "/v1/pictrs/validate", "/v1/banks/{name}/entries"}
SCAN_EXAMPLES = 10
BANK = "fuzz"


def _operations() -> list[tuple[str, str]]:
    doc = create_app().openapi()  # no service needed for the document
    return [(method.upper(), path) for path, item in doc["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")]


OPERATIONS = _operations()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 60)).save(buf, format="PNG")
    return buf.getvalue()


class Fuzz:
    """The app under test, its loaded schema, and the key and things its requests name."""

    def __init__(self, home, database_url: str | None = None) -> None:
        settings_ = load_settings(env={"TAMIS_HOME": str(home)}, database_url=database_url, job_workers=1,
                                  job_processes=False, scan_processes=0,
                                  review_blocked=True)  # what is blocked is queued for review too
        self.service = Service(settings_)
        _, secret = self.service.keys.create("fuzz", ["scan", "review", "admin"])
        self.headers = {"Authorization": f"Bearer {secret}"}
        self.service.start()  # models loaded, job worker running (the app's lifespan then leaves it be)
        self.app = create_app(self.service)
        doc = json.loads(json.dumps(self.app.openapi()))  # what GET /openapi.json answers
        assert "requestBody" in doc["paths"]["/v1/moderations"]["post"]  # every body is declared
        self.schema = schemathesis.openapi.from_dict(doc)
        self.schema.app = self.app  # sent in-process, as schemathesis.openapi.from_asgi does
        self.client = TestClient(self.app, headers=self.headers)
        self.png = _png()
        job = self.client.post("/v1/jobs", json={"text": "a job to look at"})
        assert job.status_code == 202, job.text
        self.job_id = job.json()["id"]
        for text in ("I will kill you.", "You are worthless and I will hurt you."):  # items to review
            assert self.client.post("/v1/scan", json={"text": text}).status_code == 200

    def ensure_bank(self) -> int:
        """The bank the fixed-name requests use, with one entry (a test may have deleted either)."""
        if self.client.get(f"/v1/banks/{BANK}/entries").status_code == 404:
            assert self.client.post("/v1/banks", json={"name": BANK}).status_code == 201
        md5 = hashlib.md5(self.png).hexdigest()
        self.client.post(f"/v1/banks/{BANK}/entries", json={"signal": "md5", "value": md5})
        entries = self.client.get(f"/v1/banks/{BANK}/entries").json()["entries"]
        return entries[0]["id"]

    def fixed(self, path: str) -> dict[str, str | int]:
        """Path parameters that name things that exist."""
        out: dict[str, str | int] = {}
        if "{name}" in path:
            out["name"] = BANK
        if "{job_id}" in path:
            out["job_id"] = self.job_id
        if "{entry_id}" in path:
            out["entry_id"] = self.ensure_bank()
        if "{item_id}" in path:
            listed = self.client.get("/v1/review/items")
            items = listed.json().get("items", []) if listed.status_code == 200 else []
            if items:
                out["item_id"] = items[0]["id"]
        return out

    def by_hand(self, operation, path: str) -> list:
        """Requests that reach the handler's success path."""
        params = self.fixed(path)
        cases = [operation.Case(path_parameters=params)] if params and operation.method.upper() == "GET" else []
        method = operation.method.upper()
        if method == "POST" and path in ("/v1/scan", "/v1/jobs", "/h/hash", "/m/lookup", "/v1/pictrs/validate",
                                         "/v1/banks/{name}/entries"):
            cases.append(operation.Case(path_parameters=params, body=self.png, media_type="application/octet-stream"))
            if path == "/v1/banks/{name}/entries":  # again: nothing new (200)
                cases.append(operation.Case(path_parameters=params, body=self.png,
                                            media_type="application/octet-stream"))
            if path in ("/v1/scan", "/v1/jobs"):
                cases.append(operation.Case(body={"text": "I will kill you."}, media_type="application/json"))
                cases.append(operation.Case(body={"data": base64.b64encode(self.png).decode(), "name": "red.png"},
                                            media_type="application/json"))
        if (method, path) == ("POST", "/v1/scan/texts"):
            cases.append(operation.Case(body={"texts": ["hello", {"id": "b", "text": "I will kill you."}]},
                                        media_type="application/json"))
        if (method, path) == ("POST", "/v1/moderations"):
            photo = "data:image/png;base64," + base64.b64encode(self.png).decode()
            for body in ({"input": "I will kill you."}, {"input": ["fine", "I will kill you."]},
                         {"input": [{"type": "text", "text": "my cat"},
                                    {"type": "image_url", "image_url": {"url": photo}}]}):
                cases.append(operation.Case(body=body, media_type="application/json"))
        if (method, path) == ("POST", "/v1/banks/{name}/import"):
            cases.append(operation.Case(path_parameters=params, body="md5,0123456789abcdef0123456789abcdef\n",
                                        media_type="text/csv"))
        md5 = hashlib.md5(self.png).hexdigest()
        if (method, path) == ("GET", "/v1/banks/lookup"):
            cases.append(operation.Case(query={"signal": "md5", "value": md5}))
            cases.append(operation.Case(query={"signal": "pdq", "value": "f" * 64}))
        if (method, path) == ("GET", "/m/lookup"):
            cases.append(operation.Case(query={"signal_type": "video_md5", "signal": md5}))
            cases.append(operation.Case(query={"signal_type": "pdq", "signal": "0" * 64, "banks": BANK}))
        return cases

    def check(self, case) -> int:
        response = case.call(headers=self.headers)
        case.validate_response(response, checks=CHECKS, headers=self.headers)
        return response.status_code

    def stop(self) -> None:
        from schemathesis.python import asgi

        asgi.shutdown_lifespans()
        self.service.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz(request, tmp_path_factory):
    """The service on each kind of store (PostgreSQL refuses what SQLite takes: NUL characters)."""
    url = request.getfixturevalue("postgres").new_database() if request.param == "postgresql" else None
    f = Fuzz(tmp_path_factory.mktemp("fuzz") / "home", url)
    yield f
    f.stop()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_fuzzed(fuzz, method, path):
    operation = fuzz.schema[path][method]
    if "{name}" in path or "{entry_id}" in path:
        fuzz.ensure_bank()
    by_hand = [fuzz.check(case) for case in fuzz.by_hand(operation, path)]
    assert not by_hand or any(s < 400 or s == 406 for s in by_hand), by_hand  # one at least got through
    n = max(1, round((SCAN_EXAMPLES if path in SCANNING else EXAMPLES) * SCALE))
    fixed = fuzz.fixed(path)
    strategies = [("positive", operation.as_strategy(generation_mode=GenerationMode.POSITIVE)),
                  ("negative", operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))]
    if fixed:  # random names miss every bank and job: also fuzz the rest with ones that exist
        strategies.append(("existing", operation.as_strategy(path_parameters=fixed)))
    for mode, strategy in strategies:
        @given(case=strategy)
        @settings(max_examples=n, derandomize=not RANDOM, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case):
            fuzz.check(case)

        try:
            run()
        except Unsatisfiable:
            assert mode == "negative"  # nothing to break: a string in the path is any string
