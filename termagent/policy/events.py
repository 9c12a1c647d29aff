"""What the gate reports: every decision, every question put to the approver, every answer.

Values are raw (keystrokes as the model or the person typed them); views escape them. The time is
the agent's: it stamps each event it forwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyDecided:
    keystrokes: str
    decision: str
    rule: str
    reason: str
    commands: tuple[str, ...]
    foreground: str | None


@dataclass(frozen=True)
class ApprovalAsked:
    keystrokes: str
    rule: str
    reason: str
    foreground: str | None
    can_remember: bool


@dataclass(frozen=True)
class ApprovalAnswered:
    keystrokes: str
    answer: str
    approver: str
    message: str | None = None
    edited: str | None = None
    rules_added: tuple[str, ...] = ()
    note: str | None = None


PolicyEvent = PolicyDecided | ApprovalAsked | ApprovalAnswered
PolicyListener = Callable[[PolicyEvent], None]
