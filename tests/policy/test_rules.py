from __future__ import annotations

from termagent.policy.decision import Decision
from termagent.policy.loader import compile_rule
from termagent.policy.rules import Pattern
from termagent.policy.shell_parse import parse


def rule(**fields: object):  # noqa: ANN201 - a Rule
    return compile_rule({"name": "r", "decision": "allow", "reason": "r", **fields}, "test")


def matches(r, line: str) -> bool:  # noqa: ANN001 - a Rule
    return any(r.matches(c) for c in parse(line).commands)


def test_patterns_glob_alternatives_and_regex() -> None:
    assert Pattern.compile("status|log").matches("log") and not Pattern.compile("status|log").matches("logs")
    assert Pattern.compile("-fprint*").matches("-fprint0")
    assert Pattern.compile("re:-[^-]*o.*").matches("-uo") and not Pattern.compile("re:-[^-]*o.*").matches("--output")
    assert not Pattern.compile("*").matches(None)


def test_prefix_must_be_known_words() -> None:
    r = rule(command="git", args=["status|log"])
    assert matches(r, "git log --oneline\n")
    assert not matches(r, "git $sub\n") and not matches(r, "git -C x log\n")


def test_conditions_look_after_the_prefix() -> None:
    r = rule(command="git", args=["branch"], without_args=["re:[^-].*"])
    assert matches(r, "git branch -v\n") and not matches(r, "git branch new\n")


def test_unknown_words_never_prove_absence() -> None:
    r = rule(command="find", without_args=["-delete"])
    assert matches(r, "find . -name '*.py'\n")
    assert not matches(r, "find . $x\n") and not matches(r, "find . -name *.py\n")


def test_with_args_unknown_args_and_redirect_to() -> None:
    assert matches(rule(command="rm", with_args=["-rf", "/"]), "rm x -rf /\n")
    assert not matches(rule(command="rm", with_args=["-rf", "/"]), "rm -rf x\n")
    as_written = rule(command="rm", with_args=["/[*]", '"$HOME"'])  # unknown words count as written
    assert matches(as_written, 'rm -rf /* "$HOME"\n') and not matches(as_written, "rm -rf /*\n")
    assert matches(rule(command="sh", unknown_args=True), "sh $script\n")
    assert not matches(rule(command="sh", unknown_args=True), "sh script\n")
    assert matches(rule(command="*", redirect_to="/dev/sd*"), "echo > /dev/sda\n")
    assert not matches(rule(command="*", redirect_to="/dev/sd*"), "cat < /dev/sda\n")


def test_compiled_rule_fields() -> None:
    r = rule(decision="deny", regex=r"curl.*\|\s*sh")
    assert r.decision is Decision.DENY and r.matches_line("curl x | sh\n") and r.command is None
