"""`termagent --no-tui` in a real terminal (tmux): the plain interface asks, a key press answers."""

from __future__ import annotations

import json

import pytest
from project_paths import EXAMPLES, TERMAGENT
from tmux_terminal import TmuxTerminal, needs_tmux

pytestmark = [pytest.mark.docker, needs_tmux, pytest.mark.timeout(900)]


def test_plain_interface_asks_and_a_key_allows(sandbox_image, tmp_path):
    trajectory = tmp_path / "run.jsonl"
    command = (
        f"{TERMAGENT} --no-tui --policy default --replay {EXAMPLES / 'hello-file' / 'replies.jsonl'} "
        f"--trajectory {trajectory} 'Create /app/hello.txt'; echo EXIT=$?; sleep 30"
    )
    with TmuxTerminal(tmp_path) as terminal:
        terminal.start(command)
        terminal.wait_for("choice>")
        terminal.send_keys("y", "Enter")
        screen = terminal.wait_for("EXIT=", history=200)
        assert "EXIT=0" in screen and "| Hello, termagent!" in screen
    answers = [json.loads(line) for line in trajectory.read_text().splitlines() if '"approval_answered"' in line]
    assert [(a["answer"], a["approver"]) for a in answers] == [("allow-once", "person")]
