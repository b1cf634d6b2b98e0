"""``tamis serve``: uvicorn running the app, on loopback unless API keys exist."""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import sys
import time

from tamis.config import Settings
from tamis.errors import ConfigError

#: Fields a log record may carry besides its message (the access log's).
_EXTRA = ("request_id", "method", "path", "route", "status", "ms", "key")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        for key in _EXTRA:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def check_bind(host: str, keys_exist: bool) -> bool:
    """Whether ``host`` is loopback only; beyond it, without keys, a ConfigError."""
    loopback = is_loopback(host)
    if not keys_exist and not loopback:
        raise ConfigError(f"refusing to listen on {host}: without API keys anyone who can reach it could use it. "
                          "Create a key first (tamis keys create NAME --scopes scan), or listen on 127.0.0.1")
    return loopback


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("tamis", "uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(level.upper())
        lg.propagate = False


#: Most bytes of a request line and its headers (uvicorn's httptools parser keeps any amount).
MAX_HEAD_BYTES = 64 * 1024


def _raw_error(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode("latin-1") + body


def http_protocol(header_timeout: float, max_head_bytes: int = MAX_HEAD_BYTES) -> type:
    """uvicorn's HTTP protocol (httptools) with what it lacks against slow or greedy clients:
    a request's line and headers must come within ``header_timeout`` seconds of its first byte
    (or of the connection, for a client that sends nothing), else the connection is closed
    (with a 408 if part of a request came); and at most ``max_head_bytes`` of them, else 431.
    uvicorn has no header timeout (its keep-alive timer runs only between requests and stops
    at the first byte), and httptools buffers a header line of any length."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    log = logging.getLogger("tamis.service")

    class Protocol(HttpToolsProtocol):
        _head_timer = None
        _head_open = False  # between a request's first byte (or the connection) and its headers' end
        _head_begun = False  # and a request's first byte came
        _head_bytes = 0

        def _begin_head(self, begun: bool) -> None:
            self._head_open, self._head_begun, self._head_bytes = True, begun, 0
            if header_timeout > 0 and self._head_timer is None:
                self._head_timer = self.loop.call_later(header_timeout, self._head_timed_out)

        def _end_head(self) -> None:
            self._head_open = False
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _refuse(self, raw: bytes | None) -> None:
            self._end_head()
            if not self.transport.is_closing():
                if raw is not None and (self.cycle is None or self.cycle.response_complete):
                    self.transport.write(raw)  # not into the middle of a pipelined request's response
                self.transport.close()

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if not self._head_open:
                return
            if self.cycle is not None and not self.cycle.response_complete:  # pipelined behind a running one
                self.cycle.keep_alive = False  # the connection ends with that request's response
                return
            log.info("closing a connection whose request headers did not come within %g s", header_timeout)
            self._refuse(_raw_error(408, "Request Timeout", "body_timeout", "the request headers did not come "
                                    f"within {header_timeout:g} s") if self._head_begun else None)

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._begin_head(begun=False)

        def connection_lost(self, exc) -> None:
            self._end_head()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._begin_head(begun=True)

        def on_headers_complete(self) -> None:
            self._end_head()
            super().on_headers_complete()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)  # may begin a request (and count its head from 0)
            if self._head_open:
                self._head_bytes += len(data)
            if self._head_open and self._head_bytes > max_head_bytes:
                self._refuse(_raw_error(431, "Request Header Fields Too Large", "too_large",
                                        f"the request line and headers are over {max_head_bytes:,} bytes"))

    return Protocol


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080, log_level: str = "info") -> None:
    import uvicorn

    from tamis import __version__
    from tamis.engine.runtime import limit_malloc_arenas
    from tamis.service.app import create_app
    from tamis.service.state import Service

    service = Service(settings)
    service.require_keys = not check_bind(host, service.keys.any_active())  # beyond loopback, never without a key
    limit_malloc_arenas()
    configure_logging(log_level)
    logging.getLogger("tamis.service").info(
        "tamis %s on http://%s:%d (API docs at /docs), store %s, %d job workers", __version__, host, port,
        service.db.url.render_as_string(hide_password=True), service.workers.count)
    app = create_app(service)
    try:
        # Slow clients: the headers within body_timeout_seconds (the protocol above), the body
        # within its time (BodyLimit), idle keep-alive connections closed after 5 s (uvicorn's
        # default, set here so it stays). No limit_concurrency: uvicorn counts open connections
        # in it, idle ones included, and answers 503 to everyone past it, so slow clients
        # holding connections would shut real ones out; put a proxy with per-client connection
        # limits in front for that.
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, log_level=log_level,
                    timeout_graceful_shutdown=30, timeout_keep_alive=5,
                    http=http_protocol(settings.body_timeout_seconds))
    finally:
        service.stop()
