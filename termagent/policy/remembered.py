"""Answers that outlive one command: prefix rules for the session and the user's policy file."""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path
from typing import Any

import yaml

from termagent.errors import PolicyError
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
        if len(commands) != 1:
            return None
        command = commands[0]
        if command.literal_name is None:
            return None
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
    """Append rules to the user's policy file as text, under an exclusive lock (two sessions
    answering "always" at once both land), keeping the person's comments and layout; the file
    is created to extend the policy in use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        handle.seek(0)
        text = handle.read()
        if not text.strip():
            text = f"name: user\nextends: {_reference(policy_source)}\n"
        updated = _with_rules(text, rules, path)
        if updated == text:
            return
        handle.seek(0)
        handle.truncate()
        handle.write(updated)
        handle.flush()
        os.fsync(handle.fileno())


def _with_rules(text: str, rules: list[dict[str, Any]], path: Path) -> str:
    """`text` with the rules it does not name yet inserted after its last rule."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyError(
            f"cannot add a rule to {path}: it is not valid YAML", hint="fix the file, then answer again"
        ) from error
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise PolicyError(
            f"cannot add a rule to {path}: it is not a policy mapping", hint="fix the file, then answer again"
        )
    names = {rule.get("name") for rule in data.get("rules") or [] if isinstance(rule, dict)}
    new = [rule for rule in rules if rule["name"] not in names]
    if not new:
        return text
    node = next((value for key, value in root.value if key.value == "rules"), None)
    if node is None:
        return text.rstrip("\n") + "\nrules:\n" + _block(new, "  ")
    if not isinstance(node, yaml.SequenceNode) or (node.flow_style and node.value):
        raise PolicyError(
            f"cannot add a rule to {path}: its `rules:` is not a block list",
            hint="write the rules as a `- name: ...` list, then answer again",
        )
    if not node.value:  # `rules: []`
        return text[: node.start_mark.index] + "\n" + _block(new, "  ") + text[node.end_mark.index :].lstrip("\n")
    indent = " " * (node.value[0].start_mark.column - 2)
    # Right after the last rule, before any comment or key that follows the list.
    at = _last_scalar(node).end_mark.index
    line_end = text.find("\n", at)
    at = len(text) if line_end < 0 else line_end + 1  # after a comment on the same line too
    before = text[:at] if text[:at].endswith("\n") else text[:at] + "\n"
    return before + _block(new, indent) + text[at:]


def _last_scalar(node: yaml.Node) -> yaml.Node:
    """The last scalar written inside `node`: where its text really ends (a collection's own
    end mark lies after the comments and blank lines that follow it)."""
    while isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    return node


def _block(rules: list[dict[str, Any]], indent: str) -> str:
    dumped = yaml.safe_dump(rules, sort_keys=False, allow_unicode=False, default_flow_style=False)
    lines = []
    for line in dumped.splitlines():
        lines.append(
            indent + line if line.startswith("- ") else indent + "  " + line.lstrip(" ") if line.strip() else line
        )
    return "\n".join(lines) + "\n"


def _reference(policy_source: str) -> str:
    source = Path(policy_source)
    return source.stem if source.parent.resolve() == builtin_dir().resolve() else str(source)
