"""A run that fails while the sandbox starts still leaves a closed trajectory: the real
`termagent` command, real Docker. The command line reports the error (exit status 2, README
"Exit status"); the trajectory opens with `run_started`, records the error and closes with
`run_finished`, and nothing is left behind."""

from __future__ import annotations

import os
import subprocess

import pytest
from agent_replies import action
from project_paths import TERMAGENT
from run_watch import WAIT, records

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]


def test_a_sandbox_that_cannot_start_is_recorded_as_an_error(sandbox_image, replies_file, tmp_path):
    replies = replies_file(action([("ls\n", 1)]), action(complete=True), action(complete=True))
    trajectory = tmp_path / "run.jsonl"
    (tmp_path / "tmp").mkdir()
    completed = subprocess.run(
        [
            TERMAGENT,
            "--headless",
            "--image",
            "termagent-test-no-such-image:never",
            "--replay",
            str(replies),
            "--trajectory",
            str(trajectory),
            "look around",
        ],
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert completed.returncode == 2, completed.stderr
    assert "termagent-test-no-such-image:never" in completed.stderr and "Traceback" not in completed.stderr
    found = records(trajectory)
    assert [r["type"] for r in found] == ["run_started", "error", "run_finished"]
    assert found[0]["task"] == "look around"
    assert "termagent-test-no-such-image:never" in found[1]["message"]
    assert found[2]["status"] == "error" and found[2]["steps"] == 0
    assert list((tmp_path / "tmp").iterdir()) == []
