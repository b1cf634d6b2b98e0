"""The red line: tamis never infers personal characteristics, and says so when asked."""

from __future__ import annotations

import numpy as np
import pytest

import tamis
from tamis.errors import DetectorContractError, PolicyError, ProhibitedAttributeError, UnknownLabelError
from tamis.results import Box, Face, FaceAttribute, Finding
from tamis.taxonomy import FACE_ATTRIBUTES, LABELS, check_face_attributes, check_label, lineage

PROHIBITED_REQUESTS = ["age", "gender", "Gender", "sex", "race", "ethnicity", "ethnic-group",
                       "skin_colour", "nationality", "religion", "sexual_orientation", "disability",
                       "health", "political_opinion", "identity", "face_recognition", "celebrity",
                       "age_range", "estimated_age", "FACE_FEMALE"]


def test_taxonomy_is_the_documented_one():
    assert len(LABELS) == 31
    for label in LABELS:
        assert label == label.lower() and " " not in label
        for ancestor in lineage(label)[1:]:
            assert ancestor in LABELS, f"{label} has no parent {ancestor}"
    assert set(FACE_ATTRIBUTES) == {"eyes_open", "smiling", "glasses"}


@pytest.mark.parametrize("word", PROHIBITED_REQUESTS)
def test_prohibited_face_attribute_request_is_refused(word):
    with pytest.raises(ProhibitedAttributeError) as info:
        check_face_attributes(["eyes_open", word])
    assert info.value.code == "prohibited_attribute"
    assert "never infers" in info.value.message


@pytest.mark.parametrize("word", ["age", "ethnicity", "religion", "gender"])
def test_prohibited_label_request_is_refused(word):
    with pytest.raises(ProhibitedAttributeError):
        check_label(word)


def test_unknown_but_harmless_names_are_unknown_not_prohibited():
    with pytest.raises(UnknownLabelError):
        check_label("weather")
    with pytest.raises(UnknownLabelError):
        check_face_attributes(["hat"])


def test_scan_api_refuses_prohibited_attributes(samples):
    with pytest.raises(ProhibitedAttributeError) as info:
        tamis.scan(samples / "astronaut_portrait.jpg", face_attributes=["smiling", "age"])
    assert info.value.to_dict()["code"] == "prohibited_attribute"


def test_no_finding_or_face_can_carry_a_prohibited_label():
    with pytest.raises(ProhibitedAttributeError):
        Finding("gender", 0.9, "x", "1")
    with pytest.raises(DetectorContractError):
        Finding("cat", 0.9, "x", "1")
    with pytest.raises(ProhibitedAttributeError):
        Face(Box(0, 0, 10, 10), 0.9, attributes={"age": FaceAttribute(True, 0.9)})


def test_policy_cannot_name_a_prohibited_label(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nlabels:\n  ethnicity: {review: 0.1}\n")
    with pytest.raises(PolicyError) as info:
        tamis.load_policy(p)
    assert ":3:" in info.value.message and "never infers" in info.value.message


def test_nudenet_gender_classes_are_dropped_inside_the_detector():
    from tamis.detectors import nudity

    assert "FACE_FEMALE" not in nudity.CLASSES and "FACE_MALE" not in nudity.CLASSES
    assert 1 not in nudity.KEPT and 12 not in nudity.KEPT

    class FakeSession:
        """Model output where the only confident classes are the two gender ones."""

        def run(self, _names, _feeds):
            out = np.zeros((1, 4 + 18, 2100), np.float32)
            out[0, :4, :] = [[160], [160], [50], [50]]
            out[0, 4 + 1, 0] = 0.99  # FACE_FEMALE
            out[0, 4 + 12, 1] = 0.98  # FACE_MALE
            return [out]

    det = nudity.NudityDetector()
    det.session, det.input_name = FakeSession(), "images"
    assert det.detect(np.zeros((320, 320, 3), np.uint8)) == []


def test_results_of_samples_never_mention_personal_characteristics(engine, samples):
    from tamis.taxonomy import prohibited_group

    def walk(obj, path="result"):
        if isinstance(obj, dict):
            for k, v in obj.items():
                assert prohibited_group(str(k)) is None or k in ("source",), f"{path}.{k}"
                walk(v, f"{path}.{k}")
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]")

    for result in engine.scan_many(sorted(samples.iterdir())):
        d = result.to_dict()
        walk({k: v for k, v in d.items() if k not in ("text",)})
        for face in d.get("faces", []):
            assert set(face.get("attributes", {})) <= set(FACE_ATTRIBUTES)
