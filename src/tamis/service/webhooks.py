"""Sends the webhook deliveries the store holds: a POST of the job's outcome, signed with
HMAC-SHA256 (``X-Hub-Signature: sha256=...``, as Mastodon signs its webhooks), to hosts the
operator allowed, without following redirects (a redirect is an answer, not a new host to
call); anything but a 2xx is tried again later."""

from __future__ import annotations

import logging
import threading

import httpx

from tamis.service.errors import ServiceError
from tamis.service.fetch import host_allowed, parse_url
from tamis.storage import DeliveryStore
from tamis.storage.webhooks import signature

log = logging.getLogger("tamis.service.webhooks")


def check_url(url: str, allowed: tuple[str, ...]) -> str:
    """``url`` if it is http(s) to a host the operator named (``host``, ``host:port``, ``*.domain``)."""
    _, host, port = parse_url(url, "webhook_url")
    if not host_allowed(host, port, allowed):
        raise ServiceError("webhook_not_allowed", f"webhook host {host!r} is not one the operator allows "
                           "(setting webhook_hosts)")
    return url


class WebhookSender:
    def __init__(self, deliveries: DeliveryStore, poll_seconds: float = 0.5, timeout: float = 10.0) -> None:
        self.deliveries = deliveries
        self.poll = poll_seconds
        self.timeout = timeout
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tamis-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 5)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False) as client:
            while not self._stop.is_set():
                try:
                    delivery = self.deliveries.claim()
                except Exception:  # noqa: BLE001 - the database is away for a moment
                    log.exception("could not claim a webhook delivery")
                    delivery = None
                if delivery is None:
                    self._wake.wait(self.poll)
                    self._wake.clear()
                    continue
                try:
                    self.send(client, delivery)
                except Exception:  # noqa: BLE001 - one delivery's fault (or the store's): the sender goes on
                    log.exception("webhook delivery %s failed", delivery.id)
                    try:
                        self.deliveries.record(delivery, None, "internal error while sending")
                    except Exception:  # noqa: BLE001 - its claim runs out and it is tried again
                        log.exception("could not record the failure of delivery %s", delivery.id)

    def send(self, client: httpx.Client, delivery) -> str:
        body = delivery.body.encode()
        headers = {"Content-Type": "application/json", "User-Agent": "tamis-webhooks",
                   "X-Hub-Signature": signature(self.deliveries.secret(), body),
                   "X-Tamis-Event": delivery.event, "X-Tamis-Delivery": delivery.id}
        try:
            answer = client.post(delivery.url, content=body, headers=headers)
            status = self.deliveries.record(delivery, answer.status_code,
                                            None if answer.is_success else f"HTTP {answer.status_code}")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            status = self.deliveries.record(delivery, None, f"{type(exc).__name__}: {exc}")
        log.info("webhook %s for job %s, try %d: %s", delivery.event, delivery.job_id, delivery.attempts, status)
        return status
