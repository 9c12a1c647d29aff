"""`termagent export`: read the runs, keep those asked for, write them in one format, and say
what was left out and why."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from termagent.export import atif, replay, sft
from termagent.export.reader import ExportError, RecordedRun, read_runs
from termagent.export.selection import Selection
from termagent.text_safety import json_line


class Format(enum.StrEnum):
    ATIF = "atif"
    SFT = "sft"
    REPLAY = "replay"


@dataclass
class ExportReport:
    output: Path
    runs: int = 0
    items: int = 0  # documents, conversations or records written
    steps: int = 0  # agent steps of the runs written
    left_out: list[str] = field(default_factory=list)  # whole runs, with the reason
    notes: list[str] = field(default_factory=list)  # parts of runs left out, unknown events


def export(
    inputs: Sequence[Path],
    fmt: Format,
    output: Path,
    selection: Selection,
    assistant: sft.AssistantText = sft.AssistantText.SENT,
    *,
    with_empty: bool = False,
) -> ExportReport:
    runs = read_runs(inputs)
    report = ExportReport(output)
    kept: list[RecordedRun] = []
    for run in runs:
        why = selection.why_left_out(run)
        if why is not None:
            report.left_out.append(f"{run.task_id}: {why}")
            continue
        kept.append(run)
        report.notes.extend(f"{run.task_id}: {note}" for note in run.dropped)
        report.notes.extend(
            f"{run.task_id}: {count} event(s) of unknown type {kind!r} ignored"
            for kind, count in sorted(run.ignored.items())
        )
    if not kept:
        raise ExportError(
            "no run is left to export: " + "; ".join(report.left_out),
            hint="--keep all exports every run whatever its outcome",
        )
    report.runs, report.steps = len(kept), sum(len(run.steps) for run in kept)
    if fmt is Format.ATIF:
        report.items = _write_documents(kept, output)
    else:
        produce: Callable[[RecordedRun], Iterable[dict[str, Any]]] = (
            (lambda run: sft.conversations(run, selection, assistant))
            if fmt is Format.SFT
            else (lambda run: replay.records(run, selection, with_empty=with_empty))
        )
        report.items = _write_lines((item for run in kept for item in produce(run)), output)
    return report


def _write_lines(items: Iterable[dict[str, Any]], output: Path) -> int:
    output.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with output.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json_line(item) + "\n")
            count += 1
    return count


def _write_documents(runs: list[RecordedRun], output: Path) -> int:
    """One run: OUTPUT is the document. More: OUTPUT is a folder of TASK_ID.json documents."""
    if len(runs) == 1 and not output.is_dir():
        _write_json(atif.document(runs[0]), output)
        return 1
    if output.exists() and not output.is_dir():
        raise ExportError(
            f"{len(runs)} runs make {len(runs)} ATIF documents, but {output} is a file",
            hint="give --output a folder (it is created) for more than one run",
        )
    for run in runs:
        _write_json(atif.document(run), output / f"{run.task_id.replace('/', '__')}.json")
    return len(runs)


def _write_json(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # One line: the C encoder is about ten times faster than an indented dump (benchmarks/bench_export.py).
    path.write_text(json_line(document) + "\n", encoding="utf-8")
