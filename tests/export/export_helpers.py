"""Helpers of the export tests: scripted replies, the termagent command, trajectory events."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from project_paths import TERMAGENT

from termagent.jsonl import read_json_lines


def reply(commands=(), complete=False, analysis="looking at the screen", plan="next step") -> str:
    return json.dumps(
        {
            "analysis": analysis,
            "plan": plan,
            "task_complete": complete,
            "commands": [{"keystrokes": k, "duration": d} for k, d in commands],
        },
        indent=2,
    )


def termagent(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([TERMAGENT, *args], capture_output=True, text=True, timeout=timeout)


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [value for _, value in read_json_lines(path, "export output")]
