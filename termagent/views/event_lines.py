"""Headless and plain views: one line per event as it happens (as views/event_text.py describes
it), or one JSON object per line. Everything in an event may come from the model or the sandbox,
so each line is escaped whole just before it is written (termagent.text_safety): no field can be
forgotten."""

from __future__ import annotations

import sys
from typing import TextIO

from termagent.agent.events import Event, EventType
from termagent.text_safety import escape_for_display, json_line, printable
from termagent.views.event_text import ESCAPED, OUTPUT, describe

# Streaming pieces would drown the log; the whole reply and each command's output are shown.
_QUIET = {EventType.MODEL_TOKEN, EventType.TERMINAL_OUTPUT}


class JsonLines:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        if event.type not in _QUIET:
            self.out.write(json_line(event.to_json()) + "\n")
            self.out.flush()


class TextLines:
    def __init__(self, out: TextIO = sys.stdout, *, show_output: bool = True) -> None:
        self.out = out
        self._left_out = frozenset() if show_output else frozenset({OUTPUT})

    def __call__(self, event: Event) -> None:
        description = describe(event)
        if description is None:
            return
        line = printable(
            "".join(
                escape_for_display(segment.text) if segment.style in ESCAPED else segment.text
                for segment in description
                if segment.style not in self._left_out
            )
        )
        line = line.replace("\n", "\n  ")  # continuation lines stand out from the next event's
        self.out.write(f"[step {event.step}] {line}\n" if event.step else f"{line}\n")
        self.out.flush()
