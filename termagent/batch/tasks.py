"""The batch file: a YAML list of tasks with optional shared defaults, checked against a schema."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from termagent.errors import ConfigurationError

_SCHEMA = json.loads(Path(__file__).with_name("batch.schema.json").read_text(encoding="utf-8"))
_FORMAT_HINT = "the README's \"Batch runs\" lists a task's fields; examples/tasks.yaml is one batch file"


@dataclass(frozen=True)
class BatchTask:
    name: str
    task: str
    check: str | None = None  # run in the sandbox at the end; exit 0 = pass
    replay: Path | None = None  # recorded replies for this task (else the shared engine)
    workspace: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # image, policy, max_steps, ...


def load_batch(path: Path) -> list[BatchTask]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"cannot read the batch file {path}: {error}", hint=_FORMAT_HINT) from error
    problem = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(_SCHEMA).iter_errors(data))
    if problem is not None:
        raise ConfigurationError(f"batch file {path}: {problem.json_path}: {problem.message}", hint=_FORMAT_HINT)
    defaults = data.get("defaults", {})
    tasks = []
    for index, entry in enumerate(data["tasks"]):
        merged = {**defaults, **entry}
        relative = {key: (path.parent / merged.pop(key)).resolve() for key in ("replay", "workspace") if key in merged}
        name = merged.pop("name", f"task-{index + 1}")
        tasks.append(
            BatchTask(name=name, task=merged.pop("task"), check=merged.pop("check", None), settings=merged, **relative)
        )
    names = [task.name for task in tasks]
    if len(set(names)) != len(names):
        raise ConfigurationError(
            f"batch file {path}: task names must be unique", hint="give each task a `name` of its own"
        )
    return tasks
