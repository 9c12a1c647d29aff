"""Answers of "always" land in the person's policy file as text: comments and layout kept, and two
sessions answering at once both land (an exclusive lock around read-modify-write)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from termagent.errors import PolicyError
from termagent.policy.loader import load_policy
from termagent.policy.remembered import remember

MINE = """# my own policy: keep this comment
name: mine   # and this one
extends: default
rules:
    # a comment inside the list
    - name: make
      decision: allow
      reason: builds
      command: make

# a comment after the list
keys:
  C-d: ask
"""


def _rule(name: str) -> dict:
    return {"name": f"allowed-{name}", "decision": "allow", "reason": "allowed by the person", "command": name}


def test_appends_as_text_keeping_comments_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(MINE, encoding="utf-8")
    remember(path, [_rule("npm")], "default")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(MINE.split("\n# a comment after")[0])  # everything before untouched
    assert "    - name: allowed-npm\n      decision: allow\n" in text
    assert text.endswith("\n# a comment after the list\nkeys:\n  C-d: ask\n")
    policy = load_policy(str(path))
    assert policy.judge("npm test\n").decision.name == "ALLOW"
    remember(path, [_rule("npm")], "default")  # already there: nothing changes
    assert path.read_text(encoding="utf-8") == text


def test_creates_the_file_extending_the_policy_in_use(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "policy.yaml"
    remember(path, [_rule("make")], str(Path("policies/default.yaml").resolve()))
    assert path.read_text(encoding="utf-8").startswith("name: user\nextends: default\nrules:\n  - name: allowed-make\n")
    assert load_policy(str(path)).judge("make\n").decision.name == "ALLOW"


def _append_many(path: str, worker: int) -> None:
    for index in range(15):
        remember(Path(path), [_rule(f"w{worker}x{index}")], "default")


def test_concurrent_sessions_all_land(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(MINE, encoding="utf-8")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    policy = load_policy(str(path))
    names = {rule.name for rule in policy.rules}
    assert {f"allowed-w{w}x{i}" for w in range(4) for i in range(15)} <= names
    assert "# a comment after the list" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [\n", "not valid YAML"),
        ("- a list\n", "not a policy mapping"),
        ("rules: [{name: a, decision: allow, reason: r, command: a}]\n", "not a block list"),
    ],
)
def test_a_file_it_cannot_add_to_is_a_policy_error_and_stays_as_it_was(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=message) as caught:
        remember(path, [_rule("npm")], "default")
    assert "answer again" in (caught.value.hint or "")
    assert path.read_text(encoding="utf-8") == text
