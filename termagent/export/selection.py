"""Which runs and steps go into a dataset: a run is kept by its outcome, a step is dropped for
an unusable reply or a denied command. The one definition every format uses."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from termagent.export.reader import RecordedRun, Step


class Keep(enum.StrEnum):
    ALL = "all"
    COMPLETED = "completed"  # the model's completion claim was confirmed
    PASSED = "passed"  # completed, and the task's check (batch / eval live report) passed


@dataclass(frozen=True)
class Selection:
    keep: Keep = Keep.ALL
    drop_rejected: bool = False
    drop_denied: bool = False

    def why_left_out(self, run: RecordedRun) -> str | None:
        """None when the run is kept, else the reason it is not."""
        if self.keep is Keep.ALL:
            return None
        if run.status != "completed":
            return f"status {run.status}"
        if self.keep is Keep.PASSED and run.check != "passed":
            if run.check == "failed":
                return "its check failed"
            return "no check result beside it (report.json / summary.json)"
        return None

    def drops(self, step: Step) -> bool:
        return (self.drop_rejected and step.had_rejection) or (self.drop_denied and step.had_denial)
