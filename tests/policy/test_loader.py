from __future__ import annotations

from pathlib import Path

import pytest

from termagent.errors import PolicyError
from termagent.policy.decision import Decision
from termagent.policy.loader import builtin_names, load_policy


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    return str(caught.value)


def test_shipped_policies_load() -> None:
    assert builtin_names() == ["default", "sandboxed-auto", "strict"]
    for name in builtin_names():
        assert load_policy(name).name == name


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "p.yaml", "rules:\n  - name: a\n    decision: allow\n    reason: r\n    comand: ls\n")
    message = error_of(path)
    assert f"{path}:5: rules[0].comand: unknown field 'comand'" in message


def test_wrong_type_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.yaml", "default: ask\nrules:\n  - name: a\n    decision: maybe\n    reason: r\n    command: ls\n"
    )
    assert f"{path}:4: rules[0].decision: 'maybe' is not one of" in error_of(path)
    path = write(
        tmp_path / "q.yaml", "rules:\n  - name: a\n    decision: allow\n    reason: r\n    command: ls\n    args: ls\n"
    )
    assert f"{path}:6: rules[0].args: 'ls' is not of type 'array'" in error_of(path)


def test_constructs_cannot_be_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "p.yaml", "constructs:\n  dynamic_command: allow\n")
    assert f"{path}:2: constructs.dynamic_command: 'allow' is not one of ['ask', 'deny']" in error_of(path)


def test_rule_needs_command_or_regex(tmp_path: Path) -> None:
    path = write(tmp_path / "p.yaml", "rules:\n  - name: a\n    decision: allow\n    reason: r\n")
    assert f"{path}:2: rules[0]: a rule needs `command`" in error_of(path)


def test_failing_examples_stop_the_load(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.yaml",
        "rules:\n  - name: git-read\n    decision: allow\n    reason: r\n    command: git\n    args: ['status|log']\n"
        '    examples:\n      match: ["git status\\n", "git push\\n"]\n      not_match: ["git log\\n"]\n',
    )
    message = error_of(path)
    assert f"{path}:8: rule 'git-read': example 'git push\\n' should match but does not" in message
    assert f"{path}:9: rule 'git-read': example 'git log\\n' should not match but does" in message


def test_bad_yaml_and_bad_regex(tmp_path: Path) -> None:
    assert f"{tmp_path / 'p.yaml'}:3: not valid YAML" in error_of(
        write(tmp_path / "p.yaml", "rules:\n  - a: b\n   c: d\n")
    )
    path = write(tmp_path / "r.yaml", "rules:\n  - name: a\n    decision: deny\n    reason: r\n    regex: '('\n")
    assert f"{path}:2: rule 'a': bad regular expression" in error_of(path)


def test_extends_and_include(tmp_path: Path) -> None:
    write(
        tmp_path / "extra.yaml", "rules:\n  - name: make\n    decision: allow\n    reason: builds\n    command: make\n"
    )
    path = write(
        tmp_path / "mine.yaml",
        "extends: default\ninclude: [extra.yaml]\nrules:\n"
        "  - name: read-only-basic\n    decision: allow\n    reason: only ls now\n    command: ls\n",
    )
    policy = load_policy(str(path))
    assert policy.name == "mine"
    assert policy.judge("make\n").decision is Decision.ALLOW
    assert policy.judge("rm -rf /\n").decision is Decision.DENY  # inherited deny list
    assert policy.judge("cat x\n").decision is Decision.ASK  # replaced by name
    assert policy.judge("git status\n").decision is Decision.ALLOW


def test_include_loop_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "include: [b.yaml]\n")
    write(tmp_path / "b.yaml", "extends: ./a.yaml\n")
    assert "include each other in a loop" in error_of(tmp_path / "a.yaml")


def test_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no shipped policy named 'nope'"):
        load_policy("nope")
    assert "cannot read policy file" in error_of(tmp_path / "missing.yaml")


def test_key_names_in_a_policy_are_read_like_keystrokes(tmp_path: Path) -> None:
    """`c-d`, `^Z` in a policy file are the keys C-d and C-z, however the model spells them."""
    path = tmp_path / "keys.yaml"
    path.write_text("name: k\nextends: default\nkeys:\n  c-d: allow\n  ^Z: allow\n", encoding="utf-8")
    policy = load_policy(str(path))
    for spelling in ("C-d", "c-d", "^D", "\x04", "C-z", "\x1a"):
        assert policy.judge(spelling).decision is Decision.ALLOW, spelling
