"""The service's parts, built once per process: settings, one engine (so one runtime of
models), the store of jobs and keys, uploads, metrics, and the job workers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from tamis.config import Settings, load_settings
from tamis.content.base import Content
from tamis.engine import Engine
from tamis.policy import Policy, load_policy
from tamis.results import ScanResult
from tamis.service.errors import ServiceError
from tamis.service.metrics import Metrics
from tamis.storage import BlobStore, Database, DeliveryStore, Job, JobStore, KeyStore


class Service:
    def __init__(self, settings: Settings | None = None, *, workers: int | None = None) -> None:
        self.settings = settings or load_settings()
        s = self.settings
        self.db = Database(s.service_db)
        self.jobs = JobStore(self.db, s.job_max_attempts, s.job_lease_seconds, s.max_queued_jobs)
        self.keys = KeyStore(self.db)
        self.blobs = BlobStore(s.uploads_dir)
        from tamis.banks import SQLiteBankStore

        #: Opened (made if need be) before the engine: its bank detector, here and in the job
        #: worker processes, then reads it from the start, banks made later included.
        self.bank_store = SQLiteBankStore(s.banks_db)
        self.deliveries = DeliveryStore(self.db, s.webhook_max_attempts, s.webhook_backoff_seconds,
                                        secret=s.webhook_secret)
        self.engine = Engine(s)
        self.metrics = Metrics(self.jobs)
        self._policies: dict[str | None, Policy] = {None: self.engine.policy}
        self._policy_lock = threading.Lock()
        self._auth_checked = (0.0, False)
        #: Every request needs a key (set once keys were seen, or by a non-loopback listener).
        self.require_keys = False
        self.ready = False
        from tamis.service.batcher import TextBatcher
        from tamis.service.fetch import Fetcher
        from tamis.service.janitor import Janitor
        from tamis.service.webhooks import WebhookSender
        from tamis.service.workers import JobWorkers

        self.workers = JobWorkers(self, s.job_workers if workers is None else workers)
        self.webhooks = WebhookSender(self.deliveries)
        #: Reads the URLs inputs name (data:, and http(s) where the operator turned fetching on).
        self.fetcher = Fetcher(s)
        self.janitor = Janitor(self)
        self.batcher = TextBatcher(self, s.batch_max_texts, s.batch_max_wait_ms)
        from tamis.service.review import ReviewDesk
        from tamis.service.scanners import ScanLanes

        self.review = ReviewDesk(self)
        #: Worker processes for scans now of files (setting scan_processes; 0: in the server's threads).
        self.lanes = ScanLanes(self, s.scan_processes, s.scan_wait_seconds)

    # -- life -------------------------------------------------------------------------

    def start(self) -> None:
        """Load every model (so the first request does not pay for it), then take jobs."""
        self.engine.load()
        self.ready = True
        if self.settings.batch_max_wait_ms > 0:
            self.batcher.start()
        self.lanes.start()
        self.workers.start()
        self.webhooks.start()
        self.janitor.start()

    def stop(self) -> None:
        self.ready = False
        self.batcher.stop()
        self.workers.stop()
        self.lanes.stop()
        self.webhooks.stop()
        self.janitor.stop()
        self.engine.close()
        self.db.close()

    # -- options ----------------------------------------------------------------------

    def policy(self, profile: str | None) -> Policy:
        """The configured policy, or one of its profiles (parsed once)."""
        with self._policy_lock:
            if profile not in self._policies:
                self._policies[profile] = load_policy(self.settings.policy, profile)
            return self._policies[profile]

    def webhook_url(self, url: str | None) -> str | None:
        """A job's webhook URL, if the operator allows its host (else ``webhook_not_allowed``)."""
        if url is None:
            return None
        from tamis.service.webhooks import check_url

        return check_url(url, self.settings.webhook_hosts)

    def keys_changed(self) -> None:
        """Keys were created or revoked in this process: look again at the next request."""
        self._auth_checked = (0.0, False)

    def auth_required(self) -> bool:
        """Whether requests must carry a key: as soon as one key exists (checked each
        second), and from then on, even if every key is revoked (revoking the last key
        closes the service rather than opening it); always when ``require_keys`` is set (a
        server listening beyond loopback)."""
        if self.require_keys:
            return True
        checked_at, required = self._auth_checked
        now = time.monotonic()
        if now - checked_at > 1.0:
            required = self.keys.any_active()
            self._auth_checked = (now, required)
            if required:
                self.require_keys = True
        return required

    # -- scanning ---------------------------------------------------------------------

    def open(self, *, name: str, text: str | None = None, data: bytes | None = None,
             path: str | None = None) -> Content:
        if text is not None:
            return self.engine.open_text(text, name)
        return self.engine.open(data if data is not None else path, name)

    def scan(self, content: Content, profile: str | None = None, labels: Iterable[str] | None = None,
             *, allow_video: bool = True) -> ScanResult:
        if content.kind == "video" and not allow_video:
            raise ServiceError("use_jobs", f"{content.name}: a video is scanned as a job: POST it to /v1/jobs")
        result = self.engine.scan(content, policy=self.policy(profile), labels=labels or None)
        self.metrics.observe_result(result)
        return result

    def scan_file(self, name: str, data: bytes, profile: str | None = None, labels: Iterable[str] | None = None,
                  *, allow_video: bool = True) -> ScanResult:
        """Scan a file now: in a worker process (a crash there costs this request, not the
        server) unless scan_processes is 0. An input that cannot be scanned raises its error."""
        if not self.lanes.enabled:
            return self.scan(self.open(name=name, data=data), profile, labels, allow_video=allow_video)
        from tamis.content.sniff import sniff

        if not allow_video and sniff(data[:4096]).kind == "video":
            raise ServiceError("use_jobs", f"{name}: a video is scanned as a job: POST it to /v1/jobs")
        result = self.lanes.scan(name, data)
        result.raise_error()
        return self.decided(result, profile, labels)

    def decided(self, result: ScanResult, profile: str | None, labels: Iterable[str] | None) -> ScanResult:
        """A result scanned in a worker process, decided here under the request's policy."""
        result = self.engine.decide(result, policy=self.policy(profile), labels=labels or None)
        self.metrics.observe_result(result)
        return result

    async def scan_texts_batched(self, items: list[tuple[str, str]], profile: str | None = None,
                                 labels: Iterable[str] | None = None) -> list[ScanResult]:
        """Like :meth:`scan_texts`, with the texts of other requests arriving at the same time."""
        import asyncio

        if not self.batcher.running:
            from fastapi.concurrency import run_in_threadpool

            return await run_in_threadpool(self.scan_texts, items, profile, labels)
        return await asyncio.wrap_future(self.batcher.submit(items, profile, labels))

    def scan_texts(self, items: list[tuple[str, str]], profile: str | None = None,
                   labels: Iterable[str] | None = None) -> list[ScanResult]:
        results = list(self.engine.scan_texts(items, policy=self.policy(profile), labels=labels or None))
        for r in results:
            self.metrics.observe_result(r)
        return results

    def run_job(self, job: Job) -> ScanResult:
        """Scan a job's input (raises an InputError for an input that cannot be scanned)."""
        opts = job.options
        if job.text is not None:
            content = self.open(name=job.name, text=job.text)
        else:
            content = self.open(name=job.name, path=str(self.blobs.path(job.blob)))
        return self.scan(content, opts.get("profile"), opts.get("labels"))
