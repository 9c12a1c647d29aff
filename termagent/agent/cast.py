"""An asciinema v2 recording of the sandbox terminal (plays with `asciinema play FILE`)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from termagent.agent.events import Event, EventType


class CastRecorder:
    def __init__(self, path: Path, columns: int = 160, lines: int = 40) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")
        self._started = time.monotonic()
        header = {"version": 2, "width": columns, "height": lines, "timestamp": int(time.time()),
                  "env": {"TERM": "xterm-256color", "SHELL": "/bin/bash"}}
        self._file.write(json.dumps(header) + "\n")

    def __call__(self, event: Event) -> None:
        if event.type is EventType.TERMINAL_OUTPUT and not self._file.closed:
            elapsed = round(time.monotonic() - self._started, 6)
            self._file.write(json.dumps([elapsed, "o", event.data["text"]], ensure_ascii=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()
