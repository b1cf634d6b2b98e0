"""One engine for the Python API, the CLI and (later) the service."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from tamis.config import Settings, load_settings
from tamis.content.base import Content, Source, read_source
from tamis.content.image import load_image
from tamis.content.sniff import sniff
from tamis.detectors import Detector, build_detectors
from tamis.errors import DetectorContractError, DetectorError, InputError, TamisError, UnsupportedFormatError
from tamis.policy import Policy, load_policy
from tamis.results import Face, Finding, ScanResult
from tamis.taxonomy import FACE_ATTRIBUTES, check_face_attributes, check_labels

log = logging.getLogger("tamis")

#: Kinds tamis reads today; the others are recognised and refused with a clear message.
SUPPORTED_KINDS = {"image"}


class Engine:
    """Scans inputs with a set of detectors and a policy.

    Construction is cheap; detectors load on first use (or on :meth:`load`). One engine
    serves many scans; it is not shared between threads.
    """

    def __init__(self, settings: Settings | None = None, policy: Policy | None = None,
                 detectors: Sequence[Detector] | None = None,
                 labels: Iterable[str] | None = None,
                 face_attributes: Iterable[str] | None = None) -> None:
        self.settings = settings or load_settings()
        self.policy = policy or load_policy(self.settings.policy, self.settings.profile)
        self.detectors = list(detectors) if detectors is not None else build_detectors(
            self.settings.detectors, threads=self.settings.threads,
            ocr_always=self.settings.ocr_always)
        self.labels = set(check_labels(labels)) if labels else None
        self.face_attributes = (set(check_face_attributes(face_attributes))
                                if face_attributes is not None else set(FACE_ATTRIBUTES))

    def load(self) -> Engine:
        for d in self.detectors:
            d.load()
        return self

    # -- inputs -----------------------------------------------------------------------

    def open(self, source: Source, name: str | None = None) -> Content:
        """Read and decode one input into typed content (type from content, not name)."""
        name, data = read_source(source, self.settings.max_bytes, name)
        sniffed = sniff(data)
        if sniffed.kind not in SUPPORTED_KINDS:
            if sniffed.kind == "unknown":
                raise UnsupportedFormatError(f"{name}: not a recognised image format")
            raise UnsupportedFormatError(
                f"{name}: {sniffed.media_type} ({sniffed.kind}) is recognised but this version "
                f"of tamis scans only images")
        return load_image(name, data, sniffed.media_type, max_pixels=self.settings.max_pixels,
                          min_side=self.settings.min_side, max_frames=self.settings.max_frames)

    # -- scanning ---------------------------------------------------------------------

    def scan(self, source: Source, name: str | None = None) -> ScanResult:
        """Scan one input. Raises a :class:`~tamis.errors.InputError` for bad input."""
        start = time.perf_counter()
        content = self.open(source, name)
        decode_ms = (time.perf_counter() - start) * 1000
        result = self.analyze([content])[0]
        result.timings_ms = {"decode": decode_ms, **result.timings_ms}
        if result.error:
            cls = DetectorContractError if result.error["code"] == DetectorContractError.code else DetectorError
            raise cls(result.error["message"])
        return result

    def scan_many(self, sources: Iterable[Source], batch_size: int = 8,
                  keep_content: bool = False) -> Iterator[ScanResult]:
        """Scan many inputs, in order; a bad one yields a result with ``error`` set and the
        rest go on. With ``keep_content`` each result carries its decoded content."""
        pending: list[ScanResult | tuple[Content, float]] = []
        n_contents = 0
        for source in sources:
            start = time.perf_counter()
            try:
                pending.append((self.open(source), (time.perf_counter() - start) * 1000))
                n_contents += 1
            except InputError as exc:
                pending.append(self.error_result(source, exc))
            if n_contents >= batch_size:
                yield from self._finish(pending, keep_content)
                pending, n_contents = [], 0
        yield from self._finish(pending, keep_content)

    def _finish(self, pending: list, keep: bool) -> Iterator[ScanResult]:
        """Analyze the contents in ``pending`` as one batch; yield all results in input order."""
        contents = [p[0] for p in pending if isinstance(p, tuple)]
        analyzed = iter(self.analyze(contents)) if contents else iter(())
        for item in pending:
            if isinstance(item, ScanResult):
                yield item
                continue
            content, decode_ms = item
            result = next(analyzed)
            result.timings_ms = {"decode": decode_ms, **result.timings_ms}
            if keep:
                result.content = content
            yield result

    @staticmethod
    def error_result(source: Source, exc: TamisError) -> ScanResult:
        name = str(source) if not isinstance(source, (bytes, bytearray, memoryview)) else "<bytes>"
        return ScanResult(source=name, error=exc.to_dict())

    def analyze(self, contents: list[Content]) -> list[ScanResult]:
        """Run every detector that accepts each content, then apply the policy."""
        results = [self._describe(c) for c in contents]
        failed: set[int] = set()
        for det in self.detectors:
            idx = [i for i, c in enumerate(contents) if c.kind in det.kinds and i not in failed]
            if not idx:
                continue
            start = time.perf_counter()
            try:
                outputs = det.analyze([contents[i] for i in idx])
            except Exception:  # noqa: BLE001 - isolate the input that broke the detector
                outputs = []
                for i in idx:
                    try:
                        outputs.extend(det.analyze([contents[i]]))
                    except Exception as exc:  # noqa: BLE001
                        log.exception("detector %s failed on %s", det.name, contents[i].name)
                        results[i].error = DetectorError(
                            f"{contents[i].name}: detector {det.name} failed: {exc}").to_dict()
                        failed.add(i)
                        outputs.append(None)
            per_item = (time.perf_counter() - start) * 1000 / len(idx)
            for i, out in zip(idx, outputs):
                if out is None:
                    continue
                try:
                    self._merge(det, contents[i], results[i], out)
                except DetectorContractError as exc:
                    log.error("%s", exc.message)
                    results[i].error = exc.to_dict()
                    failed.add(i)
                results[i].timings_ms[det.name] = per_item
        for i, result in enumerate(results):
            if i not in failed:
                result.decision = self.policy.decide(result.findings)
        return results

    @staticmethod
    def _describe(content: Content) -> ScanResult:
        return ScanResult(
            source=content.name, kind=content.kind, media_type=content.media_type,
            size_bytes=len(content.data), width=getattr(content, "width", None),
            height=getattr(content, "height", None), frames=getattr(content, "frame_count", None),
            frames_analyzed=len(getattr(content, "frames", [])) or None,
            notes=list(getattr(content, "notes", [])))

    def _merge(self, det: Detector, content: Content, result: ScanResult, out) -> None:
        for f in out.findings:
            self._check(det, content, f)
            if self.labels is None or any(f.label == lab or f.label.startswith(lab + "/")
                                          for lab in self.labels):
                result.findings.append(f)
        for face in out.faces:
            result.faces.append(self._filter_face(face))
        if out.text is not None:
            result.text = out.text
        if out.hashes is not None:
            result.hashes = out.hashes
        result.notes.extend(out.notes)

    def _filter_face(self, face: Face) -> Face:
        if set(face.attributes) <= self.face_attributes:
            return face
        attrs = {k: v for k, v in face.attributes.items() if k in self.face_attributes}
        return replace(face, attributes=attrs)

    @staticmethod
    def _check(det: Detector, content: Content, f: Finding) -> None:
        """The detector contract, enforced on every finding."""
        if f.label not in det.labels:
            raise DetectorContractError(
                f"detector {det.name} emitted {f.label!r}, which it does not declare")
        box = f.location.box
        width, height = getattr(content, "width", None), getattr(content, "height", None)
        if box is not None and width and not box.inside(width, height):
            raise DetectorContractError(
                f"detector {det.name} emitted a box {box.to_list()} outside the "
                f"{width}x{height} image")
