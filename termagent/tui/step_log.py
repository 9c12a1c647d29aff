"""The step log: one foldable entry per step, built from that step's events; earlier steps fold
when a new one starts. While the model writes, its reply is shown as it streams."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Collapsible, Static

from termagent.agent.events import Event, EventType
from termagent.text_safety import escape_for_display
from termagent.tui.safe_text import safe_text
from termagent.views.event_lines import limit_note

STREAM_TAIL = 4000  # characters of a streaming reply kept on screen

_DECISION_STYLES = {"allow": "green", "ask": "yellow", "deny": "bold red"}


def _line(label: str, text: str, style: str = "") -> Text:
    return Text.assemble((f"{label} ", "bold"), safe_text(text, style))


def describe(event: Event) -> Text | None:
    """One event as log lines; None for events the log does not show."""
    data = event.data
    match event.type:
        case EventType.ACTION_PARSED:
            lines = [_line("analysis:", data["analysis"]), _line("plan:", data["plan"])]
            if not data["commands"]:
                lines.append(Text("(no commands: waits)", "dim"))
            if data["task_complete"]:
                lines.append(Text("claims the task is complete", "bold cyan"))
            return Text("\n").join(lines)
        case EventType.REPLY_REJECTED:
            return _line("unusable reply:", "; ".join(data["errors"]), "red")
        case EventType.PARSE_WARNING:
            return _line("parse warning:", data["warning"], "yellow")
        case EventType.CONTEXT_COMPACTED:
            return safe_text(data["note"], "dim")
        case EventType.POLICY_DECIDED:
            # keystrokes arrive escaped already; safe_text guards the rest.
            return Text.assemble(
                ("$ ", "bold"), safe_text(data["keystrokes"], "bold"), "\n  policy: ",
                (data["decision"], _DECISION_STYLES.get(data["decision"], "")),
                " · rule ", safe_text(data["rule"]), " · ", safe_text(data["reason"], "dim"))
        case EventType.APPROVAL_ANSWERED:
            answer = Text.assemble("  approval: ", (data["answer"], "bold"), f" by {data['approver']}")
            for label in ("message", "edited", "note"):
                if data.get(label):
                    answer.append_text(Text(f" · {label}: ") + safe_text(data[label]))
            return answer
        case EventType.COMMAND_SKIPPED:
            return _line("  skipped", f"{escape_for_display(data['keystrokes'])}: {data['reason']}", "dim")
        case EventType.KEYSTROKES_SENT:
            label = "  sent (edited): " if data["edited"] else "  sent: "
            return Text(label, "dim") + safe_text(escape_for_display(data["keystrokes"]), "dim")
        case EventType.OUTPUT_OBSERVED:
            if data["finished"]:
                status = Text(f"exit {data['exit_status']}", "green" if data["exit_status"] == 0 else "red")
            else:
                status = Text("still running: ", "yellow") + safe_text(str(data["foreground"]))
            line = Text.assemble("  ", status, f" · {data['elapsed']:.2f} s")
            if data.get("stopped"):
                line.append(f"\n  {limit_note(data['stopped'])}", "bold red")
            return line
        case EventType.INTERRUPTED:
            return Text("  interrupted by the person", "yellow")
        case EventType.COMPLETION_CLAIMED:
            return Text("asked the model to confirm completion", "cyan")
        case EventType.COMPLETION_CONFIRMED:
            return Text("the model confirmed the task is complete", "bold cyan")
        case EventType.ERROR:
            return _line("error:", data["message"] + (f" ({data['hint']})" if data.get("hint") else ""), "red")
        case EventType.RUN_STARTED:
            return Text.assemble(("task: ", "bold"), safe_text(data["task"]))
        case EventType.RUN_FINISHED:
            return _line("finished:", f"{data['status']}. {data['message']}", "bold")
    return None


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
