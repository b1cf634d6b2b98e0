"""The command line, run as users run it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tamis.cli.main import app

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_scan_table_and_summary(samples):
    r = run("scan", samples / "astronaut_portrait.jpg", samples / "cat.jpg")
    assert r.exit_code == 0, r.output
    assert "astronaut_portrait.jpg" in r.output and "allow" in r.output
    assert "2 scanned" in r.output


def test_scan_folder_json(samples):
    r = run("scan", samples, "--format", "json", "--detectors", "hashes,barcodes")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert len(data) == len(list(samples.iterdir()))
    assert all(d["hashes"]["sha256"] for d in data)


def test_jsonl_to_file_and_exit_code_for_errors(samples, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    out = tmp_path / "out.jsonl"
    r = run("scan", samples / "cat.jpg", bad, "-f", "jsonl", "-o", out, "--detectors", "hashes")
    assert r.exit_code == 2
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0]["hashes"]["md5"] and lines[1]["error"]["code"] == "corrupt_input"


def test_exit_code_1_when_something_is_flagged(samples, tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nlabels:\n  qr_code: {enabled: true, review: 0.5}\n")
    r = run("scan", samples / "qr_payment.png", "--policy", pol, "--detectors", "barcodes")
    assert r.exit_code == 1 and "review" in r.output
    r = run("scan", samples / "qr_payment.png", "--profile", "strict", "--detectors", "barcodes")
    assert r.exit_code == 1


def test_stdin(samples):
    data = (samples / "qr_payment.png").read_bytes()
    r = runner.invoke(app, ["scan", "-", "-f", "json", "--detectors", "barcodes"], input=data)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["source"] == "<stdin>"


def test_annotate_and_blur_write_pictures(samples, tmp_path):
    r = run("scan", samples / "astronaut_portrait.jpg", samples / "animated_sale.gif",
            "--annotate", tmp_path / "ann", "--blur-faces", tmp_path / "blur", "--detectors", "faces,ocr")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "ann" / "astronaut_portrait.jpg").is_file()
    assert (tmp_path / "blur" / "astronaut_portrait.jpg").is_file()
    # A GIF's frames are saved as PNG: the name keeps .gif, so animated_sale.png could not clash.
    assert len(list((tmp_path / "ann").glob("animated_sale.gif.frame*.png"))) == 8


def test_prohibited_attribute_is_refused_with_exit_2(samples):
    r = run("scan", samples / "astronaut_portrait.jpg", "--face-attributes", "smiling,age")
    assert r.exit_code == 2
    assert "prohibited_attribute" in r.output and "never infers" in r.output


def test_bad_policy_names_file_and_line(samples, tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nlabels:\n  sexual: {review: 2}\n")
    r = run("scan", samples / "cat.jpg", "--policy", pol)
    assert r.exit_code == 2 and f"{pol}:3:" in r.output.replace("\n", "")
    r = run("policy", pol)
    assert r.exit_code == 2


def test_models_lists_every_model_with_sha():
    r = run("models", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {"open_nsfw", "blazeface_full_range", "ppocrv6_det_small"} <= {x["model"] for x in rows}
    assert all(len(x["sha256"]) == 64 for x in rows)
    assert all(x["status"] == "ok" and x["loads"] is True for x in rows if x["version"])


def test_labels_and_policy_commands():
    assert "sexual/explicit" in run("labels").output
    r = run("policy", "--profile", "strict")
    assert r.exit_code == 0 and "never" in r.output


def test_installed_entry_point_runs(samples):
    r = subprocess.run([sys.executable, "-m", "tamis.cli.main", "scan", str(samples / "qr_payment.png"),
                        "-f", "json", "--detectors", "barcodes"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["findings"][0]["label"] == "qr_code"


@pytest.mark.parametrize("args", [["scan"], ["scan", "x", "--format", "xml"]])
def test_usage_errors(args):
    assert run(*args).exit_code == 2


def test_output_folder_is_created_and_unwritable_output_is_exit_2(samples, tmp_path):
    out = tmp_path / "new" / "deeper" / "r.json"
    r = run("scan", samples / "cat.jpg", "-f", "json", "-o", out, "--detectors", "hashes")
    assert r.exit_code == 0 and json.loads(out.read_text())[0]["hashes"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = subprocess.run([sys.executable, "-m", "tamis.cli.main", "scan", str(samples / "cat.jpg"),
                           "-o", str(blocker / "r.json"), "--detectors", "hashes"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "error" in proc.stderr


# -- help, version --------------------------------------------------------------------------

def _commands(group, path=()):
    """Every command path of the app, groups included: (), ("scan",), ("banks", "add"), ..."""
    yield path
    for name, cmd in getattr(group, "commands", {}).items():
        yield from _commands(cmd, (*path, name))


ALL_COMMANDS = list(_commands(__import__("typer").main.get_command(app)))


def test_version():
    import tamis

    r = run("--version")
    assert r.exit_code == 0 and r.stdout == f"tamis {tamis.__version__}\n"


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "tamis")
def test_h_is_help_everywhere(path):
    long, short = run(*path, "--help"), run(*path, "-h")
    assert long.exit_code == short.exit_code == 0, short.output
    assert short.stdout == long.stdout and short.stdout.startswith("Usage: ")
    assert "-h, --help" in short.stdout


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "tamis")
def test_help_shows_metavars_not_python_types(path, columns):
    import re

    text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)}).stdout
    assert not re.search(r"<(list|bool|str|int|path|float)\b", text, re.I), text
    assert "{" + "paths" not in text and "[paths]" not in text  # argument names are metavars
    assert all(len(line) <= columns for line in text.splitlines()), text
    if "Commands:" in text:  # a summary per command, whole sentences on one line
        listing = text.split("Commands:\n", 1)[1].rstrip("\n").splitlines()
        assert all(re.fullmatch(r"  [a-z]+ +\S.*\.", line) for line in listing), listing


def test_scan_help_reads_cleanly():
    text = runner.invoke(app, ["scan", "--help"], env={"COLUMNS": "80"}).stdout
    assert "scan [OPTIONS] [PATH]...\n" in text
    for piece in ("-t, --text TEXT", "--jsonl FILE", "--labels LABELS", "--report FILE", "--annotate DIR",
                  "--workers N", "--pixelate / --no-pixelate", "--all-findings"):
        assert piece in text, piece
    # a sentence is wrapped at word boundaries, not cut where the docstring's lines end
    assert "Scan images, videos, documents and texts.\n" in text


# -- JSON: one schema -------------------------------------------------------------------------

def test_findings_are_always_in_json_output(samples, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    for fmt in ("json", "jsonl"):
        r = run("scan", samples / "cat.jpg", bad, "-f", fmt, "--detectors", "hashes")
        assert r.exit_code == 2
        rows = json.loads(r.stdout) if fmt == "json" else [json.loads(x) for x in r.stdout.splitlines()]
        assert [row["findings"] for row in rows] == [[], []], fmt
        assert rows[1]["error"]["code"] == "corrupt_input"
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"id": 1, "text": "a quiet afternoon in the garden"}\nnot json\n')
    r = run("scan", "--jsonl", lines, "--detectors", "pii")
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [row["findings"] for row in out] == [[], []]
    assert out[0]["decision"] == "allow" and "error" in out[1]


# -- table and report: repeats counted, low scores left out -------------------------------

EMAILS = ("Please copy the new project members on the release notes: " + ", ".join(f"{c}@example.com" for c in "abcdef")
          + "; the draft is at https://wiki.example.com/notes")
#: A policy under which the address (pii/url 0.9) is under its review threshold.
URL_POLICY = "version: 1\nlabels:\n  pii/url: {review: 0.95, block: never}\n"


def test_table_counts_repeats_and_hides_findings_under_the_thresholds(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text(URL_POLICY)
    r = run("scan", "-t", EMAILS, "--detectors", "pii,text", "--policy", pol)
    assert r.exit_code == 0, r.output
    row = next(line for line in r.stdout.splitlines() if "--text 1" in line)
    assert "pii/email 0.95 ×6" in row and row.count("pii/email") == 1
    assert "pii/url" not in row  # 0.9 is under the policy's review threshold
    assert "1 finding under the policy's thresholds not listed" in r.stdout
    r = run("scan", "-t", EMAILS, "--detectors", "pii,text", "--policy", pol, "--all-findings")
    row = next(line for line in r.stdout.splitlines() if "--text 1" in line)
    assert "pii/email 0.95 ×6" in row and "pii/url 0.9" in row
    assert "not listed" not in r.stdout
    data = json.loads(run("scan", "-t", EMAILS, "--detectors", "pii,text", "--policy", pol, "-f", "json").stdout)
    assert [f["label"] for f in data[0]["findings"]].count("pii/email") == 6  # JSON stays complete
    assert "pii/url" in {f["label"] for f in data[0]["findings"]}


def test_report_card_counts_repeats_and_hides_findings_under_the_thresholds(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text(URL_POLICY)
    report = tmp_path / "r.html"
    assert run("scan", "-t", EMAILS, "--detectors", "pii,text", "--policy", pol, "--report", report).exit_code == 0
    page = report.read_text()
    assert page.count("<td>pii/email</td>") == 1 and "×6" in page and "<td>pii/url</td>" not in page
    assert "1 finding under the policy's thresholds not listed" in page
    run("scan", "-t", EMAILS, "--detectors", "pii,text", "--policy", pol, "--report", report, "--all-findings")
    page = report.read_text()
    assert "<td>pii/url</td>" in page and "not listed" not in page


# -- report: order, document pictures and faces -------------------------------------------

def test_report_cards_go_by_severity_then_path(samples, tmp_path):
    import re

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    report = tmp_path / "r.html"
    docs = samples.parent / "documents"
    r = run("scan", samples / "cat.jpg", bad, samples / "qr_payment.png", docs / "prize_letter.docx",
            samples / "astronaut_portrait.jpg", "--profile", "strict", "--detectors", "barcodes,ocr,text",
            "--report", report)
    assert r.exit_code == 2, r.output
    cards = re.findall(r'<article class="card" data-action="(\w+)">.*?<h2>([^<]*)</h2>', report.read_text())
    assert cards == [("block", str(docs / "prize_letter.docx")), ("review", str(samples / "qr_payment.png")),
                     ("error", str(bad)), ("allow", str(samples / "astronaut_portrait.jpg")),
                     ("allow", str(samples / "cat.jpg"))]


def test_report_gives_documents_a_picture_and_tells_of_their_faces(samples, tmp_path):
    import base64
    import io
    import re

    from PIL import Image

    docs = samples.parent / "documents"
    report = tmp_path / "r.html"
    r = run("scan", docs / "meeting_notes.pdf", docs / "shared_folder.zip", docs / "prize_letter.docx",
            "--detectors", "faces,barcodes,ocr,pii", "--report", report)
    assert r.exit_code in (0, 1), r.output
    page = report.read_text()
    cards = dict((re.search(r"<h2>([^<]*)</h2>", c).group(1).rsplit("/", 1)[-1], c)
                 for c in page.split("<article")[1:])
    for name, alt in (("meeting_notes.pdf", "page 1 of "), ("shared_folder.zip", "member pictures/qr_payment.png of ")):
        m = re.search(r'<img alt="([^"]*)" src="data:image/jpeg;base64,([^"]+)"', cards[name])
        assert m and m.group(1).startswith(alt), name
        assert min(Image.open(io.BytesIO(base64.b64decode(m.group(2)))).size) > 100
    assert "<img" not in cards["prize_letter.docx"]  # no picture in it: no picture on the card
    assert "1 face found in the document: page image (page 2)" in cards["meeting_notes.pdf"]
    assert "face found" not in cards["shared_folder.zip"]


# -- annotated pictures ----------------------------------------------------------------------

def test_annotated_names_keep_the_extension_apart(samples, tmp_path):
    r = run("scan", samples / "rocket_small.bmp", samples / "rocket_small.tiff", samples / "cat.jpg",
            "--annotate", tmp_path / "ann", "--blur-faces", tmp_path / "blur", "--detectors", "faces")
    assert r.exit_code == 0, r.output
    for folder in ("ann", "blur"):
        names = sorted(p.name for p in (tmp_path / folder).iterdir())
        assert names == ["cat.jpg", "rocket_small.bmp.png", "rocket_small.tiff.png"], names


def test_labels_drawn_on_a_picture_do_not_overlap():
    from PIL import Image, ImageDraw

    from tamis.render.images import _font, _Labels, _overlap

    img = Image.new("RGB", (300, 200))
    labels = _Labels(ImageDraw.Draw(img), _font(14), img.size[1])
    rects = [labels.place((40, 60), f"label {i} 0.9{i}")[1] for i in range(5)]  # five on one box
    rects.append(labels.place((40, 195), "at the bottom edge")[1])
    assert all(not _overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert all(0 <= r[1] and r[3] <= 200 + 2 for r in rects)


# -- a name that lies about the content -------------------------------------------------------

def test_a_name_that_claims_another_type_is_noted(samples, tmp_path):
    text_as_jpg = tmp_path / "holiday.jpg"
    text_as_jpg.write_text("meet me at the station at nine, bring the tickets\n")
    png_as_jpg = tmp_path / "qr.jpg"
    png_as_jpg.write_bytes((samples / "qr_payment.png").read_bytes())
    r = run("scan", text_as_jpg, png_as_jpg, samples / "cat.jpg", "-f", "json", "--detectors", "hashes")
    assert r.exit_code == 0, r.output
    notes = [row.get("notes", []) for row in json.loads(r.stdout)]
    assert notes == [["name says image (.jpg) but the content is text/plain"],
                     ["name says image/jpeg (.jpg) but the content is image/png"], []]
    r = run("scan", text_as_jpg, "--detectors", "hashes")
    assert f"{text_as_jpg}: note: name says image (.jpg) but the content is text/plain" in r.stdout


# -- banks: an unknown bank is one error ----------------------------------------------------

def test_banks_add_to_an_unknown_bank_fails_once(samples, tmp_path):
    r = run("banks", "add", "nosuchbank", samples / "cat.jpg", samples / "coffee.jpg")
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == ["error [bank_error] no bank named 'nosuchbank' (tamis banks list)"]
    rows = tmp_path / "rows.csv"
    rows.write_text("signal,value\nmd5,d41d8cd98f00b204e9800998ecf8427e\nmd5,0cc175b9c0f1b6a831c399e269772661\n")
    r = run("banks", "import", "nosuchbank", rows)
    assert r.exit_code == 2 and r.output.count("no bank named") == 1


def test_scan_names_the_detectors_it_runs_and_an_extra_with_its_licence(samples):
    from tamis.detectors import REGISTRY

    r = run("scan", samples / "cat.jpg")
    line = next(x for x in r.stderr.splitlines() if x.startswith("detectors: "))
    assert "nsfw" in line and "faces" in line
    if REGISTRY["nudity"]().available()[0]:
        assert "nudity (extra 'nudity', AGPL-3.0)" in line
