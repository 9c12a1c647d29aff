"""Signals end a run cleanly: the real `termagent` command, real Docker. Closing the terminal
(SIGHUP, by killing the tmux server around it) while a command runs, or while the person is
asked whether to apply a workspace's changes, and SIGTERM, all leave no container, no
staging directory, and a trajectory closed with `run_finished`."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess

import pytest
from agent_replies import action
from project_paths import EXAMPLES, TERMAGENT
from replay_run import replay_run_args
from run_watch import WAIT, containers_of, owner_prefix, records, sent, until, wait_for_exit, wait_for_records
from tmux_terminal import TmuxTerminal, needs_tmux

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

SLEEP = "sleep 100\n"


def _in_tmux(terminal: TmuxTerminal, tmp_path, *args: str) -> int:
    """Start termagent in the tmux terminal (TMPDIR private to the test); returns its pid."""
    pid_file, tmp = tmp_path / "pid", tmp_path / "tmp"
    tmp.mkdir()
    command = " ".join(
        [
            "env",
            f"TMPDIR={tmp}",
            f"XDG_CONFIG_HOME={tmp_path / 'config'}",
            "TERM=xterm-256color",
            TERMAGENT,
            *map(shlex.quote, args),
        ]
    )
    terminal.start(f"sh -c {shlex.quote(f'echo $$ > {pid_file}; exec {command}')}")
    until(lambda: pid_file.exists() and pid_file.read_text().strip() != "", "termagent's start")
    return int(pid_file.read_text())


def _assert_ended_cleanly(docker_client, tmp_path, pid: int, trajectory, reason: str) -> list[dict]:
    prefix = owner_prefix(pid)  # taken while it runs: the label holds its start time
    wait_for_exit(pid)
    assert containers_of(docker_client, prefix) == []
    assert list((tmp_path / "tmp").iterdir()) == []  # no workspace staging left behind
    found = records(trajectory)
    finished = [r for r in found if r["type"] == "run_finished"]
    assert len(finished) == 1 and finished[0]["status"] == "interrupted" and reason in finished[0]["message"]
    return found


@needs_tmux
@pytest.mark.parametrize("interface", ["--no-tui", "tui"])
def test_closing_the_terminal_while_a_command_runs(sandbox_image, docker_client, replies_file, tmp_path, interface):
    replies = replies_file(action([(SLEEP, 60)]), action(complete=True), action(complete=True))
    trajectory = tmp_path / "hup.jsonl"
    flags = ["--no-tui"] if interface == "--no-tui" else []
    with TmuxTerminal(tmp_path) as terminal:
        pid = _in_tmux(terminal, tmp_path, *flags, *replay_run_args("wait a while", replies, trajectory))
        try:
            wait_for_records(trajectory, lambda found: sent(found, SLEEP) == 1)
        except AssertionError as error:
            raise AssertionError(f"{error}; the terminal shows:\n{terminal.screen(200)}") from None
        prefix = owner_prefix(pid)
        assert containers_of(docker_client, prefix)  # the sandbox is there while the command runs
        terminal.tmux("kill-server")  # the terminal goes away: SIGHUP
    found = _assert_ended_cleanly(docker_client, tmp_path, pid, trajectory, "SIGHUP")
    assert found[-1]["type"] == "run_finished"


@needs_tmux
def test_closing_the_terminal_while_asked_to_apply_changes(sandbox_image, docker_client, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES / "fix-test" / "workspace", project)
    before = {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()}
    trajectory = tmp_path / "hup.jsonl"
    with TmuxTerminal(tmp_path) as terminal:
        pid = _in_tmux(
            terminal,
            tmp_path,
            "--no-tui",
            *replay_run_args(
                "fix the failing test", EXAMPLES / "fix-test" / "replies.jsonl", trajectory, "--workspace", str(project)
            ),
        )
        terminal.wait_for("Apply these changes", seconds=WAIT, history=500)
        assert any(p.name.startswith("termagent-changes-") for p in (tmp_path / "tmp").iterdir())  # staged
        terminal.tmux("kill-server")
    found = records(trajectory)
    wait_for_exit(pid)
    assert containers_of(docker_client, owner_prefix(pid)) == []
    assert list((tmp_path / "tmp").iterdir()) == []
    assert [r["status"] for r in found if r["type"] == "run_finished"] == ["completed"]
    assert "workspace_applied" not in [r["type"] for r in records(trajectory)]
    assert {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()} == before


def test_sigterm_while_a_command_runs(sandbox_image, docker_client, replies_file, tmp_path):
    replies = replies_file(action([(SLEEP, 60)]), action(complete=True), action(complete=True))
    trajectory = tmp_path / "term.jsonl"
    (tmp_path / "tmp").mkdir()
    process = subprocess.Popen(
        [TERMAGENT, "--headless", *replay_run_args("wait a while", replies, trajectory)],
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_records(trajectory, lambda found: sent(found, SLEEP) == 1)
    prefix = owner_prefix(process.pid)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert containers_of(docker_client, prefix) == []
    found = _assert_ended_cleanly(docker_client, tmp_path, process.pid, trajectory, "SIGTERM")
    assert found[-1]["type"] == "run_finished"
