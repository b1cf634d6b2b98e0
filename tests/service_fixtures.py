"""A service over a fresh data folder and database of each kind (the ``database_url``
fixture), and a client of its app: the fixtures of the service's tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tamis.config import load_settings
from tamis.service import Service, create_app


def spam_review_policy(folder):
    """A policy file in ``folder`` that sends qr_payment.png ("Scan to pay" and a payment link,
    ordinary under the default policy) to review as spam, so that an image reaches a spam queue."""
    path = folder / "policy.yaml"
    path.write_text("version: 1\nlabels:\n  spam: {review: 0.2, block: 0.99}\n")
    return path


def make_service(tmp_path, database_url, **settings) -> Service:
    """One job thread, scanning in the server, and scans now in the server's threads too
    (worker processes cost seconds per service)."""
    s = load_settings(env={"TAMIS_HOME": str(tmp_path / "home")},
                      **{"database_url": database_url, "job_workers": 1, "job_processes": False,
                         "scan_processes": 0, **settings})
    return Service(s)


@pytest.fixture
def service(tmp_path, database_url):
    svc = make_service(tmp_path, database_url)
    yield svc
    svc.stop()


@pytest.fixture
def client(service):
    with TestClient(create_app(service)) as c:
        yield c
