"""The approval interface: what a person (or the headless stand-in) may answer to an `ask`."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from termagent.policy.decision import Decision, Verdict
from termagent.policy.state import TerminalState


class Answer(enum.Enum):
    ALLOW_ONCE = "allow-once"
    ALLOW_SESSION = "allow-session"  # saved as a prefix rule for this session
    ALLOW_ALWAYS = "allow-always"  # written to the user's policy file
    DENY = "deny"
    DENY_WITH_MESSAGE = "deny-with-message"
    EDIT = "edit"  # the edited keystrokes are judged again


@dataclass(frozen=True)
class Reply:
    answer: Answer
    message: str | None = None  # DENY_WITH_MESSAGE: told to the model
    keystrokes: str | None = None  # EDIT: the replacement

    def __post_init__(self) -> None:
        if self.answer is Answer.EDIT and self.keystrokes is None:
            raise ValueError("an EDIT reply needs the edited keystrokes")


@dataclass(frozen=True)
class ApprovalRequest:
    keystrokes: str
    verdict: Verdict
    state: TerminalState
    can_remember: bool  # whether "allow always" can be saved as a prefix rule
    policy_file: str  # where "allow always" would be written


class Approver(Protocol):
    name: str

    def ask(self, request: ApprovalRequest) -> Reply: ...


class HeadlessApprover:
    """No person there: an `ask` becomes what --approve says. Denials never reach an approver."""

    name = "headless"

    def __init__(self, becomes: Decision) -> None:
        if becomes is Decision.ASK:
            raise ValueError("a headless approver must turn `ask` into allow or deny")
        self.becomes = becomes

    def ask(self, request: ApprovalRequest) -> Reply:
        if self.becomes is Decision.ALLOW:
            return Reply(Answer.ALLOW_ONCE)
        return Reply(Answer.DENY_WITH_MESSAGE, message="no one is there to approve it (headless run, --approve deny)")


APPROVE_MODES = ("ask", "deny", "allow")


def approver_for(mode: str, person: Approver | None) -> Approver:
    """--approve ask|deny|allow: `ask` needs a person; without one it fails closed."""
    if mode not in APPROVE_MODES:
        raise ValueError(f"--approve takes one of {', '.join(APPROVE_MODES)}, not {mode!r}")
    if mode == "ask":
        return person if person is not None else HeadlessApprover(Decision.DENY)
    return HeadlessApprover(Decision.parse(mode))
