"""The must-hold numbers: no bypass attempt is allowed, every plainly read-only command is."""

from __future__ import annotations

import pytest

from policy_corpus import read_corpus
from termagent.policy.decision import Decision
from termagent.policy.engine import Policy

BYPASSES = read_corpus("bypass.txt")
READ_ONLY = read_corpus("readonly.txt")


def test_corpora_are_large_enough() -> None:
    assert len(set(BYPASSES)) >= 200
    assert len(set(READ_ONLY)) >= 150


@pytest.mark.parametrize("keystrokes", BYPASSES)
def test_default_does_not_allow_bypass(default_policy: Policy, keystrokes: str) -> None:
    verdict = default_policy.judge(keystrokes)
    assert verdict.decision is not Decision.ALLOW, verdict


@pytest.mark.parametrize("keystrokes", READ_ONLY)
def test_default_allows_read_only(default_policy: Policy, keystrokes: str) -> None:
    verdict = default_policy.judge(keystrokes)
    assert verdict.decision is Decision.ALLOW, verdict


@pytest.mark.parametrize("keystrokes", BYPASSES)
def test_strict_does_not_allow_bypass(strict_policy: Policy, keystrokes: str) -> None:
    assert strict_policy.judge(keystrokes).decision is not Decision.ALLOW


def test_strict_allows_only_a_minimal_set(strict_policy: Policy) -> None:
    allowed = [k for k in READ_ONLY if strict_policy.judge(k).decision is Decision.ALLOW]
    assert "ls -la\n" in allowed and "cat README.md\n" in allowed
    assert "git status\n" not in allowed and "find . -name '*.py'\n" not in allowed
    assert len(allowed) < len(READ_ONLY) / 2


def test_every_verdict_names_a_rule_and_a_reason(default_policy: Policy) -> None:
    for keystrokes in BYPASSES + READ_ONLY:
        verdict = default_policy.judge(keystrokes)
        assert verdict.rule and verdict.reason, keystrokes
