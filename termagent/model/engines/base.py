"""The small interface every engine implements, and what passes through it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from termagent.model.conversation import Message

TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class DecodingSettings:
    """The card's evaluation settings, sent explicitly because servers' defaults differ."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 1024
    constrained: bool = True


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    elapsed: float
    finish_reason: str | None = None  # "stop", or "length" when max_tokens cut the reply


def tightest_context(*lengths: int | None) -> int | None:
    """The smallest known context length: a user's --max-model-len may lower the model's, never raise it."""
    known = [length for length in lengths if length]
    return min(known) if known else None


class Engine(Protocol):
    name: str
    model: str
    max_model_len: int | None  # None: unknown, the context budget then never compacts
    settings: DecodingSettings

    def count_tokens(self, messages: list[Message]) -> int: ...

    def complete(self, messages: list[Message], *, on_token: TokenCallback | None = None) -> Completion: ...

    def close(self) -> None: ...
