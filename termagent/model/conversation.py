"""The conversation the model sees, in exactly the shape it was trained on (see docs/protocol.md).

No system message; the first user turn is the instructions, the task and the first screen; later
user turns carry terminal output; assistant turns are the model's replies without thinking. The
history only grows at the end, so each step's prompt extends the previous one byte for byte (vLLM's
prefix cache relies on it); the one exception is compaction, which the context budget asks for.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from termagent.errors import ConfigurationError
from termagent.model.action import ParseResult
from termagent.model.thinking import strip_thinking

Message = dict[str, str]  # {"role": "user" | "assistant", "content": ...}, as every chat API takes it

TASK_HEADER = "Task Description:\n"
FIRST_SCREEN_HEADER = "\n\nCurrent terminal state:\nCurrent Terminal Screen:\n"
NEW_OUTPUT_HEADER = "New Terminal Output:\n"
SCREEN_HEADER = "Current Terminal Screen:\n"


def load_instructions(path: str | Path | None = None) -> str:
    """The instruction text of the first turn: the packaged default, or a user's template file."""
    if path is None:
        return resources.files("termagent.model").joinpath("instructions.txt").read_text(encoding="utf-8")
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the prompt template {path}: {error.strerror}",
            hint="--prompt-template takes a text file with the instructions for the model",
        ) from error


class Conversation:
    def __init__(self, task: str, first_screen: str, *, instructions: str | None = None) -> None:
        text = load_instructions() if instructions is None else instructions
        self._first_turn = f"{text.rstrip()}\n\n{TASK_HEADER}{task}{FIRST_SCREEN_HEADER}{first_screen}"
        self._messages: list[Message] = [{"role": "user", "content": self._first_turn}]
        self.dropped_steps = 0

    @property
    def messages(self) -> list[Message]:
        return list(self._messages)

    def add_reply(self, raw: str) -> None:
        """Record the model's reply as it will be shown back to it: thinking removed."""
        self._append("assistant", strip_thinking(raw)[0])

    def add_observation(self, output: str, *, full_screen: bool = False) -> None:
        """New output since the last turn, or the whole visible screen when the two cannot be told apart."""
        self._append("user", (SCREEN_HEADER if full_screen else NEW_OUTPUT_HEADER) + output)

    def add_correction(self, result: ParseResult) -> None:
        """Tell the model what was wrong with a reply that could not be used, so it can retry."""
        problems = "\n".join(f"- {error}" for error in result.errors)
        self._append(
            "user",
            "Your previous reply could not be used:\n"
            f"{problems}\n"
            "Reply again with a single JSON object with the fields analysis, plan, commands "
            '(a list of {"keystrokes": ..., "duration": ...}) and task_complete.',
        )

    def add_user(self, text: str) -> None:
        """Any other user turn (e.g. asking the model to confirm that the task is complete)."""
        self._append("user", text)

    def droppable_steps(self) -> int:
        """Earlier (reply, answer) pairs that compaction may remove; the latest pair always stays."""
        return max(0, (len(self._messages) - 3) // 2)

    def compacted(self, steps: int) -> list[Message]:
        """The messages with the `steps` oldest (reply, answer) pairs replaced by a note in the first turn."""
        steps = min(steps, self.droppable_steps())
        if steps == 0:
            return self.messages
        note = (
            f"\n\n[Note from termagent: the {self.dropped_steps + steps} oldest steps of this session were "
            "removed to fit the model's context window. The turns that follow are the most recent ones.]"
        )
        return [{"role": "user", "content": self._first_turn + note}] + self._messages[1 + 2 * steps :]

    def compact(self, steps: int) -> None:
        steps = min(steps, self.droppable_steps())
        self._messages = self.compacted(steps)
        self.dropped_steps += steps

    def _append(self, role: str, content: str) -> None:
        if self._messages[-1]["role"] == role:
            # Chat templates reject two turns of one role in a row; merging would rewrite a sent turn.
            raise ValueError(f"two {role} turns in a row")
        self._messages.append({"role": role, "content": content})
