"""The end-of-run review of a copied-in workspace: what the run changed, and one question,
apply it to your directory or not. Escape and the focused button keep the directory as it is."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from termagent.tui.safe_text import safe_text


class ChangesDialog(ModalScreen[bool]):
    DEFAULT_CSS = """
    ChangesDialog { align: center middle; }
    ChangesDialog > Vertical { width: 90%; max-width: 140; height: 90%; border: thick $warning;
                               background: $surface; padding: 1 2; }
    ChangesDialog VerticalScroll { height: 1fr; }
    ChangesDialog #buttons { height: auto; margin-top: 1; }
    ChangesDialog Button { margin-right: 1; }
    """
    BINDINGS = [Binding("y", "answer(True)", "apply"), Binding("n,escape", "answer(False)", "keep")]

    def __init__(self, summary: str, diff: str) -> None:
        super().__init__()
        self.summary, self.diff = summary, diff

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "the run changed your workspace (nothing is written yet)"
            with VerticalScroll():
                yield Static(Text("\n").join([safe_text(self.summary, "bold"), safe_text(self.diff)]))
            with Horizontal(id="buttons"):
                yield Button("keep my directory as it is [n]", id="keep", variant="primary")
                yield Button("apply the changes [y]", id="apply", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "apply")

    def action_answer(self, apply: bool) -> None:
        self.dismiss(apply)
