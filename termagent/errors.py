"""The one exception type the command line turns into a message instead of a traceback."""

from __future__ import annotations


class TermagentError(Exception):
    """An error the user can act on: what went wrong, and what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  {self.hint}"
