"""The approval dialog: what the model wants to type (escaped, so nothing hides), where, and
why the policy asks; one key per answer. Escape denies and the focused button is Deny, so a
stray Enter never allows anything."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from termagent.policy.approval import Answer, ApprovalRequest, Reply
from termagent.text_safety import escape_for_display, unescape_display
from termagent.tui.safe_text import safe_text

# key, answer, button label; the order is the buttons' order.
CHOICES: tuple[tuple[str, Answer, str], ...] = (
    ("y", Answer.ALLOW_ONCE, "allow once [y]"),
    ("a", Answer.ALLOW_SESSION, "session [a]"),
    ("A", Answer.ALLOW_ALWAYS, "always [A]"),
    ("n", Answer.DENY, "deny [n]"),
    ("m", Answer.DENY_WITH_MESSAGE, "deny + message [m]"),
    ("e", Answer.EDIT, "edit [e]"),
)
_ANSWER_OF_KEY = {key: answer for key, answer, _ in CHOICES}


def describe_request(request: ApprovalRequest) -> Text:
    verdict = request.verdict
    where = "the shell prompt" if request.state.at_prompt else f"the program `{request.state.foreground}`"
    lines = [
        safe_text(f"The model wants to send to {where}:"),
        Text("  ") + safe_text(escape_for_display(request.keystrokes), "bold reverse"),
        Text.assemble("policy: ", (str(verdict.decision), "yellow"), " · rule ") + safe_text(verdict.rule),
        Text("because: ") + safe_text(verdict.reason),
    ]
    if verdict.commands:
        lines.append(Text("commands: ") + safe_text(" ; ".join(verdict.commands)))
    if not request.can_remember:
        lines.append(Text("no prefix rule fits: session and always count once", "dim"))
    else:
        lines.append(safe_text(f"always is saved to {request.policy_file}", "dim"))
    return Text("\n").join(lines)


class ApprovalDialog(ModalScreen[Reply]):
    DEFAULT_CSS = """
    ApprovalDialog { align: center middle; }
    ApprovalDialog > Vertical { width: 90%; max-width: 120; height: auto; border: thick $warning;
                                background: $surface; padding: 1 2; }
    ApprovalDialog #buttons { height: auto; margin-top: 1; }
    ApprovalDialog Button { min-width: 10; margin-right: 1; }
    ApprovalDialog Input { display: none; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(key, f"answer('{key}')", label, show=False) for key, _, label in CHOICES),
        Binding("escape", "deny", "deny", show=False),
    ]

    AUTO_FOCUS = f"#answer-{Answer.DENY.value}"

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request
        self._typing: Answer | None = None  # a message or an edit is being typed

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "approval needed"
            yield Static(describe_request(self.request), id="request")
            with Horizontal(id="buttons"):
                for _key, answer, label in CHOICES:
                    yield Button(
                        Text(label),
                        id=f"answer-{answer.value}",
                        variant="error" if answer is Answer.DENY else "default",
                    )
            yield Label("", id="prompt")
            yield Input(id="text")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While a message or an edit is typed, letters are text, not answers; Escape still denies.
        return not (action == "answer" and self._typing is not None)

    def action_deny(self) -> None:
        self.dismiss(Reply(Answer.DENY))

    def action_answer(self, key: str) -> None:
        answer = _ANSWER_OF_KEY[key]
        if answer is Answer.DENY_WITH_MESSAGE:
            self._ask_for_text(answer, "message to the model (Enter sends, Escape denies without it):", "")
        elif answer is Answer.EDIT:
            self._ask_for_text(
                answer,
                r"edit the keystrokes (\n Enter, \t Tab, \e or \x1b Escape; Enter submits, "
                "Escape denies):",
                escape_for_display(self.request.keystrokes),
            )
        else:
            self.dismiss(Reply(answer))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        answer = Answer(str(event.button.id).removeprefix("answer-"))
        self.action_answer(next(key for key, choice, _ in CHOICES if choice is answer))

    def _ask_for_text(self, answer: Answer, prompt: str, initial: str) -> None:
        self._typing = answer
        self.query_one("#prompt", Label).update(Text(prompt))
        field = self.query_one("#text", Input)
        field.value = initial
        field.display = True
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._typing is Answer.EDIT:
            self.dismiss(Reply(Answer.EDIT, keystrokes=unescape_display(event.value)))
        else:
            self.dismiss(Reply(Answer.DENY_WITH_MESSAGE, message=event.value))
