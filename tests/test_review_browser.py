"""The review page in a real headless Chromium (Debian's), against a real server on
127.0.0.1: sign in, an item shown blurred and grey (its computed style and the pixels of a
screenshot), revealed by a click, removed with a reason into a bank, the re-upload blocked;
two reviewers never get the same item; a reviewer of another queue gets 403 for the item
and its media.

``REVIEW_SCREENSHOTS=folder`` keeps the screenshots (docs/pictures/ has them)."""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from postgres import free_port
from service_fixtures import make_service, spam_review_policy

from tamis.service import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM and os.environ.get("CI"):
    pytest.fail("CI must have Debian chromium installed (.ci/run installs it)", pytrace=False)
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed")

PASSWORD = "correct horse battery"
REVIEW_TEXT = "Call me at +1 415 555 0100, send bitcoin now or I will kill you"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    folder = tmp_path_factory.mktemp("review-browser")
    svc = make_service(folder, None, review_queues="spam=spam", policy=spam_review_policy(folder))
    for name, queues in (("alice", "*"), ("bob", "*"), ("mallory", "minors")):
        svc.review.reviewers.create(name, PASSWORD, queues)
    svc.bank_store.create_bank("removed", "removed by reviewers")
    port = free_port()
    config = uvicorn.Config(create_app(svc), host="127.0.0.1", port=port, log_config=None, access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", svc
    srv.should_exit = True
    thread.join(30)
    svc.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                               args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                     "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def sign_in(browser, base: str, name: str):
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/review")
    assert "/review/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{base}/review", page.content()[:3000]
    return context, page


def sharpness(png: bytes) -> tuple[float, float]:
    """(Mean colour saturation, mean absolute difference of neighbouring pixels) of a screenshot."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.float32)
    saturation = float((rgb.max(axis=2) - rgb.min(axis=2)).mean())
    grey = rgb.mean(axis=2)
    edges = float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())
    return saturation, edges


def keep(name: str, png: bytes) -> None:
    folder = os.environ.get("REVIEW_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(png)


def test_review_in_a_browser(server, browser, samples):
    base, svc = server
    photo = (samples / "qr_payment.png").read_bytes()
    first = httpx.post(f"{base}/v1/scan", files={"file": ("qr_payment.png", photo, "image/png")}, timeout=60)
    image_item = first.headers["tamis-review-item"]
    text_item = httpx.post(f"{base}/v1/scan", json={"text": REVIEW_TEXT}, timeout=60).headers["tamis-review-item"]

    alice, page = sign_in(browser, base, "alice")
    assert page.locator("tr[data-queue=spam] td").nth(1).inner_text() == "2"
    keep("review-queue.png", page.screenshot(full_page=True))
    page.click("#start")
    page.wait_for_url(f"{base}/review/items/{image_item}")
    img = page.locator("#media img")
    img.wait_for()
    page.wait_for_function("document.querySelector('#media img').naturalWidth > 0")
    style = img.evaluate("e => getComputedStyle(e).filter")
    assert "blur" in style and "grayscale" in style
    page.mouse.move(1000, 900)
    blurred = img.screenshot()
    keep("review-item.png", page.screenshot(full_page=True))
    img.click()
    assert img.evaluate("e => getComputedStyle(e).filter") == "none"
    revealed = img.screenshot()
    (sat_b, edges_b), (sat_r, edges_r) = sharpness(blurred), sharpness(revealed)
    assert sat_b < 2.0 < sat_r, (sat_b, sat_r)  # grey, then in colour
    assert edges_b * 3 < edges_r, (edges_b, edges_r)  # blurred, then sharp
    page.mouse.move(1000, 900)  # leaving the picture blurs it again
    assert "blur" in img.evaluate("e => getComputedStyle(e).filter")
    assert page.locator("svg.boxes rect").count() >= 1

    bob, bob_page = sign_in(browser, base, "bob")
    bob_page.click("#start")
    bob_page.wait_for_url(f"{base}/review/items/{text_item}")  # not alice's: she holds it
    assert "415 555 0100" not in bob_page.locator(".masked").inner_text()
    held = bob_page.goto(f"{base}/review/items/{image_item}")
    assert held.status == 409 and "qr_payment" not in bob_page.locator("main").inner_text()

    mallory, mallory_page = sign_in(browser, base, "mallory")
    assert mallory_page.goto(f"{base}/review/items/{image_item}").status == 403
    assert "qr_payment" not in mallory_page.content()
    assert mallory.request.get(f"{base}/review/items/{image_item}/media").status == 403
    anonymous = browser.new_context()
    assert anonymous.request.get(f"{base}/review/items/{image_item}/media").status == 401

    page.keyboard.press("r")
    assert page.locator("input[value=remove]").is_checked()
    page.keyboard.type("a payment scam")
    page.select_option("#bank", "removed")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{base}/review?notice=*")
    signals = {e.signal for e in svc.bank_store.entries("removed")}
    assert {"md5", "sha256", "pdq"} <= signals
    again = httpx.post(f"{base}/v1/scan", files={"file": ("again.png", photo, "image/png")}, timeout=60).json()
    assert again["decision"]["action"] == "block"
    assert svc.review.items.get(image_item).decided_by == "reviewer:alice"
    for context in (alice, bob, mallory, anonymous):
        context.close()
