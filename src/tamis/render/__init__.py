"""Pictures of results: annotated copies and face-redacted copies."""

from tamis.render.images import annotate, redact_faces, save_image

__all__ = ["annotate", "redact_faces", "save_image"]
