"""One runtime per process: models load once, whatever the engines, threads and options;
engines are safe to share between threads; policy and labels are options of each call."""

from __future__ import annotations

import threading
from pathlib import Path

from conftest import ROOT

SAMPLES = ROOT / "samples"
INPUTS = [SAMPLES / "images/astronaut_portrait.jpg", SAMPLES / "images/scam_banner.png",
          SAMPLES / "images/qr_payment.png", SAMPLES / "documents/prize_letter.docx",
          SAMPLES / "images/cat.jpg", SAMPLES / "documents/meeting_notes.pdf"]


def _comparable(result) -> dict:
    d = result.to_dict()
    d.pop("timings_ms", None)
    return d


def test_eight_threads_through_one_engine_give_what_one_thread_gives():
    from tamis.config import Settings
    from tamis.detectors.base import LOADS
    from tamis.engine import Engine

    eng = Engine(Settings(home=Path("/nonexistent-tamis-home")))
    expected = [_comparable(eng.scan(p)) for p in INPUTS]
    loads = sum(LOADS.values())
    got: dict[tuple[int, int], dict] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for k in range(len(INPUTS)):
                i = (t + k) % len(INPUTS)  # every thread in another order
                got[(t, i)] = _comparable(eng.scan(INPUTS[i]))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for (t, i), d in got.items():
        assert d == expected[i], (t, INPUTS[i].name)
    assert sum(LOADS.values()) == loads  # nothing loaded again
    eng.close()


def test_new_engines_and_per_call_options_load_no_model():
    import tamis
    from tamis.config import Settings
    from tamis.detectors.base import LOADS
    from tamis.engine import Engine
    from tamis.policy import load_policy

    settings = Settings(home=Path("/nonexistent-tamis-home"))
    Engine(settings).load()
    before = sum(LOADS.values())
    strict = load_policy(profile="strict")
    for policy in (None, strict, load_policy(profile="lenient")):
        Engine(settings, policy, labels=["spam"]).scan(INPUTS[1])
    assert sum(LOADS.values()) == before
    a = tamis.scan(INPUTS[1])
    b = tamis.scan(INPUTS[1], profile="strict", labels=["spam"])
    assert {f.label.split("/")[0] for f in b.findings} == {"spam"}
    assert a.decision.policy == "default" and b.decision.policy == "strict"


def test_a_per_call_policy_gives_what_an_engine_built_with_it_gives():
    from tamis.config import Settings
    from tamis.engine import Engine
    from tamis.policy import load_policy

    settings = Settings(home=Path("/nonexistent-tamis-home"))
    strict = load_policy(profile="strict")
    shared = Engine(settings)
    for p in (INPUTS[1], INPUTS[3], SAMPLES / "video/holiday_clip.mkv"):
        per_call = shared.scan(p, policy=strict, labels=["spam", "pii"])
        built = Engine(settings, strict, labels=["spam", "pii"]).scan(p)
        assert _comparable(per_call) == _comparable(built), p.name


def test_the_cli_and_the_api_give_the_same_json(tmp_path):
    import json
    import subprocess
    import sys

    import tamis


    files = [SAMPLES / "images/scam_banner.png", SAMPLES / "documents/prize_letter.docx",
             SAMPLES / "video/holiday_clip.mkv"]
    out = subprocess.run([sys.executable, "-m", "tamis.cli.main", "scan", *map(str, files), "-f", "json",
                          "--no-progress"], capture_output=True, timeout=600)
    assert out.returncode in (0, 1), out.stderr.decode()
    cli = json.loads(out.stdout)
    for path, from_cli in zip(files, cli):
        from_api = tamis.scan(path).to_dict()
        for d in (from_cli, from_api):
            d.pop("timings_ms", None)
        assert from_cli == from_api, path.name


def test_a_video_given_as_bytes_or_a_stream_is_scanned_as_from_its_path():
    import io

    import tamis

    path = SAMPLES / "video/holiday_clip.mkv"
    data = path.read_bytes()
    by_path = _comparable(tamis.scan(path))
    for source in (data, io.BytesIO(data)):
        other = _comparable(tamis.scan(source, name=str(path)))
        assert other["video"] == by_path["video"] and other["findings"] == by_path["findings"]


def test_heads_trained_in_the_data_folder_are_used_and_checked(tmp_path):
    import shutil

    import pytest

    from tamis.config import Settings
    from tamis.detectors.text_classifier import TEXT_HEADS, TextClassifier
    from tamis.errors import ModelIntegrityError

    settings = Settings(home=tmp_path)
    folder = settings.text_model_dir
    folder.mkdir(parents=True)
    shutil.copy(TEXT_HEADS.path(), folder / "text_heads.npz")  # as tamis train text writes them
    shutil.copy(TEXT_HEADS.path().with_suffix(".json"), folder / "text_heads.json")
    det = TextClassifier(home=tmp_path)
    det.load()
    assert "-local+" in det.version
    (folder / "text_heads.npz").write_bytes(b"changed")
    with pytest.raises(ModelIntegrityError):
        TextClassifier(home=tmp_path).load()


def test_the_shared_engine_follows_the_environment(monkeypatch, tmp_path):
    import tamis

    first = tamis.engine()
    monkeypatch.setenv("TAMIS_HOME", str(tmp_path / "elsewhere"))
    second = tamis.engine()
    assert second is not first and second.settings.home == tmp_path / "elsewhere"
    assert tamis.engine() is second


def test_a_blocklist_edited_after_first_use_is_read_again(tmp_path):
    from tamis.config import Settings
    from tamis.engine import Engine

    lists = tmp_path / "blocklists"
    lists.mkdir()
    (lists / "words.txt").write_text("first term\n")
    settings = Settings(home=tmp_path, detectors=("blocklist",))
    assert Engine(settings).scan_texts(["a first term here"]).__next__().findings
    (lists / "words.txt").write_text("second term\n")
    r = next(Engine(settings).scan_texts(["a first term, and a second term"]))
    assert [f.data["entry"] for f in r.findings] == ["second term"]


def test_engine_labels_still_read_the_text_in_a_qr_code():
    from tamis.config import Settings
    from tamis.engine import Engine

    settings = Settings(home=Path("/nonexistent-tamis-home"), detectors=("barcodes", "pii"))
    built = Engine(settings, labels=["pii"]).scan(SAMPLES / "images/qr_payment.png")
    per_call = Engine(settings).scan(SAMPLES / "images/qr_payment.png", labels=["pii"])
    assert [f.label for f in built.findings] == [f.label for f in per_call.findings]
    assert any(f.label.startswith("pii") for f in built.findings)


def test_a_loaded_detector_is_sent_to_another_process_as_how_to_build_it(tmp_path):
    import pickle

    from tamis.detectors.blocklist import BlocklistDetector

    (tmp_path / "blocklists").mkdir()
    (tmp_path / "blocklists" / "words.txt").write_text("bad word\n")
    det = BlocklistDetector(home=tmp_path)
    det.load()  # holds an RE2 set, which does not pickle
    again = pickle.loads(pickle.dumps(det))
    assert not again.loaded and again.home == tmp_path
    again.load()
    assert len(again.entries) == 1
