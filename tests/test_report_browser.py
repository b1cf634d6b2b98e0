"""The HTML report, opened and clicked in a real headless Chromium (Debian's /usr/bin/chromium)."""

from __future__ import annotations

import os
import shutil

import pytest
from typer.testing import CliRunner

from tamis.cli.main import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if not CHROMIUM and os.environ.get("CI"):
    pytest.fail("CI must have Debian chromium installed (.ci/run installs it)", pytrace=False)
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed")


@pytest.fixture(scope="module")
def report(tmp_path_factory, samples):
    out = tmp_path_factory.mktemp("report") / "report.html"
    bad = out.parent / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    r = CliRunner().invoke(app, ["scan", str(samples / "qr_payment.png"), str(samples / "astronaut_portrait.jpg"),
                                 str(samples / "cat.jpg"), str(bad), "--profile", "strict",
                                 "--detectors", "barcodes,faces,ocr", "--report", str(out)])
    assert r.exit_code == 2, r.output  # the broken file
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(report, browser):
    page = browser.new_page()
    page.goto(report.as_uri())
    return page


def test_report_shows_every_input_with_pictures(page):
    cards = page.locator(".card")
    assert cards.count() == 4
    assert page.locator("#shown").inner_text() == "4"
    widths = page.eval_on_selector_all(".card img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 3 and all(w > 100 for w in widths)  # decoded, annotated thumbnails
    assert "https://pay.example.com/invoice/8841" in page.content()
    assert "eyes_open yes" in page.locator(".card", has_text="astronaut").inner_text()


def test_filters_by_decision(page):
    page.click("button[data-filter=review]")
    visible = [c for c in page.locator(".card").all() if c.is_visible()]
    assert len(visible) == 1 and "qr_payment" in visible[0].inner_text()
    assert page.locator("#shown").inner_text() == "1"
    page.click("button[data-filter=error]")
    visible = [c for c in page.locator(".card").all() if c.is_visible()]
    assert len(visible) == 1 and "corrupt_input" in visible[0].inner_text()
    page.click("button[data-filter=all]")
    assert page.locator("#shown").inner_text() == "4"


def test_documents_have_pictures_and_cards_go_by_severity(tmp_path, samples, browser):
    docs = samples.parent / "documents"
    out = tmp_path / "report.html"
    r = CliRunner().invoke(app, ["scan", str(samples / "cat.jpg"), str(docs / "meeting_notes.pdf"),
                                 str(docs / "prize_letter.docx"), str(docs / "shared_folder.zip"),
                                 "--profile", "strict", "--detectors", "faces,barcodes,ocr,text,pii",
                                 "--report", str(out)])
    assert r.exit_code == 1, r.output
    page = browser.new_page()
    page.goto(out.as_uri())
    actions = page.eval_on_selector_all(".card", "cs => cs.map(c => c.dataset.action)")
    assert actions == ["block", "review", "review", "allow"]  # strict: any personal data goes to review
    pdf = page.locator(".card", has_text="meeting_notes.pdf")
    assert pdf.locator("img").evaluate("i => i.naturalWidth") > 100
    assert "1 face found in the document" in pdf.inner_text()
    assert page.locator(".card", has_text="shared_folder.zip").locator("img").evaluate("i => i.naturalWidth") > 100
    page.close()
