"""The policy engine: one keystroke string and the terminal's state in, one verdict out."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from termagent.keys import key_bytes, keystrokes_to_bytes
from termagent.policy.decision import Decision, Finding, Verdict, strictest
from termagent.policy.keystrokes import read_input, unusual_characters
from termagent.policy.options import RUNS, WRITES, OptionTable
from termagent.policy.rules import Rule, RuleIndex
from termagent.policy.shell_parse import FUNCTION_DEFINITION, SimpleCommand, parse
from termagent.policy.state import TerminalState
from termagent.text_safety import escape_for_display

UNUSUAL_CHARACTER = "unusual_character"
UNKNOWN_LINE = "unknown_line"
OPTION_WRITES = "option_writes"
OPTION_RUNS_CODE = "option_runs_code"
UNKNOWN_OPTION = "unknown_option"
_OPTION_FINDINGS = {
    WRITES: (OPTION_WRITES, "writes a file"),
    RUNS: (OPTION_RUNS_CODE, "runs a program or reads code from a place the line does not show"),
    "unknown": (UNKNOWN_OPTION, "is an option this program's table does not know"),
    "dynamic": (UNKNOWN_OPTION, "is known only at run time and may turn out to be an option"),
}
_WRAPPED_BUDGET = 64
_LEFTOVER_BUDGET = 256  # input to a program longer than this is judged as whole lines only
_PLAIN_TEXT = re.compile(r"[ -~\n]*")  # printable ASCII and newlines: only `\\` and newline need escaping
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
    shells: frozenset[str] = frozenset()  # their input is command lines
    interpreters: frozenset[str] = frozenset()  # their input is code: at least ask
    programs: Mapping[str, OptionTable] = field(default_factory=dict)  # option tables by program name
    _index: RuleIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", RuleIndex(self.rules))

    def with_rules(self, extra: tuple[Rule, ...]) -> Policy:
        return dataclasses.replace(self, rules=(*self.rules, *extra))

    def judge(self, keystrokes: str, state: TerminalState = TerminalState()) -> Verdict:
        sent = keystrokes_to_bytes(keystrokes)  # exactly what the sandbox will write
        reading = read_input(sent, state.pending_line)
        findings: list[Finding] = []
        commands: list[SimpleCommand] = []
        defines: list[str] = []
        # The pending line too: the sandbox may report text that did not come through here.
        # Control bytes inside literal text too (a key name's own bytes are judged as that key).
        typed = reading.text if key_bytes(keystrokes) is not None else keystrokes
        unusual = unusual_characters((state.pending_line or "") + typed)
        if unusual:
            shown = "; ".join(f"{u.why} at {u.index}" for u in unusual[:3])
            findings.append(self._construct(UNUSUAL_CHARACTER, f"the keystrokes hold {shown}"))
        for key in reading.keys:
            findings.append(self._key(key.name, state))
        program = state.foreground
        if program is not None and (reading.text or reading.lines):
            findings.append(self._foreground(program))
        elif state.uncertain and (reading.text or reading.lines):
            # Perhaps a program, not the prompt, reads this: judged as its input as well.
            findings.append(self._foreground(None))
        # Whoever holds the terminal, the lines are judged as command lines too: a shell may
        # read them (a nested one, or the prompt once the program ends), and the deny list and
        # the hidden-code rules hold in every state.
        for block in _blocks(reading.lines):
            if block is None:
                findings.append(
                    self._construct(
                        UNKNOWN_LINE,
                        "Enter submits a line the policy cannot see (history, completion or a key changed it)",
                    )
                )
                continue
            found_commands, found_defines = self._judge_line(block, state, findings)
            commands.extend(found_commands)
            defines.extend(found_defines)
            if program is not None and program not in self.shells:
                findings.extend(self._left_to_the_shell(block))
        if not reading.lines and reading.text and program is None:
            findings.append(Finding(Decision.ALLOW, "typing", "text typed at the prompt runs nothing until Enter"))
        if not findings:
            findings.append(Finding(Decision.ALLOW, "empty", "nothing to run"))
        best = strictest(findings)
        reason = best.reason if best.command is None else f"{best.reason}: `{best.command}`"
        return Verdict(
            decision=best.decision,
            rule=best.rule,
            # Shown escaped: a reason must not carry the escape bytes it warns about.
            reason=_shown(reason),
            keystrokes=_shown(keystrokes),
            commands=tuple(_shown(c.text) for c in commands),
            findings=tuple(findings),
            defines=tuple(defines),
            sent=reading.sent,
        )

    def rule_matches_example(self, rule: Rule, line: str) -> bool:
        if rule.regex is not None:
            return rule.matches_line(line)
        return any(rule.matches(command) for command in parse(line).commands)

    def _judge_line(
        self, line: str, state: TerminalState, findings: list[Finding]
    ) -> tuple[list[SimpleCommand], list[str]]:
        parsed = parse(line)
        for construct in parsed.constructs:
            findings.append(self._construct(construct.kind, construct.detail))
        for command in parsed.commands:
            if command.literal_name in state.defined:
                findings.append(
                    self._construct(
                        FUNCTION_DEFINITION, f"`{command.literal_name}` was redefined earlier in this session"
                    )
                )
            matched = self._index.matching(command)
            if matched:
                rule = max(matched, key=lambda r: r.decision)
                findings.append(Finding(rule.decision, rule.name, rule.reason, command.text))
            else:
                findings.append(
                    Finding(
                        self.default,
                        "default",
                        f"no rule covers this command, so the default is {self.default}",
                        command.text,
                    )
                )
            findings.extend(self._options(command))
            for inner in self._wrapped(command):
                for rule in self._index.matching(inner):
                    if rule.decision is Decision.DENY:
                        findings.append(
                            Finding(
                                rule.decision, rule.name, f"{rule.reason} (run by `{command.literal_name}`)", inner.text
                            )
                        )
        for rule in self._index.line_rules:
            if rule.matches_line(line):
                findings.append(Finding(rule.decision, rule.name, rule.reason))
        return parsed.commands, parsed.defines

    def _left_to_the_shell(self, block: str) -> list[Finding]:
        """A program may read only the start of its input and exit (`q` quits top): the rest
        reaches the shell. Each such rest is checked against the deny rules."""
        found: list[Finding] = []
        for start in range(1, min(len(block), _LEFTOVER_BUDGET)):
            if block[start - 1] == "\n":
                continue  # a whole line: judged already as part of the block
            for command in parse(block[start:]).commands:
                for rule in self._index.matching(command):
                    if rule.decision is Decision.DENY:
                        found.append(
                            Finding(
                                rule.decision,
                                rule.name,
                                f"{rule.reason} (if the program leaves the rest of its input to the shell)",
                                command.text,
                            )
                        )
            if found:
                break
        return found

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

    def _options(self, command: SimpleCommand) -> list[Finding]:
        """What the command's options do, read as the program reads them (its option table)."""
        table = self.programs.get(command.program or "")
        if table is None:
            return []
        findings = []
        for found in table.scan(command.args):
            kind, what = _OPTION_FINDINGS[found.effect]
            option = f" ({found.option.name})" if found.option and found.option.name != found.written else ""
            findings.append(
                Finding(
                    self.constructs.get(kind, Decision.ASK),
                    f"construct:{kind}",
                    f"`{found.written}`{option} {what}",
                    command.text,
                )
            )
        return findings

    def _construct(self, kind: str, detail: str) -> Finding:
        return Finding(self.constructs.get(kind, Decision.ASK), f"construct:{kind}", detail)

    def _key(self, key: str, state: TerminalState) -> Finding:
        where = "at the shell prompt" if state.at_prompt else f"to `{state.foreground}`"
        if key in self.keys:
            return Finding(self.keys[key], f"keys:{key}", f"the key {key} {where} is set to {self.keys[key]}")
        decision = self.keys.get("default", Decision.ASK)
        return Finding(decision, "keys:default", f"the key {key} {where} has no setting of its own, so {decision}")

    def _foreground(self, program: str | None) -> Finding:
        if program is None:
            return Finding(
                self.foreground.get("default", Decision.ASK),
                "foreground:uncertain",
                "it is not sure who holds the terminal, so this is judged as a program's input as well",
            )
        if program in self.shells:
            return Finding(
                Decision.ALLOW, f"foreground:{program}", f"`{program}` is a shell: its input is judged as command lines"
            )
        reason = f"input to the foreground program `{program}`, not a shell command line"
        if program in self.foreground:
            return Finding(self.foreground[program], f"foreground:{program}", reason)
        if program in self.interpreters:
            return Finding(
                Decision.ASK,
                f"foreground:{program}",
                f"input to the interpreter `{program}` is code the policy cannot judge",
            )
        return Finding(self.foreground.get("default", Decision.ASK), "foreground:default", reason)


def _shown(text: str) -> str:
    """`escape_for_display`, without its cost for the common plain line."""
    if _PLAIN_TEXT.fullmatch(text):
        return text.replace("\\", "\\\\").replace("\n", "\\n")
    return escape_for_display(text)


def _blocks(lines: tuple[str | None, ...]) -> list[str | None]:
    """Consecutive known lines as one text, as bash reads them (a here-document or a quote goes
    on across lines); None for each line the policy cannot know."""
    blocks: list[str | None] = []
    current: list[str] = []
    for line in lines:
        if line is None:
            if current:
                blocks.append("\n".join(current) + "\n")
                current = []
            blocks.append(None)
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current) + "\n")
    return blocks
