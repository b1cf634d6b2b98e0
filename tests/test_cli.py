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
    assert len(list((tmp_path / "ann").glob("animated_sale.frame*.png"))) == 8


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
