from __future__ import annotations

import io

from termagent.policy.approval import Answer, ApprovalRequest
from termagent.policy.engine import Policy
from termagent.policy.state import TerminalState
from termagent.policy.terminal_approver import TerminalApprover


def ask(policy: Policy, keystrokes: str, answers: str) -> tuple[object, str]:
    out = io.StringIO()
    approver = TerminalApprover(stdin=io.StringIO(answers), stdout=out)
    request = ApprovalRequest(
        keystrokes, policy.judge(keystrokes), TerminalState(), can_remember=True, policy_file="/p.yaml"
    )
    return approver.ask(request), out.getvalue()


def test_shows_escaped_keystrokes_rule_and_reason(default_policy: Policy) -> None:
    reply, shown = ask(default_policy, "make\x1b[A\n", "y\n")
    assert reply.answer is Answer.ALLOW_ONCE
    assert "make\\x1b[A\\n" in shown and "\x1b" not in shown
    assert "construct:unusual_character" in shown and "escape byte" in shown


def test_reprompts_then_takes_a_message(default_policy: Policy) -> None:
    reply, shown = ask(default_policy, "make\n", "x\nm\nnot now\n")
    assert "please answer" in shown
    assert reply.answer is Answer.DENY_WITH_MESSAGE and reply.message == "not now"


def test_edit_unescapes(default_policy: Policy) -> None:
    reply, _ = ask(default_policy, "make\n", "e\nmake -n\\n\n")
    assert reply.answer is Answer.EDIT and reply.keystrokes == "make -n\n"


def test_closed_input_denies(default_policy: Policy) -> None:
    reply, _ = ask(default_policy, "make\n", "")
    assert reply.answer is Answer.DENY
