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
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, log_level=log_level,
                    timeout_graceful_shutdown=30)
    finally:
        service.stop()
