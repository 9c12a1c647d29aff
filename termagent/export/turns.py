"""The prompts a run's model was sent, rebuilt request by request with termagent's own Conversation.

The trajectory records, per request, the prompt's new part and the raw reply; replaying them
through Conversation (the same class the agent used: thinking removed from history turns, the
correction turn after an unusable reply, compaction) gives back each prompt exactly as sent.
A compaction starts a new segment: the turns before it were no longer in the model's view.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from termagent.export.reader import Attempt, ExportError, RecordedRun, Step
from termagent.model.action import ParseResult
from termagent.model.conversation import FIRST_SCREEN_HEADER, TASK_HEADER, Conversation, Message


@dataclass(frozen=True)
class Request:
    step: Step
    attempt: Attempt
    prompt: list[Message]  # the messages sent, in order
    origins: tuple[Attempt | None, ...]  # for each message of `prompt`, the attempt whose reply it is
    segment: int  # 0 until the first compaction, then 1, ...


def requests(run: RecordedRun) -> Iterator[Request]:
    conversation: Conversation | None = None
    origins: list[Attempt | None] = []
    segment = 0
    previous: Attempt | None = None
    for step in run.steps:
        for index, attempt in enumerate(step.attempts):
            if conversation is None:
                conversation = _first(run, attempt.prompt_new_part)
                origins = [None]
            else:
                conversation.add_user(_user_turn(attempt, previous))
                origins.append(None)
            if index == 0:
                for compaction in step.compactions:
                    dropped = min(int(compaction["dropped_steps"]), conversation.droppable_steps())
                    conversation.compact(dropped)
                    origins = [None, *origins[1 + 2 * dropped :]]
                    segment += 1
            yield Request(step, attempt, conversation.messages, tuple(origins), segment)
            conversation.add_reply(attempt.raw)
            origins.append(attempt)
            previous = attempt


def _first(run: RecordedRun, first_turn: str) -> Conversation:
    """A Conversation whose first turn is the recorded one, split at the task the run recorded."""
    marker = f"\n\n{TASK_HEADER}{run.task}{FIRST_SCREEN_HEADER}"
    at = first_turn.find(marker)
    if at < 0:
        raise ExportError(
            f"{run.path}: the first prompt does not hold the run's task in termagent's layout",
            hint="the trajectory was edited, or written by another program",
        )
    conversation = Conversation(run.task, first_turn[at + len(marker) :], instructions=first_turn[:at])
    if conversation.messages[0]["content"] != first_turn:
        raise ExportError(f"{run.path}: the first prompt cannot be rebuilt byte for byte")
    return conversation


def _user_turn(attempt: Attempt, previous: Attempt | None) -> str:
    """The user turn before `attempt`: as recorded, except after an unusable reply in trajectories
    that recorded the step's first prompt again; the correction is then rebuilt from its reasons."""
    if previous is not None and previous.rejected is not None and attempt.prompt_new_part == previous.prompt_new_part:
        scratch = Conversation("", "", instructions="")
        scratch.add_reply("")
        scratch.add_correction(ParseResult(None, previous.raw, errors=previous.rejected))
        return scratch.messages[-1]["content"]
    return attempt.prompt_new_part
