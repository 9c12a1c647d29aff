"""tb2-lite replay records (docs/eval.md): one per step whose reply the agent acted on, with the
prompt exactly as sent for that reply and the reply as the reference, so `termagent eval replay`
scores a model on recorded sessions with the card's metrics.

Steps whose reply has no command (a completion claim, an empty wait) are left out unless asked
for: the card scores a step with no command unit on either side 0 for every model, so they
would lower every score alike and measure nothing but `task_complete`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from termagent.export.reader import RecordedRun
from termagent.export.selection import Selection
from termagent.export.turns import requests


def records(run: RecordedRun, selection: Selection, *, with_empty: bool = False) -> Iterator[dict[str, Any]]:
    for request in requests(run):
        step = request.step
        if request.attempt is not step.accepted or step.action is None or selection.drops(step):
            continue
        if not step.action["commands"] and not with_empty:
            continue
        yield {
            "task_id": run.task_id,
            "step_idx": step.number - 1,  # the card counts steps from 0
            "source_group": run.path.parent.name,
            "messages": request.prompt,
            "ref_raw": request.attempt.raw,
            "ref_commands": step.action["commands"],
            "ref_task_complete": bool(step.action["task_complete"]),
        }
