"""Pictures of results: annotated copies and face-redacted copies."""

from tamis.render.images import annotate, redact_faces, save_image
from tamis.render.report import card, render_report

__all__ = ["annotate", "redact_faces", "save_image", "card", "render_report"]
