"""`--oracle`: type a task's own solution script into the sandbox's shell, as a model's commands would be.

The script is cut into complete shell commands (a heredoc, an `if` block or a line continued with
a backslash stays whole, as bash itself would read it); each goes through the Shell's run as one
command's keystrokes, so the oracle exercises exactly the path the agent's keystrokes take. A
pass proves the harness (files, sandbox, keystrokes, check), not any model.
"""

from __future__ import annotations

import subprocess

from termagent.agent.loop import Shell
from termagent.model.action import MAX_DURATION

# bash's words for input that stops in the middle of a command (as opposed to a real syntax error).
_UNFINISHED = ("unexpected end of file", "delimited by end-of-file")


def is_complete(text: str) -> bool:
    """Whether bash would have read one or more whole commands from `text` (checked with `bash -n`)."""
    if text.rstrip("\n").endswith("\\"):
        return False
    checked = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True, check=False)
    return not any(phrase in checked.stderr for phrase in _UNFINISHED)


def solution_commands(script: str) -> list[str]:
    """The script as keystrokes: one string per complete command, each ending in a newline.
    Blank lines and comments between commands are dropped; a part bash never finds complete
    (a real syntax error) is sent as it is, for the shell to report."""
    commands: list[str] = []
    pending = ""
    for line in script.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line + "\n"
        if is_complete(pending):
            commands.append(pending)
            pending = ""
    if pending:
        commands.append(pending)
    return commands


def replay_solution(shell: Shell, script: str, *, duration: float = MAX_DURATION) -> tuple[int, bool]:
    """Send each command and wait for it (up to `duration`: the shell returns as soon as it is
    back at its prompt). Returns the commands sent and whether the shell is still alive."""
    sent = 0
    for keystrokes in solution_commands(script):
        result = shell.run(keystrokes, duration)
        sent += 1
        if not result.alive:
            return sent, False
    return sent, True
