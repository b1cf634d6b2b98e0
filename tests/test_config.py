from __future__ import annotations

from pathlib import Path

import pytest

from tamis.config import load_settings
from tamis.errors import ConfigError


def test_home_from_environment(tmp_path):
    s = load_settings(env={"TAMIS_HOME": str(tmp_path)})
    assert s.home == tmp_path and s.config_file == tmp_path / "config.yaml"


def test_default_home_is_user_data_dir():
    s = load_settings(env={})
    assert "tamis" in str(s.home)


def test_file_then_environment_then_overrides(tmp_path):
    (tmp_path / "config.yaml").write_text("max_pixels: 1000\nmax_frames: 3\ndetectors: [nsfw, faces]\n")
    env = {"TAMIS_HOME": str(tmp_path), "TAMIS_MAX_FRAMES": "5"}
    s = load_settings(env=env, min_side=2)
    assert s.max_pixels == 1000 and s.max_frames == 5 and s.min_side == 2
    assert s.detectors == ("nsfw", "faces")


def test_bad_settings_are_clear(tmp_path):
    (tmp_path / "config.yaml").write_text("max_pixel: 1000\n")
    with pytest.raises(ConfigError, match="unknown setting 'max_pixel'"):
        load_settings(env={"TAMIS_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="TAMIS_MAX_BYTES"):
        load_settings(env={"TAMIS_HOME": str(tmp_path / "x"), "TAMIS_MAX_BYTES": "lots"})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(config_file=Path(tmp_path / "none.yaml"), env={})
