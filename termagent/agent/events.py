"""What the agent loop reports, as it happens. Every view (TUI, headless lines, JSON lines, the
trajectory file) is a consumer of this one stream."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# The version of the event stream as trajectories record it (in run_started's `format_version`):
# 1 (no field) held the policy events' `keystrokes` and `edited` escaped for display; 2 holds them raw.
FORMAT_VERSION = 2


class EventType(enum.StrEnum):
    RUN_STARTED = "run_started"
    STEP_STARTED = "step_started"
    MODEL_TOKEN = "model_token"  # a piece of the reply being streamed
    MODEL_REPLIED = "model_replied"  # the raw reply, token counts, the prompt's new part
    REPLY_REJECTED = "reply_rejected"  # unusable reply; the model is told and asked again
    CONTEXT_COMPACTED = "context_compacted"
    ACTION_PARSED = "action_parsed"
    PARSE_WARNING = "parse_warning"
    APPROVAL_ASKED = "approval_asked"
    POLICY_DECIDED = "policy_decided"
    APPROVAL_ANSWERED = "approval_answered"
    COMMAND_SKIPPED = "command_skipped"
    KEYSTROKES_SENT = "keystrokes_sent"
    TERMINAL_OUTPUT = "terminal_output"  # raw output as it arrives (for live views and recordings)
    OUTPUT_OBSERVED = "output_observed"  # one command's result
    INTERRUPTED = "interrupted"
    COMPLETION_CLAIMED = "completion_claimed"
    COMPLETION_CONFIRMED = "completion_confirmed"
    WORKSPACE_CHANGED = "workspace_changed"  # what the run changed in a copied-in workspace
    WORKSPACE_APPLIED = "workspace_applied"
    WARNING = "warning"  # the run goes on, with less than asked for (engine, sandbox, workspace)
    ERROR = "error"
    RUN_FINISHED = "run_finished"


@dataclass(frozen=True)
class Event:
    type: EventType
    step: int
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {"type": str(self.type), "step": self.step, "time": round(self.time, 6), **self.data}


EventSink = Callable[[Event], None]


def fan_out(*sinks: EventSink) -> EventSink:
    def emit(event: Event) -> None:
        for sink in sinks:
            sink(event)

    return emit
