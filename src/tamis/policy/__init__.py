"""Policy: turns findings into a decision (allow / review / block). Editable as YAML."""

from tamis.policy.policy import Policy, Rule, default_policy, load_policy

__all__ = ["Policy", "Rule", "default_policy", "load_policy"]
