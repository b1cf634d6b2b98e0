"""The one detector protocol every detector follows.

A detector is cheap to construct; :meth:`Detector.load` does the heavy work (reading
and checking model files) once per process; :meth:`Detector.analyze` takes a batch of
contents and returns one :class:`Output` per content. Detectors report findings and
descriptions, never decisions: the policy decides.
"""

from __future__ import annotations

import abc
import importlib.util
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from tamis.content.base import Content
from tamis.detectors.models import ModelFile
from tamis.results import ExtractedText, Face, Finding, Hashes

#: Loads are rare and slow: one at a time in a process.
_LOAD_LOCK = threading.RLock()
#: How many times each detector loaded its models in this process (the runtime loads each once).
LOADS: Counter[str] = Counter()


def _rebuild(cls, args, kwargs):
    return cls(*args, **kwargs)


@dataclass
class Output:
    """What one detector says about one content."""

    findings: list[Finding] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    text: ExtractedText | None = None
    hashes: Hashes | None = None
    #: A score for every label the detector rates (findings hold only the notable ones).
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class Detector(abc.ABC):
    #: Unique short name, used in results, settings and the CLI.
    name: ClassVar[str]
    #: Version of the detector logic and its model(s).
    version: ClassVar[str]
    #: Taxonomy labels this detector may emit (the engine enforces it).
    labels: ClassVar[frozenset[str]] = frozenset()
    #: Content kinds it accepts.
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    #: Model files it loads, each checked against its recorded SHA-256.
    models: ClassVar[tuple[ModelFile, ...]] = ()
    #: Import names of packages it needs besides those holding its model files.
    requires: ClassVar[tuple[str, ...]] = ()
    #: Run by default (an optional extra is not).
    default: ClassVar[bool] = True
    #: Loaded when the engine is built, so that a configuration error (a broken list) is
    #: reported at once rather than as a failure of every input. Only for cheap loads.
    load_at_start: ClassVar[bool] = False
    #: One line for `tamis models` and the docs.
    description: ClassVar[str] = ""
    #: What the engine needs to know, so that it names no detector:
    #: a whole-picture model that shares no work with the others: when a picture's detectors
    #: run in two threads, it may run in either (the engine balances them by measured cost);
    heavy: ClassVar[bool] = False
    #: reads text in pictures (OCR, barcode payloads): run once per scene of a video, not per frame;
    reads_text: ClassVar[bool] = False
    #: payloads in its findings' ``data["payload"]`` are text for the text detectors (a QR code's);
    emits_text: ClassVar[bool] = False
    #: matches the exact file hashes of containers (``match_exact``), as a bank does;
    matches_exact: ClassVar[bool] = False
    #: its findings' spans are personal data, masked in ``masked_text``.
    masks_text: ClassVar[bool] = False

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads
        self._loaded = False
        #: Running mean time per content in ms (the engine's, to balance its two threads).
        self.cost_ms: float | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        """Verify and load model files. Idempotent and thread-safe: one load per instance."""
        if self._loaded:
            return
        with _LOAD_LOCK:
            if self._loaded:
                return
            for model in self.models:
                model.verify()
            self._load()
            LOADS[self.name] += 1
            self._loaded = True

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        def recording_init(self, *args, _init=init, **kwargs):
            if not hasattr(self, "_init_args"):  # the outermost __init__ records what built it
                self._init_args = (args, kwargs)
            _init(self, *args, **kwargs)

        recording_init.__doc__ = init.__doc__
        cls.__init__ = recording_init

    def __reduce__(self):
        """Sent to another process, a detector is built there again from its arguments and
        loads there (a loaded one holds native sessions, which do not pickle)."""
        args, kwargs = getattr(self, "_init_args", ((), {"threads": self.threads}))
        return _rebuild, (type(self), args, kwargs)

    @property
    def lock(self) -> threading.Lock:
        """Held while the engine runs this detector: native sessions and the caches of a
        detector are used by one thread at a time (several detectors run at once)."""
        lock = self.__dict__.get("_analysis_lock")
        if lock is None:
            lock = self.__dict__.setdefault("_analysis_lock", threading.Lock())
        return lock

    def source_stamp(self) -> tuple:
        """What the detector reads from the data folder, as it is now (paths, sizes, times):
        the runtime builds the detector again when it changes (an edited blocklist, a new
        bank store). Nothing, for detectors whose models ship in packages."""
        return ()

    def _load(self) -> None:  # noqa: B027 - optional hook
        """Load models (after their files were verified)."""

    def available(self) -> tuple[bool, str]:
        """Whether the packages this detector needs are installed (without loading them)."""
        for module in self.requires:
            if importlib.util.find_spec(module) is None:
                return False, f"the package that provides '{module}' is not installed"
        for model in self.models:
            ok, why = model.available()
            if not ok:
                return False, why
        return True, "ok"

    def analyze(self, contents: Sequence[Content]) -> list[Output]:
        """Analyze a batch; the default calls :meth:`analyze_one` for each content."""
        self.load()
        return [self.analyze_one(content) for content in contents]

    def analyze_one(self, content: Content) -> Output:
        raise NotImplementedError

    def session_options(self):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        return opts

    def onnx_session(self, model: ModelFile):
        import onnxruntime as ort

        from tamis.offline import disable_runtime_telemetry

        disable_runtime_telemetry()
        return ort.InferenceSession(str(model.path()), sess_options=self.session_options(),
                                    providers=["CPUExecutionProvider"])
