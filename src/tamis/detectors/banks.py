"""Known content: every image, frame and text checked against the enabled hash banks."""

from __future__ import annotations

from pathlib import Path

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.detectors.hashes import content_hashes, pdq_dihedral
from tamis.results import Finding, Location
from tamis.taxonomy import LABELS

#: PDQ distance at or under which two images match (of 256 bits), as the ecosystem uses.
PDQ_THRESHOLD = 31
#: PDQ hashes of lower quality (flat, featureless images) are not matched.
PDQ_MIN_QUALITY = 50


def bank_signals(content: Content) -> list[tuple[str, str]]:
    """The signals an input is banked under: md5, sha256, and pdq (image) or the text hash
    (text); for a video the pdq of its distinct sampled frames (its entries share the file
    as source, and a video matches when enough of its frames match)."""
    h = content_hashes(content)
    pairs = [(k, v) for k, v in (("md5", h.md5), ("sha256", h.sha256), ("pdq", h.pdq), ("text", h.text)) if v]
    return pairs + [("pdq", v) for _, v, quality in h.frame_pdq if v != h.pdq and quality >= PDQ_MIN_QUALITY]


class BankMatcher(Detector):
    matches_exact = True
    name = "banks"
    version = "banks-1"
    # An entry may carry any label of the taxonomy (known_content by default).
    labels = frozenset(LABELS)
    kinds = frozenset({"image", "text"})
    description = "matches MD5, SHA-256, PDQ and normalised-text hashes against hash banks"

    def __init__(self, threads: int = 0, home: Path | None = None, pdq_threshold: int = PDQ_THRESHOLD,
                 pdq_min_quality: int = PDQ_MIN_QUALITY, pdq_dihedral: bool = False, store=None) -> None:
        """``store``: a :class:`~tamis.banks.store.BankStore` (the SQLite one under ``home``
        when not given; a server store plugs in here)."""
        super().__init__(threads)
        self.home = home
        self.given_store = store
        self.pdq_threshold = pdq_threshold
        self.pdq_min_quality = pdq_min_quality
        #: Also query the 7 rotations and mirror images of each frame (mirrored copies match).
        self.pdq_dihedral = pdq_dihedral

    def source_stamp(self) -> tuple:
        """Whether a bank store exists yet (its entries are followed by the matcher itself)."""
        if self.given_store is not None or self.home is None:
            return ()
        from tamis.config import Settings

        return (Settings(home=self.home).banks_db.is_file(),)

    def _load(self) -> None:
        from tamis.banks.index import PdqMatcher
        from tamis.banks.store import SQLiteBankStore
        from tamis.config import Settings

        self.store = None
        self.pdq = None
        paths = Settings(home=self.home) if self.home else None
        if self.given_store is not None:
            self.store = self.given_store
        elif paths is not None and paths.banks_db.is_file():
            self.store = SQLiteBankStore(paths.banks_db)
        if self.store is not None:
            indexes = paths.indexes_dir if paths is not None else Path(self.store.path).parent / "indexes"
            self.pdq = PdqMatcher(self.store, indexes)

    def analyze_one(self, content: Content) -> Output:
        out = Output()
        if self.store is None:
            return out
        hits: list[tuple[object, dict, Location]] = []
        whole = Location(part=getattr(content, "part", None))
        hashes = content_hashes(content)
        exact = [("md5", hashes.md5), ("sha256", hashes.sha256)] + ([("text", hashes.text)] if hashes.text else [])
        hits += self._exact(exact, whole)
        if content.kind == "image":
            frames = (hashes.frame_pdq or ((0, hashes.pdq, hashes.pdq_quality),)) if hashes.pdq else ()
            frames = [(i, h, q) for i, h, q in frames if q >= self.pdq_min_quality]
            multi = getattr(content, "frame_count", 1) > 1
            by_index = {f.index: f for f in content.frames}
            queries = []  # (frame index, quality, transform, hash)
            for index, h, quality in frames:
                if self.pdq_dihedral:
                    frame = by_index[index]
                    variants = frame.shared("pdq_dihedral", lambda f=frame: pdq_dihedral(f.rgb))
                    queries += [(index, quality, name, v) for name, v in variants]
                else:
                    queries.append((index, quality, "original", h))
            found = self.pdq.search([q[3] for q in queries], self.pdq_threshold) if queries else []
            for (index, quality, transform, _), matches in zip(queries, found):
                for entry_id, distance in matches:
                    entry = self.store.get(entry_id)  # None when removed since the index was built
                    if entry is not None:
                        extra = {"distance": distance, "quality": quality}
                        if transform != "original":
                            extra["transform"] = transform
                        hits.append((entry, extra, Location(frame=index if multi else None)))
        out.findings = self._findings(hits)
        return out

    def _exact(self, values: list[tuple[str, str]], loc: Location) -> list[tuple[object, dict, Location]]:
        return [(e, {}, loc) for signal, value in values if value for e in self.store.lookup(signal, value)]

    def match_exact(self, values: list[tuple[str, str]], loc: Location | None = None) -> list[Finding]:
        """Findings for (signal, value) pairs that banks hold exactly (a whole video's MD5 and SHA-256)."""
        if self.store is None:
            return []
        return self._findings(self._exact(values, loc or Location()))

    def _findings(self, hits: list[tuple[object, dict, Location]]) -> list[Finding]:
        findings = []
        seen = set()
        for entry, extra, loc in hits:
            key = (entry.id, loc.frame)
            if key in seen:
                continue
            seen.add(key)
            score = 1.0 if entry.signal != "pdq" else round(1.0 - extra["distance"] / 256, 4)
            findings.append(Finding(
                entry.label, score, self.name, self.version, loc,
                explanation=f"matches bank {entry.bank!r} entry {entry.id} ({entry.signal}"
                            + (f", distance {extra['distance']})" if "distance" in extra else ")"),
                data={"bank": entry.bank, "entry": entry.id, "signal": entry.signal, "note": entry.note,
                      "source": entry.source, **extra}))
        return findings
