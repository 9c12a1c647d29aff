"""The end-of-run review of a copied-in workspace: what the run changed, and one question,
apply it to your directory or not. Escape and the focused button keep the directory as it is.

Changes that could make the machine run a program later (git data, hooks; see
termagent/workspace/held_back.yaml) are never part of that yes: when there are any, a second,
separate dialog asks about them alone, and its default is no. Everything shown was computed
from the checked archive and escaped by the workspace; safe_text escapes again on the way in.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from termagent.tui.safe_text import safe_text
from termagent.workspace.changes import ApplyAnswer, WorkspaceChanges
from termagent.workspace.members import shown

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 90%; max-width: 140; height: 90%; border: thick $warning;
                     background: $surface; padding: 1 2; }}
{name} VerticalScroll {{ height: 1fr; }}
{name} #buttons {{ height: auto; margin-top: 1; }}
{name} Button {{ margin-right: 1; }}
"""


class ChangesDialog(ModalScreen[ApplyAnswer]):
    DEFAULT_CSS = _CSS.format(name="ChangesDialog")
    BINDINGS = [Binding("y", "answer(True)", "apply"), Binding("n,escape", "answer(False)", "keep")]

    def __init__(self, changes: WorkspaceChanges) -> None:
        super().__init__()
        self.changes = changes
        self.summary, self.diff = changes.summary(), "".join(changes.diff())

    def compose(self) -> ComposeResult:
        held = len(self.changes.held)
        with Vertical() as box:
            box.border_title = "the run changed your workspace (nothing is written yet)"
            with VerticalScroll():
                yield Static(Text("\n").join([safe_text(self.summary, "bold"), safe_text(self.diff)]))
            with Horizontal(id="buttons"):
                yield Button("keep my directory as it is [n]", id="keep", variant="primary")
                label = f"apply the changes, without the {held} held back [y]" if held else "apply the changes [y]"
                yield Button(label, id="apply", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "apply")

    def action_answer(self, apply: bool) -> None:
        if not apply:
            self.dismiss(ApplyAnswer.KEEP)
        elif self.changes.held:
            self.app.push_screen(HeldBackDialog(self.changes), self.dismiss)
        else:
            self.dismiss(ApplyAnswer.APPLY)


class HeldBackDialog(ModalScreen[ApplyAnswer]):
    """The second, separate question: the held-back changes too? Default and Escape: no."""

    DEFAULT_CSS = _CSS.format(name="HeldBackDialog").replace("$warning", "$error")
    BINDINGS = [Binding("n,escape", "answer(False)", "not these")]

    def __init__(self, changes: WorkspaceChanges) -> None:
        super().__init__()
        self.held = changes.held

    def compose(self) -> ComposeResult:
        rows = [
            f"{len(self.held)} change(s) were held back: git runs these files' contents as programs "
            "(hooks, fsmonitor, filters) on your next git command. Apply them only if you wrote "
            "them yourself or have read every line.",
            "",
        ]
        rows += [f"{change.status:<12} {shown(change.path)}\n    why: {change.held}" for change in self.held]
        with Vertical() as box:
            box.border_title = "ALSO apply the held-back changes?"
            with VerticalScroll():
                yield Static(safe_text("\n".join(rows)))
            with Horizontal(id="buttons"):
                yield Button("no, leave them out [n]", id="without", variant="primary")
                # No single-key binding: it takes a deliberate click or Tab and Enter.
                yield Button("yes, apply these too", id="with", variant="error")

    def on_mount(self) -> None:
        self.query_one("#without", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "with")

    def action_answer(self, apply_held: bool) -> None:
        self.dismiss(ApplyAnswer.APPLY_ALL if apply_held else ApplyAnswer.APPLY)
