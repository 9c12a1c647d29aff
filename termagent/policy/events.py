"""Trajectory events: every decision and every answer, with a timestamp."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class PolicyDecided:
    keystrokes: str  # escaped for display
    decision: str
    rule: str
    reason: str
    commands: tuple[str, ...]
    foreground: str | None
    timestamp: float = field(default_factory=_now)

    def to_json(self) -> dict[str, object]:
        return {"event": "policy_decided", **asdict(self)}


@dataclass(frozen=True)
class ApprovalAnswered:
    keystrokes: str  # escaped for display
    answer: str
    approver: str
    message: str | None = None
    edited: str | None = None  # escaped
    rules_added: tuple[str, ...] = ()
    note: str | None = None
    timestamp: float = field(default_factory=_now)

    def to_json(self) -> dict[str, object]:
        return {"event": "approval_answered", **asdict(self)}


PolicyEvent = PolicyDecided | ApprovalAnswered
EventSink = Callable[[PolicyEvent], None]
