"""tamis: self-hosted content safety.

    >>> import tamis
    >>> result = tamis.scan("samples/images/qr_payment.png")   # doctest: +SKIP
    >>> result.decision.action                                   # doctest: +SKIP
    <Action.ALLOW: 'allow'>

:func:`scan` and :func:`scan_many` use a shared :class:`Engine` built from the settings
(``TAMIS_*`` environment variables and ``$TAMIS_HOME/config.yaml``). Build your own
:class:`Engine` for other policies or detectors.
"""

from __future__ import annotations

from tamis.offline import lock_down

lock_down()  # before any model library is imported: no telemetry, no network

import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from tamis.config import Settings, load_settings
from tamis.content.base import Source
from tamis.engine import Engine
from tamis.errors import (
    CorruptInputError,
    DecompressionBombError,
    DetectorError,
    EmptyInputError,
    InputError,
    ModelIntegrityError,
    PolicyError,
    ProhibitedAttributeError,
    TamisError,
    TooLargeError,
    UnsupportedFormatError,
)
from tamis.policy import Policy, load_policy
from tamis.results import Action, Decision, Face, Finding, ScanResult
from tamis.taxonomy import FACE_ATTRIBUTES, LABELS

__version__ = "0.1.0"

# One engine per set of options that changes what is computed (detectors, settings, face
# attributes), shared by every thread: engines take their models from the runtime, so
# even a new one loads nothing again; the policy and labels are options of each call.
_engines: dict = {}
_engines_lock = threading.Lock()


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, set, tuple, frozenset)):
        return tuple(value)
    return value


def engine(**options: Any) -> Engine:
    """The shared engine for these options (settings, ``detectors``, ``face_attributes``;
    ``policy``/``profile``/``labels`` make it that engine's defaults)."""
    options = {k: v for k, v in options.items() if v is not None}
    if isinstance(options.get("policy"), Policy):
        key_policy = ("policy", id(options["policy"]))
    else:
        key_policy = options.get("policy")
    key = tuple(sorted((k, _hashable(v) if k != "policy" else key_policy) for k, v in options.items()))
    # The settings come from TAMIS_* variables too: another environment is another engine.
    key += tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("TAMIS_")))
    with _engines_lock:
        eng = _engines.get(key)
        if eng is None:
            labels = options.pop("labels", None)
            face_attributes = options.pop("face_attributes", None)
            policy = options.pop("policy", None)
            profile = options.pop("profile", None)
            settings = load_settings(**options)
            pol = policy if isinstance(policy, Policy) else load_policy(policy or settings.policy,
                                                                       profile or settings.profile)
            eng = _engines[key] = Engine(settings, pol, labels=labels, face_attributes=face_attributes)
            if len(_engines) > 64:  # many policy objects passed over time: forget the oldest
                _engines.pop(next(iter(_engines)))
    return eng


def _call_policy(policy: Any, profile: str | None, settings: Settings) -> Policy | None:
    """A per-call policy: a Policy, a policy file, or a profile of the configured policy
    (``TAMIS_POLICY`` or config.yaml's, else the built-in one)."""
    if policy is None and profile is None:
        return None
    if isinstance(policy, Policy):
        if profile is None:
            return policy
        if policy.source.startswith("<") and policy.source != "<built-in default.yaml>":
            raise PolicyError(f"a profile ({profile!r}) needs a policy read from a file; this one was built "
                              "in code: pass the Policy of that profile itself")
        return load_policy(None if policy.source.startswith("<") else policy.source, profile)
    return load_policy(policy or settings.policy, profile)


def scan(source: Source, *, name: str | None = None, policy: Any = None, profile: str | None = None,
         detectors: Iterable[str] | None = None, labels: Iterable[str] | None = None,
         face_attributes: Iterable[str] | None = None) -> ScanResult:
    """Scan one file path, bytes or binary stream and return its :class:`ScanResult`.

    ``policy`` is a policy file path or a :class:`Policy`; ``profile`` one of its profiles.
    ``labels`` restricts the findings reported; ``face_attributes`` the face attributes
    (asking for anything that describes who a person is raises
    :class:`ProhibitedAttributeError`). Bad input raises an :class:`InputError` subclass.
    Models load once per process, whatever the policy, profile and labels.
    """
    eng = engine(detectors=tuple(detectors) if detectors else None,
                 face_attributes=tuple(face_attributes) if face_attributes is not None else None)
    return eng.scan(source, name=name, policy=_call_policy(policy, profile, eng.settings),
                    labels=tuple(labels) if labels else None)


def blur_faces(source: Source, *, mode: str = "blur", name: str | None = None):
    """A PIL copy of the image with every detected face blurred (or ``mode="pixelate"``).

    For an animation, the copy is of its first frame. Bad input raises an :class:`InputError`.
    """
    from PIL import Image

    from tamis.render import redact_faces

    eng = engine(detectors=("faces",), face_attributes=())  # boxes only: no attributes computed
    content = eng.open(source, name)
    result = eng.analyze([content])[0]
    if result.error:
        raise DetectorError(result.error.message)
    frame = content.frames[0]
    boxes = [f.box for f in result.faces if f.frame in (None, frame.index)]
    return Image.fromarray(redact_faces(frame.rgb, boxes, mode))


def blur_video(source: str | os.PathLike, target: str | os.PathLike, *, mode: str = "blur") -> dict:
    """Write ``target``, a copy of the video ``source`` with every detected face blurred (or
    ``mode="pixelate"``) in every frame, as H.264 with the audio copied unchanged.

    Faces are detected in every frame; a face seen in the frame before stays covered for
    one more frame, so a missed detection does not flash a face. Returns counts.
    """
    from tamis.content.image import Frame, ImageContent
    from tamis.render import redact_faces
    from tamis.render.video import redact_video

    eng = engine(detectors=("faces",), face_attributes=())
    content = eng.open(source)
    if content.kind != "video":
        raise InputError(f"{source}: not a video ({content.media_type}); use blur_faces for images")
    counts = {"faces": 0}
    previous: list = []

    def redact(rgb):
        nonlocal previous
        frame = ImageContent(kind="image", name=str(source), media_type="video/frame", data=b"",
                             width=rgb.shape[1], height=rgb.shape[0], frames=[Frame(0, rgb)], derived=True)
        result = eng.analyze([frame])[0]
        if result.error:
            raise DetectorError(result.error.message)
        boxes = [f.box for f in result.faces]
        counts["faces"] += len(boxes)
        out = redact_faces(rgb, boxes + previous, mode)
        previous = boxes
        return out

    counts.update(redact_video(source, target, redact))
    return counts


def scan_text(text: str | Iterable[str], *, policy: Any = None, profile: str | None = None,
              detectors: Iterable[str] | None = None,
              labels: Iterable[str] | None = None) -> ScanResult | list[ScanResult]:
    """Scan one text (returns a :class:`ScanResult`) or many (returns a list, in order).

    In a batch, a bad text (NUL characters, too long, empty) gives a result with ``error``
    set; a single bad text raises its :class:`InputError`.
    """
    eng = engine(detectors=tuple(detectors) if detectors else None)
    pol, wanted = _call_policy(policy, profile, eng.settings), tuple(labels) if labels else None
    if isinstance(text, str):
        return eng.scan(eng.open_text(text), policy=pol, labels=wanted)
    return list(eng.scan_texts(text, policy=pol, labels=wanted))


def scan_many(sources: Iterable[Source], **options: Any) -> Iterator[ScanResult]:
    """Scan many inputs; bad inputs give results with ``error`` set instead of raising."""
    return engine(**options).scan_many(sources)


__all__ = [
    "scan", "scan_many", "scan_text", "blur_faces", "blur_video", "engine", "Engine", "Settings", "load_settings",
    "Policy", "load_policy",
    "ScanResult", "Finding", "Face", "Decision", "Action", "LABELS", "FACE_ATTRIBUTES",
    "TamisError", "InputError", "CorruptInputError", "DecompressionBombError", "EmptyInputError",
    "TooLargeError", "UnsupportedFormatError", "PolicyError", "ProhibitedAttributeError", "DetectorError",
    "ModelIntegrityError", "__version__",
]
