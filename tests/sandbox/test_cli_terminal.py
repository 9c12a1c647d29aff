"""`termagent sandbox shell` in a real terminal (tmux), and the cached image build."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker
TERMAGENT = str(Path(sys.executable).with_name("termagent"))


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def _wait_for(session: str, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; screen:\n{screen}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (scripts/install.sh installs it)")
def test_sandbox_shell_in_a_real_terminal(sandbox_image, tmp_path):
    session = f"termagent-test-{time.monotonic_ns()}"
    log = tmp_path / "stderr.txt"
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "30", f"{TERMAGENT} sandbox shell 2>{log}; sleep 30")
    try:
        _wait_for(session, ":/app#")
        _tmux("send-keys", "-t", session, "echo from-$((6*7))", "Enter")
        _wait_for(session, "from-42")
        # The shell follows the size of the person's terminal, not the agent's 160x40.
        size = _tmux("display-message", "-p", "-t", session, "#{pane_height} #{pane_width}").strip()
        _tmux("send-keys", "-t", session, "echo size=$(stty size)", "Enter")
        assert f"size={size}" in _wait_for(session, f"size={size}").splitlines()
        _tmux("send-keys", "-t", session, "exit", "Enter")
        deadline = time.monotonic() + 20
        while "sandbox removed" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "sandbox removed" in log.read_text()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_a_second_build_with_nothing_changed_is_quick(sandbox_image):
    completed = subprocess.run([TERMAGENT, "sandbox", "build", "--offline"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    assert "up to date" in completed.stderr
