"""The README's examples run as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from tamis.policy import load_policy

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("code", [c for lang, c in BLOCKS if lang == "python"])
def test_python_examples_run(code, monkeypatch, capsys):
    monkeypatch.chdir(README.parent)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out  # the example prints what it shows


@pytest.mark.parametrize("text", [c for lang, c in BLOCKS if lang == "yaml"])
def test_policy_examples_load(text, tmp_path):
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    data = yaml.safe_load(text)
    for profile in [None, *data.get("profiles", {})]:
        load_policy(p, profile)


def test_readme_commands_exist():
    from tamis.cli.main import app

    names = {c.name or c.callback.__name__ for c in app.registered_commands}
    for cmd in re.findall(r"tamis (\w+)", README.read_text()):
        if cmd in ("scan", "models", "labels", "policy"):
            assert cmd in names
    assert os.access(README.parent / ".ci" / "run", os.X_OK)
    assert "make test" in (README.parent / ".ci" / "run").read_text()
