"""One engine for the Python API, the CLI and (later) the service."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from tamis.config import Settings, load_settings
from tamis.content.base import Content, Source, printable
from tamis.content.text import Region, TextContent
from tamis.detectors import Detector
from tamis.engine.merge import describe, placed
from tamis.engine.opening import Opener
from tamis.errors import (
    CorruptInputError,
    DetectorContractError,
    DetectorError,
    InputError,
    TamisError,
    TooLargeError,
)
from tamis.policy import Policy, load_policy
from tamis.results import Box, Face, Finding, Hashes, ScanError, ScanResult
from tamis.taxonomy import FACE_ATTRIBUTES, check_face_attributes, check_labels, lineage

log = logging.getLogger("tamis")


#: Kinds that are containers: analysed part by part, not by the detectors directly.
CONTAINERS = {"video", "document", "archive"}


class Engine(Opener):
    """Scans inputs with a set of detectors and a policy.

    Construction is cheap: the detectors come from the process's runtime
    (:mod:`tamis.engine.runtime`), built and loaded once per configuration whatever the
    number of engines, and load on first use (or on :meth:`load`). An engine may be used
    from several threads at once; ``policy`` and ``labels`` can also be given per call.
    """

    def __init__(self, settings: Settings | None = None, policy: Policy | None = None,
                 detectors: Sequence[Detector] | None = None,
                 labels: Iterable[str] | None = None,
                 face_attributes: Iterable[str] | None = None, video_thumbnails: bool = False) -> None:
        self.settings = settings or load_settings()
        #: For videos: keep JPEG thumbnails of frames with notable findings (``result.thumbnails``).
        self.video_thumbnails = video_thumbnails
        self.policy = policy or load_policy(self.settings.policy, self.settings.profile)
        self.labels = set(check_labels(labels)) if labels else None
        self.face_attributes = (set(check_face_attributes(face_attributes))
                                if face_attributes is not None else set(FACE_ATTRIBUTES))
        if detectors is None:
            from tamis.engine.runtime import RUNTIME

            detectors = RUNTIME.detectors(self.settings, face_attributes=self.face_attributes)
        self.detectors = list(detectors)
        self._lock = threading.Lock()
        for det in self.detectors:
            if getattr(det, "load_at_start", False):
                det.load()  # e.g. a broken blocklist: a ConfigError now, not one error per input

    def load(self) -> Engine:
        for d in self.detectors:
            d.load()
        return self

    # -- inputs -----------------------------------------------------------------------

    def scan_texts(self, texts: Iterable[str | tuple[str, str]], batch_size: int = 64, *,
                   policy: Policy | None = None, labels: Iterable[str] | None = None) -> Iterator[ScanResult]:
        """Scan texts given as strings (or (name, text) pairs); bad ones give error results."""
        def open_one(item, i):
            name = f"<text {i}>"
            try:
                if isinstance(item, tuple):
                    if len(item) != 2:
                        raise InputError(f"{name}: expected a text or a (name, text) pair")
                    name, item = printable(str(item[0])), item[1]
                return self.open_text(item, name)
            except TamisError as exc:
                return ScanResult(source=printable(str(name)), kind="text", error=ScanError.of(exc))

        return self._per_call(self._batched(texts, open_one, batch_size, keep=False), policy, labels)

    # -- scanning ---------------------------------------------------------------------

    def scan(self, source: Source | Content, name: str | None = None, *, policy: Policy | None = None,
             labels: Iterable[str] | None = None) -> ScanResult:
        """Scan one input (or content already opened). Raises an
        :class:`~tamis.errors.InputError` for bad input. For this call only, ``policy``
        takes the place of the engine's and ``labels`` narrows what it reports (an engine
        built with labels has left the others out already); no model is loaded again."""
        start = time.perf_counter()
        content = source if isinstance(source, Content) else self.open(source, name)
        decode_ms = (time.perf_counter() - start) * 1000
        result = self.analyze([content])[0]
        result.timings_ms = {"decode": decode_ms, **result.timings_ms}
        result.raise_error()
        return next(self._per_call([result], policy, labels))

    def decide(self, result: ScanResult, *, policy: Policy | None = None,
               labels: Iterable[str] | None = None) -> ScanResult:
        """A result made elsewhere (a worker process, the store) as :meth:`scan` under
        ``policy`` and ``labels`` would give it; no model runs."""
        return next(self._per_call([result], policy, labels))

    def _per_call(self, results: Iterable[ScanResult], policy: Policy | None,
                  labels: Iterable[str] | None) -> Iterator[ScanResult]:
        """Results as a scan under ``policy`` and reporting only ``labels`` would give:
        findings and scores of other labels left out, then decided (a video's timeline
        too) from what the result holds."""
        if policy is None and labels is None:
            yield from results
            return
        wanted = set(check_labels(labels)) if labels is not None else None
        policy = policy or self.policy
        for r in results:
            if wanted is not None and r.error is None:
                self._keep_labels(r, wanted)
            yield policy.apply(r)

    def scan_many(self, sources: Iterable[Source | Content], batch_size: int = 8,
                  keep_content: bool = False, *, policy: Policy | None = None,
                  labels: Iterable[str] | None = None) -> Iterator[ScanResult]:
        """Scan many inputs (or contents already opened), in order; a bad one yields a
        result with ``error`` set and the rest go on. With ``keep_content`` each result carries its decoded content."""
        def open_one(source, _):
            if isinstance(source, Content):
                return source
            try:
                return self.open(source)
            except TamisError as exc:
                return self.error_result(source, exc)

        return self._per_call(self._batched(sources, open_one, batch_size, keep_content), policy, labels)

    def _batched(self, items: Iterable, open_one, batch_size: int, keep: bool) -> Iterator[ScanResult]:
        """Open items one by one (a bad one becomes an error result), analyze the contents
        ``batch_size`` at a time, and yield every result in input order."""
        pending: list[ScanResult | tuple[Content, float]] = []
        n_contents = 0
        for i, item in enumerate(items):
            start = time.perf_counter()
            opened = open_one(item, i)
            if isinstance(opened, ScanResult):
                pending.append(opened)
                continue
            pending.append((opened, (time.perf_counter() - start) * 1000))
            n_contents += 1
            if n_contents >= batch_size:
                yield from self._finish(pending, keep)
                pending, n_contents = [], 0
        yield from self._finish(pending, keep)

    def _finish(self, pending: list, keep: bool) -> Iterator[ScanResult]:
        """Analyze the contents in ``pending`` as one batch; yield all results in input order."""
        contents = [p[0] for p in pending if isinstance(p, tuple)]
        analyzed = iter(self._analyze_apart(contents)) if contents else iter(())
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

    def _analyze_apart(self, contents: list[Content]) -> list[ScanResult]:
        """:meth:`analyze` of a batch; if it fails as a whole (a fault of tamis, not of an
        input), each content again alone, so that only the one that breaks it is lost."""
        try:
            return self.analyze(contents)
        except Exception:  # noqa: BLE001
            if len(contents) == 1:
                return [self._internal_error(contents[0])]
            log.exception("a batch of %d failed; analysing them one by one", len(contents))
        out = []
        for content in contents:
            try:
                out.extend(self.analyze([content]))
            except Exception:  # noqa: BLE001
                out.append(self._internal_error(content))
        return out

    def _internal_error(self, content: Content) -> ScanResult:
        import traceback

        log.exception("analysing %s failed", content.name)
        exc = DetectorError(f"{content.name}: tamis failed on this input (an internal error; "
                            "please report it with the log)")
        exc.detail = traceback.format_exc(limit=-3)[-500:]
        result = describe(content)
        result.error = ScanError.of(exc)
        return result

    @staticmethod
    def error_result(source: Source, exc: TamisError) -> ScanResult:
        name = str(source) if not isinstance(source, (bytes, bytearray, memoryview)) else "<bytes>"
        return ScanResult(source=printable(name), error=ScanError.of(exc))

    def analyze(self, contents: list[Content], parallel: bool | None = None) -> list[ScanResult]:
        """Run every detector that accepts each content, then apply the policy. A video is
        streamed frame by frame (:mod:`tamis.engine.video`); a document or archive is split
        into parts (:mod:`tamis.engine.document`)."""
        if parallel is None:
            parallel = self.settings.parallel_detectors
        if not any(c.kind in CONTAINERS for c in contents):
            return self._analyze(contents, parallel)
        out: list[ScanResult | None] = [None] * len(contents)
        rest = [i for i, c in enumerate(contents) if c.kind not in CONTAINERS]
        for i, r in zip(rest, self._analyze([contents[i] for i in rest]) if rest else []):
            out[i] = r
        for i, c in enumerate(contents):
            if c.kind == "video":
                out[i] = self._analyze_video(c)
            elif c.kind in CONTAINERS:
                out[i] = self._analyze_document(c)
        return out  # type: ignore[return-value]

    def _analyze_document(self, content: Content) -> ScanResult:
        from tamis.engine.document import analyze_document

        return self._container(content, "read", lambda: analyze_document(self, content))

    def _analyze_video(self, content: Content) -> ScanResult:
        from tamis.engine.video import analyze_video

        return self._container(content, "decoded", lambda: analyze_video(self, content, self.video_thumbnails))

    def _container(self, content: Content, verb: str, analyze) -> ScanResult:
        """Run ``analyze`` on a container; if the container itself turns out unreadable
        (corrupt past its header, say), an error result like any bad input, never a crash.

        A container gets a deadline (``max_input_seconds``, plus a video's duration), looked
        at between its parts and frames: here, in this process, a single call into a
        native library cannot be interrupted; worker processes (:mod:`tamis.engine.pool`)
        also enforce it from outside, with a memory budget."""
        result = self._container_analysis(content, verb, analyze)
        if self.labels is not None and result.error is None:
            self._keep_labels(result, self.labels)
            result.decision = self.policy.decide(result.findings)
        return result

    def _container_analysis(self, content: Content, verb: str, analyze) -> ScanResult:
        budget = self.settings.max_input_seconds + float(getattr(content, "duration", None) or 0.0)
        content.deadline = time.monotonic() + budget  # type: ignore[attr-defined]
        content.budget_seconds = budget  # type: ignore[attr-defined]
        try:
            return analyze()
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, TamisError):
                log.exception("reading %s", content.name)
                exc = CorruptInputError(f"{content.name}: could not be {verb} ({type(exc).__name__}: {exc})")
            result = describe(content)
            result.error = ScanError.of(exc)
            return result

    def known_file(self, hashes: Hashes) -> list[Finding]:
        """Bank entries that hold a container's file hashes exactly (a video, a document);
        its parts are matched by the bank detector as they are scanned."""
        banks = next((d for d in self.detectors if d.matches_exact), None)
        if banks is None:
            return []
        banks.load()
        return banks.match_exact([("md5", hashes.md5), ("sha256", hashes.sha256)])

    def _analyze(self, contents: list[Content], parallel: bool = False) -> list[ScanResult]:
        """Run every detector that accepts each content, then apply the policy.

        Text found inside a content (OCR of an image) goes through the text detectors as a
        part of that content: its findings carry the span in the extracted text and the box
        of the line they are on.
        """
        results = [describe(c) for c in contents]
        failed: set[int] = set()
        self._run(contents, results, failed, parallel)
        parts = {i: self._text_part(c, results[i]) for i, c in enumerate(contents)
                 if c.kind != "text" and i not in failed}
        parts = {i: p for i, p in parts.items() if p is not None}
        if parts:
            idx = list(parts)
            sub = [describe(parts[i]) for i in idx]
            sub_failed: set[int] = set()
            self._run([parts[i] for i in idx], sub, sub_failed)
            for j, i in enumerate(idx):
                if j in sub_failed:
                    results[i].error = sub[j].error
                    failed.add(i)
                    continue
                results[i].findings.extend(placed(f, parts[i]) for f in sub[j].findings)
                for k, v in sub[j].timings_ms.items():
                    results[i].timings_ms[f"text:{k}"] = v
                results[i].language = sub[j].language
                results[i].masked_text = sub[j].masked_text
                results[i].keep_highest(sub[j].label_scores)
        for i, result in enumerate(results):
            if i not in failed:
                if self.labels is not None:
                    self._keep_labels(result, self.labels)
                result.decision = self.policy.decide(result.findings)
        return results

    def _keep_labels(self, r: ScanResult, wanted: set[str]) -> None:
        """Leave out of ``r`` the findings and scores of labels not asked for (a parent
        label brings its sub-labels), once the whole input was analysed, so that what a
        left-out finding carried (a QR code's text, read for its personal data) was still
        used; ``masked_text`` goes with the personal data findings it masks."""
        def keep(label: str) -> bool:
            return not wanted.isdisjoint(lineage(label))

        r.findings = [f for f in r.findings if keep(f.label)]
        r.label_scores = {k: v for k, v in r.label_scores.items() if keep(k)}
        if r.document is not None:  # each part's count is of the findings kept
            kept = {id(f) for f in r.findings}
            for part in r.document.parts:
                if part.found:
                    part.findings = sum(id(f) in kept for f in part.found)
        if r.video is not None:
            for fr in r.video.frames:
                fr.scores = {k: v for k, v in fr.scores.items() if keep(k)}
        maskers = {d.name for d in self.detectors if d.masks_text}
        if r.masked_text is not None and not any(f.detector in maskers for f in r.findings):
            r.masked_text = None

    def _run(self, contents: list[Content], results: list[ScanResult], failed: set[int],
             parallel: bool = False) -> None:
        runs = []
        for det in self.detectors:
            idx = [i for i, c in enumerate(contents)
                   if c.kind in det.kinds and i not in failed and det.name not in getattr(c, "skip", ())]
            if idx:
                runs.append((det, idx))
        if parallel and len(runs) > 1:
            # Two threads (runtimes release the GIL): whole-picture models may run in the
            # second, each where the load is lighter, by what each detector has cost so far.
            here, there = _balance(runs)
            later = self._threads().submit(lambda: [self._outputs(det, idx, contents) for det, idx in there])
            done = {id(det): out for (det, _), out in zip(here, [self._outputs(d, i, contents) for d, i in here])}
            done.update({id(det): out for (det, _), out in zip(there, later.result())})
            produced = [done[id(det)] for det, _ in runs]
        else:
            produced = (self._outputs(det, idx, contents) for det, idx in runs)
        for (det, idx), (outputs, errors, per_item) in zip(runs, produced):
            for i, exc in errors.items():
                if isinstance(exc, MemoryError):
                    err = TooLargeError(f"{contents[i].name}: detector {det.name} needed more memory than "
                                        "tamis allows one input")
                else:
                    err = DetectorError(f"{contents[i].name}: detector {det.name} failed: "
                                        f"{exc or type(exc).__name__}")
                results[i].error = ScanError.of(err)
                failed.add(i)
            for i, out in zip(idx, outputs):
                if out is None or i in failed:
                    continue
                try:
                    self._merge(det, contents[i], results[i], out)
                except DetectorContractError as exc:
                    log.error("%s", exc.message)
                    results[i].error = ScanError.of(exc)
                    failed.add(i)
                results[i].timings_ms[det.name] = per_item
        for i, content in enumerate(contents):
            if content.kind == "text" and i not in failed:
                lang, prob = content.language()
                results[i].language = {"code": lang, "probability": round(prob, 3)} if lang else None
                maskers = {d.name for d in self.detectors if d.masks_text}
                pii = [f.location.span for f in results[i].findings if f.detector in maskers and f.location.span]
                if pii:
                    from tamis.detectors.pii import mask

                    results[i].masked_text = mask(content.text, [(sp.start, sp.end) for sp in pii])

    @staticmethod
    def _outputs(det: Detector, idx: list[int], contents: list[Content]) -> tuple[list, dict[int, Exception], float]:
        """One detector over the contents ``idx``: its outputs (None where it failed), the
        failures by content, and the time per content. Touches no result (thread-safe)."""
        start = time.perf_counter()
        errors: dict[int, Exception] = {}
        try:
            with det.lock:
                outputs = det.analyze([contents[i] for i in idx])
        except Exception:  # noqa: BLE001 - isolate the input that broke the detector
            outputs = []
            for i in idx:
                try:
                    with det.lock:
                        outputs.extend(det.analyze([contents[i]]))
                except Exception as exc:  # noqa: BLE001
                    log.exception("detector %s failed on %s", det.name, contents[i].name)
                    errors[i] = exc
                    outputs.append(None)
        per_item = (time.perf_counter() - start) * 1000 / len(idx)
        before = getattr(det, "cost_ms", None)
        det.cost_ms = per_item if before is None else 0.8 * before + 0.2 * per_item
        return outputs, errors, per_item

    def _threads(self):
        from concurrent.futures import ThreadPoolExecutor

        with self._lock:
            pool = self.__dict__.get("_pool")
            if pool is None:
                pool = self.__dict__["_pool"] = ThreadPoolExecutor(1, thread_name_prefix="tamis-detectors")
        return pool

    def close(self) -> None:
        """Stop the engine's thread; the models stay loaded in the runtime for other engines."""
        with self._lock:
            pool = self.__dict__.pop("_pool", None)
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _text_part(self, content: Content, result: ScanResult) -> TextContent | None:
        """The text read from a content (OCR lines, then payloads such as a QR code's) as one
        text with regions."""
        emitters = {d.name for d in self.detectors if d.emits_text}
        pieces: list[tuple[str, Box, int | None, str]] = []
        if result.text is not None:
            pieces += [(line.text, line.box, line.frame, "ocr") for line in result.text.lines]
        pieces += [(f.data["payload"], f.location.box, f.location.frame, f.label)
                   for f in result.findings if f.detector in emitters and str(f.data.get("payload", "")).strip()
                   and f.location.box is not None]
        if not pieces:
            return None
        regions, pos = [], 0
        times = getattr(content, "frame_times", None) or {}
        for text, box, frame, part in pieces:  # an animation's frame brings its time
            regions.append(Region(pos, pos + len(text), box, frame, part, times.get(frame)))
            pos += len(text) + 1
        text = "\n".join(p[0] for p in pieces)
        return TextContent(kind="text", name=f"{content.name}#text", media_type="text/plain",
                           data=text.encode("utf-8"), text=text, regions=regions, part="ocr")

    def _merge(self, det: Detector, content: Content, result: ScanResult, out) -> None:
        times = getattr(content, "frame_times", None)
        for f in out.findings:
            self._check(det, content, f)
            if times and f.location.frame in times and f.location.timestamp is None:
                f = replace(f, location=replace(f.location, timestamp=times[f.location.frame]))
            result.findings.append(f)
        for face in out.faces:
            result.faces.append(self._filter_face(face))
        if out.text is not None:
            result.text = out.text
        if out.hashes is not None:
            result.hashes = out.hashes
        result.keep_highest(out.scores)
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


#: What a detector is taken to cost per content (ms) before it has run.
_PRIOR_MS = 20.0


def _balance(runs: list[tuple[Detector, list[int]]]) -> tuple[list, list]:
    """Split a picture's detector runs over two threads so that each has about the same
    work: detectors that are not whole-picture models (they share work through the
    content) stay in this thread; each whole-picture model, costliest first, goes where the
    load is lighter. Costs are each detector's running mean time per content; with text in a
    picture OCR outweighs the rest, and with the optional nudity model another model does."""
    def cost(run):
        det, idx = run
        known = getattr(det, "cost_ms", None)
        return (_PRIOR_MS if known is None else known) * len(idx)

    here = [r for r in runs if not r[0].heavy]
    there: list = []
    loads = [sum(cost(r) for r in here), 0.0]
    for run in sorted((r for r in runs if r[0].heavy), key=cost, reverse=True):
        side = 0 if loads[0] < loads[1] else 1
        (here, there)[side].append(run)
        loads[side] += cost(run)
    return here, there
