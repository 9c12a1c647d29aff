"""Decisions and the verdict the policy hands back for one keystroke string."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Decision(enum.IntEnum):
    """Ordered by strictness, so `max()` gives the strictest."""

    ALLOW = 0
    ASK = 1
    DENY = 2

    @classmethod
    def parse(cls, text: str) -> Decision:
        return cls[text.upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One reason the line got a decision: a rule that matched, or a construct the engine met."""

    decision: Decision
    rule: str
    reason: str
    command: str | None = None  # as parsed, unescaped


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    rule: str
    reason: str
    keystrokes: str  # escaped for display
    commands: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default=(), compare=False)
    defines: tuple[str, ...] = ()  # function and alias names the line defines, once sent
    sent: str = field(default="", compare=False)  # the bytes judged: what the sandbox will write

    def to_json(self) -> dict[str, object]:
        return {
            "decision": str(self.decision),
            "rule": self.rule,
            "reason": self.reason,
            "keystrokes": self.keystrokes,
            "commands": list(self.commands),
            "findings": [
                {"decision": str(f.decision), "rule": f.rule, "reason": f.reason, "command": f.command}
                for f in self.findings
            ],
        }


def strictest(findings: list[Finding]) -> Finding:
    """The first finding of the highest strictness: ties go to the earliest, which reads naturally."""
    best = findings[0]
    for finding in findings[1:]:
        if finding.decision > best.decision:
            best = finding
    return best
