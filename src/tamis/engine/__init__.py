"""The engine: routes content to detectors, shares work between them, applies the policy."""

from tamis.engine.engine import Engine

__all__ = ["Engine"]
