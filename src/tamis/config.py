"""Settings: defaults, then a settings file, then ``TAMIS_*`` environment variables.

Every setting is documented in docs/CONFIGURATION.md. The data folder (``TAMIS_HOME``)
holds everything tamis stores; it defaults to the user's data directory.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from tamis.errors import ConfigError


def _default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("tamis", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Limits and switches for scanning. Construct with :func:`load_settings`."""

    home: Path = field(default_factory=_default_home)
    #: Largest input accepted, in bytes.
    max_bytes: int = 50 * 1024 * 1024
    #: Largest decoded image, in pixels (width x height); larger is a decompression bomb.
    max_pixels: int = 40_000_000
    #: Smallest image side accepted, in pixels.
    min_side: int = 8
    #: Longest text accepted, in characters.
    max_text_chars: int = 1_000_000
    #: Region for phone numbers written without a country code (ISO 3166 alpha-2).
    phone_region: str = "US"
    #: Blocklist files or folders, besides $TAMIS_HOME/blocklists/.
    blocklists: tuple[Path, ...] = ()
    #: Match the rotations and mirror images of images against PDQ banks too (8 queries each).
    pdq_dihedral: bool = False
    #: Frames sampled from an animated GIF/WebP.
    max_frames: int = 8
    #: Largest video accepted, in bytes (videos are streamed from disk, not read whole).
    max_video_bytes: int = 4 * 1024**3
    #: Longest video analysed, in seconds.
    max_video_seconds: float = 4 * 3600.0
    #: A video frame is analysed every this many seconds of video...
    video_sample_interval: float = 1.0
    #: ...and at every scene change: mean luma difference from the previous frame (0 to 1).
    video_scene_threshold: float = 0.12
    #: A selected frame within this PDQ distance of the last analysed one reuses its results.
    video_reuse_distance: int = 12
    #: Text in video (OCR, barcodes) is read on the first analysed frame of each scene and
    #: then at most every this many seconds (burned-in text rarely changes faster).
    video_text_interval: float = 5.0
    #: Most frames selected from one video (samples plus scene changes).
    max_video_frames: int = 20_000
    #: A video matches a PDQ bank entry when at least this many of its frames match it.
    video_bank_min_frames: int = 2
    #: Documents and archives: most members (or pages, parts) of one container...
    max_archive_members: int = 10_000
    #: ...most bytes unpacked from one container, and from one member...
    max_unpacked_bytes: int = 1024**3
    max_member_bytes: int = 256 * 1024**2
    #: ...highest compression ratio of a member over 1 MB (a zip bomb's is in the thousands)...
    max_compression_ratio: float = 200.0
    #: ...and containers nested in containers (a zip in a zip in an e-mail...).
    max_nesting: int = 4
    #: Most pages of one PDF scanned.
    max_pages: int = 2_000
    #: Resolution at which PDF pages without a text layer are rendered for OCR.
    pdf_render_dpi: int = 150
    #: Password for encrypted PDFs (none: an encrypted PDF gives the 'encrypted' error).
    pdf_password: str | None = None
    #: Worker processes (the CLI's ``--workers``): wall-clock seconds one input may take
    #: (a video gets as much again per second of its duration)...
    max_input_seconds: float = 600.0
    #: ...and megabytes a worker may grow by while it scans one input. Past either, the
    #: worker is replaced and the input reported as an error; the other inputs go on.
    max_input_memory_mb: int = 2048
    #: Names of detectors to run; empty means all default detectors.
    detectors: tuple[str, ...] = ()
    #: Run OCR on every image instead of only where the text gate sees text.
    ocr_always: bool = False
    #: Threads each ONNX Runtime session may use (0 = runtime default).
    threads: int = 0
    #: Run a picture's detectors in two threads (whole-picture models beside the others),
    #: each image model on one core. Worker processes turn it off: they fill the cores.
    parallel_detectors: bool = True
    #: Policy file to use instead of the built-in default.
    policy: Path | None = None
    #: Policy profile to use (a name from the policy file's ``profiles``).
    profile: str | None = None
    # -- the service (tamis serve) -------------------------------------------------------
    #: SQLAlchemy URL of the service's database (``postgresql://user@host/db``); empty means
    #: SQLite in the data folder (``tamis.db``).
    database_url: str | None = None
    #: Largest request body the service reads (an upload for a job: a video, a big document).
    max_upload_bytes: int = 1024**3
    #: Seconds a client may take to send a request's headers, and the longest wait for the
    #: next part of its body; the whole body gets this long plus a second for every
    #: ``body_min_bytes_per_second`` bytes that came. Past it: 408 (body_timeout) and the
    #: connection is closed (a client trickling a byte at a time holds nothing for long).
    #: 0: no limit.
    body_timeout_seconds: float = 30.0
    #: The slowest upload kept going past body_timeout_seconds, in bytes per second on
    #: average (0: the whole body within body_timeout_seconds).
    body_min_bytes_per_second: int = 1024
    #: Threads that run the service's jobs...
    job_workers: int = 2
    #: ...each scanning in a worker process of its own, under the time and memory budget
    #: (max_input_seconds, max_input_memory_mb): an input that crashes a decoder costs its
    #: worker, not the server. Off: the jobs are scanned in the server's threads.
    job_processes: bool = True
    #: Jobs queued or running at most; past it a new job is refused with 429 (queue_full).
    max_queued_jobs: int = 1000
    #: Tries of a job whose worker died (or failed unexpectedly) before it is marked failed.
    job_max_attempts: int = 3
    #: Seconds a running job's claim lasts without its worker renewing it; a job whose
    #: claim ran out (its worker, or the whole server, died) is taken up again.
    job_lease_seconds: float = 30.0
    #: Texts at most in one request to /v1/scan/texts or /v1/moderations.
    max_batch_texts: int = 256
    #: Texts of concurrent requests scanned as one batch: at most this many...
    batch_max_texts: int = 64
    #: ...gathered for at most this many milliseconds (0: each request alone).
    batch_max_wait_ms: float = 5.0
    #: Hosts (``host`` or ``host:port``) a job's webhook may call; none by default: the
    #: service contacts no host its operator did not name.
    webhook_hosts: tuple[str, ...] = ()
    #: Tries of a webhook delivery before it is marked failed...
    webhook_max_attempts: int = 8
    #: ...the first retry this many seconds after a failed try, each next one twice as late.
    webhook_backoff_seconds: float = 10.0
    #: Key of the HMAC-SHA256 signature of deliveries; empty: one made once and kept in the database.
    webhook_secret: str | None = None
    #: Hosts (``host``, ``host:port``, ``*.domain``) an input's http(s) URL may name; none by
    #: default: only ``data:`` URLs are accepted, the service fetches nothing.
    fetch_hosts: tuple[str, ...] = ()
    #: Networks (CIDR) a fetch may connect to although they are not global (loopback,
    #: private, link-local...): an operator's own media server.
    fetch_allow_networks: tuple[str, ...] = ()
    #: Largest body fetched, in bytes; 0: the limit of an upload to the same route
    #: (max_bytes for scans now, max_upload_bytes for jobs).
    fetch_max_bytes: int = 0
    #: Seconds one fetch may take in all, redirects included...
    fetch_timeout_seconds: float = 10.0
    #: ...and redirects it follows, each new URL checked as the first.
    fetch_max_redirects: int = 3
    #: Days a finished job (its result, its upload, its deliveries) is kept; 0 keeps them.
    retention_days: float = 30.0
    #: Worker processes scanning files sent to be scanned now (/v1/scan, pict-rs, images of
    #: /v1/moderations): a file that crashes a decoder costs its request, not the server.
    #: Each loads the models (about 450 MB); 0 scans them in the server's threads.
    scan_processes: int = 2
    #: Seconds a scan now waits for a free worker process before 429 queue_full.
    scan_wait_seconds: float = 30.0
    #: Review queues by label: ``{queue: [label, ...]}`` in config.yaml, or
    #: ``queue=label,label;queue=label`` in the environment. An item goes to the first queue
    #: one of its reasons' labels (or a label under it) names; else to ``default``.
    review_queues: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Also send what the policy blocks to the review queue (not only what it sends to review).
    review_blocked: bool = False
    #: Minutes an opened review item stays claimed by its reviewer without a decision.
    review_claim_minutes: float = 5.0
    #: Queues whose media always starts blurred and grey, whatever a reviewer's own default.
    review_blur_queues: tuple[str, ...] = ()
    #: Faces always blurred on the review page, even when the picture is revealed.
    review_blur_faces: bool = False
    #: Hours a reviewer stays signed in.
    review_session_hours: float = 12.0

    @property
    def config_file(self) -> Path:
        return self.home / "config.yaml"

    # Where tamis keeps what it stores, in one place (everything under the data folder).
    @property
    def banks_db(self) -> Path:
        """The SQLite hash-bank store."""
        return self.home / "banks.db"

    @property
    def indexes_dir(self) -> Path:
        """The PDQ index built from the banks (rebuilt whenever missing)."""
        return self.home / "indexes"

    @property
    def service_db(self) -> str:
        """SQLAlchemy URL of the service's store (jobs, keys, audit log)."""
        return self.database_url or f"sqlite:///{self.home / 'tamis.db'}"

    @property
    def uploads_dir(self) -> Path:
        """Uploads kept for jobs, by SHA-256 of their bytes."""
        return self.home / "uploads"

    @property
    def text_model_dir(self) -> Path:
        """Text classifier heads trained here (``tamis train text``), used instead of the packaged ones."""
        return self.home / "models" / "text"


_ENV_PREFIX = "TAMIS_"


#: A review queue's name (in settings, API keys and reviewers alike).
QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def queue_name(queue: Any) -> str:
    """``queue`` if it is a valid review queue name; else ValueError."""
    if not QUEUE_NAME.match(str(queue)):
        raise ValueError(f"queue name {str(queue)[:70]!r}: lower-case letters, digits, '-' and '_', at most 64")
    return str(queue)


def _items(raw: Any) -> list:
    """A list setting: ``a,b`` in the environment, a list in config.yaml."""
    return [d.strip() for d in raw.split(",") if d.strip()] if isinstance(raw, str) else list(raw)


def _queues(raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``{queue: [label, ...]}`` or ``queue=label,label;queue=label``, in order."""
    if isinstance(raw, str):
        pairs = [part.partition("=")[::2] for part in raw.split(";") if part.strip()]
        raw = {q.strip(): labels.split(",") for q, labels in pairs}
    if not isinstance(raw, dict):
        raise ValueError("expected a mapping of queue names to lists of labels")
    out = []
    for queue, labels in raw.items():
        queue_name(queue)
        items = [labels] if isinstance(labels, str) else labels
        if not isinstance(items, list | tuple) or not all(isinstance(x, str) and x.strip() for x in items) or not items:
            raise ValueError(f"queue {queue!r}: expected a list of labels")
        out.append((str(queue), tuple(x.strip() for x in items)))
    return tuple(out)


def _coerce(name: str, raw: Any, current: Any, source: str) -> Any:
    typ = type(current) if current is not None else str
    try:
        if name in ("home", "policy"):
            return Path(os.path.expanduser(str(raw))) if raw not in (None, "") else None
        if name == "threads" and isinstance(raw, int):
            return raw
        if name == "review_queues":
            return _queues(raw)
        if name == "review_blur_queues":
            return tuple(queue_name(q) for q in _items(raw))
        if name in ("detectors", "blocklists", "webhook_hosts", "fetch_hosts", "fetch_allow_networks"):
            items = _items(raw)
            if name == "blocklists":
                return tuple(Path(os.path.expanduser(str(d))) for d in items)
            return tuple(str(d) for d in items)
        if typ is bool:
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in ("1", "true", "yes", "on")
        if typ is int:
            value = int(raw)
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if typ is float:
            value = float(raw)
            if not (value >= 0 and value != float("inf")):
                raise ValueError("must be a finite number, not negative")
            return value
        return str(raw) if raw is not None else None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: setting '{name}' = {raw!r} is invalid: {exc}") from None


def load_settings(config_file: Path | None = None, env: dict[str, str] | None = None,
                  **overrides: Any) -> Settings:
    """Build settings from defaults, the settings file, the environment and ``overrides``."""
    env = dict(os.environ if env is None else env)
    base = Settings()
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}

    if env.get("TAMIS_HOME"):
        values["home"] = Path(os.path.expanduser(env["TAMIS_HOME"]))
    home = values.get("home", base.home)

    default_file = replace(base, home=home).config_file
    path = config_file or (Path(env["TAMIS_CONFIG"]) if env.get("TAMIS_CONFIG") else default_file)
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of settings")
        for key, raw in data.items():
            if key not in names:
                raise ConfigError(f"{path}: unknown setting '{key}' (known: {', '.join(sorted(names))})")
            values[key] = _coerce(key, raw, getattr(base, key), str(path))
    elif config_file is not None:
        raise ConfigError(f"{config_file}: settings file not found")

    for name in names - {"home"}:
        key = _ENV_PREFIX + name.upper()
        if key in env:
            values[name] = _coerce(name, env[key], getattr(base, name), key)

    for name, raw in overrides.items():
        if name not in names:
            raise ConfigError(f"unknown setting '{name}'")
        if raw is not None:
            values[name] = _coerce(name, raw, getattr(base, name), f"setting {name}")
    return replace(base, **values)
