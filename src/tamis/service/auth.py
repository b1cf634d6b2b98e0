"""Who is calling: ``Authorization: Bearer KEY``, checked against the stored keys' hashes.

Without any key configured the service is open (it then listens on loopback only, see
:func:`tamis.service.server.serve`); once a key exists every API call needs one, with the
scope the route asks for and within the key's rate limit.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from fastapi import Depends, Request

from tamis.service.errors import ServiceError
from tamis.storage import ApiKey


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None

    @property
    def owner(self) -> str:
        """Whose jobs these are ("" for the open service without keys)."""
        return self.key.id if self.key else ""

    @property
    def profile(self) -> str | None:
        return self.key.profile if self.key else None

    @property
    def sees_all(self) -> bool:
        return self.key is None or "admin" in self.key.scopes


class RateLimiter:
    """Requests per minute per key, as a token bucket (in this process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = defaultdict(lambda: (0.0, -1.0))

    def take(self, key: ApiKey) -> None:
        if key.rate_limit <= 0:
            return
        rate = key.rate_limit / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets[key.id]
            tokens = key.rate_limit if at < 0 else min(key.rate_limit, tokens + (now - at) * rate)
            if tokens < 1:
                wait = int((1 - tokens) / rate) + 1
                raise ServiceError("rate_limited", f"key {key.name!r} is over {key.rate_limit} requests a minute",
                                   retry_after=wait)
            self._buckets[key.id] = (tokens - 1, now)


def caller(scope: str):
    """A dependency: the caller, allowed ``scope``."""

    def check(request: Request) -> Caller:
        service = request.app.state.service
        if not service.auth_required():
            return Caller(None)
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ServiceError("unauthorized", "send an API key: Authorization: Bearer KEY")
        key = service.keys.verify(secret.strip())
        if key is None:
            raise ServiceError("unauthorized", "this API key is not valid (unknown or revoked)")
        if not key.allows(scope):
            raise ServiceError("forbidden", f"key {key.name!r} lacks the '{scope}' scope")
        request.app.state.limiter.take(key)
        request.state.key_name = key.name  # for the access log
        return Caller(key)

    return Depends(check)
