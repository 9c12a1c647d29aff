"""The trajectory: every event of a run as a JSON line, flushed as soon as it is written, so a
crash or kill -9 loses nothing already decided (keystrokes are announced before they are sent)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO

from termagent.agent.events import Event, EventType
from termagent.jsonl import read_json_lines
from termagent.paths import state_dir
from termagent.text_safety import json_line

# Streamed pieces are not decisions: the reply and the output they add up to are recorded whole.
_NOT_RECORDED = {EventType.MODEL_TOKEN, EventType.TERMINAL_OUTPUT}


def default_trajectory_path() -> Path:
    return state_dir() / "trajectories" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.jsonl"


class TrajectoryWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        if event.type in _NOT_RECORDED or self._file.closed:
            return
        self._file.write(json_line(event.to_json()) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_trajectory(path: Path) -> list[dict]:
    """The records of a trajectory file; a last line cut by a crash is left out."""
    return [record for _, record in read_json_lines(path, "trajectory", on_cut_end=lambda line: None)]


def replies_of(records: list[dict]) -> list[dict]:
    """The model's raw replies in order, in the replay engine's format ({"reply": ...})."""
    return [{"reply": record["raw"]} for record in records if record.get("type") == EventType.MODEL_REPLIED]
