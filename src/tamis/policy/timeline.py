"""A video's timeline under a policy: segments where a label's score reaches the policy's
review threshold, built from the scores of every selected frame (stored in the result),
so a stored result can be placed on the timeline of another policy."""

from __future__ import annotations

from collections.abc import Callable

from tamis.results import FrameRecord, Segment


def notable(policy) -> Callable[[str, float], bool]:
    """Whether a score puts a frame in a segment: at the policy's review threshold or over
    (0.5 for a label the policy does not act on)."""
    def check(label: str, score: float) -> bool:
        rule = policy.rule_for(label)
        if rule is None or not rule.enabled or rule.review == float("inf"):
            return score >= 0.5
        return score >= rule.review

    return check


def timeline(frames: list[FrameRecord], duration: float | None, interval: float,
             present: Callable[[str, float], bool]) -> list[Segment]:
    """Segments per label: runs of consecutive selected frames where the label's score is
    ``present``.

    A segment runs from its first frame to the next selected frame after its last one (or
    one sampling interval past it, at the end of the video).
    """
    frames = sorted((r for r in frames if r.error is None), key=lambda r: r.timestamp)
    out: list[Segment] = []
    labels = sorted({label for r in frames for label in r.scores})
    for label in labels:
        run: list[FrameRecord] = []
        for r in frames + [None]:
            if r is not None and label in r.scores and present(label, r.scores[label]):
                run.append(r)
                continue
            if run:
                best = max(run, key=lambda x: x.scores[label])
                end = r.timestamp if r is not None else run[-1].timestamp + interval
                if duration is not None:
                    end = min(end, max(duration, run[-1].timestamp))
                out.append(Segment(label, run[0].timestamp, round(end, 3), best.scores[label],
                                   best.index, best.timestamp, len(run)))
                run = []
    out.sort(key=lambda s: (s.start, s.label))
    return out
