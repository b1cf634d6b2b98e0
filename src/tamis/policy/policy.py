"""Thresholds per label, profiles, and the decision they give."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from tamis.errors import PolicyError, TamisError
from tamis.policy.timeline import notable
from tamis.results import Action, Decision, Finding, Reason, ScanResult
from tamis.taxonomy import check_label, lineage

#: A threshold no score reaches ("never" in a policy file).
NEVER = math.inf


@dataclass(frozen=True)
class Rule:
    review: float
    block: float
    enabled: bool = True


@dataclass(frozen=True)
class Policy:
    """Rules per label. Use :func:`load_policy` or :func:`default_policy` to build one."""

    rules: dict[str, Rule]
    name: str = "default"
    source: str = "<built-in>"
    profiles: tuple[str, ...] = field(default=())

    def rule_for(self, label: str) -> Rule | None:
        for name in lineage(label):
            if name in self.rules:
                return self.rules[name]
        return None

    def decide(self, findings: Iterable[Finding] | ScanResult) -> Decision:
        """The decision for ``findings`` (or for a result's findings, as stored)."""
        if isinstance(findings, ScanResult):
            findings = findings.findings
        reasons = []
        action = Action.ALLOW
        for f in findings:
            rule = self.rule_for(f.label)
            if rule is None or not rule.enabled:
                continue
            if f.score >= rule.block:
                hit, threshold = Action.BLOCK, rule.block
            elif f.score >= rule.review:
                hit, threshold = Action.REVIEW, rule.review
            else:
                continue
            reasons.append(Reason(f.label, f.score, hit, threshold, rule=f"{self.name}:{f.label}"))
            if hit.rank > action.rank:
                action = hit
        reasons.sort(key=lambda r: (-r.action.rank, -r.score))
        return Decision(action, tuple(reasons), policy=self.name)

    def apply(self, result: ScanResult) -> ScanResult:
        """A copy of a (stored) result decided under this policy: its decision, and for a
        video its timeline, rebuilt from the scores it holds, as a scan under this policy
        would have made them. An error result is returned as it is."""
        from dataclasses import replace

        from tamis.policy.timeline import timeline

        if result.error is not None and result.document is None:
            return result
        out = replace(result, decision=self.decide(result.findings))  # shallow: the content is shared
        if out.video is not None:
            v = out.video
            interval = float(v.sampling.get("interval_s", 1.0))
            out.video = replace(v, segments=timeline(v.frames, v.duration, interval, notable(self)))
        return out



# --- loading, with line numbers for every error --------------------------------------

def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, what: str, src: str) -> list[tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise PolicyError(f"{what} must be a mapping", src, _line(node))
    return node.value


def _scalar(node: yaml.Node, src: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise PolicyError("expected a single value", src, _line(node))
    return node.value


def _threshold(node: yaml.Node, key: str, label: str, src: str) -> float:
    raw = _scalar(node, src)
    if raw.strip().lower() == "never":
        return NEVER
    try:
        value = float(raw)
    except ValueError:
        raise PolicyError(f"{label}: {key} must be a number in [0, 1] or 'never', got {raw!r}",
                          src, _line(node)) from None
    if not 0.0 <= value <= 1.0:
        raise PolicyError(f"{label}: {key} = {value} is out of range [0, 1]", src, _line(node))
    return value


def _parse_labels(node: yaml.Node, base: dict[str, Rule], src: str) -> dict[str, Rule]:
    rules = dict(base)
    for key_node, value_node in _mapping(node, "labels", src):
        label = _scalar(key_node, src)
        try:
            check_label(label)
        except TamisError as exc:
            raise PolicyError(exc.message, src, _line(key_node)) from None
        fields = dict(review=None, block=None, enabled=None)
        for k_node, v_node in _mapping(value_node, f"rule for {label}", src):
            k = _scalar(k_node, src)
            if k not in fields:
                raise PolicyError(f"{label}: unknown key {k!r} (use review, block, enabled)",
                                  src, _line(k_node))
            if k == "enabled":
                v = _scalar(v_node, src).lower()
                if v not in ("true", "false", "yes", "no", "on", "off"):
                    raise PolicyError(f"{label}: enabled must be true or false", src, _line(v_node))
                fields[k] = v in ("true", "yes", "on")
            else:
                fields[k] = _threshold(v_node, k, label, src)
        prior = rules.get(label) or next((rules[n] for n in lineage(label)[1:] if n in rules), None)
        review = fields["review"] if fields["review"] is not None else (prior.review if prior else 0.5)
        block = fields["block"] if fields["block"] is not None else (prior.block if prior else NEVER)
        if review > block:
            raise PolicyError(f"{label}: review threshold {review} is above block threshold {block}",
                              src, _line(value_node))
        enabled = fields["enabled"] if fields["enabled"] is not None else (prior.enabled if prior else True)
        rules[label] = Rule(review, block, enabled)
    return rules


def _profile_rules(node: yaml.Node, rules: dict[str, Rule], name: str, src: str) -> dict[str, Rule]:
    """The rules of profile ``name``: its ``labels`` applied on top of ``rules``."""
    out = rules
    for key_node, value_node in _mapping(node, f"profile {name}", src):
        if _scalar(key_node, src) != "labels":
            raise PolicyError(f"profile {name}: unknown key {_scalar(key_node, src)!r} (use labels)",
                              src, _line(key_node))
        out = _parse_labels(value_node, out, src)
    return out


def parse_policy(text: str, src: str, profile: str | None = None,
                 base: dict[str, Rule] | None = None) -> Policy:
    """Parse a policy document; ``profile`` selects one of its ``profiles`` on top of ``labels``."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(f"not valid YAML: {getattr(exc, 'problem', exc)}", src,
                          mark.line + 1 if mark else None) from None
    except RecursionError:  # PyYAML is recursive: thousands of nested [ or {
        raise PolicyError("not valid YAML: nested too deeply", src) from None
    if root is None:
        raise PolicyError("the policy is empty", src)
    rules = dict(base or {})
    profiles: dict[str, yaml.Node] = {}
    for key_node, value_node in _mapping(root, "the policy", src):
        key = _scalar(key_node, src)
        if key == "version":
            if _scalar(value_node, src) != "1":
                raise PolicyError("unsupported policy version (this tamis reads version 1)", src,
                                  _line(value_node))
        elif key == "labels":
            rules = _parse_labels(value_node, rules, src)
        elif key == "profiles":
            for p_key, p_value in _mapping(value_node, "profiles", src):
                profiles[_scalar(p_key, src)] = p_value
        else:
            raise PolicyError(f"unknown key {key!r} (use version, labels, profiles)", src, _line(key_node))
    # Every profile is built (and so checked) now: a mistake shows when the file loads.
    built = {name: _profile_rules(node, rules, name, src) for name, node in profiles.items()}
    name = "default"
    if profile and profile != "default":
        if profile not in built:
            raise PolicyError(f"no profile {profile!r} (profiles: {', '.join(profiles) or 'none'})", src)
        rules, name = built[profile], profile
    return Policy(rules=rules, name=name, source=src, profiles=tuple(profiles))


def _default_text() -> str:
    return resources.files("tamis.policy").joinpath("default.yaml").read_text(encoding="utf-8")


def default_policy(profile: str | None = None) -> Policy:
    return parse_policy(_default_text(), "<built-in default.yaml>", profile)


def load_policy(path: str | Path | None = None, profile: str | None = None) -> Policy:
    """Load a policy file on top of the built-in defaults (or the defaults alone)."""
    if path is None:
        return default_policy(profile)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError("policy file not found", str(p)) from None
    except UnicodeDecodeError:
        raise PolicyError("policy file is not UTF-8 text", str(p)) from None
    base = default_policy().rules
    return parse_policy(text, str(p), profile, base=base)
