"""``tamis train``: rebuild the models tamis trains itself."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from tamis.cli.common import TYPER, err, fail
from tamis.errors import TamisError

train_app = typer.Typer(help="Rebuild the models tamis trains itself.", **TYPER)


@train_app.command("text")
def train_text(
    data: Annotated[Path, typer.Option(metavar="DIR", help="Folder of the public text sets.")] = Path(
        "../shared/data/text"),
    own: Annotated[Path, typer.Option(
        metavar="DIR", help="Folder of tamis's own seed and validation sets.")] = Path("training/text"),
    to: Annotated[Optional[Path], typer.Option(
        "--out", metavar="DIR", help="Where to write the heads (default: models/text in the data folder, which "
        "the text detector then uses; src/tamis/detectors/text_model to rebuild the packaged ones).")] = None,
    card: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Where to write the model card.")] = Path(
        "docs/model-cards/text.md"),
    encoder: Annotated[bool, typer.Option(
        "--encoder/--no-encoder", help="Also fine-tune the English encoder (about 25 minutes on 2 cores).")] = True,
) -> None:
    """Rebuild the text classifier: the multilingual heads and the fine-tuned English encoder.

    Needs the 'train' extra (scikit-learn; torch and transformers for the encoder)."""
    from collections import Counter

    try:
        import sklearn  # noqa: F401
    except ImportError:
        fail(TamisError("training needs scikit-learn: pip install 'tamis[train]'"))
    from tamis.text.embedding import NAME, Embedder
    from tamis.training.text_sources import load_all
    from tamis.training.text_train import model_card, save, train

    if not data.is_dir() and not own.is_dir():
        fail(TamisError(f"no training data: neither {data} nor {own} is a folder"))
    if encoder and importlib.util.find_spec("torch") is None:
        fail(TamisError("fine-tuning the encoder needs torch: pip install 'tamis[train]' (or --no-encoder)"))
    from tamis.config import load_settings

    folder = to or load_settings().text_model_dir
    examples = load_all(data, own)
    models, meta = train(data, own, embedder=Embedder(), log=lambda m: err.print(m, highlight=False),
                         examples=examples)
    path = save(models, meta, folder, NAME)
    record = json.loads((folder / "text_heads.json").read_text())
    if encoder:
        from tamis.training import text_finetune

        encoder_card = text_finetune.run(examples, folder, log=lambda m: err.print(m, highlight=False))
    else:
        encoder_card = None
    counts = Counter(f"{e.source}/{e.split}" for e in examples)
    if card:
        card.parent.mkdir(parents=True, exist_ok=True)
        card.write_text(model_card(record, counts, encoder_card), encoding="utf-8")
    err.print(f"wrote {path} (sha256 {record['sha256'][:16]}...)" + (f" and {card}" if card else ""))
