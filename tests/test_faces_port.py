"""The face networks, run by ONNX Runtime with MediaPipe's processing rewritten in numpy,
give what MediaPipe 0.10.21 gave on the same pictures.

tests/data/faces_reference.json was recorded by tests/faces/record.py with MediaPipe
itself, before tamis dropped it. Tolerances: the same number of faces; boxes and
landmarks within 0.06 px (the reference was written to 0.1 px), scores within 1e-4, mesh
points within 0.05 px (measured: 0, 4e-7, 0.005); attribute
confidences within 0.02 (measured: 0.005), and the same attribute values except where the
confidence sits within 0.02 of the abstain boundary (one such face: obama, glasses, 0.196
against 0.201). On the 54 pictures of eval/faces (fetched by eval/faces/fetch_faces.sh)
the same comparison gave the same 96 faces, with the same one borderline attribute.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "faces"))
from pictures import reference_pictures  # noqa: E402
from record import describe  # noqa: E402

REFERENCE = json.loads((ROOT / "tests/data/faces_reference.json").read_text())


@pytest.fixture(scope="module")
def detector():
    from tamis.detectors.faces import FaceDetector

    det = FaceDetector()
    det.load()
    return det


@pytest.mark.parametrize("name,rgb", list(reference_pictures()), ids=lambda v: v if isinstance(v, str) else "")
def test_same_faces_mesh_and_attributes_as_mediapipe(detector, name, rgb):
    theirs = REFERENCE["pictures"][name]
    mine = describe(detector, rgb)
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs):
        assert np.abs(np.array(a["box"]) - b["box"]).max() <= 0.06  # the reference was written to 0.1 px
        assert abs(a["score"] - b["score"]) <= 1e-4
        for k, v in b["landmarks"].items():
            assert np.abs(np.array(a["landmarks"][k]) - v).max() <= 0.06
        assert (a["mesh"] is None) == (b["mesh"] is None)
        if a["mesh"] is not None:
            assert np.abs(np.array(a["mesh"])[:, :2] - np.array(b["mesh"])[:, :2]).max() <= 0.05
        for attr, (value, confidence) in b["attributes"].items():
            mine_value, mine_confidence = a["attributes"][attr]
            assert abs(mine_confidence - confidence) <= 0.02
            boundary = 2 * detector.attribute_models[attr].abstain
            if abs(confidence - boundary) > 0.02:
                assert mine_value == value, (attr, mine_value, value, confidence)


def test_numpy_2_and_no_mediapipe():
    from importlib.util import find_spec

    import tamis.detectors.faces  # noqa: F401

    assert "mediapipe" not in sys.modules
    assert find_spec("jax") is None or "jax" not in sys.modules
    assert int(np.__version__.split(".")[0]) >= 2


def test_anchor_counts_match_the_networks():
    from tamis.detectors import facenets

    assert len(facenets.ssd_anchors(192, [4], 0.0)) == 2304
    assert len(facenets.ssd_anchors(128, [8, 16, 16, 16], 1.0)) == 896
