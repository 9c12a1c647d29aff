"""`termagent policy check` through a real process, as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from project_paths import TERMAGENT


def termagent(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TERMAGENT, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_check_prints_decision_rule_reason_and_commands() -> None:
    result = termagent("policy", "check", "git status && rm -rf ~\n")
    assert result.returncode == 0
    assert "decision: deny" in result.stdout and "rule:     rm-recursive-root" in result.stdout
    assert "commands: git status ; rm -rf ~" in result.stdout


def test_check_json() -> None:
    result = termagent("policy", "check", "--json", "--policy", "strict", "git log\n")
    data = json.loads(result.stdout)
    assert result.returncode == 0
    assert (data["decision"], data["rule"]) == ("ask", "default") and data["reason"]


def test_check_foreground() -> None:
    result = termagent("policy", "check", "--json", "--foreground", "vim", ":q!\n")
    assert json.loads(result.stdout)["rule"] == "foreground:default"


def test_batch_keeps_order(tmp_path: Path) -> None:
    lines = ["ls\n", "rm -rf /\n", "make\n"]
    result = termagent("policy", "check", "--batch", "-", stdin="".join(json.dumps(k) + "\n" for k in lines))
    decisions = [json.loads(line)["decision"] for line in result.stdout.splitlines()]
    assert result.returncode == 0 and decisions == ["allow", "deny", "ask"]


def test_bad_policy_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: x\n    decision: sure\n    reason: r\n    command: ls\n")
    result = termagent("policy", "check", "--policy", str(bad), "ls\n")
    assert result.returncode == 2 and f"{bad}:3: rules[0].decision" in result.stderr
    assert termagent("policy", "check").returncode == 2
    assert termagent("policy", "check", "--policy", "nope", "ls\n").returncode == 2
    batch = termagent("policy", "check", "--batch", "-", stdin="not json\n")
    assert batch.returncode == 2 and "-:1: not a JSON string" in batch.stderr


def test_check_uncertain_takes_the_strictest_reading() -> None:
    result = termagent("policy", "check", "--json", "--uncertain", "ls\n")
    assert json.loads(result.stdout)["rule"] == "foreground:uncertain"


def test_a_usage_error_shows_its_own_hint_not_the_generic_one() -> None:
    result = termagent("policy", "check")
    assert result.returncode == 2
    assert "give either KEYSTROKES or --batch FILE" in result.stderr and "e.g. termagent policy check" in result.stderr
    assert "termagent --help" not in result.stderr
