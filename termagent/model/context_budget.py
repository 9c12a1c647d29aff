"""Keep every prompt inside the model's context window.

Before each request the budget counts the prompt's tokens; when the prompt plus the reply
(`max_tokens`) would not fit, it compacts the conversation: the first turn and the most recent turns
stay, the oldest steps in between go, and a note in the first turn says so. Compaction is returned
as an event for the trajectory. It removes more than strictly needed (down to `refill` of the
window) so that the following steps append again instead of compacting, and hit the prefix cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from termagent.errors import ConfigurationError, ModelServerError
from termagent.model.conversation import Conversation, Message

# Chat-template renderings and the tokenizer's merges can differ by a few tokens from our count.
SAFETY_MARGIN_TOKENS = 16
REFILL_FRACTION = 0.75


class ContextExceededError(ModelServerError):
    """The server refused a prompt as longer than its context; `limit` is the length it stated, if any."""

    def __init__(self, message: str, *, limit: int | None = None) -> None:
        super().__init__(message, hint="pass a smaller --max-model-len, or start the server with a longer context")
        self.limit = limit


@dataclass(frozen=True)
class Compaction:
    dropped_steps: int
    tokens_before: int
    tokens_after: int

    def describe(self) -> str:
        return (
            f"context compacted: removed the {self.dropped_steps} oldest steps "
            f"({self.tokens_before} -> {self.tokens_after} prompt tokens)"
        )


@dataclass(frozen=True)
class FittedPrompt:
    messages: list[Message]
    prompt_tokens: int
    compaction: Compaction | None = None


class PrefixTokenCounter:
    """Token counts of prompts that extend the previous one, tokenizing only the new text.

    Engines call `remember` with the exact count of a prompt they tokenized in full, so the small
    error from splitting at a turn boundary never accumulates beyond one step.
    """

    def __init__(self, count: Callable[[str], int]) -> None:
        self._count = count
        self._text = ""
        self._tokens = 0

    def __call__(self, text: str) -> int:
        if self._text and text.startswith(self._text):
            tokens = self._tokens + self._count(text[len(self._text) :])
        else:
            tokens = self._count(text)
        self.remember(text, tokens)
        return tokens

    def remember(self, text: str, tokens: int) -> None:
        self._text, self._tokens = text, tokens


class ContextBudget:
    def __init__(
        self,
        count_tokens: Callable[[list[Message]], int],
        max_model_len: int | None,
        *,
        reply_tokens: int,
    ) -> None:
        self._count = count_tokens
        self.max_model_len = max_model_len
        self.reply_tokens = reply_tokens

    @property
    def prompt_limit(self) -> int | None:
        if self.max_model_len is None:
            return None
        return self.max_model_len - self.reply_tokens - SAFETY_MARGIN_TOKENS

    def refused(self, error: ContextExceededError, counted: int) -> None:
        """The server refused a prompt we counted as `counted` tokens: from now on the window is the
        one it stated or, when it stated none (or our count was low), a tenth less than what it refused;
        the next fit() then compacts. Re-raises when no smaller window is left to try."""
        shrunk = counted + self.reply_tokens + SAFETY_MARGIN_TOKENS - max(1, counted // 10)
        window = min(length for length in (error.limit, shrunk, self.max_model_len) if length)
        no_progress = self.max_model_len is not None and window >= self.max_model_len
        if no_progress or window - self.reply_tokens - SAFETY_MARGIN_TOKENS <= 0:
            raise error
        self.max_model_len = window

    def fit(self, conversation: Conversation) -> FittedPrompt:
        """The messages to send now, compacting `conversation` first when they would not fit."""
        messages = conversation.messages
        tokens = self._count(messages)
        limit = self.prompt_limit
        if limit is None or tokens <= limit:
            return FittedPrompt(messages, tokens)
        steps, after = self._steps_to_drop(conversation, limit)
        conversation.compact(steps)
        return FittedPrompt(conversation.messages, after, Compaction(steps, tokens, after))

    def _steps_to_drop(self, conversation: Conversation, limit: int) -> tuple[int, int]:
        """Fewest oldest steps whose removal brings the prompt under the refill target (binary search)."""
        available = conversation.droppable_steps()
        smallest = self._count(conversation.compacted(available))
        if smallest > limit:
            raise ConfigurationError(
                f"the prompt needs {smallest} tokens even with all earlier steps removed, but the model "
                f"accepts {limit} (context {self.max_model_len} minus {self.reply_tokens} for the reply)",
                hint="raise --max-model-len (and the server's), lower --max-tokens, or shorten the task",
            )
        target = max(int(limit * REFILL_FRACTION), smallest)
        low, high, high_tokens = 1, available, smallest
        while low < high:
            middle = (low + high) // 2
            tokens = self._count(conversation.compacted(middle))
            if tokens <= target:
                high, high_tokens = middle, tokens
            else:
                low = middle + 1
        return high, high_tokens
