"""Per-label text thresholds chosen from false alarms measured on harmless held-out texts.

The model card gives threshold-free ROC-AUC and AUPRC; what an operator gets is the decision at
the policy's thresholds. This scores the held-out validation texts and, per label, picks the
review threshold at which about 1 % of harmless texts would go to review (block: 0.2 %), and
reports the recall that buys, in eval/text/THRESHOLDS.md.

    .venv/bin/python eval/text/thresholds.py [--data ../shared/data/text] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


#: Target false-alarm rates on harmless texts (texts with no label that speak to the label).
REVIEW_FALSE, BLOCK_FALSE = 0.01, 0.002
#: Public sets whose "negatives" are not ordinary traffic: posts all rated toxic (toxic spans),
#: tweets found by hateful keywords (MLMA), from hate-adjacent accounts (implicit hate), comments
#: on race and gender topics (COLD), machine-assembled statements about groups (TOXIGEN). Their
#: negatives are reported as hard negatives; thresholds come from the ordinary harmless texts.
HARD_NEGATIVE_SOURCES = {"toxic_spans", "mlma_en", "mlma_fr", "mlma_ar", "implicit_hate", "cold", "cold_test",
                         "toxigen"}
#: A block threshold at least this much above review, and at least BLOCK_FLOOR.
BLOCK_MARGIN, BLOCK_FLOOR = 0.2, 0.6
#: Labels that images share (open_nsfw, NudeNet): their thresholds stay as the policy has them.
SHARED_WITH_IMAGES = {"sexual", "sexual/explicit", "sexual/suggestive"}


#: No text label goes to review below this score: under it the calibrated model says the text is
#: more likely harmless than not, and a queue filled with such texts costs reviewers more than
#: the few it adds are worth (recall at each threshold is in THRESHOLDS.md).
REVIEW_MIN = 0.4


def threshold_for(neg: np.ndarray, rate: float) -> float:
    """The lowest threshold (on a 0.05 grid, at least REVIEW_MIN) with at most ``rate`` of ``neg``
    at or above it."""
    for t in np.arange(REVIEW_MIN, 0.991, 0.05):
        if (neg >= t).mean() <= rate:
            return round(float(t), 2)
    return 0.99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "text")
    parser.add_argument("--write", action="store_true", help="write eval/text/THRESHOLDS.md")
    parser.add_argument("--apply", action="store_true", help="write the thresholds into the default policy")
    args = parser.parse_args()
    from tamis.content.text import TextContent
    from tamis.detectors.text_classifier import TextClassifier
    from tamis.policy import load_policy
    from tamis.training.text_data import TEXT_LABELS
    from tamis.training.text_sources import load_all
    from tamis.training.text_train import cap_sources

    examples = [e for e in cap_sources(load_all(args.data, REPO / "training" / "text"))
                if e.split == "validation" and e.source != "simplesafetytests"]
    classifier = TextClassifier()
    classifier.load()
    scores: list[dict[str, float]] = []
    for first in range(0, len(examples), 256):
        chunk = [TextContent(kind="text", name=f"v{i}", media_type="text/plain", data=b"", text=e.text)
                 for i, e in enumerate(examples[first:first + 256], first)]
        scores += [out.scores for out in classifier.analyze(chunk)]
    policy = load_policy(None)
    rows = []
    for label in TEXT_LABELS:
        rule = policy.rule_for(label)
        targets = [(e.target(label), s.get(label, 0.0), not e.labels, e.source in HARD_NEGATIVE_SOURCES)
                   for e, s in zip(examples, scores)]
        pos = np.array([s for t, s, _, _ in targets if t == 1])
        harmless = np.array([s for t, s, h, hard in targets if t == 0 and h and not hard])
        hard = np.array([s for t, s, h, hard in targets if t == 0 and h and hard])
        other = np.array([s for t, s, h, _ in targets if t == 0 and not h])
        if not len(pos) or not len(harmless):
            continue
        review, block = threshold_for(harmless, REVIEW_FALSE), threshold_for(harmless, BLOCK_FALSE)
        block = round(min(max(block, review + BLOCK_MARGIN, BLOCK_FLOOR), 0.99), 2)
        if label in NEVER_BLOCK:
            block = float("inf")
        if label in SHARED_WITH_IMAGES:
            review, block = rule.review, rule.block

        def share(x, t):
            return float((x >= t).mean()) if len(x) else float("nan")

        rows.append({
            "label": label, "positives": len(pos), "harmless": len(harmless), "other": len(other),
            "hard": len(hard), "hard_review": share(hard, review),
            "review": review, "block": block, "policy_review": rule.review, "policy_block": rule.block,
            "recall_review": share(pos, review), "false_review": share(harmless, review),
            "other_review": share(other, review),
            "recall_block": share(pos, block), "false_block": share(harmless, block),
        })
    print(json.dumps(rows, indent=1))
    if args.write:
        write(rows, len(examples))
    if args.apply:
        apply(rows)


#: Labels never blocked by default, whatever the scores: swearing, and self-harm, which should
#: reach people who can help rather than vanish.
NEVER_BLOCK = {"profanity", "self_harm", "self_harm/intent"}


def apply(rows: list[dict]) -> None:
    """Write the chosen thresholds into src/tamis/policy/default.yaml (its text labels' lines)."""
    import re

    path = REPO / "src" / "tamis" / "policy" / "default.yaml"
    text = path.read_text(encoding="utf-8")
    for r in rows:
        if r["label"] in SHARED_WITH_IMAGES:
            continue
        block = "never" if r["block"] == float("inf") else f"{r['block']:.2f}"
        line = re.compile(rf"^(  {re.escape(r['label'])}:\s+)\{{[^}}]*\}}", re.M)
        rule = f"{{review: {r['review']:.2f}, block: {block}}}"
        text, n = line.subn(lambda m, rule=rule: m.group(1) + rule, text)
        assert n == 1, r["label"]
    path.write_text(text, encoding="utf-8")


def write(rows: list[dict], n: int) -> None:
    def pct(x: float) -> str:
        return "-" if x != x else f"{x:.1%}"

    def thr(x: float) -> str:
        return "never" if x == float("inf") else f"{x:g}"

    lines = [
        "# Text thresholds, chosen from measured false alarms",
        "",
        f"Generated by `.venv/bin/python eval/text/thresholds.py --write` on {n:,} held-out validation "
        "texts (the public sets' held-out share, at most 1,500 per source, and the hand-written validation "
        "sets; SimpleSafetyTests and the functional suites are kept for testing, eval/text/FUNCTIONAL.md).",
        "",
        f"For each label, **review** is the lowest threshold (0.05 steps, at least {REVIEW_MIN:g}) at which at most "
        f"{REVIEW_FALSE:.0%} of the harmless texts (no label at all) that speak to the label reach it, and "
        f"**block** the lowest with at most {BLOCK_FALSE:.1%}, and at least {BLOCK_MARGIN:g} above review and "
        f"{BLOCK_FLOOR:g}. Harmless means ordinary traffic: SMS, the hand-written validation sets, ordinary "
        "tweets and requests. The negatives of sets collected around abuse (all-toxic comments, tweets found "
        "by hateful keywords, hate-adjacent accounts, comments on race and gender) are *hard negatives*, "
        "reported beside: many of them are abusive in a way their set does not label. Recall is the share "
        "of the texts labelled with the label that reach the threshold; *other harmful* is the share of "
        "texts harmful in another way "
        "(an insult, for the threat label) that reach it: confusion between labels, which costs a wrong "
        "reason rather than a wrong decision. `sexual` labels keep the thresholds images use. The default "
        "policy (src/tamis/policy/default.yaml) takes these values.",
        "",
        "| label | positives / harmless / hard negatives / other harmful | review at | recall | false alarms | "
        "hard negatives flagged | other harmful flagged | block at | recall | false alarms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['label']}` | {r['positives']} / {r['harmless']} / {r['hard']} / {r['other']} | "
            f"{thr(r['review'])} | "
            f"{pct(r['recall_review'])} | {pct(r['false_review'])} | {pct(r['hard_review'])} | "
            f"{pct(r['other_review'])} | "
            f"{thr(r['block'])} | "
            f"{pct(r['recall_block']) if r['block'] != float('inf') else '-'} | "
            f"{pct(r['false_block']) if r['block'] != float('inf') else '-'} |")
    (Path(__file__).parent / "THRESHOLDS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
