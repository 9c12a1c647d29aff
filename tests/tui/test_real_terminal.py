"""The real `termagent` command in a real terminal (tmux): replay engine, real Docker; a key
press approves a command. The sandbox prints a title change and an OSC 52 clipboard write:
neither reaches the terminal around the TUI."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui_helpers import HOSTILE_PRINTF, reply, write_replies

pytestmark = pytest.mark.docker
TERMAGENT = Path(sys.executable).with_name("termagent")


def _wait_for(tmux, text: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p").stdout
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_termagent_in_tmux_approves_by_key(tmp_path, sandbox_image, no_leftover_containers):
    replies = write_replies(tmp_path / "replies.jsonl", [
        reply("An empty prompt.", "Write the file.", [HOSTILE_PRINTF, "printf 'Hello, tmux!\\n' > /app/hello.txt\n",
                                                      "cat /app/hello.txt\n"]),
        reply("Done.", "Claim it.", [], complete=True),
        reply("Sure.", "Confirm.", [], complete=True),
    ])
    exit_file = tmp_path / "exit-status"
    command = " ".join([
        "env", "-u", "COLUMNS", "-u", "LINES", f"XDG_CONFIG_HOME={tmp_path / 'config'}", "TERM=xterm-256color",
        shlex.quote(str(TERMAGENT)), "--policy", "default", "--replay", shlex.quote(str(replies)),
        "--image", sandbox_image, "--trajectory", shlex.quote(str(tmp_path / "trajectory.jsonl")),
        shlex.quote("Create /app/hello.txt"),
    ]) + f"; echo $? > {shlex.quote(str(exit_file))}; sleep 60"
    config = tmp_path / "tmux.conf"
    config.write_text("set -g default-size 200x50\nset -g set-clipboard on\nset -g allow-rename on\n")
    socket = f"termagent-tui-test-{os.getpid()}"

    def tmux(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", socket, "-f", str(config), *args], capture_output=True, text=True,
                              timeout=30, check=False)

    tmux("new-session", "-d", "-x", "200", "-y", "50", "-s", "tui", command)
    try:
        screen = _wait_for(tmux, "approval needed")
        assert "> /app/hello.txt" in screen and "deny [n]" in screen
        tmux("send-keys", "y")
        screen = _wait_for(tmux, "summary")
        assert "completed" in screen and "3 steps" in screen
        tmux("send-keys", "Escape")  # back to the log and the terminal pane
        screen = _wait_for(tmux, "Hello, tmux!")
        assert "LINK" in screen and "FAKE allow once" in screen  # drawn inside the pane, nothing more
        assert "PWNED" not in tmux("display-message", "-p", "#{pane_title}").stdout
        assert tmux("list-buffers").stdout == ""  # no OSC 52 clipboard write got through
        tmux("send-keys", "q")
        deadline = time.monotonic() + 30
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exit_file.read_text().strip() == "0"
    finally:
        tmux("kill-server")
