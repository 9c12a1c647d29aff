"""The small interface every engine implements, and what passes through it."""

from __future__ import annotations

import threading
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
    tokens_estimated: bool = False  # the server reported no usage: the counts were made another way
    cached_prompt_tokens: int | None = None  # prompt tokens the server took from its prefix cache, if it says


def tightest_context(*lengths: int | None) -> int | None:
    """The smallest known context length: a user's --max-model-len may lower the model's, never raise it."""
    known = [length for length in lengths if length]
    return min(known) if known else None


class Engine(Protocol):
    name: str
    model: str
    settings: DecodingSettings
    # True when several runs may call complete() at once (a server batches them); False for an
    # engine that holds one model in this process, which must see one call at a time.
    concurrent: bool

    @property
    def max_model_len(self) -> int | None:
        """None: unknown, the context budget then never compacts. Read-only here, so that an
        engine that always knows it may declare it an int."""

    def count_tokens(self, messages: list[Message]) -> int: ...

    def complete(self, messages: list[Message], *, on_token: TokenCallback | None = None) -> Completion: ...

    def close(self) -> None: ...


class SerializedEngine:
    """A non-concurrent engine shared by several runs at once: one call at a time, the others wait."""

    concurrent = True

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self.name, self.model, self.settings = engine.name, engine.model, engine.settings
        self.max_model_len = engine.max_model_len

    def count_tokens(self, messages: list[Message]) -> int:
        with self._lock:
            return self._engine.count_tokens(messages)

    def complete(self, messages: list[Message], *, on_token: TokenCallback | None = None) -> Completion:
        with self._lock:
            return self._engine.complete(messages, on_token=on_token)

    def close(self) -> None:
        self._engine.close()


def shared(engine: Engine) -> Engine:
    """`engine` made safe to share between runs that go on at the same time."""
    return engine if engine.concurrent else SerializedEngine(engine)
