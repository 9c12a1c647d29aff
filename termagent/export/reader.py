"""Reading trajectory files into runs: steps, model requests, commands with their policy
decisions and results, and what the run's check said.

A trajectory is read strictly (it is the record of what happened): a line cut by a crash at the
end, or a last step that never finished, is left out and said so in `RecordedRun.dropped`; a
file that is not a trajectory, or one written by a newer termagent, is an error naming the file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from termagent.agent.events import FORMAT_VERSION, EventType
from termagent.errors import TermagentError
from termagent.jsonl import read_json_lines
from termagent.text_safety import unescape_display

# Trajectories carry `format_version` in their run_started record from version 2 on; none means 1.
SUPPORTED_FORMAT_VERSION = FORMAT_VERSION
# Folders written by `termagent batch` and `termagent eval live`: one trajectory per task, and a
# report whose rows say how each task's check went.
_REPORT_FILES = ("report.json", "summary.json")
_POLICY_EVENTS = {EventType.POLICY_DECIDED, EventType.APPROVAL_ASKED, EventType.APPROVAL_ANSWERED}
_KNOWN_EVENTS = {str(kind) for kind in EventType}


class ExportError(TermagentError):
    """Inputs that cannot be exported as asked."""


class NotATrajectoryError(ExportError):
    """An input file is something else (replay records, a reply file, an ATIF document...)."""


class NewerFormatError(ExportError):
    """A trajectory written by a newer termagent, in a format this one does not know."""


@dataclass
class Attempt:
    """One request to the model and its reply; `rejected` holds why the reply could not be used."""

    prompt_new_part: str
    raw: str
    prompt_tokens: int
    completion_tokens: int
    elapsed: float
    finish_reason: str | None
    time: float
    rejected: list[str] | None = None


@dataclass
class CommandRun:
    """One command of the parsed reply: how the policy (and a person) judged it, and what it did."""

    keystrokes: str
    duration: float
    decisions: list[dict[str, Any]] = field(default_factory=list)
    sent: str | None = None
    edited: bool = False
    result: dict[str, Any] | None = None
    interrupted: bool = False
    skipped: str | None = None

    @property
    def denied(self) -> bool:
        return self.sent is None and bool(self.decisions) and _final_no(self.decisions)

    @property
    def settled(self) -> bool:
        """Run to a result, denied, or skipped: nothing more will be recorded of it."""
        return self.result is not None or self.skipped is not None or self.denied


@dataclass
class Step:
    number: int
    time: float
    attempts: list[Attempt] = field(default_factory=list)
    compactions: list[dict[str, Any]] = field(default_factory=list)
    action: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    commands: list[CommandRun] = field(default_factory=list)
    claimed: bool = False
    confirmed: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> Attempt | None:
        """The attempt whose reply the agent acted on."""
        if self.action is None or not self.attempts or self.attempts[-1].rejected is not None:
            return None
        return self.attempts[-1]

    @property
    def had_rejection(self) -> bool:
        return any(attempt.rejected is not None for attempt in self.attempts)

    @property
    def had_denial(self) -> bool:
        return any(command.denied for command in self.commands)


@dataclass
class RecordedRun:
    path: Path
    task_id: str
    task: str
    engine: str
    model: str
    policy: str
    time: float
    settings: dict[str, Any]
    steps: list[Step]
    finished: dict[str, Any] | None  # the run_finished record; None when the run was killed
    check: str | None = None  # "passed" / "failed" from the batch or eval report; None: no check known
    dropped: list[str] = field(default_factory=list)  # what was left out, for the person
    ignored: Counter[str] = field(default_factory=Counter)  # event types this termagent does not know

    @property
    def status(self) -> str:
        return str(self.finished.get("status")) if self.finished else "killed"

    @property
    def passed(self) -> bool:
        return self.status == "completed" and self.check == "passed"


# -- finding the inputs ------------------------------------------------------------------------


def input_files(inputs: Sequence[Path]) -> list[Path]:
    """The files named, and the *.jsonl files of the folders named, once each."""
    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix == ".jsonl" and p.is_file())
            if not found:
                raise ExportError(
                    f"{path} holds no trajectory (*.jsonl) files",
                    hint="pass trajectory files, or a `termagent batch` / `eval live` output folder",
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ExportError(f"{path}: no such file or folder")
    return list(dict.fromkeys(p.resolve() for p in files))


def _kind_of(text: str, suffix: str) -> str:
    """What a file looks like, from its first JSON value."""
    try:
        data = json.loads(text if suffix == ".json" else text.split("\n", 1)[0])
    except ValueError:
        return "not JSON lines"
    if not isinstance(data, dict):
        return "not a JSON object per line"
    if str(data.get("schema_version", "")).startswith("ATIF"):
        return "an ATIF document"
    if data.get("type") == EventType.RUN_STARTED:
        return "trajectory"
    if "type" in data and "step" in data:
        return "a trajectory without its run_started record"
    if "pred_raw" in data:
        return "`eval replay` per-step results"
    if "task_id" in data and "step_idx" in data:
        return "tb2-lite replay records"
    if "reply" in data:
        return "a reply file"
    if "messages" in data:
        return "chat conversations (SFT)"
    return "an unknown JSON-lines file"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ExportError(f"cannot read {path}: {error}") from error


# -- reading one trajectory ----------------------------------------------------------------------


def read_run(path: Path, task_id: str | None = None) -> RecordedRun:
    records, cut_line = _read_records(path)
    if not records or records[0]["type"] != EventType.RUN_STARTED:
        raise NotATrajectoryError(f"{path} does not start with a run_started record")
    first = records[0]
    version = first.get("format_version", 1)
    if not isinstance(version, int) or version > SUPPORTED_FORMAT_VERSION:
        raise NewerFormatError(
            f"{path} is a trajectory of format version {version}; this termagent reads up to "
            f"version {SUPPORTED_FORMAT_VERSION}",
            hint="export it with the termagent version that recorded it, or upgrade termagent",
        )
    run = RecordedRun(
        path=path,
        task_id=task_id or path.stem,
        task=str(first.get("task", "")),
        engine=str(first.get("engine", "")),
        model=str(first.get("model", "")),
        policy=str(first.get("policy", "")),
        time=float(first.get("time", 0.0)),
        settings={name: first.get(name) for name in ("max_steps", "timeout", "note") if name in first},
        steps=[],
        finished=None,
    )
    if cut_line:
        run.dropped.append(f"line {cut_line}: cut off mid-write (the run was killed)")
    _Folder(run, escaped_policy_keystrokes=version < 2).feed(records[1:])
    return run


def _read_records(path: Path) -> tuple[list[dict[str, Any]], int | None]:
    """The records, and the number of a last line cut by a crash (None when the file ends cleanly)."""
    cut: list[int] = []
    records: list[dict[str, Any]] = []
    for place, record in read_json_lines(path, "trajectory", on_cut_end=cut.append):
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            raise ExportError(f"{place}: not a trajectory event (an object with a type)")
        records.append(record)
    return records, cut[0] if cut else None


class _Folder:
    """Folds the event stream into steps, in the order the agent loop emits it."""

    def __init__(self, run: RecordedRun, *, escaped_policy_keystrokes: bool) -> None:
        self.run = run
        # Version 1 recorded the policy events' keystrokes escaped for display; read them raw.
        self.escaped_policy_keystrokes = escaped_policy_keystrokes
        self.step: Step | None = None
        self.step_closed = True

    def feed(self, records: Iterable[dict[str, Any]]) -> None:
        for number, record in enumerate(records, start=2):
            kind = record["type"]
            if kind not in _KNOWN_EVENTS:
                self.run.ignored[kind] += 1
                continue
            try:
                self._one(EventType(kind), record)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                raise ExportError(
                    f"{self.run.path}: event {number} ({kind}) is malformed: {type(error).__name__} {error!r}"[:300],
                    hint="the trajectory was edited or damaged",
                ) from error
        if self.run.finished is None:
            self._drop_open_step("the run was killed before it finished")

    def _one(self, kind: EventType, record: dict[str, Any]) -> None:
        step = self.step
        if kind is EventType.STEP_STARTED:
            self.step = Step(number=int(record["step"]), time=float(record.get("time", 0.0)))
            self.run.steps.append(self.step)
        elif kind is EventType.RUN_FINISHED:
            if step is not None and step.action is None and not step.errors:
                self._drop_open_step("it ended before the model's reply was recorded")
            self.run.finished = record
        elif step is None:
            return  # run-level events before the first step (warnings) and after it (workspace)
        elif kind is EventType.CONTEXT_COMPACTED:
            step.compactions.append({k: record[k] for k in ("dropped_steps", "tokens_before", "tokens_after")})
        elif kind is EventType.MODEL_REPLIED:
            step.attempts.append(
                Attempt(
                    prompt_new_part=str(record["prompt_new_part"]),
                    raw=str(record["raw"]),
                    prompt_tokens=int(record.get("prompt_tokens") or 0),
                    completion_tokens=int(record.get("completion_tokens") or 0),
                    elapsed=float(record.get("elapsed") or 0.0),
                    finish_reason=record.get("finish_reason"),
                    time=float(record.get("time", 0.0)),
                )
            )
        elif kind is EventType.REPLY_REJECTED and step.attempts:
            step.attempts[-1].rejected = [str(error) for error in record.get("errors", [])]
        elif kind is EventType.ACTION_PARSED:
            step.action = {k: record[k] for k in ("analysis", "plan", "commands", "task_complete")}
            step.commands = [CommandRun(str(c["keystrokes"]), float(c["duration"])) for c in record["commands"]]
        elif kind is EventType.PARSE_WARNING:
            step.warnings.append(str(record.get("warning", "")))
        elif kind in _POLICY_EVENTS:
            command = self._current_command(step)
            if command is not None:
                decision = {k: v for k, v in record.items() if k not in ("step", "time")}
                if self.escaped_policy_keystrokes:
                    for name in ("keystrokes", "edited"):
                        if isinstance(decision.get(name), str):
                            decision[name] = unescape_display(decision[name])
                command.decisions.append(decision)
        elif kind is EventType.KEYSTROKES_SENT:
            command = self._current_command(step)
            if command is not None:
                command.sent, command.edited = str(record["keystrokes"]), bool(record.get("edited"))
        elif kind is EventType.OUTPUT_OBSERVED:
            command = self._current_command(step)
            if command is not None:
                command.result = {k: v for k, v in record.items() if k not in ("type", "step", "time")}
        elif kind is EventType.INTERRUPTED:
            ran = [c for c in step.commands if c.result is not None]
            if ran:
                ran[-1].interrupted = True
        elif kind is EventType.COMMAND_SKIPPED:
            waiting = [c for c in step.commands if c.result is None and not c.decisions and c.skipped is None]
            if waiting:
                waiting[0].skipped = str(record.get("reason", ""))
        elif kind is EventType.COMPLETION_CLAIMED:
            step.claimed = True
        elif kind is EventType.COMPLETION_CONFIRMED:
            step.confirmed = True
        elif kind is EventType.ERROR:
            step.errors.append(str(record.get("message", "")))

    @staticmethod
    def _current_command(step: Step) -> CommandRun | None:
        """The first command not yet settled."""
        return next((command for command in step.commands if not command.settled), None)

    def _drop_open_step(self, why: str) -> None:
        step = self.run.steps[-1] if self.run.steps else None
        if step is None or self.run.finished is not None:
            return
        if _step_is_whole(step):
            return
        self.run.steps.pop()
        self.run.dropped.append(f"step {step.number}: incomplete, left out ({why})")


def _final_no(decisions: list[dict[str, Any]]) -> bool:
    """Whether the last word on a command was no (a deny decision, or a person's deny)."""
    last = decisions[-1]
    if last["type"] == EventType.POLICY_DECIDED:
        return last.get("decision") == "deny"
    if last["type"] == EventType.APPROVAL_ANSWERED:
        return str(last.get("answer", "")).startswith("deny")
    return False


def _step_is_whole(step: Step) -> bool:
    """A step of a killed run counts only if everything it set out to do was recorded."""
    return step.action is not None and all(command.settled for command in step.commands)


# -- a set of runs, with their checks --------------------------------------------------------------


def read_runs(inputs: Sequence[Path]) -> list[RecordedRun]:
    """The runs of every input; any input that is not a trajectory is one error listing them all."""
    files = input_files(inputs)
    ids = _task_ids(files)
    checks = _checks(files)
    runs, others = [], []
    for path in files:
        text = _read_text(path)
        kind = _kind_of(text, path.suffix)
        if kind != "trajectory":
            others.append(f"{path} is {kind}")
            continue
        run = read_run(path, ids[path])
        run.check = checks.get(path)
        runs.append(run)
    if others:
        raise NotATrajectoryError(
            f"not every input is a termagent trajectory: {'; '.join(others)}",
            hint="pass only trajectory files (`termagent --trajectory FILE`) or batch / eval live output folders",
        )
    return runs


def _task_ids(files: Sequence[Path]) -> dict[Path, str]:
    """The file's stem (a batch names trajectories after tasks); its folder too when stems collide."""
    stems = Counter(path.stem for path in files)
    return {path: path.stem if stems[path.stem] == 1 else f"{path.parent.name}/{path.stem}" for path in files}


def _checks(files: Sequence[Path]) -> dict[Path, str]:
    """Each trajectory's check result, from the report its batch or `eval live` wrote beside it."""
    checks: dict[Path, str] = {}
    for folder in {path.parent for path in files}:
        for name in _REPORT_FILES:
            report = folder / name
            if not report.is_file():
                continue
            try:
                rows = json.loads(report.read_text(encoding="utf-8")).get("results", [])
            except (OSError, ValueError, AttributeError) as error:
                raise ExportError(f"cannot read the report {report}: {error}") from error
            for row in rows:
                if isinstance(row, dict) and row.get("trajectory") and row.get("check") in ("passed", "failed"):
                    checks[(folder / Path(str(row["trajectory"])).name).resolve()] = row["check"]
    return checks
