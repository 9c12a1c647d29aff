"""Hostile text never reaches the person's terminal raw: a replayed model whose analysis and plan
carry escape sequences, C1 controls, bidi overrides, zero-width characters and a lone surrogate,
and a real sandbox that prints terminal-acting sequences, invalid UTF-8 and makes files with
such names and contents. Every view (headless text, --json, --no-tui in a pty, the TUI's step
log) shows them escaped, and a --cast recording keeps only what draws."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from agent_replies import action
from project_paths import TERMAGENT
from tmux_terminal import TmuxTerminal, needs_tmux

from termagent.agent.events import Event, EventType
from termagent.text_safety import is_safe
from termagent.tui.step_log import describe

pytestmark = pytest.mark.docker

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil\u200b\ud800"
# Printed by the sandbox: clipboard (OSC 52), title, hyperlink (OSC 8), DCS, APC, PM and SOS
# strings, cursor and device queries, ENQ, mouse tracking; then colour, a cursor move, C1 CSI, a bidi override and
# bytes that are not UTF-8.
# The payloads are split by '' so that the command's own echo does not spell them.
PRINT_SEQUENCES = (
    r"printf '\033]52;c;cHdu''ZWQ=\007\033]2;ti''tle\033\\\033]8;;http://ev''il/\033\\link\033]8;;\033\\"
    r"\033P+q54''4e\033\\\033_a''pc\033\\\033^pm\033\\\033Xsos\033\\\033[6n\033[c\033[>c\033[18t\005\033[1;2;3;4;5T"
    r"\033[31mRED\033[0m\033[3;7HMOVED\302\233 2J\342\200\256rtl\377\376 end\n'"
    "\n"
)
MAKE_FILES = (
    r"""printf 'line \033]52;c;eA==\007 \302\233 \342\200\256\n' """
    r"""> "/app/$(printf 'x\033[2Jy\342\200\256z')"; """
    r"""touch "/app/$(printf 'bad\377name')"; ls /app"""
    "\n"
)
FORBIDDEN = ("\x1b", "\x9b", "\x9d", "\u202e", "\u200b")


def _replies(replies_file) -> Path:
    return replies_file(
        action([(PRINT_SEQUENCES, 5), (MAKE_FILES, 5)], analysis=HOSTILE, plan=f"plan {HOSTILE}"),
        action(complete=True, analysis=HOSTILE),
        action(complete=True, plan=HOSTILE),
    )


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TERMAGENT, "--headless", "--approve", "allow", "--policy", "sandboxed-auto", *args, "look around"],
        capture_output=True,
        timeout=timeout,
    )


def _assert_only_visible(text: str) -> None:
    unsafe = sorted({char for char in text if not (char == "\n" or is_safe(char))})
    assert not unsafe, f"raw characters reached the terminal: {unsafe!r}"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("project")
    (directory / "README").write_text("a project\n")
    return directory


def test_headless_text_escapes_the_model_the_sandbox_and_file_names(sandbox_image, replies_file, workspace, tmp_path):
    trajectory = tmp_path / "run.jsonl"
    completed = _run(
        "--replay", str(_replies(replies_file)), "--workspace", str(workspace), "--trajectory", str(trajectory)
    )
    stdout = completed.stdout.decode("utf-8")  # strict: anything but UTF-8 fails here
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in completed.stderr
    _assert_only_visible(stdout)
    # Shown, escaped: the model's text, the sandbox's output and the changed file's name.
    assert "\\x1b]0;owned\\x07" in stdout and "\\u202eevil\\u200b" in stdout and "\\ufffd" not in stdout
    assert "RED" in stdout and "MOVED" in stdout
    assert "\\u202ez" in stdout or "x\\x1b[2Jy" in stdout

    # The TUI's step log, from the same run's events: nothing unsafe in what it draws.
    records = [json.loads(line) for line in trajectory.read_text(encoding="utf-8").splitlines()]
    assert any(HOSTILE.replace("\ud800", "\ufffd") == record.get("analysis") for record in records)
    for record in records:
        kind, step = EventType(record.pop("type")), record.pop("step")
        record.pop("time")
        line = describe(Event(kind, step, record))
        if line is not None:
            _assert_only_visible(line.plain)


def test_json_lines_escape_c1_bidi_and_invisible_characters(sandbox_image, replies_file, workspace):
    completed = _run("--json", "--replay", str(_replies(replies_file)), "--workspace", str(workspace))
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    stdout = completed.stdout.decode("utf-8")
    assert stdout.isascii() or all(is_safe(char) or char == "\n" for char in stdout)
    for forbidden in FORBIDDEN:
        assert forbidden not in stdout
    records = [json.loads(line) for line in stdout.splitlines()]
    parsed = next(record for record in records if record["type"] == "action_parsed")
    assert parsed["analysis"] == HOSTILE.replace("\ud800", "\ufffd")  # the same text, once decoded
    output = "".join(record["output"] for record in records if record["type"] == "output_observed")
    assert "MOVED" in output and "\ufffd" in output  # invalid UTF-8 from the sandbox: U+FFFD


def test_a_cast_keeps_drawing_and_drops_what_acts_on_the_player(sandbox_image, replies_file, tmp_path):
    cast = tmp_path / "run.cast"
    completed = _run("--replay", str(_replies(replies_file)), "--cast", str(cast))
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    lines = cast.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["version"] == 2
    played = "".join(json.loads(line)[2] for line in lines[1:])
    assert "\x1b[31mRED\x1b[0m" in played and "\x1b[3;7HMOVED" in played and "link" in played
    for acting in (
        "\x1b]",
        "\x1bP",
        "\x1b_",
        "\x1b^",
        "\x1bX",
        "\x1b[6n",
        "\x1b[c",
        "\x1b[>c",
        "\x1b[18t",
        "\x05",
        "\x1b[1;2;3;4;5T",
        "cHduZWQ=",
        "title",
        "http://evil",
        "544e",
        "apc",
        "\x9b",
        "\x9c",
        "\x9d",
        "\x90",
    ):
        assert acting not in played, f"{acting!r} was recorded"


@needs_tmux
def test_no_tui_in_a_real_terminal_writes_nothing_raw(sandbox_image, replies_file, tmp_path):
    raw = tmp_path / "pane.bytes"
    replies = _replies(replies_file)
    command = (
        f"sh -c 'read go; {TERMAGENT} --no-tui --approve allow --policy sandboxed-auto --replay {replies} "
        f"look; echo EXIT=$?; sleep 60'"
    )
    with TmuxTerminal(tmp_path) as terminal:
        terminal.start(command)
        # Everything the program writes to its terminal, byte for byte, from before it starts.
        terminal.tmux("pipe-pane", "-t", "main", "-o", f"cat > {raw}")
        terminal.send_keys("Enter")
        screen = terminal.wait_for("EXIT=", seconds=180, history=500)
    assert "EXIT=0" in screen
    written = raw.read_bytes().decode("utf-8")
    assert "MOVED" in written and "\\x1b]0;owned\\x07" in written
    for char in written:
        assert char in "\r\n" or is_safe(char), f"{char!r} reached the terminal"


@needs_tmux
def test_the_tui_in_a_real_terminal_writes_nothing_hostile(sandbox_image, replies_file, tmp_path):
    raw = tmp_path / "pane.bytes"
    replies = _replies(replies_file)
    command = (
        f"sh -c 'read go; env TERM=xterm-256color XDG_CONFIG_HOME={tmp_path} {TERMAGENT} --approve allow "
        f"--policy sandboxed-auto --replay {replies} --trajectory {tmp_path / 'run.jsonl'} look; "
        "echo EXIT=$?; sleep 60'"
    )
    with TmuxTerminal(tmp_path, config="set -g set-clipboard on\nset -g allow-rename on\n") as terminal:
        terminal.start(command)
        terminal.tmux("pipe-pane", "-t", "main", "-o", f"cat > {raw}")
        terminal.send_keys("Enter")
        screen = terminal.wait_for("summary", seconds=180)
        assert "MOVED" in screen and "\\u202eevil" in screen  # the sandbox's output and the model's, drawn
        title = terminal.tmux("display-message", "-p", "#{pane_title}").stdout
        terminal.send_keys("q")
        terminal.wait_for("EXIT=", seconds=60)
    written = raw.read_bytes().decode("utf-8")
    # The TUI draws with escape sequences of its own; none of the hostile ones gets through.
    for hostile in (
        "\x1b]0;owned",
        "\x1b]52;",
        "cHduZWQ=",
        "\x1b]8;;http://evil",
        "\x1b]2;title",
        "\x1bP+q",
        "\x1b_apc",
        "\x1b[6n",
        "\u202e",
        "\u200b",
    ):
        assert hostile not in written, f"{hostile!r} reached the terminal"
    assert not any("\x80" <= char <= "\x9f" for char in written), "a C1 control reached the terminal"
    assert "owned" not in title and "title" not in title
