"""Helpers for the workspace tests: an exact picture of a host tree, a checked shell command, a replay line."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path


def tree(root: Path) -> dict[str, tuple]:
    """Every path below root: ("dir", mode), ("file", mode, bytes) or ("symlink", target); no link followed."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            info = path.lstat()
            relative = path.relative_to(root).as_posix()
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("dir", mode)
            else:
                found[relative] = ("file", mode, path.read_bytes())
    return found


def review_of(changes) -> str:
    """Everything a person is shown of collected changes: the summary and every diff."""
    return changes.summary() + "\n\n" + "".join(changes.diff())


def run(sandbox, command: str) -> str:
    """Run a command in the sandbox shell; fails the test unless it succeeded."""
    result = sandbox.shell.run(command + "\n", duration=5)
    assert result.finished and result.exit_status == 0, result.output
    return result.output


def reply(commands: list[str], complete: bool) -> str:
    """One line of a replay file: the model's reply with these keystrokes."""
    text = json.dumps(
        {
            "analysis": "a",
            "plan": "p",
            "task_complete": complete,
            "commands": [{"keystrokes": keys, "duration": 2.0} for keys in commands],
        }
    )
    return json.dumps({"reply": text}) + "\n"
