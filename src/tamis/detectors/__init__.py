"""Detectors: each turns content into findings (or faces, text, hashes) through one protocol."""

from __future__ import annotations

from tamis.detectors.banks import BankMatcher
from tamis.detectors.barcodes import BarcodeDetector
from tamis.detectors.base import Detector, Output
from tamis.detectors.blocklist import BlocklistDetector
from tamis.detectors.faces import FaceDetector
from tamis.detectors.hashes import HashDetector
from tamis.detectors.nsfw import NsfwDetector
from tamis.detectors.nudity import NudityDetector
from tamis.detectors.ocr import OcrDetector
from tamis.detectors.pii import PiiDetector
from tamis.detectors.text_classifier import TextClassifier
from tamis.errors import ConfigError

#: Every detector tamis knows, in the order the engine runs them.
REGISTRY: dict[str, type[Detector]] = {
    cls.name: cls for cls in (HashDetector, BankMatcher, NsfwDetector, NudityDetector, FaceDetector,
                              BarcodeDetector, OcrDetector, TextClassifier, PiiDetector,
                              BlocklistDetector)
}


def detector_names(default_only: bool = False) -> list[str]:
    return [n for n, cls in REGISTRY.items() if cls.default or not default_only]


def build_detectors(settings=None, face_attributes=None) -> list[Detector]:
    """Construct the detectors the settings name (all default ones when they name none).

    Cheap: nothing is loaded until a detector is first used.
    """
    return [cls(**kwargs) for cls, kwargs in detector_specs(settings, face_attributes)]


def detector_specs(settings=None, face_attributes=None) -> list[tuple[type[Detector], dict]]:
    """(class, constructor arguments) of each detector the settings name, in registry order."""
    from tamis.config import Settings

    settings = settings or Settings()
    names = list(settings.detectors)
    if not names:
        names = [n for n, cls in REGISTRY.items() if cls.default]
        # An optional extra joins the defaults when its package is installed.
        names += [n for n, cls in REGISTRY.items() if not cls.default and cls().available()[0]]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ConfigError(f"unknown detector(s): {', '.join(unknown)} "
                          f"(known: {', '.join(REGISTRY)})")
    options = {
        OcrDetector: dict(always=settings.ocr_always),
        PiiDetector: dict(phone_region=settings.phone_region),
        BlocklistDetector: dict(files=settings.blocklists, home=settings.home),
        BankMatcher: dict(home=settings.home, pdq_dihedral=settings.pdq_dihedral),
        FaceDetector: dict(attributes=face_attributes),
        TextClassifier: dict(home=settings.home),
    }
    # Detectors running two at a time (parallel_detectors) each get one core, unless told.
    image_threads = 1 if settings.parallel_detectors and settings.threads == 0 else settings.threads
    return [(REGISTRY[name], dict(threads=image_threads if "image" in REGISTRY[name].kinds else settings.threads,
                                  **options.get(REGISTRY[name], {})))
            for name in REGISTRY if name in names]  # registry order: shared work comes first


__all__ = ["Detector", "Output", "REGISTRY", "build_detectors", "detector_names", "detector_specs"]
