from __future__ import annotations

import pytest

from tamis.errors import PolicyError
from tamis.policy import default_policy, load_policy
from tamis.results import Action, Finding


def f(label, score):
    return Finding(label, score, "test", "1")


def test_default_policy_decisions():
    pol = default_policy()
    assert pol.decide([]).action is Action.ALLOW
    assert pol.decide([f("sexual", 0.1)]).action is Action.ALLOW
    assert pol.decide([f("sexual", 0.6)]).action is Action.REVIEW
    d = pol.decide([f("sexual", 0.95), f("sexual/explicit", 0.95), f("sexual/suggestive", 0.3)])
    assert d.action is Action.BLOCK
    assert d.reasons[0].action is Action.BLOCK and d.reasons[0].threshold <= 0.95
    assert pol.decide([f("qr_code", 1.0)]).action is Action.ALLOW  # disabled by default


def test_sub_label_inherits_parent_rule():
    pol = load_policy(None)
    # pii/email has no own rule: it uses pii's
    assert pol.rule_for("pii/email") == pol.rules["pii"]


def test_profiles(tmp_path):
    strict = default_policy("strict")
    assert strict.name == "strict"
    assert strict.decide([f("sexual", 0.35)]).action is Action.REVIEW
    assert default_policy().decide([f("sexual", 0.35)]).action is Action.ALLOW
    assert strict.decide([f("qr_code", 1.0)]).action is Action.REVIEW
    lenient = default_policy("lenient")
    assert lenient.decide([f("sexual", 0.99), f("sexual/suggestive", 0.7)]).action is Action.ALLOW


def test_policy_file_overrides_and_disables(tmp_path):
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\nlabels:\n  sexual: {review: 0.2}\n  profanity: {enabled: false}\n"
                 "profiles:\n  night:\n    labels:\n      sexual: {block: 0.3}\n")
    pol = load_policy(p)
    assert pol.rules["sexual"].review == 0.2
    assert pol.rules["sexual"].block == 0.90  # kept from the built-in default
    assert pol.decide([f("profanity", 1.0)]).action is Action.ALLOW
    assert load_policy(p, "night").decide([f("sexual", 0.31)]).action is Action.BLOCK


@pytest.mark.parametrize("text,line,words", [
    ("version: 1\nlabels:\n  sexy: {review: 0.2}\n", 3, "unknown label 'sexy'"),
    ("version: 1\nlabels:\n  sexual:\n    review: 1.5\n", 4, "out of range"),
    ("version: 1\nlabels:\n  sexual:\n    review: high\n", 4, "must be a number"),
    ("version: 1\nlabels:\n  sexual: {review: 0.9, block: 0.5}\n", 3, "above block"),
    ("version: 1\nlabels:\n  sexual: {revue: 0.9}\n", 3, "unknown key 'revue'"),
    ("version: 1\nlabel:\n  sexual: {review: 0.9}\n", 2, "unknown key 'label'"),
    ("version: 2\n", 1, "unsupported policy version"),
    ("version: 1\nlabels: [a, b\n", None, "not valid YAML"),
    ("version: 1\nprofiles:\n  p:\n    labels:\n      weather: {review: 0.1}\n", 5, "unknown label"),
])
def test_policy_errors_name_file_and_line(tmp_path, text, line, words):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(p)
    msg = info.value.message
    assert words in msg
    assert str(p) in msg
    if line:
        assert info.value.line == line and f"{p}:{line}:" in msg


def test_missing_profile_and_file(tmp_path):
    with pytest.raises(PolicyError, match="no profile 'nope'"):
        default_policy("nope")
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "missing.yaml")
