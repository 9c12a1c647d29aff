"""One step of the agent's dialogue with the model: fit the prompt, ask, parse, and on an unusable
reply tell the model what was wrong and ask again, up to a limit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from termagent.errors import ModelServerError
from termagent.model.action import Action, ParseResult
from termagent.model.context_budget import Compaction, ContextBudget, ContextExceededError
from termagent.model.conversation import Conversation
from termagent.model.engines.base import Completion, Engine, TokenCallback
from termagent.model.parse import parse_reply
from termagent.text_safety import without_lone_surrogates

DEFAULT_MAX_BAD_REPLIES = 3


@dataclass(frozen=True)
class Attempt:
    completion: Completion
    result: ParseResult


class BadRepliesError(ModelServerError):
    """Too many unusable replies in a row; `attempts` keeps them for the trajectory."""

    def __init__(self, attempts: list[Attempt]) -> None:
        errors = "; ".join(attempts[-1].result.errors)
        super().__init__(
            f"the model gave {len(attempts)} unusable replies in a row; the last one: {errors}",
            hint="check that the model is the one termagent was built for (--model), and that constrained "
            "decoding is on (drop --no-constrained)",
        )
        self.attempts = attempts


@dataclass(frozen=True)
class StepOutcome:
    """What the trajectory records: every attempt (bad ones included) and any compaction."""

    action: Action
    attempts: list[Attempt]
    compactions: list[Compaction] = field(default_factory=list)


def next_action(
    engine: Engine,
    conversation: Conversation,
    *,
    max_bad_replies: int = DEFAULT_MAX_BAD_REPLIES,
    on_token: TokenCallback | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> StepOutcome:
    """Ask the model for its next action; the conversation gains the reply (and any corrections).
    `on_attempt` sees every reply as soon as it is parsed, so a give-up or a kill loses none.

    Raises BadRepliesError after `max_bad_replies` unusable replies in a row, or when the prompt
    cannot fit the model's context (TermagentError).
    """
    budget = ContextBudget(engine.count_tokens, engine.max_model_len, reply_tokens=engine.settings.max_tokens)
    attempts: list[Attempt] = []
    compactions: list[Compaction] = []
    while True:
        fitted = budget.fit(conversation)
        if fitted.compaction is not None:
            compactions.append(fitted.compaction)
        try:
            completion = engine.complete(fitted.messages, on_token=on_token)
        except ContextExceededError as error:
            budget.refused(error, fitted.prompt_tokens)  # re-raises when no smaller window is left
            continue
        # A server's JSON can carry unpaired surrogates, which nothing downstream can encode.
        completion = dataclasses.replace(completion, text=without_lone_surrogates(completion.text))
        result = parse_reply(completion.text)
        attempts.append(Attempt(completion, result))
        if on_attempt is not None:
            on_attempt(attempts[-1])
        conversation.add_reply(completion.text)
        if result.action is not None:
            return StepOutcome(result.action, attempts, compactions)
        if len(attempts) >= max_bad_replies:
            raise BadRepliesError(attempts)
        conversation.add_correction(result)
