"""Watching a `termagent` process from outside: its trajectory, its exit, its containers. Every
wait is for a condition, with a generous limit, so a busy machine is only slower."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from termagent.agent.trajectory import read_trajectory
from termagent.sandbox.lifecycle import LABEL, OWNER_LABEL, owner_identity

WAIT = 300  # generous: a busy machine is only slower


def records(trajectory: Path) -> list[dict]:
    """The trajectory's complete lines (a line being written is left out)."""
    return read_trajectory(trajectory) if trajectory.exists() else []


def until(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        time.sleep(0.1)


def wait_for_records(trajectory: Path, condition: Callable[[list[dict]], bool], seconds: float = WAIT) -> list[dict]:
    until(lambda: condition(records(trajectory)), f"the expected records in {trajectory}", seconds)
    return records(trajectory)


def sent(found: list[dict], keystrokes: str) -> int:
    """How many times `keystrokes` were sent."""
    return sum(1 for r in found if r["type"] == "keystrokes_sent" and r["keystrokes"] == keystrokes)


def wait_for_exit(pid: int, seconds: float = WAIT) -> None:
    """Wait for a process that is not our child to end."""
    until(lambda: not os.path.exists(f"/proc/{pid}") or _is_zombie(pid), f"the exit of process {pid}", seconds)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def owner_prefix(pid: int) -> str:
    """The owner label's start for containers of process `pid` (its start time aside)."""
    return owner_identity(pid).rsplit(":", 1)[0] + ":"


def containers_of(docker_client, prefix: str) -> list[str]:
    return [
        c["Id"]
        for c in docker_client.api.containers(all=True, filters={"label": LABEL})
        if (c.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefix)
    ]


def first_stop(shell, result, seconds: float = WAIT):
    """The sandbox's limit stop for `result`, or, when the command ended before the disk watchdog
    looked, for the quick commands run after it until one reports it (or the shell is gone)."""
    deadline = time.monotonic() + seconds
    while result.stopped is None and result.alive:
        if time.monotonic() > deadline:
            return None
        result = shell.run("true\n", duration=1)
    return result.stopped
