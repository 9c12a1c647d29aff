"""Signals that arrive while the sandbox is starting (the container being created, its shell
starting, the workspace being copied in) end the run cleanly too: the real `termagent` command,
real Docker. No container, workspace volume or staging is left, the trajectory opens with
`run_started` and closes with `run_finished`, and the exit status is 130 (README, "Exit status").

To land a signal in that window whatever the machine's speed, the test stops termagent (SIGSTOP)
as soon as the window is seen from outside (its container exists; a file in its private TMPDIR
is open, the workspace's tar), checks that the agent loop has not begun (nothing recorded yet),
queues the signal and lets it go on (SIGCONT): the signal is handled at that very point."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from agent_replies import action
from project_paths import TERMAGENT
from replay_run import replay_run_args
from run_watch import WAIT, containers_of, owner_prefix, records, until, wait_for_exit
from tmux_terminal import TmuxTerminal, needs_tmux

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

REASONS = {
    "SIGTERM": "ended by SIGTERM",
    "SIGHUP": "ended by SIGHUP",
    "SIGINT twice": "Ctrl-C",
}


def _start(tmp_path: Path, replies: Path, *args: str) -> subprocess.Popen:
    (tmp_path / "tmp").mkdir()
    return subprocess.Popen(
        [TERMAGENT, "--headless", *replay_run_args("wait a while", replies, tmp_path / "run.jsonl", *args)],
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
        stdout=subprocess.DEVNULL,  # never read: a full pipe would stop it
        stderr=subprocess.PIPE,
        text=True,
    )


def _signal_when(process: subprocess.Popen, condition: Callable[[], bool], what: str, how: str, tmp_path) -> str:
    """Stop the process as soon as `condition` holds (checked often, not after a fixed time),
    check that the agent loop has not begun (it records run_started first), end it `how`;
    returns its stderr."""

    def seen() -> bool:
        assert process.poll() is None, f"termagent ended before {what}: {process.communicate()}"
        return condition()

    try:
        until(seen, what)
        process.send_signal(signal.SIGSTOP)
        assert records(tmp_path / "run.jsonl") == []
        return _end_with(process, how)
    finally:
        process.kill()
        process.wait()


def _end_with(process: subprocess.Popen, how: str) -> str:
    """Queue the signal(s) on the stopped process, let it go on; returns its stderr."""
    if how == "SIGINT twice":
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGCONT)
        process.send_signal(signal.SIGINT)  # the second press lands wherever the first one left it
    else:
        process.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGHUP)
        process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=WAIT)
    return stderr


def _assert_ended_cleanly(process: subprocess.Popen, stderr: str, docker_client, tmp_path: Path, how: str) -> None:
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert containers_of(docker_client, owner_prefix(process.pid)) == []
    assert list((tmp_path / "tmp").iterdir()) == []  # no staging, no spooled tar
    found = records(tmp_path / "run.jsonl")
    assert found[0]["type"] == "run_started" and found[0]["task"] == "wait a while"
    assert found[-1]["type"] == "run_finished"
    assert found[-1]["status"] == "interrupted" and REASONS[how] in found[-1]["message"], found[-1]
    assert [r["type"] for r in found].count("run_finished") == 1
    assert "keystrokes_sent" not in [r["type"] for r in found]  # the loop never typed anything


@pytest.mark.parametrize("how", list(REASONS))
def test_a_signal_while_the_container_is_made(sandbox_image, docker_client, replies_file, tmp_path, how):
    replies = replies_file(action([("sleep 100\n", 60)]), action(complete=True), action(complete=True))
    process = _start(tmp_path, replies)
    prefix = owner_prefix(process.pid)
    stderr = _signal_when(process, lambda: _made(docker_client, prefix), "the container's creation", how, tmp_path)
    _assert_ended_cleanly(process, stderr, docker_client, tmp_path, how)


def _made(docker_client, prefix: str) -> bool:
    return containers_of(docker_client, prefix) != []


def _open_in(pid: int, directory: Path) -> bool:
    """Whether process `pid` has a file below `directory` open (also one already unlinked)."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:  # an fd closed while listed
        return False
    return any(link.startswith(f"{directory}/") for link in links)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_a_signal_while_the_workspace_is_copied_in(sandbox_image, docker_client, replies_file, tmp_path, how):
    project = tmp_path / "project"
    project.mkdir()
    for index in range(8):  # big enough that copying it in is seen from outside
        (project / f"data{index}.bin").write_bytes(bytes(4 << 20))
    (project / "notes.txt").write_text("keep me\n")
    before = {p.name: p.read_bytes() for p in project.iterdir()}
    replies = replies_file(action([("echo changed > notes.txt\n", 1)]), action(complete=True), action(complete=True))
    process = _start(tmp_path, replies, "--workspace", str(project), "--apply")
    # The workspace's tar is spooled to a file in termagent's private TMPDIR while it is copied in.
    stderr = _signal_when(process, lambda: _open_in(process.pid, tmp_path / "tmp"), "the copy", how, tmp_path)
    _assert_ended_cleanly(process, stderr, docker_client, tmp_path, how)
    assert {p.name: p.read_bytes() for p in project.iterdir()} == before


def _volumes_on(docker_client, directory: Path) -> list[str]:
    return [
        volume["Name"]
        for volume in docker_client.api.volumes().get("Volumes") or []
        if (volume.get("Options") or {}).get("device") == str(directory)
    ]


def test_sigterm_while_a_mounted_workspace_is_made(sandbox_image, docker_client, replies_file, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    replies = replies_file(action([("sleep 100\n", 60)]), action(complete=True), action(complete=True))
    process = _start(tmp_path, replies, "--workspace", str(project), "--workspace-mode", "mount")
    prefix = owner_prefix(process.pid)
    stderr = _signal_when(
        process, lambda: _made(docker_client, prefix), "the container's creation", "SIGTERM", tmp_path
    )
    _assert_ended_cleanly(process, stderr, docker_client, tmp_path, "SIGTERM")
    assert _volumes_on(docker_client, project) == []  # the mount's volume went with the container


@needs_tmux
def test_closing_the_tuis_terminal_while_the_container_is_made(sandbox_image, docker_client, replies_file, tmp_path):
    """The TUI runs the agent on a worker thread: the hang-up reaches the app, which stops the
    run as soon as the sandbox is up."""
    replies = replies_file(action([("sleep 100\n", 60)]), action(complete=True), action(complete=True))
    (tmp_path / "tmp").mkdir()
    pid_file = tmp_path / "pid"
    command = " ".join(
        [
            "env",
            f"TMPDIR={tmp_path / 'tmp'}",
            f"XDG_CONFIG_HOME={tmp_path / 'config'}",
            "TERM=xterm-256color",
            TERMAGENT,
            *map(shlex.quote, ["--policy", "sandboxed-auto", "--replay", str(replies)]),
            *map(shlex.quote, ["--trajectory", str(tmp_path / "run.jsonl"), "wait a while"]),
        ]
    )
    with TmuxTerminal(tmp_path) as terminal:
        terminal.start(f"sh -c {shlex.quote(f'echo $$ > {pid_file}; exec {command}')}")
        until(lambda: pid_file.exists() and pid_file.read_text().strip() != "", "termagent's start")
        pid = int(pid_file.read_text())
        prefix = owner_prefix(pid)
        until(lambda: _made(docker_client, prefix), "the sandbox container's creation")
        os.kill(pid, signal.SIGSTOP)
        assert records(tmp_path / "run.jsonl") == []
        terminal.tmux("kill-server")  # the terminal goes away: SIGHUP, handled once it goes on
        os.kill(pid, signal.SIGCONT)
    wait_for_exit(pid)
    assert containers_of(docker_client, prefix) == []
    assert list((tmp_path / "tmp").iterdir()) == []
    found = records(tmp_path / "run.jsonl")
    assert found[0]["type"] == "run_started" and found[-1]["type"] == "run_finished"
    assert found[-1]["status"] == "interrupted" and "SIGHUP" in found[-1]["message"]
    assert "keystrokes_sent" not in [r["type"] for r in found]


def test_sigterm_while_approved_changes_are_applied_lets_them_all_apply(
    sandbox_image, docker_client, replies_file, tmp_path
):
    """What the person said yes to is applied whole, then the signal ends the run."""
    project = tmp_path / "project"
    project.mkdir()
    names = [f"f{index:04}.txt" for index in range(2000)]
    for name in names:
        (project / name).write_text("old\n")
    replies = replies_file(
        action([("for f in f*.txt; do echo new > $f; done\n", 30)]), action(complete=True), action(complete=True)
    )
    process = _start(tmp_path, replies, "--workspace", str(project), "--apply")
    first, last = project / names[-1], project / names[0]  # applied last name first
    try:
        until(lambda: process.poll() is None and first.read_text() == "new\n", "the first file's apply", seconds=WAIT)
        process.send_signal(signal.SIGSTOP)
        assert last.read_text() == "old\n"  # stopped in the middle of the apply
        stderr = _end_with(process, "SIGTERM")
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert all((project / name).read_text() == "new\n" for name in names)
    assert containers_of(docker_client, owner_prefix(process.pid)) == []
    assert list((tmp_path / "tmp").iterdir()) == []
    found = records(tmp_path / "run.jsonl")
    assert [r["type"] for r in found if r["type"].startswith("workspace_")] == [
        "workspace_changed",
        "workspace_applied",
    ]
