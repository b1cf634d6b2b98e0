"""Detectors: each turns content into findings (or faces, text, hashes) through one protocol."""

from __future__ import annotations

from tamis.detectors.barcodes import BarcodeDetector
from tamis.detectors.base import Detector, Output
from tamis.detectors.faces import FaceDetector
from tamis.detectors.hashes import HashDetector
from tamis.detectors.models import ModelFile
from tamis.detectors.nsfw import NsfwDetector
from tamis.detectors.nudity import NudityDetector
from tamis.detectors.ocr import OcrDetector
from tamis.errors import ConfigError

#: Every detector tamis knows, in the order the engine runs them.
REGISTRY: dict[str, type[Detector]] = {
    cls.name: cls for cls in (HashDetector, NsfwDetector, NudityDetector, FaceDetector,
                              BarcodeDetector, OcrDetector)
}


def detector_names(default_only: bool = False) -> list[str]:
    return [n for n, cls in REGISTRY.items() if cls.default or not default_only]


def build_detectors(names: tuple[str, ...] | list[str] = (), threads: int = 0,
                    ocr_always: bool = False) -> list[Detector]:
    """Construct detectors by name (all default ones when ``names`` is empty). Cheap: no loading."""
    if not names:
        names = [n for n, cls in REGISTRY.items() if cls.default]
        # An optional extra joins the defaults when its package is installed.
        names += [n for n, cls in REGISTRY.items() if not cls.default and cls().available()[0]]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ConfigError(f"unknown detector(s): {', '.join(unknown)} "
                          f"(known: {', '.join(REGISTRY)})")
    out = []
    for name in REGISTRY:  # registry order, so shared work is done before it is needed
        if name in names:
            cls = REGISTRY[name]
            out.append(cls(threads=threads, always=ocr_always) if cls is OcrDetector
                       else cls(threads=threads))
    return out


def all_models() -> list[tuple[str, ModelFile]]:
    return [(name, m) for name, cls in REGISTRY.items() for m in cls.models]


__all__ = ["Detector", "Output", "REGISTRY", "build_detectors", "detector_names", "all_models"]
