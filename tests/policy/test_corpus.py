"""The must-hold numbers: no bypass attempt is allowed, every plainly read-only command is."""

from __future__ import annotations

import pytest
from policy_corpus import read_corpus

from termagent.policy.decision import Decision
from termagent.policy.engine import Policy
from termagent.policy.loader import load_policy

BYPASSES = read_corpus("bypass.txt")
READ_ONLY = read_corpus("readonly.txt")


def test_corpora_are_large_enough() -> None:
    assert len(set(BYPASSES)) >= 3000
    assert len(set(READ_ONLY)) >= 350


@pytest.mark.parametrize("policy_name", ["default", "strict", "sandboxed-auto"])
def test_no_bypass_is_allowed(policy_name: str, default_policy: Policy) -> None:
    """0 auto-allowed bypasses in default and strict; sandboxed-auto allows what a sandbox
    contains, but never what runs hidden code or is on the deny list."""
    policy = load_policy(policy_name)
    allowed = [k for k in BYPASSES if policy.judge(k).decision is Decision.ALLOW]
    if policy_name != "sandboxed-auto":
        assert allowed == []
    else:
        assert not any(default_policy.judge(k).decision is Decision.DENY for k in allowed)


def test_default_allows_nine_in_ten_read_only(default_policy: Policy) -> None:
    """The issue's bar: at least 90% of plainly read-only commands auto-allowed. The few that
    are not (`date -d x`, `git config NAME`, `read` in a loop) are asked about, not denied."""
    refused = [k for k in READ_ONLY if default_policy.judge(k).decision is not Decision.ALLOW]
    assert len(refused) <= len(READ_ONLY) // 10, refused
    assert not any(default_policy.judge(k).decision is Decision.DENY for k in refused)


def test_strict_allows_only_a_minimal_set(strict_policy: Policy) -> None:
    allowed = [k for k in READ_ONLY if strict_policy.judge(k).decision is Decision.ALLOW]
    assert "ls -la\n" in allowed and "cat README.md\n" in allowed
    assert "git status\n" not in allowed and "find . -name '*.py'\n" not in allowed
    assert len(allowed) < len(READ_ONLY) / 2


def test_every_verdict_names_a_rule_and_a_reason(default_policy: Policy) -> None:
    for keystrokes in BYPASSES + READ_ONLY:
        verdict = default_policy.judge(keystrokes)
        assert verdict.rule and verdict.reason, keystrokes
