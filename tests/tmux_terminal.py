"""A real terminal for tests: a program run in tmux on a private server, typed into with
send-keys and read with capture-pane (as a person would see it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (scripts/install.sh installs it)")


class TmuxTerminal:
    def __init__(self, tmp_path: Path, *, width: int = 160, height: int = 50, config: str = "") -> None:
        self.socket = f"termagent-test-{os.getpid()}-{time.monotonic_ns()}"
        self.config = tmp_path / f"{self.socket}.conf"
        self.config.write_text(f"set -g default-size {width}x{height}\n{config}")
        self.width, self.height = width, height

    def __enter__(self) -> TmuxTerminal:
        return self

    def __exit__(self, *exc_info) -> None:
        self.tmux("kill-server")

    def tmux(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def start(self, command: str) -> None:
        """Run `command` (a shell command line) in a new session; $COLUMNS/$LINES of the test
        process are kept out, so the program sees only the terminal's own size."""
        self.tmux(
            "new-session",
            "-d",
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            "-s",
            "main",
            f"env -u COLUMNS -u LINES {command}",
        )

    def send_keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "main", *keys)

    def screen(self, history: int = 0) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", str(-history), "-t", "main").stdout

    def wait_for(self, text: str, seconds: float = 240, history: int = 0) -> str:  # generous: a busy machine
        deadline = time.monotonic() + seconds
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(history)
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")
