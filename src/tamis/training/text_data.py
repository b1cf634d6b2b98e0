"""Labelled text for the text classifier: public sets (../shared/data/text) and our own sets.

Each example says which labels it speaks to (``covers``): a public set labelled for hate
says nothing about self-harm, so it trains and tests only the heads it covers. Our own
hand-written sets (training/text/) cover every text label.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The labels the text classifier scores.
TEXT_LABELS = (
    "sexual", "sexual/explicit", "sexual/suggestive", "sexual/minors",
    "violence", "violence/graphic", "violence/threat",
    "hate", "hate/threatening", "harassment", "harassment/threatening",
    "self_harm", "self_harm/intent", "self_harm/instructions",
    "extremism", "drugs", "spam", "spam/scam", "profanity",
)
ALL = frozenset(TEXT_LABELS)


@dataclass(frozen=True)
class Example:
    text: str
    labels: frozenset[str]
    covers: frozenset[str]
    source: str
    lang: str = "en"
    split: str = "train"  # train | validation

    def target(self, label: str) -> int | None:
        """1, 0, or None when this example says nothing about ``label``."""
        if label in self.labels:
            return 1
        return 0 if label in self.covers else None


def split_of(text: str, validation_share: float) -> str:
    """A stable split from the text itself, so reruns and data order do not move examples."""
    h = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "validation" if h < validation_share else "train"


def clean(text: str) -> str:
    return " ".join(text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").split())


def davidson(path: Path, share: float) -> Iterator[Example]:
    """Tweets: 0 hate speech, 1 offensive language, 2 neither (Davidson et al. 2017, MIT)."""
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = clean(row["tweet"])
            cls = int(row["class"])
            if cls == 0:
                labels, covers = {"hate"}, {"hate"}
            elif cls == 1:
                labels, covers = {"profanity"}, {"profanity", "hate"}
            else:
                labels, covers = set(), {"hate", "profanity", "harassment"}
            yield Example(text, frozenset(labels), frozenset(covers), "davidson", "en", split_of(text, share))


def surge(path: Path, share: float) -> Iterator[Example]:
    """Comments labelled toxic / not toxic (Surge AI, MIT): toxic here is insulting or demeaning
    a person, so it is taken as harassment; not-toxic comments are negatives for the abuse labels."""
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = clean(row["text"])
            toxic = row["is_toxic"].strip().lower() == "toxic"
            labels = {"harassment"} if toxic else set()
            covers = {"harassment"} if toxic else {"harassment", "hate", "violence", "sexual"}
            yield Example(text, frozenset(labels), frozenset(covers), "surge", "en", split_of(text, share))


def toxigen(folder: Path, share: float) -> Iterator[Example]:
    """Implicit hate and neutral statements about groups (Microsoft TOXIGEN, MIT; weak labels)."""
    seen: set[str] = set()
    for path in sorted((folder / "prompts").glob("*_1k.txt")):
        hateful = path.name.startswith("hate_")
        for line in path.read_text(encoding="utf-8").splitlines():
            for part in line.replace("\\n", "\n").split("\n"):
                text = clean(part.strip().lstrip("-").strip())
                if len(text) < 8 or text in seen:
                    continue
                seen.add(text)
                yield Example(text, frozenset({"hate"} if hateful else set()), frozenset({"hate"}),
                              "toxigen", "en", split_of(text, share))


def sms_spam(path: Path, share: float) -> Iterator[Example]:
    """SMS Spam Collection (CC BY 4.0): spam, or ham (ordinary messages, benign for every label)."""
    with path.open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader, None)
        for row in reader:
            if len(row) < 2:
                continue
            text = clean(row[1])
            spam = row[0].strip() == "spam"
            yield Example(text, frozenset({"spam"} if spam else set()), frozenset({"spam"} if spam else ALL),
                          "sms_spam", "en", split_of(text, share))


def is_own(source: str) -> bool:
    """Whether a source is one of our own sets (training/text/*.jsonl), not a public one."""
    return source.startswith(("seed", "written", "validation"))


def own_sets(folder: Path) -> Iterator[Example]:
    """training/text/*.jsonl: hand-written, every text label covered; split as written."""
    for path in sorted(folder.glob("*.jsonl")):
        for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            item = json.loads(raw)
            labels = frozenset(item.get("labels", []))
            unknown = labels - ALL
            if unknown:
                raise ValueError(f"{path}:{lineno}: unknown labels {sorted(unknown)}")
            split = "validation" if item.get("split") == "validation" else "train"
            yield Example(item["text"], labels, ALL, path.stem, item.get("lang", "en"), split)
