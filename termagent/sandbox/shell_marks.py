"""Separate the shell integration's marks (see shell_integration.bash) from terminal output.

The marks are OSC sequences the emulator must never see; they may arrive split across reads,
so an unfinished sequence at the end of a chunk is held back until the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

_OSC = "\x1b]"
_BEL = "\x07"
# An OSC longer than this is not one of ours: give up holding it back and pass it through.
_MAX_MARK_LENGTH = 8192


@dataclass(frozen=True)
class ShellMark:
    """`kind` is 133's letter (`C` started, `D` finished, `B` prompt drawn, `P` shell pid)
    or `cwd`; `fields` are the values after the token."""

    kind: str
    fields: tuple[str, ...]


class MarkFilter:
    def __init__(self, token: str) -> None:
        self._prefixes = {
            f"133;C;{token}": "C",
            f"133;D;{token}": "D",
            f"133;B;{token}": "B",
            f"133;P;{token}": "P",
            f"7;{token}": "cwd",
        }
        self._held = ""

    def feed(self, text: str) -> tuple[str, list[ShellMark]]:
        """Return the output without our marks, and the marks found, in order."""
        buffer = self._held + text
        self._held = ""
        if "\x1b" not in buffer:  # the common case, found at memory speed
            return buffer, []
        output: list[str] = []
        marks: list[ShellMark] = []
        position = 0
        while True:
            start = buffer.find(_OSC, position)
            if start < 0:
                tail = buffer[position:]
                if tail.endswith("\x1b"):
                    self._held, tail = "\x1b", tail[:-1]
                output.append(tail)
                break
            output.append(buffer[position:start])
            end = buffer.find(_BEL, start)
            if end < 0:
                if len(buffer) - start < _MAX_MARK_LENGTH:
                    self._held = buffer[start:]
                else:
                    output.append(buffer[start:])
                break
            mark = self._parse(buffer[start + 2 : end])
            if mark is None:
                output.append(buffer[start : end + 1])
            else:
                marks.append(mark)
            position = end + 1
        return "".join(output), marks

    def _parse(self, body: str) -> ShellMark | None:
        head, _, rest = body.partition(";")
        if head == "133":
            letter, _, rest = rest.partition(";")
            head = f"133;{letter}"
        token, _, values = rest.partition(";")
        kind = self._prefixes.get(f"{head};{token}")
        if kind is None:
            return None
        # The working directory is one value even if it holds a ';'.
        return ShellMark(kind, (values,) if kind == "cwd" else tuple(values.split(";")) if values else ())
