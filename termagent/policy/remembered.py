"""Answers that outlive one command: prefix rules for the session and the user's policy file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from termagent.policy.decision import Decision, Verdict
from termagent.policy.loader import builtin_dir, compile_rule
from termagent.policy.rules import Rule
from termagent.policy.shell_parse import parse

_SUBCOMMAND = re.compile(r"[a-z][a-z0-9_-]*")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_GLOB = re.compile(r"[*?\[|]")


def prefix_rules(verdict: Verdict, reason: str) -> list[dict[str, Any]] | None:
    """Rules that would have allowed this line: its command name and subcommand, not its bytes.
    None when the `ask` came from something a prefix cannot cover (a construct, an ask rule)."""
    rules: list[dict[str, Any]] = []
    for finding in verdict.findings:
        if finding.decision is Decision.ALLOW:
            continue
        if finding.rule != "default" or finding.command is None:
            return None
        commands = parse(finding.command).commands
        if len(commands) != 1 or commands[0].literal_name is None:
            return None
        command = commands[0]
        prefix = [command.literal_name]
        first = command.args[0].value if command.args else None
        if first is not None and _SUBCOMMAND.fullmatch(first):
            prefix.append(first)
        rule: dict[str, Any] = {
            "name": "allowed-" + _UNSAFE_NAME.sub("-", "-".join(prefix)).strip("-"),
            "decision": "allow",
            "reason": reason,
            # A name like `a[b]` must not act as a glob.
            "command": prefix[0] if not _GLOB.search(prefix[0]) else "re:" + re.escape(prefix[0]),
        }
        if len(prefix) > 1:
            rule["args"] = [prefix[1]]
        if rule not in rules:
            rules.append(rule)
    return rules or None


class SessionRules:
    """Prefix rules a person allowed for this session; they sit after the policy's own rules,
    so a deny or ask rule still wins over them."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def add(self, data: list[dict[str, Any]]) -> list[str]:
        known = {rule.name for rule in self.rules}
        added = [compile_rule(rule, "session") for rule in data if rule["name"] not in known]
        self.rules.extend(added)
        return [rule.name for rule in added]


def remember(path: Path, rules: list[dict[str, Any]], policy_source: str) -> None:
    """Append rules to the user's policy file, creating it to extend the policy in use."""
    if path.is_file():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    else:
        data = {"name": "user", "extends": _reference(policy_source)}
    existing = data.setdefault("rules", [])
    names = {rule.get("name") for rule in existing}
    existing.extend(rule for rule in rules if rule["name"] not in names)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".yaml.tmp")
    temporary.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=False), encoding="utf-8")
    os.replace(temporary, path)


def _reference(policy_source: str) -> str:
    source = Path(policy_source)
    return source.stem if source.parent.resolve() == builtin_dir().resolve() else str(source)
