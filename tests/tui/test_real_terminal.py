"""The real `termagent` command in a real terminal (tmux): replay engine, real Docker; a key
press approves a command. The sandbox prints a title change and an OSC 52 clipboard write:
neither reaches the terminal around the TUI."""

from __future__ import annotations

import shlex
import time

import pytest
from project_paths import TERMAGENT
from tmux_terminal import TmuxTerminal, needs_tmux
from tui_helpers import HOSTILE_PRINTF, reply, write_replies

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]  # generous: the machine may be busy


@needs_tmux
def test_termagent_in_tmux_approves_by_key(tmp_path, sandbox_image, no_leftover_containers):
    replies = write_replies(
        tmp_path / "replies.jsonl",
        [
            reply(
                "An empty prompt.",
                "Write the file.",
                [HOSTILE_PRINTF, "printf 'Hello, tmux!\\n' > /app/hello.txt\n", "cat /app/hello.txt\n"],
            ),
            reply("Done.", "Claim it.", [], complete=True),
            reply("Sure.", "Confirm.", [], complete=True),
        ],
    )
    exit_file = tmp_path / "exit-status"
    command = (
        " ".join(
            [
                "env",
                f"XDG_CONFIG_HOME={tmp_path / 'config'}",
                "TERM=xterm-256color",
                shlex.quote(str(TERMAGENT)),
                "--policy",
                "default",
                "--replay",
                shlex.quote(str(replies)),
                "--image",
                sandbox_image,
                "--trajectory",
                shlex.quote(str(tmp_path / "trajectory.jsonl")),
                shlex.quote("Create /app/hello.txt"),
            ]
        )
        + f"; echo $? > {shlex.quote(str(exit_file))}; sleep 60"
    )
    with TmuxTerminal(
        tmp_path, width=200, height=50, config="set -g set-clipboard on\nset -g allow-rename on\n"
    ) as terminal:
        terminal.start(command)
        screen = terminal.wait_for("approval needed")
        assert "> /app/hello.txt" in screen and "deny [n]" in screen
        terminal.send_keys("y")
        screen = terminal.wait_for("summary")
        assert "completed" in screen and "3 steps" in screen
        terminal.send_keys("Escape")  # back to the log and the terminal pane
        screen = terminal.wait_for("Hello, tmux!")
        assert "LINK" in screen and "FAKE allow once" in screen  # drawn inside the pane, nothing more
        assert "PWNED" not in terminal.tmux("display-message", "-p", "#{pane_title}").stdout
        assert terminal.tmux("list-buffers").stdout == ""  # no OSC 52 clipboard write got through
        terminal.send_keys("q")
        deadline = time.monotonic() + 30
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exit_file.read_text().strip() == "0"
