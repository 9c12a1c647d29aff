"""The screens over the main view: the summary at the end and the trajectory viewer."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from termagent.agent.loop import RunResult
from termagent.errors import TermagentError
from termagent.jsonl import read_json_lines
from termagent.tui.safe_text import safe_text

TRAJECTORY_TAIL = 500  # records shown by the viewer

_MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > VerticalScroll {{ width: 90%; max-width: 130; height: auto; max-height: 90%; border: thick $primary;
                          background: $surface; padding: 1 2; }}
"""


def summary_text(result: RunResult, trajectory: Path | None) -> Text:
    lines = [
        Text.assemble(("run ", "bold"), (str(result.status), "bold reverse"), " · ") + safe_text(result.message),
        Text(
            f"{result.steps} steps · {result.elapsed:.1f} s · "
            f"{result.prompt_tokens} prompt + {result.completion_tokens} completion tokens"
        ),
    ]
    if trajectory is not None:
        lines.append(safe_text(f"trajectory: {trajectory}", "dim"))
    lines.append(Text("q quits · Escape goes back to the log", "dim"))
    return Text("\n").join(lines)


class SummaryScreen(ModalScreen[None]):
    DEFAULT_CSS = _MODAL_CSS.format(name="SummaryScreen")
    BINDINGS = [Binding("escape", "dismiss", "back"), Binding("q", "app.quit", "quit")]

    def __init__(self, result: RunResult, trajectory: Path | None) -> None:
        super().__init__()
        self.result, self.trajectory = result, trajectory

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "summary"
            yield Static(summary_text(self.result, self.trajectory), id="summary")


def trajectory_text(path: Path | None) -> Text:
    if path is None or not path.is_file():
        return Text("no trajectory has been written yet", "dim")
    lines = [safe_text(str(path), "bold")]
    try:  # the last line may be being written: a cut one is left out
        records = deque(read_json_lines(path, "trajectory", on_cut_end=lambda line: None), maxlen=TRAJECTORY_TAIL)
    except TermagentError as error:
        return Text("\n").join([*lines, safe_text(error.message, "red")])
    for _, event in records:
        if not isinstance(event, dict):
            event = {"value": event}
        head = Text(f"[{event.pop('step', '?')}] {event.pop('type', '?')} ", "bold")
        event.pop("time", None)
        lines.append(head + safe_text(json.dumps(event, ensure_ascii=False)[:400]))
    return Text("\n").join(lines)


class TrajectoryScreen(ModalScreen[None]):
    DEFAULT_CSS = _MODAL_CSS.format(name="TrajectoryScreen")
    BINDINGS = [Binding("escape,t,q", "dismiss", "close")]

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "trajectory (last records)"
            yield Static(trajectory_text(self.path))

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).scroll_end(animate=False)
