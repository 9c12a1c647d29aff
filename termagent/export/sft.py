"""Chat-format conversations for supervised fine-tuning: one per run (one per segment when the
context was compacted), exactly the turns the model was sent, then its last reply.

Every assistant turn carries `weight` (1 trains on it, 0 keeps it as context only; the OpenAI
fine-tuning format, also read by axolotl): a turn is 0 when its step was dropped by the selection,
or when it was carried over from before a compaction. The turns themselves never change, so each
prompt the engine was sent is a prefix of the conversation (before the chat template and after).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from typing import Any

from termagent.export.reader import RecordedRun
from termagent.export.selection import Selection
from termagent.export.turns import requests
from termagent.model.thinking import strip_thinking


class AssistantText(enum.StrEnum):
    SENT = "sent"  # the reply without thinking, as the history showed it to the model
    PRETTY = "pretty"  # usable replies re-written as the protocol's JSON with indent 2, as in training


def conversations(run: RecordedRun, selection: Selection, assistant: AssistantText) -> Iterator[dict[str, Any]]:
    sent = list(requests(run))
    first_segment = {id(request.attempt): request.segment for request in sent}
    last_of_segment = {request.segment: request for request in sent}
    actions = {id(step.accepted): step.action for step in run.steps if step.accepted is not None}
    dropped = {id(attempt) for step in run.steps if selection.drops(step) for attempt in step.attempts}
    for segment, last in sorted(last_of_segment.items()):
        origins = (*last.origins, last.attempt)
        turns = [*last.prompt, {"role": "assistant", "content": strip_thinking(last.attempt.raw)[0]}]
        messages: list[dict[str, Any]] = []
        for message, origin in zip(turns, origins, strict=True):
            if message["role"] != "assistant":
                messages.append(dict(message))
                continue
            # Replies carried over from before a compaction were trained on in their own segment.
            trained = origin is not None and first_segment[id(origin)] == segment and id(origin) not in dropped
            text = _assistant_text(message["content"], actions.get(id(origin)), assistant)
            messages.append({"role": "assistant", "content": text, "weight": int(trained)})
        yield {
            "id": run.task_id if len(last_of_segment) == 1 else f"{run.task_id}#{segment}",
            "messages": messages,
            "status": run.status,
            "check": run.check,
        }


def _assistant_text(sent: str, action: dict[str, Any] | None, assistant: AssistantText) -> str:
    if assistant is AssistantText.PRETTY and action is not None:
        return json.dumps(action, indent=2, ensure_ascii=False)
    return sent
