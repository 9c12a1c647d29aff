"""The model's reply as data: one Action per step, and what the parser made of a raw reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_DURATION = 1.0
MAX_DURATION = 60.0


@dataclass(frozen=True)
class Command:
    keystrokes: str
    duration: float = DEFAULT_DURATION


@dataclass(frozen=True)
class Action:
    analysis: str
    plan: str
    commands: tuple[Command, ...] = ()
    task_complete: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": self.analysis,
            "plan": self.plan,
            "commands": [{"keystrokes": c.keystrokes, "duration": c.duration} for c in self.commands],
            "task_complete": self.task_complete,
        }


@dataclass
class ParseResult:
    """`action` is None exactly when `errors` is not empty; `raw` is the reply as received."""

    action: Action | None
    raw: str
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.action is not None
