"""`termagent --no-tui` in a real terminal (tmux): the plain interface asks, a key press answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from conftest import EXAMPLES, TERMAGENT

pytestmark = [pytest.mark.docker,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (scripts/install.sh installs it)")]


def _screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-S", "-200", "-t", session],
                          capture_output=True, text=True).stdout


def _wait_for(session: str, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = _screen(session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared:\n{_screen(session)}")


def test_plain_interface_asks_and_a_key_allows(sandbox_image, tmp_path):
    session = f"termagent-plain-{time.monotonic_ns()}"
    trajectory = tmp_path / "run.jsonl"
    command = (f"{TERMAGENT} --no-tui --policy default --replay {EXAMPLES / 'hello-file' / 'replies.jsonl'} "
               f"--trajectory {trajectory} 'Create /app/hello.txt'; echo EXIT=$?; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", command], check=True)
    try:
        _wait_for(session, "choice>")
        subprocess.run(["tmux", "send-keys", "-t", session, "y", "Enter"], check=True)
        screen = _wait_for(session, "EXIT=")
        assert "EXIT=0" in screen and "| Hello, termagent!" in screen
        answers = [json.loads(line) for line in trajectory.read_text().splitlines()
                   if '"approval_answered"' in line]
        assert [(a["answer"], a["approver"]) for a in answers] == [("allow-once", "person")]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
