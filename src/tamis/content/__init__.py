"""Content kinds: loaders turn bytes into typed content (and fan containers out into parts)."""

from tamis.content.base import Content, Source, read_source
from tamis.content.image import Frame, ImageContent, load_image
from tamis.content.sniff import sniff

__all__ = ["Content", "Source", "read_source", "ImageContent", "Frame", "load_image", "sniff"]
