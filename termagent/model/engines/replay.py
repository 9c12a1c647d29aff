"""Play back recorded replies from a JSONL file (`{"reply": "..."}` a line), without any model."""

from __future__ import annotations

import time
from pathlib import Path

from termagent.errors import ConfigurationError
from termagent.jsonl import read_json_lines
from termagent.model.conversation import Message
from termagent.model.engines.base import Completion, DecodingSettings, TokenCallback

# No tokenizer here: a rough count, used only when the user sets --max-model-len.
CHARS_PER_TOKEN = 4


def load_replies(path: str | Path) -> list[str]:
    replies = []
    for place, record in read_json_lines(path, "replay file"):
        if not isinstance(record, dict) or not isinstance(record.get("reply"), str):
            raise ConfigurationError(f'{place}: expected an object with the reply text under "reply"')
        replies.append(record["reply"])
    return replies


class ReplayEngine:
    name = "replay"
    concurrent = False  # replies are handed out in order

    def __init__(
        self, path: str | Path, *, settings: DecodingSettings | None = None, max_model_len: int | None = None
    ) -> None:
        self.model = f"replay:{path}"
        self.settings = settings or DecodingSettings()
        self.max_model_len = max_model_len
        self._path = path
        self._replies = load_replies(path)
        self._next = 0

    def count_tokens(self, messages: list[Message]) -> int:
        return sum(len(m["content"]) for m in messages) // CHARS_PER_TOKEN + 4 * len(messages)

    def complete(self, messages: list[Message], *, on_token: TokenCallback | None = None) -> Completion:
        if self._next >= len(self._replies):
            raise ConfigurationError(f"the replay file {self._path} has no more replies (it had {len(self._replies)})")
        started = time.perf_counter()
        text = self._replies[self._next]
        self._next += 1
        if on_token is not None:
            on_token(text)
        return Completion(
            text=text,
            prompt_tokens=self.count_tokens(messages),
            completion_tokens=len(text) // CHARS_PER_TOKEN,
            elapsed=time.perf_counter() - started,
            finish_reason="stop",
        )

    def close(self) -> None:
        pass
