"""`termagent eval replay`: ask an engine for every recorded step and score its reply against the reference.

Each step's prompt is rebuilt through termagent's own Conversation (thinking removed from history
turns, the first turn assembled from instructions + task + first screen), with termagent's
instructions or, for a like-for-like comparison with the card, the record's own; the engine then
renders it with the model's chat template. Rows are appended to the per-step file as they arrive, so
an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from termagent.errors import ConfigurationError, TermagentError
from termagent.eval.metrics import command_units, read_reply, score_step, step_bucket, summarize
from termagent.eval.records import ReplayRecord
from termagent.jsonl import read_json_lines
from termagent.model.conversation import FIRST_SCREEN_HEADER, TASK_HEADER, Conversation, Message
from termagent.model.engines.base import Completion, Engine
from termagent.model.parse import parse_reply
from termagent.model.schema import validate_action
from termagent.model.thinking import strip_thinking

# Engines that take many requests at once (vLLM's server batches them); the others run one at a time.
CONCURRENT_ENGINES = frozenset({"openai"})


def build_messages(record: ReplayRecord, instructions: str | None) -> tuple[list[Message], bool]:
    """The step's prompt as termagent builds it, and whether the record's turns could be rebuilt.

    `instructions` None keeps the record's own instruction text. A record whose first turn lacks
    the task and screen headers (or whose turns do not alternate) is sent as recorded, thinking
    removed from the assistant turns.
    """
    first, *rest = record.messages
    task_at = first["content"].find(TASK_HEADER)
    screen_at = first["content"].rfind(FIRST_SCREEN_HEADER)
    if first["role"] == "user" and 0 <= task_at < screen_at:
        conversation = Conversation(
            first["content"][task_at + len(TASK_HEADER) : screen_at],
            first["content"][screen_at + len(FIRST_SCREEN_HEADER) :],
            instructions=first["content"][:task_at] if instructions is None else instructions,
        )
        try:
            for message in rest:
                if message["role"] == "assistant":
                    conversation.add_reply(message["content"])
                else:
                    conversation.add_user(message["content"])
            return conversation.messages, True
        except ValueError:  # two turns of one role in a row: not a dialogue Conversation can hold
            pass
    return [
        {"role": m["role"], "content": strip_thinking(m["content"])[0] if m["role"] == "assistant" else m["content"]}
        for m in record.messages
    ], False


@dataclass(frozen=True)
class StepRow:
    """One line of the per-step file: the prediction, the reference and the step's scores."""

    task_id: str
    step_idx: int
    source_group: str
    bucket: str
    pred_raw: str
    pred_command_units: list[str]
    ref_command_units: list[str]
    pred_task_complete: bool | None
    ref_task_complete: bool
    valid_json: bool
    termagent_parse_ok: bool
    schema_valid: bool
    has_analysis: bool
    has_plan: bool
    command_precision: float
    command_recall: float
    command_f1: float
    first_cmd_exact: bool
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    prompt_rebuilt: bool


def score_reply(record: ReplayRecord, completion: Completion, *, prompt_rebuilt: bool = True) -> StepRow:
    reading = read_reply(completion.text)
    ref_units = command_units(record.ref_commands)
    score = score_step(reading.units, ref_units)
    return StepRow(
        task_id=record.task_id,
        step_idx=record.step_idx,
        source_group=record.source_group,
        bucket=step_bucket(record.step_idx),
        pred_raw=completion.text,
        pred_command_units=reading.units,
        ref_command_units=ref_units,
        pred_task_complete=reading.task_complete,
        ref_task_complete=record.ref_task_complete,
        valid_json=reading.valid_json,
        termagent_parse_ok=parse_reply(completion.text).ok,
        schema_valid=reading.valid_json and not validate_action(reading.payload),
        has_analysis=reading.has_analysis,
        has_plan=reading.has_plan,
        command_precision=score.precision,
        command_recall=score.recall,
        command_f1=score.f1,
        first_cmd_exact=score.first_cmd_exact,
        seconds=round(completion.elapsed, 4),
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        finish_reason=completion.finish_reason,
        prompt_rebuilt=prompt_rebuilt,
    )


@dataclass
class ReplayRun:
    rows: list[dict[str, Any]]  # every scored step in the per-step file, resumed ones included
    generated: int  # steps asked of the engine in this run
    wall_seconds: float
    failures: list[str] = field(default_factory=list)  # steps the engine failed on (not written: resume retries them)


def read_rows(path: Path, on_cut_end: Callable[[int], None]) -> list[dict[str, Any]]:
    """The rows of a per-step file; a last line cut by an interrupted run is left out (that step
    is asked again) and reported to `on_cut_end`."""
    if not path.exists():
        return []
    return [row for _, row in read_json_lines(path, "per-step results", on_cut_end=on_cut_end)]


def _row_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def run_replay(
    records: Sequence[ReplayRecord],
    engine: Engine,
    steps_path: Path,
    *,
    instructions: str | None,
    resume: bool = False,
    concurrency: int = 1,
    on_steps: Callable[[int], None] | None = None,
) -> ReplayRun:
    """Ask `engine` for every record not yet in `steps_path` (all of them without `resume`);
    `on_steps(n)` hears of steps done (resumed ones first, at once)."""
    cut: list[int] = []
    done = read_rows(steps_path, cut.append) if resume else []
    done_keys = {(row["task_id"], row["step_idx"]) for row in done}
    todo = [record for record in records if record.key not in done_keys]
    if engine.name == "replay" and len(todo) < len(records):
        raise ConfigurationError(
            "--resume cannot skip steps with the replay engine: it plays its replies in order",
            hint="run again without --resume",
        )
    wanted = {record.key for record in records}
    rows = [row for row in done if (row["task_id"], row["step_idx"]) in wanted]
    if on_steps is not None and rows:
        on_steps(len(rows))
    failures: list[str] = []
    workers = max(1, concurrency) if engine.name in CONCURRENT_ENGINES else 1
    steps_path.parent.mkdir(parents=True, exist_ok=True)
    if cut:  # rewritten without the cut line, so the rows appended next start on lines of their own
        steps_path.write_text("".join(map(_row_line, done)), encoding="utf-8")
    started = time.perf_counter()
    with steps_path.open("a" if resume else "w", encoding="utf-8") as out, ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(_ask, engine, record, instructions): record for record in todo}
        for future in as_completed(futures):
            record = futures[future]
            try:
                row = asdict(future.result())
            except TermagentError as error:
                failures.append(f"{record.task_id} step {record.step_idx}: {error.message}")
            else:
                out.write(_row_line(row))
                out.flush()
                rows.append(row)
            if on_steps is not None:
                on_steps(1)
    rows.sort(key=lambda row: (row["task_id"], row["step_idx"]))
    return ReplayRun(rows, len(todo), time.perf_counter() - started, failures)


def _ask(engine: Engine, record: ReplayRecord, instructions: str | None) -> StepRow:
    messages, rebuilt = build_messages(record, instructions)
    return score_reply(record, engine.complete(messages), prompt_rebuilt=rebuilt)


def replay_summary(run: ReplayRun, **context: Any) -> dict[str, Any]:
    """The card's aggregate plus speed, failures and whatever describes the run (`context`)."""
    summary = summarize(run.rows)
    latencies = [row["seconds"] for row in run.rows]
    # The card's sec/step is throughput: wall time over steps; with nothing asked in this run
    # (everything resumed), the recorded latencies are all there is.
    summary["sec_per_step"] = round(
        run.wall_seconds / run.generated if run.generated else sum(latencies) / max(len(latencies), 1), 3
    )
    summary["mean_latency_s"] = round(sum(latencies) / max(len(latencies), 1), 3)
    summary["generated_steps"] = run.generated
    summary["failed_steps"] = len(run.failures)
    summary["prompt_rebuilt_pct"] = round(
        100.0 * sum(row["prompt_rebuilt"] for row in run.rows) / max(len(run.rows), 1), 1
    )
    summary.update(context)
    return summary
