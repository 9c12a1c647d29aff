"""Replay records: one JSON line per step of a recorded session (the card's tb2-lite format).

Required: `task_id`, `step_idx`, `messages` (the conversation up to this step) or `prompt` (the same
flattened as `USER:\\n...\\n\\nASSISTANT:\\n...`), `ref_commands`; `ref_raw` and `ref_task_complete`
default to empty and false. `source_group` (or `source`) groups the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from termagent.errors import ConfigurationError
from termagent.jsonl import read_json_lines
from termagent.model.conversation import Message

UNGROUPED = "unknown"
_ROLE_HEADER = re.compile(r"(?:^|\n\n)(USER|ASSISTANT|SYSTEM):\n")
_FORMAT_HINT = 'see docs/eval.md ("Records") for the record format'


@dataclass(frozen=True)
class ReplayRecord:
    task_id: str
    step_idx: int
    messages: list[Message]
    ref_raw: str
    ref_commands: list[Any]
    ref_task_complete: bool
    source_group: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_id, self.step_idx)


def messages_from_prompt(prompt: str) -> list[Message]:
    """Split a flattened prompt at its role headers; text without headers is one user turn."""
    headers = list(_ROLE_HEADER.finditer(prompt))
    if not headers or headers[0].start() != 0:
        return [{"role": "user", "content": prompt}]
    messages = []
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(prompt)
        messages.append({"role": header.group(1).lower(), "content": prompt[header.end() : end]})
    return messages


def parse_record(data: Any, where: str) -> ReplayRecord:
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where}: a record must be a JSON object", hint=_FORMAT_HINT)
    missing = [name for name in ("task_id", "step_idx", "ref_commands") if name not in data]
    if "messages" not in data and "prompt" not in data:
        missing.append("messages or prompt")
    if missing:
        raise ConfigurationError(f"{where}: missing {', '.join(missing)}", hint=_FORMAT_HINT)
    messages = data["messages"] if "messages" in data else messages_from_prompt(str(data["prompt"]))
    if not (
        isinstance(messages, list)
        and messages
        and all(isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") for m in messages)
    ):
        raise ConfigurationError(
            f"{where}: messages must be a non-empty list of {{role, content}} objects", hint=_FORMAT_HINT
        )
    if not isinstance(data["ref_commands"], list):
        raise ConfigurationError(
            f"{where}: ref_commands must be a list of {{keystrokes, duration}} objects", hint=_FORMAT_HINT
        )
    try:
        step_idx = int(data["step_idx"])
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"{where}: step_idx must be a whole number", hint=_FORMAT_HINT) from error
    return ReplayRecord(
        task_id=str(data["task_id"]),
        step_idx=step_idx,
        messages=[{"role": str(m["role"]), "content": m["content"]} for m in messages],
        ref_raw=str(data.get("ref_raw", "")),
        ref_commands=data["ref_commands"],
        ref_task_complete=data.get("ref_task_complete") is True,
        source_group=str(data.get("source_group") or data.get("source") or UNGROUPED),
    )


def load_records(path: str | Path, limit: int | None = None) -> list[ReplayRecord]:
    """The file's records in order (the first `limit` of them); duplicate steps are an error."""
    records: list[ReplayRecord] = []
    seen: set[tuple[str, int]] = set()
    for place, data in read_json_lines(path, "replay data"):
        if limit is not None and len(records) >= limit:
            break
        record = parse_record(data, place)
        if record.key in seen:
            raise ConfigurationError(
                f"{place}: step {record.step_idx} of task {record.task_id} appears twice",
                hint="each (task_id, step_idx) is one step: keep one of the two lines",
            )
        seen.add(record.key)
        records.append(record)
    return records
