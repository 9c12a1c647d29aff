"""Live evaluation tasks: an instruction, files for /app, a check, and optionally a solution.

Three folder layouts are read (a task folder, or a folder of task folders):
- termagent's: `task.yaml` with `instruction` and `check` (a bash script run in /app after the
  agent; exit 0 = pass), optional `solution.sh`, `files/` (copied into /app before the run),
  `tests/` (copied into /tests before the check), `image`, `timeout_sec`;
- Terminal-Bench 1: `task.yaml` with `instruction` (or `descriptions[].description`),
  `solution.sh`, `run-tests.sh` and `tests/`; the check is `bash /tests/run-tests.sh` with
  TEST_DIR=/tests, as its harness runs it (without run-tests.sh: pytest on tests/test_outputs.py);
- Terminal-Bench 2 (Harbor): `instruction.md`, `solution/solve.sh`, `tests/test.sh`; the check
  passes when test.sh writes 1 (or more) to /logs/verifier/reward.txt.
A Terminal-Bench task's Dockerfile is not built: its image must exist (`image` in task.yaml or --image).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from termagent.errors import ConfigurationError

TESTS_DIR = "/tests"
_LAYOUT_HINT = "see docs/eval.md (`termagent eval live`) for the task folder layouts"
TB1_CHECK = "bash /tests/run-tests.sh"
# What Terminal-Bench 1 runs for a task without run-tests.sh (it installs pytest first; here the
# image must have it).
TB1_DEFAULT_CHECK = "python3 -m pytest -rA /tests/test_outputs.py"
# The reward may be written as 1 or 1.0; anything less (or none) fails.
HARBOR_CHECK = (
    "mkdir -p /logs/verifier && bash /tests/test.sh; "
    "awk 'NR == 1 { exit !($1 + 0 >= 1) } END { if (NR == 0) exit 1 }' /logs/verifier/reward.txt"
)


@dataclass(frozen=True)
class LiveTask:
    name: str
    instruction: str
    check: str  # bash script run in /app once the agent is done; exit 0 = pass
    layout: str  # "termagent", "terminal-bench" or "harbor"
    solution: str | None = None  # bash script that solves the task, for --oracle
    files: Path | None = None  # copied into /app before the run
    tests: tuple[tuple[Path, str], ...] = ()  # (host path, name under /tests), copied in before the check
    image: str | None = None  # None: the sandbox image of the command line
    timeout: float | None = None  # seconds for the agent


def load_tasks(path: Path) -> list[LiveTask]:
    """The task at `path`, or every task folder directly inside it (sorted by name)."""
    if not path.is_dir():
        raise ConfigurationError(f"{path} is not a folder", hint="TASKS is a task folder or a folder of task folders")
    if _is_task(path):
        return [load_task(path)]
    tasks = [load_task(child) for child in sorted(path.iterdir()) if child.is_dir() and _is_task(child)]
    if not tasks:
        raise ConfigurationError(f"no tasks in {path}", hint="a task folder holds task.yaml or instruction.md")
    return tasks


def _is_task(folder: Path) -> bool:
    return (folder / "task.yaml").is_file() or (folder / "instruction.md").is_file()


def load_task(folder: Path) -> LiveTask:
    if (folder / "instruction.md").is_file():
        return _harbor(folder)
    meta = _yaml(folder / "task.yaml")
    instruction = meta.get("instruction") or _base_description(meta)
    if not isinstance(instruction, str) or not instruction.strip():
        raise ConfigurationError(
            f"{folder / 'task.yaml'}: no instruction", hint="give task.yaml an `instruction` (see docs/eval.md)"
        )
    common: dict[str, Any] = {
        "name": folder.name,
        "instruction": instruction.strip(),
        "solution": _read(folder / "solution.sh"),
        "image": meta.get("image"),
        "timeout": meta.get("timeout_sec") or meta.get("max_agent_timeout_sec"),
    }
    files = folder / "files"
    common["files"] = files if files.is_dir() else None
    tests = ((folder / "tests", "."),) if (folder / "tests").is_dir() else ()
    if "check" in meta:
        return LiveTask(check=str(meta["check"]), layout="termagent", tests=tests, **common)
    if (folder / "run-tests.sh").is_file():
        return LiveTask(
            check=TB1_CHECK,
            layout="terminal-bench",
            tests=tests + ((folder / "run-tests.sh", "run-tests.sh"),),
            **common,
        )
    if (folder / "tests" / "test_outputs.py").is_file():
        return LiveTask(check=TB1_DEFAULT_CHECK, layout="terminal-bench", tests=tests, **common)
    raise ConfigurationError(
        f"{folder}: no check",
        hint="give task.yaml a `check` script, or the folder run-tests.sh or tests/test_outputs.py",
    )


def _harbor(folder: Path) -> LiveTask:
    if not (folder / "tests" / "test.sh").is_file():
        raise ConfigurationError(
            f"{folder}: a Terminal-Bench 2 task needs tests/test.sh",
            hint="a folder with instruction.md is read as a Terminal-Bench 2 task; its check is tests/test.sh",
        )
    return LiveTask(
        name=folder.name,
        instruction=(folder / "instruction.md").read_text(encoding="utf-8").strip(),
        check=HARBOR_CHECK,
        layout="harbor",
        solution=_read(folder / "solution" / "solve.sh"),
        tests=((folder / "tests", "."),),
    )


def _base_description(meta: dict[str, Any]) -> str | None:
    """Older Terminal-Bench tasks list descriptions; the one keyed `base` is the task."""
    for entry in meta.get("descriptions") or []:
        if isinstance(entry, dict) and entry.get("key", "base") == "base":
            return entry.get("description")
    return None


def _yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"cannot read {path}: {error}", hint=_LAYOUT_HINT) from error
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a mapping", hint=_LAYOUT_HINT)
    return data


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None
