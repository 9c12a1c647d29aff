"""The plain interface's approval question quotes the sandbox (the program holding the terminal
is named by the sandbox): nothing it quotes reaches the person's terminal raw."""

from __future__ import annotations

import io

from termagent.policy.approval import ApprovalRequest
from termagent.policy.engine import Policy
from termagent.policy.state import TerminalState
from termagent.policy.terminal_approver import TerminalApprover
from termagent.text_safety import is_safe


def test_a_hostile_program_name_is_shown_escaped(default_policy: Policy) -> None:
    name = "\x1b]0;owned\x07\u202e\x9b2J"
    state = TerminalState(foreground=name)
    out = io.StringIO()
    request = ApprovalRequest("q", default_policy.judge("q", state), state, can_remember=False, policy_file="/p.yaml")
    TerminalApprover(stdin=io.StringIO("n\n"), stdout=out).ask(request)
    shown = out.getvalue()
    assert "\\x1b]0;owned\\x07\\u202e\\x9b2J" in shown
    assert all(char == "\n" or is_safe(char) for char in shown)
