"""What the policy knows of the terminal: its own small type, nothing of Docker or the sandbox."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TerminalState:
    # None: a shell prompt holds the terminal (a nested shell too: its input is command lines);
    # otherwise the foreground program's name.
    foreground: str | None = None
    # Text typed at the prompt and not yet submitted; None when it is unknown
    # (after history recall or completion the policy cannot know what Enter runs).
    pending_line: str | None = ""
    # Function and alias names defined earlier in this session: a command by such a name runs
    # whatever the definition says, which this line does not show.
    defined: frozenset[str] = frozenset()
    # True when the caller cannot be sure who holds the terminal (right after C-c, during or after
    # an output flood, after a shell restart, while a command that may have started a shell
    # runs): the keystrokes are then judged both as a command line and as a program's input.
    uncertain: bool = False

    @property
    def at_prompt(self) -> bool:
        return self.foreground is None
