"""Hash banks: storage, import/export, matching (exact, PDQ near-duplicates, text), the index."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tamis.banks import Entry, SQLiteBankStore, text_hash
from tamis.banks.index import PdqIndex, PdqMatcher, hamming_many, to_codes
from tamis.banks.store import BankError, export_text, import_text
from tamis.cli.main import app
from tamis.config import Settings
from tamis.detectors.hashes import pdq
from tamis.engine import Engine


@pytest.fixture
def store(tmp_path):
    s = SQLiteBankStore(tmp_path / "banks.db")
    s.create_bank("terror", "propaganda removed before")
    return s


def test_bank_lifecycle(store):
    with pytest.raises(BankError, match="already exists"):
        store.create_bank("terror")
    with pytest.raises(BankError, match="lower-case"):
        store.create_bank("Bad Name")
    report = store.add([Entry("terror", "md5", "A" * 32), Entry("terror", "md5", "a" * 32),
                        Entry("terror", "pdq", "zz"), Entry("nobank", "md5", "b" * 32),
                        Entry("terror", "sha256", "c" * 64, label="extremism", note="video still")])
    assert (report.added, report.duplicates) == (2, 1)
    assert [n for n, _ in report.errors] == [3, 4]
    assert store.bank("terror").entries == 2
    assert store.lookup("sha256", "c" * 64)[0].label == "extremism"
    entry = store.lookup("md5", "a" * 32)[0]
    store.remove("terror", entry.id)
    assert store.lookup("md5", "a" * 32) == []
    store.delete_bank("terror")
    assert store.banks() == []


def test_labels_are_checked_against_the_taxonomy(store):
    report = store.add([Entry("terror", "md5", "a" * 32, label="ethnicity"),
                        Entry("terror", "md5", "b" * 32, label="cats")])
    assert report.added == 0 and len(report.errors) == 2
    assert "never infers" in report.errors[0][1]


def test_import_keeps_valid_lines_and_reports_bad_ones_by_line(store):
    csv_text = ("signal,value,label,note\n"
                f"pdq,{'f' * 64},known_content,ok\n"
                "md5,not-hex,known_content,bad\n"
                f"sha256,{'e' * 64},sexual/minors,csam bank\n"
                f"telepathy,{'e' * 64},,bad signal\n")
    report = import_text(store, "terror", csv_text, "csv")
    assert report.added == 2 and [n for n, _ in report.errors] == [3, 5]
    jsonl = f'{{"signal": "md5", "value": "{"1" * 32}"}}\nnot json\n{{"value": 3}}\n'
    report = import_text(store, "terror", jsonl, "jsonl")
    assert report.added == 1 and [n for n, _ in report.errors] == [2, 3]


def test_export_round_trip(store, tmp_path):
    store.add([Entry("terror", "pdq", "f" * 64, note="n"), Entry("terror", "md5", "1" * 32)])
    for fmt in ("csv", "jsonl"):
        text = export_text(store, "terror", fmt)
        other = SQLiteBankStore(tmp_path / f"other-{fmt}.db")
        other.create_bank("terror")
        assert import_text(other, "terror", text, fmt).added == 2
        assert export_text(other, "terror", fmt) == text


def test_text_hash_ignores_evasions():
    assert text_hash("Join the Movement NOW!!") == text_hash("j0in  the m\u200bovement now")
    assert text_hash("Join the Movement") != text_hash("Leave the Movement")


def _flip(code_hex: str, bits: list[int]) -> str:
    value = int(code_hex, 16)
    for b in bits:
        value ^= 1 << b
    return f"{value:064x}"


@pytest.mark.parametrize("n", [1, 2000, 6000])  # linear scan, then multi-index hashing
def test_pdq_index_finds_every_code_within_31_bits(n, tmp_path):
    rng = np.random.default_rng(1)
    base = [f"{int.from_bytes(rng.bytes(32), 'big'):064x}" for _ in range(n)]
    built = PdqIndex.build(np.arange(n, dtype=np.int64), to_codes(base), (1, n))
    built.save(tmp_path)
    index = PdqIndex.load(tmp_path)  # what a restart uses
    assert (index.index is None) == (n <= 4096)
    queries, truth = [], []
    for i in range(min(300, n)):
        k = int(rng.integers(1, 32))
        queries.append(_flip(base[i], rng.choice(256, k, replace=False).tolist()))
        truth.append((i, k))
    found = index.search(to_codes(queries), 31)
    for (i, k), hits in zip(truth, found):
        assert (i, k) in hits
    # And nothing beyond the threshold: compare with an exact scan.
    codes = to_codes(base)
    for q, hits in zip(to_codes(queries[:50]), found[:50]):
        exact = {int(j) for j in np.nonzero(hamming_many(codes, q) <= 31)[0]}
        assert {h for h, _ in hits} == exact


def test_an_index_saved_with_another_layout_is_rebuilt_not_misread(store, tmp_path):
    folder = tmp_path / "indexes"
    store.add([Entry("terror", "pdq", "f" * 64)])
    PdqMatcher(store, folder)
    meta = json.loads((folder / "pdq.json").read_text())
    (folder / "pdq.json").write_text(json.dumps({**meta, "kind": "mih-12x22/21-r2"}))
    assert PdqIndex.load(folder) is None
    assert [d for _, d in PdqMatcher(store, folder).search(["f" * 63 + "e"], 31)[0]] == [1]
    assert json.loads((folder / "pdq.json").read_text())["kind"] == meta["kind"]


def test_matcher_persists_and_uses_a_side_index(store, tmp_path):
    store.add([Entry("terror", "pdq", "f" * 64)])
    folder = tmp_path / "indexes"
    m = PdqMatcher(store, folder)
    assert (folder / "pdq.json").is_file()
    store.add([Entry("terror", "pdq", "0" * 64)])  # after the build: side index
    assert [d for _, d in m.search(["0" * 63 + "1"], 31)[0]] == [1]
    reloaded = PdqMatcher(store, folder)  # a restart loads the saved index
    assert len(reloaded.index.ids) == 1 and len(reloaded.side[0]) == 1
    thread = reloaded.rebuild(background=True)
    assert [d for _, d in reloaded.search(["f" * 64], 31)[0]] == [0]  # scans go on during a build
    thread.join(30)
    assert len(reloaded.index.ids) == 2 and len(reloaded.side[0]) == 0


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **kw)
    return buf.getvalue()


def test_scans_match_exact_and_near_duplicate_images_and_texts(tmp_path, samples):
    store = SQLiteBankStore(tmp_path / "banks.db")
    store.create_bank("removed")
    cat = Image.open(samples / "cat.jpg").convert("RGB")
    h, _ = pdq(np.asarray(cat))
    store.add([Entry("removed", "pdq", h, note="removed 2026-01"),
               Entry("removed", "text", text_hash("Join the Movement now"), label="extremism")])
    eng = Engine(Settings(home=tmp_path, detectors=("banks",)))
    edited = _jpeg(cat.resize((cat.width // 2, cat.height // 2)), quality=50)
    r = eng.scan(edited)
    (hit,) = r.findings
    assert hit.label == "known_content" and hit.data["bank"] == "removed" and hit.data["distance"] <= 31
    assert r.action in ("review", "block")
    other = eng.scan(samples / "rocket_launch.jpg")
    assert other.findings == [] and other.action == "allow"
    t = eng.scan(eng.open_text("J0IN the movement... NOW"))
    assert [f.label for f in t.findings] == ["extremism"] and t.action == "block"


def test_cli_banks_and_hash(tmp_path, samples, monkeypatch):
    monkeypatch.setenv("TAMIS_HOME", str(tmp_path))
    run = CliRunner().invoke
    assert run(app, ["banks", "create", "mine"]).exit_code == 0
    r = run(app, ["banks", "add", "mine", str(samples / "cat.jpg")])
    assert r.exit_code == 0 and "3 added" in r.output
    r = run(app, ["hash", str(samples / "cat.jpg"), "-f", "json"])
    hashes = json.loads(r.stdout)[0]
    assert {"md5", "sha256", "pdq"} <= set(hashes)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"signal,value\nmd5,{'a' * 32}\nmd5,nope\n")
    r = run(app, ["banks", "import", "mine", str(bad)])
    assert r.exit_code == 2 and "bad.csv:3" in r.output and "1 added" in r.output
    r = run(app, ["banks", "export", "mine", "-f", "jsonl"])
    assert len(r.stdout.splitlines()) == 4
    r = run(app, ["scan", str(samples / "cat.jpg"), "-f", "json", "--detectors", "banks"])
    assert r.exit_code == 1 and json.loads(r.stdout)[0]["findings"][0]["data"]["bank"] == "mine"
    assert "mine" in run(app, ["banks", "list"]).output
    assert run(app, ["banks", "stats"]).exit_code == 0
    assert run(app, ["banks", "delete", "nope"]).exit_code == 2


def test_mirrored_copies_match_only_with_dihedral_queries(tmp_path, samples):
    store = SQLiteBankStore(tmp_path / "banks.db")
    store.create_bank("removed")
    cat = Image.open(samples / "cat.jpg").convert("RGB")
    store.add([Entry("removed", "pdq", pdq(np.asarray(cat))[0])])
    mirrored = _jpeg(cat.transpose(Image.Transpose.FLIP_LEFT_RIGHT), quality=90)
    plain = Engine(Settings(home=tmp_path, detectors=("banks",)))
    assert plain.scan(mirrored).findings == []
    dihedral = Engine(Settings(home=tmp_path, detectors=("banks",), pdq_dihedral=True))
    (hit,) = dihedral.scan(mirrored).findings
    assert hit.data["transform"] == "flip_horizontal" and hit.data["distance"] <= 31
    (same,) = dihedral.scan(samples / "cat.jpg").findings
    assert "transform" not in same.data
