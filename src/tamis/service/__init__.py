"""The tamis service: an HTTP API over the same Python API the CLI uses (``tamis serve``)."""

from tamis.service.app import create_app
from tamis.service.state import Service

__all__ = ["Service", "create_app"]
