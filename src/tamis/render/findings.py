"""Findings as people read them (the CLI's table, the HTML report): repeats of a label
shown once with a count, and findings under the policy's thresholds left out unless asked
for. JSON output is never summarised this way."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from tamis.results import Finding

#: The lowest score shown for a label the policy never acts on (review ``never``, or the
#: label disabled), and for every label when no policy is given.
FLOOR = 0.1


@dataclass
class Shown:
    """Findings of one label (of one QR payload, for ``qr_code``): the highest score, how
    many there are, and the highest-scoring one (its place and data)."""

    label: str
    score: float
    count: int
    top: Finding

    def text(self) -> str:
        """``pii/email 0.95 ×6``; a QR code with the start of its payload."""
        extra = f" {self.top.data.get('payload', '')[:30]!r}" if self.label == "qr_code" else ""
        times = f" ×{self.count}" if self.count > 1 else ""
        return f"{self.label} {self.score:.2f}{extra}{times}"


def threshold(label: str, policy=None) -> float:
    """The lowest score of ``label`` worth showing: the lowest threshold the policy has for
    it (its review threshold), or :data:`FLOOR` when the policy never acts on it."""
    if policy is None:
        return FLOOR
    rule = policy.rule_for(label)
    if rule is None or not rule.enabled or not math.isfinite(rule.review):
        return FLOOR
    return rule.review


def notable(findings: Iterable[Finding], policy=None, everything: bool = False) -> tuple[list[Shown], int]:
    """(Groups, highest score first; how many findings were left out as under their
    threshold). With ``everything`` none is left out; repeats are still grouped."""
    groups: dict[tuple[str, str | None], Shown] = {}
    hidden = 0
    for f in sorted(findings, key=lambda f: -f.score):
        if not everything and f.score < threshold(f.label, policy):
            hidden += 1
            continue
        key = (f.label, str(f.data.get("payload")) if f.label == "qr_code" else None)
        group = groups.get(key)
        if group is None:
            groups[key] = Shown(f.label, f.score, 1, f)
        else:
            group.count += 1
    return list(groups.values()), hidden
