"""The fine-tuned English encoder inside the text detector: its files checked, its scores
independent of the batch, English routed to it and other languages to the multilingual heads,
and an encoder trained in the data folder used (or refused when its files were changed)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tamis.detectors.text_classifier import TextClassifier
from tamis.errors import ModelIntegrityError
from tamis.text.encoder import ENCODER, TOKENIZER
from tamis.text.language import english_weight
from tamis.text.normalize import normalize
from tamis.training.text_data import TEXT_LABELS


@pytest.fixture(scope="module")
def detector():
    det = TextClassifier(threads=2)
    det.load()
    return det


def test_the_packaged_files_match_their_card():
    ENCODER.verify()
    TOKENIZER.verify()


def test_it_scores_every_text_label(detector):
    assert set(detector.encoder.labels) == set(TEXT_LABELS)
    assert set(TEXT_LABELS) <= set(detector.label_names)


def test_a_text_scores_the_same_alone_and_in_a_batch(detector):
    """int8 activations are quantized per batch: a text is never batched with another."""
    from tamis.content.text import load_text

    texts = ["you are dead", "The quarterly report is attached. The figures for the northern region were "
             "revised after the audit, and the totals now match the ledger. Call me if anything looks off.", "ok"]
    together = detector.analyze([load_text("t", t, 10_000) for t in texts])
    for i, t in enumerate(texts):
        alone = detector.analyze([load_text("t", t, 10_000)])[0]
        assert alone.scores == together[i].scores


@pytest.mark.parametrize("text, weight", [
    ("I am going to find you tonight and you will regret it.", 1.0),
    ("我要杀了你", 0.0),
    ("Я тебя найду", 0.0),
    ("Ich werde dich finden und du wirst es bereuen.", 0.0),
    ("12345 !!!", 0.0),
])
def test_english_goes_to_the_encoder_other_languages_to_the_heads(text, weight):
    assert english_weight(text) == weight


def test_a_window_of_unsure_language_blends_both(detector):
    text = "ok"
    w = english_weight(text)
    assert 0.0 <= w <= 1.0
    norm = [normalize(text).text]
    blended = detector.score_windows([text], norm)[0]
    enc = detector.encoder.probabilities(norm)[0][detector._enc_columns]
    heads = detector._heads([text], norm)[0]
    np.testing.assert_allclose(blended, w * enc + (1 - w) * heads, atol=1e-5)


def _trained_folder(tmp_path):
    """A data folder holding a copy of the packaged encoder as if trained there."""
    from tamis.config import Settings

    folder = Settings(home=tmp_path).text_model_dir
    folder.mkdir(parents=True)
    shutil.copyfile(ENCODER.path(), folder / "text_encoder.onnx")
    shutil.copyfile(TOKENIZER.path(), folder / "tokenizer.json")
    card = json.loads(ENCODER.path().with_name("text_encoder.json").read_text())
    card["trained"] = "local0000000"
    (folder / "text_encoder.json").write_text(json.dumps(card))
    return folder


def test_an_encoder_trained_in_the_data_folder_is_used(tmp_path):
    _trained_folder(tmp_path)
    det = TextClassifier(threads=1, home=tmp_path)
    det.load()
    assert det.version.endswith("+minilm-local0000000")


def test_a_changed_trained_encoder_is_refused(tmp_path):
    folder = _trained_folder(tmp_path)
    with (folder / "text_encoder.onnx").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="text_encoder.onnx"):
        TextClassifier(threads=1, home=tmp_path).load()
