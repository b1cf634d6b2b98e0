"""Signing in to the review page: a session cookie (HttpOnly, SameSite=Strict, Secure
over HTTPS), a CSRF token per session that every form carries, a double-submit token on
the sign-in form itself, and a pause after repeated wrong passwords."""

from __future__ import annotations

import hmac
import secrets
import threading
import time

from fastapi import Request
from fastapi.responses import Response

from tamis.service.errors import ServiceError
from tamis.storage import SignedIn

COOKIE = "tamis_review"
LOGIN_COOKIE = "tamis_review_login"
#: Wrong passwords for one name within WINDOW seconds before it is paused for WINDOW seconds
#: (four times as many from one client address).
FAILURES, WINDOW = 5, 300.0


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure(request),
                        path="/review")


def signed_in(request: Request) -> SignedIn | None:
    return request.app.state.service.review.reviewers.session(request.cookies.get(COOKIE))


def same_origin(request: Request) -> bool:
    """Whether a browser says the request comes from this site (or says nothing)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def check_csrf(request: Request, given: str | None, expected: str | None) -> None:
    if not (given and expected and hmac.compare_digest(given.encode(), expected.encode())) or not same_origin(request):
        raise ServiceError("csrf_failed", "this form is stale or came from another site: reload the page and try again")


def login_token() -> str:
    return secrets.token_urlsafe(24)


class Throttle:
    """Wrong passwords per name, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fails: dict[str, list[float]] = {}

    def paused(self, name: str, most: int = FAILURES) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._fails.get(name, []) if now - t < WINDOW]
            if recent:
                self._fails[name] = recent
            else:
                self._fails.pop(name, None)
            return len(recent) >= most

    def failed(self, name: str) -> None:
        with self._lock:
            self._fails.setdefault(name, []).append(time.monotonic())
            if len(self._fails) > 100_000:  # bounded: forget the names with the fewest failures
                for key in sorted(self._fails, key=lambda k: len(self._fails[k]))[:10_000]:
                    del self._fails[key]

    def cleared(self, name: str) -> None:
        with self._lock:
            self._fails.pop(name, None)
