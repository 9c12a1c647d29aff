"""A batch file that cannot be used is a configuration error that names the file and says where
a task's fields are described (exit status 2 on the command line, never a traceback)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from project_paths import EXAMPLES, TERMAGENT

from termagent.batch.tasks import load_batch
from termagent.errors import ConfigurationError


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("tasks: [\n", "cannot read the batch file", '"Batch runs"'),
        ("tasks:\n  - name: a\n", r"\$\.tasks\[0\]: 'task' is a required property", '"Batch runs"'),
        (
            "tasks:\n  - {name: a, task: x}\n  - {name: a, task: y}\n",
            "task names must be unique",
            "a `name` of its own",
        ),
    ],
)
def test_a_bad_batch_file_is_a_configuration_error(tmp_path: Path, text: str, message: str, hint: str) -> None:
    path = tmp_path / "tasks.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_batch(path)
    assert str(path) in caught.value.message and hint in (caught.value.hint or "")


def test_the_examples_batch_file_loads() -> None:
    assert [task.name for task in load_batch(EXAMPLES / "tasks.yaml")][:3] == ["hello-file", "largest-file", "fix-test"]


def test_the_command_exits_2_with_the_hint(tmp_path: Path) -> None:
    path = tmp_path / "tasks.yaml"
    path.write_text("tasks:\n  - {name: a, task: x}\n  - {name: a, task: y}\n", encoding="utf-8")
    completed = subprocess.run([TERMAGENT, "batch", str(path)], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert "task names must be unique" in completed.stderr and "a `name` of its own" in completed.stderr
    assert "Traceback" not in completed.stderr
