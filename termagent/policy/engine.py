"""The policy engine: one keystroke string and the terminal's state in, one verdict out."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from termagent.policy.decision import Decision, Finding, Verdict, strictest
from termagent.policy.keystrokes import SUBMIT_KEYS, escape_for_display, key_name, split_at_prompt, unusual_characters
from termagent.policy.rules import Rule, RuleIndex
from termagent.policy.shell_parse import FUNCTION_DEFINITION, SimpleCommand, parse
from termagent.policy.state import TerminalState

UNUSUAL_CHARACTER = "unusual_character"
UNKNOWN_LINE = "unknown_line"
_WRAPPED_BUDGET = 64
_LINE_LIKE = re.compile(r"[\s;|&]")


@dataclass(frozen=True)
class Policy:
    name: str
    source: str  # the file it was loaded from
    default: Decision
    constructs: Mapping[str, Decision]
    keys: Mapping[str, Decision]
    foreground: Mapping[str, Decision]
    rules: tuple[Rule, ...]
    wrappers: frozenset[str] = frozenset()
    _index: RuleIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", RuleIndex(self.rules))

    def with_rules(self, extra: tuple[Rule, ...]) -> Policy:
        return dataclasses.replace(self, rules=(*self.rules, *extra))

    def judge(self, keystrokes: str, state: TerminalState = TerminalState()) -> Verdict:
        findings: list[Finding] = []
        commands: list[SimpleCommand] = []
        defines: list[str] = []
        # The pending line too: the sandbox may report text that did not come through here.
        unusual = unusual_characters((state.pending_line or "") + keystrokes)
        if unusual:
            shown = "; ".join(f"{u.why} at {u.index}" for u in unusual[:3])
            findings.append(self._construct(UNUSUAL_CHARACTER, f"the keystrokes hold {shown}"))
        key = key_name(keystrokes)
        if key is not None and (not state.at_prompt or key not in SUBMIT_KEYS):
            findings.append(self._key(key, state))
        elif not state.at_prompt:
            findings.append(self._foreground(state.foreground or ""))
        else:
            split = split_at_prompt(keystrokes, state)
            if split.submitted is None:
                findings.append(Finding(Decision.ALLOW, "typing", "text typed at the prompt runs nothing until Enter"))
            else:
                if state.pending_line is None:
                    findings.append(self._construct(UNKNOWN_LINE, "Enter submits a line the policy cannot see (history or completion changed it)"))
                commands, defines = self._judge_line(split.submitted, state, findings)
        if not findings:
            findings.append(Finding(Decision.ALLOW, "empty", "nothing to run"))
        best = strictest(findings)
        reason = best.reason if best.command is None else f"{best.reason}: `{best.command}`"
        return Verdict(
            decision=best.decision,
            rule=best.rule,
            # Shown escaped: a reason must not carry the escape bytes it warns about.
            reason=escape_for_display(reason),
            keystrokes=escape_for_display(keystrokes),
            commands=tuple(escape_for_display(c.text) for c in commands),
            findings=tuple(findings),
            defines=tuple(defines),
        )

    def rule_matches_example(self, rule: Rule, line: str) -> bool:
        if rule.regex is not None:
            return rule.matches_line(line)
        return any(rule.matches(command) for command in parse(line).commands)

    def _judge_line(self, line: str, state: TerminalState, findings: list[Finding]) -> tuple[list[SimpleCommand], list[str]]:
        parsed = parse(line)
        for construct in parsed.constructs:
            findings.append(self._construct(construct.kind, construct.detail))
        for command in parsed.commands:
            if command.literal_name in state.defined:
                findings.append(self._construct(FUNCTION_DEFINITION, f"`{command.literal_name}` was redefined earlier in this session"))
            matched = self._index.matching(command)
            if matched:
                rule = max(matched, key=lambda r: r.decision)
                findings.append(Finding(rule.decision, rule.name, rule.reason, command.text))
            else:
                findings.append(Finding(self.default, "default", f"no rule covers this command, so the default is {self.default}", command.text))
            for inner in self._wrapped(command):
                for rule in self._index.matching(inner):
                    if rule.decision is Decision.DENY:
                        findings.append(Finding(rule.decision, rule.name, f"{rule.reason} (run by `{command.literal_name}`)", inner.text))
        for rule in self._index.line_rules:
            if rule.matches_line(line):
                findings.append(Finding(rule.decision, rule.name, rule.reason))
        return parsed.commands, parsed.defines

    def _wrapped(self, command: SimpleCommand) -> list[SimpleCommand]:
        """Command lines a wrapper may run: each tail of its arguments that starts with a plain
        word (`timeout 5 rm ...`), and each argument that reads as a line (`bash -c '...'`).
        Over-approximate on purpose: only deny rules are checked against them."""
        found: list[SimpleCommand] = []
        queue = [command]
        while queue and len(found) < _WRAPPED_BUDGET:  # bounded: `sudo sudo sudo ...` is hostile input
            current = queue.pop()
            if current.program not in self.wrappers:
                continue
            for index, word in enumerate(current.args):
                value = word.value
                if value is None:
                    continue
                if len(found) >= _WRAPPED_BUDGET:
                    break
                inner = []
                if not value.startswith("-") and "=" not in value:
                    tail = current.args[index:]
                    inner.append(SimpleCommand(word, tail[1:], (), " ".join(w.text for w in tail)))
                if _LINE_LIKE.search(value):
                    inner.extend(parse(value).commands)
                found.extend(inner)
                queue.extend(inner)
        return found[:_WRAPPED_BUDGET]

    def _construct(self, kind: str, detail: str) -> Finding:
        return Finding(self.constructs.get(kind, Decision.ASK), f"construct:{kind}", detail)

    def _key(self, key: str, state: TerminalState) -> Finding:
        where = "at the shell prompt" if state.at_prompt else f"to `{state.foreground}`"
        if key in self.keys:
            return Finding(self.keys[key], f"keys:{key}", f"the key {key} {where} is set to {self.keys[key]}")
        decision = self.keys.get("default", Decision.ASK)
        return Finding(decision, "keys:default", f"the key {key} {where} has no setting of its own, so {decision}")

    def _foreground(self, program: str) -> Finding:
        reason = f"input to the foreground program `{program}`, not a shell command line"
        if program in self.foreground:
            return Finding(self.foreground[program], f"foreground:{program}", reason)
        return Finding(self.foreground.get("default", Decision.ASK), "foreground:default", reason)
