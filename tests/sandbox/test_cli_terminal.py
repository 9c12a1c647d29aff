"""`termagent sandbox shell` in a real terminal (tmux), and the cached image build."""

import subprocess
import time

import pytest
from project_paths import TERMAGENT
from tmux_terminal import TmuxTerminal, needs_tmux

pytestmark = pytest.mark.docker


@needs_tmux
def test_sandbox_shell_in_a_real_terminal(sandbox_image, tmp_path):
    log = tmp_path / "stderr.txt"
    with TmuxTerminal(tmp_path, width=120, height=30) as terminal:
        terminal.start(f"{TERMAGENT} sandbox shell 2>{log}; sleep 30")
        terminal.wait_for(":/app#")
        terminal.send_keys("echo from-$((6*7))", "Enter")
        terminal.wait_for("from-42")
        # The shell follows the size of the person's terminal, not the agent's 160x40.
        terminal.send_keys("echo size=$(stty size)", "Enter")
        assert "size=30 120" in terminal.wait_for("size=30 120").splitlines()
        terminal.send_keys("exit", "Enter")
        deadline = time.monotonic() + 20
        while "sandbox removed" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "sandbox removed" in log.read_text()


def test_a_second_build_with_nothing_changed_is_quick(sandbox_image):
    completed = subprocess.run([TERMAGENT, "sandbox", "build", "--offline"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    assert "up to date" in completed.stderr
