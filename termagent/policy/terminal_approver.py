"""A plain terminal prompt for `ask` decisions (termagent --no-tui in a real terminal)."""

from __future__ import annotations

import sys
from typing import TextIO

from termagent.policy.approval import Answer, ApprovalRequest, Reply
from termagent.text_safety import printable, unescape_display

# The same keys as the TUI's approval dialog; `a` and `A` differ, so case matters.
_CHOICES = {
    "y": Answer.ALLOW_ONCE,
    "a": Answer.ALLOW_SESSION,
    "A": Answer.ALLOW_ALWAYS,
    "n": Answer.DENY,
    "m": Answer.DENY_WITH_MESSAGE,
    "e": Answer.EDIT,
}


class TerminalApprover:
    name = "person"

    def __init__(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        self.stdin = stdin
        self.stdout = stdout

    def ask(self, request: ApprovalRequest) -> Reply:
        verdict = request.verdict
        where = "the shell prompt" if request.state.at_prompt else f"the program `{request.state.foreground}`"
        self._say(f"\nThe model wants to send to {where}:\n    {verdict.keystrokes}")
        self._say(f"  policy says: {verdict.decision}  (rule {verdict.rule})\n  because:     {verdict.reason}")
        if verdict.commands:
            self._say("  commands:    " + " ; ".join(verdict.commands))
        remember = "" if request.can_remember else " (counts once: no prefix rule fits)"
        self._say(
            f"  [y] allow once   [a] allow for this session{remember}"
            f"   [A] always, saved to {request.policy_file}{remember}\n"
            "  [n] deny   [m] deny with a message to the model   [e] edit the keystrokes"
        )
        while True:
            choice = self._read("choice> ")
            if choice is None:
                return Reply(Answer.DENY)  # input closed: fail closed
            answer = _CHOICES.get(choice.strip()[:1])
            if answer is Answer.DENY_WITH_MESSAGE:
                return Reply(answer, message=self._read("message to the model> ") or "")
            if answer is Answer.EDIT:
                edited = self._read(r"new keystrokes (\n for Enter, \t, \e, \xNN)> ")
                return Reply(Answer.DENY) if edited is None else Reply(answer, keystrokes=unescape_display(edited))
            if answer is not None:
                return Reply(answer)
            self._say("  please answer y, a, A, n, m or e")

    def _say(self, text: str) -> None:
        # The foreground program's name comes from the sandbox: everything said is escaped.
        print(printable(text), file=self.stdout, flush=True)

    def _read(self, prompt: str) -> str | None:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        return None if line == "" else line.rstrip("\n")
