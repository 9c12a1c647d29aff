"""The step log: one foldable entry per step, built from that step's events; earlier steps fold
when a new one starts. While the model writes, its reply is shown as it streams."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Collapsible, Static

from termagent.agent.events import Event, EventType
from termagent.text_safety import escape_for_display
from termagent.tui.safe_text import safe_text
from termagent.views.event_text import COMMAND, DIFF, ESCAPED, KEYSTROKES, OUTPUT, Description
from termagent.views.event_text import describe as describe_event

STREAM_TAIL = 4000  # characters of a streaming reply kept on screen

# The step log's look for each kind of segment (views/event_text.py names them).
STYLES = {
    "label": "bold",
    COMMAND: "bold",
    "answer": "bold",
    KEYSTROKES: "dim",
    "note": "dim",
    "allow": "green",
    "ask": "yellow",
    "deny": "bold red",
    "ok": "green",
    "failed": "red",
    "warning": "yellow",
    "error": "red",
    "limit": "bold red",
    "completion": "cyan",
    "complete": "bold cyan",
}
# The terminal pane shows the output; the changes dialog shows the diff.
_LEFT_OUT = frozenset({OUTPUT, DIFF})


def render(description: Description) -> Text:
    """Segments as Rich text: each escaped (safe_text never parses markup) in its style."""
    return Text.assemble(
        *(
            safe_text(
                escape_for_display(segment.text) if segment.style in ESCAPED else segment.text,
                STYLES.get(segment.style, ""),
            )
            for segment in description
            if segment.style not in _LEFT_OUT
        )
    )


def describe(event: Event) -> Text | None:
    """One event as log lines; None for events the log does not show."""
    description = describe_event(event)
    return render(description) if description is not None else None


class StepEntry(Collapsible):
    """One step: its finished lines, and the reply while it streams."""

    def __init__(self, step: int) -> None:
        self._body = Static(Text())
        super().__init__(self._body, title=f"step {step}" if step else "run", collapsed=False)
        self._lines: list[Text] = []
        self._streaming = ""

    def add(self, line: Text) -> None:
        self._lines.append(line)
        self._streaming = ""  # a parsed or rejected reply replaces its stream
        self._show()

    def stream(self, piece: str) -> None:
        self._streaming = (self._streaming + piece)[-STREAM_TAIL:]
        self._show()

    def _show(self) -> None:
        lines = list(self._lines)
        if self._streaming:
            lines.append(Text("model: ", "bold") + safe_text(self._streaming, "italic"))
        self._body.update(Text("\n").join(lines))


class StepLog(VerticalScroll):
    DEFAULT_CSS = """
    StepLog { border: round $primary-darken-2; }
    StepLog Collapsible { padding-bottom: 0; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "steps"
        self._entries: dict[int, StepEntry] = {}

    def entry(self, step: int) -> StepEntry:
        if step not in self._entries:
            for earlier in self._entries.values():
                earlier.collapsed = True
            self._entries[step] = StepEntry(step)
            self.mount(self._entries[step])
        return self._entries[step]

    def show(self, event: Event) -> None:
        if event.type is EventType.STEP_STARTED:
            self.entry(event.step)
        elif event.type is EventType.MODEL_TOKEN:
            self.entry(event.step).stream(event.data["text"])
        elif event.type is EventType.MODEL_REPLIED:
            return  # ACTION_PARSED or REPLY_REJECTED says what the reply meant
        elif (line := describe(event)) is not None:
            self.entry(event.step).add(line)
        else:
            return
        self.scroll_end(animate=False)
