from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from postgres import database_url, postgres  # noqa: F401 - fixtures: a real PostgreSQL server
from service_fixtures import client, service  # noqa: F401 - fixtures: a service and its client

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "images"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own TAMIS_HOME and no stray TAMIS_* settings."""
    import os

    for key in list(os.environ):
        if key.startswith("TAMIS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TAMIS_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def engine():
    """One loaded engine with all default detectors, shared by the tests (models load once)."""
    from tamis.config import Settings
    from tamis.engine import Engine

    return Engine(Settings(home=Path("/nonexistent-tamis-home"))).load()


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


def png_bytes(width=64, height=48, colour=(120, 130, 140), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), colour).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def noise_image(width=320, height=240, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC))
