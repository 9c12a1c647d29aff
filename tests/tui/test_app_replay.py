"""A whole replayed session in the real sandbox, answered by key in the app: allow once, deny
with a message, edit; the step log, the terminal pane and the summary show what happened."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest
from pilot_waits import until
from tui_helpers import HOSTILE_PRINTF, dialog_open, replay_config, reply, write_replies

from termagent.agent.loop import RunStatus
from termagent.tui.app import TermagentApp
from termagent.tui.screens import SummaryScreen

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]  # generous: the machine may be busy


def test_a_replayed_session_answered_by_key(tmp_path, sandbox_image, no_leftover_containers, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user policy file is read
    replies = write_replies(
        tmp_path / "replies.jsonl",
        [
            reply(
                "An empty prompt.", "Write the file.", [HOSTILE_PRINTF, "printf 'Hello, TUI!\\n' > /app/hello.txt\n"]
            ),
            reply("Written.", "Remove it again.", ["rm /app/hello.txt\n"]),
            reply("Denied.", "Create another file.", ["touch /app/other.txt\n"]),
            reply("Listed.", "Done.", [], complete=True),
            reply("Sure.", "Done.", [], complete=True),
        ],
    )
    config = replay_config(replies, sandbox_image, tmp_path)

    async def scenario() -> TermagentApp:
        app = TermagentApp(config)
        async with app.run_test(size=(220, 60)) as pilot:
            await until(pilot, lambda: dialog_open(app))
            assert "> /app/hello.txt" in app.screen.query_one("#request").content.plain
            await pilot.press("y")
            await until(pilot, lambda: dialog_open(app) and "rm /app" in app.screen.query_one("#request").content.plain)
            await pilot.press("m", *"keep the file", "enter")
            await until(pilot, lambda: dialog_open(app) and "touch" in app.screen.query_one("#request").content.plain)
            await pilot.press("e", "ctrl+u", *"ls /app\\n", "enter")
            await until(pilot, lambda: isinstance(app.screen, SummaryScreen) and bool(app.screen.query("#summary")))
            await until(pilot, lambda: "hello.txt" in app.terminal_pane.visible_text())  # the pane has drawn it

            summary = app.screen.query_one("#summary").content.plain
            assert "completed" in summary and "5 steps" in summary
            log = "\n".join(s.content.plain for s in app.step_log.query("StepEntry Static"))
            assert "approval: allow-once by person" in log
            assert "approval: deny-with-message by person · message: keep the file" in log
            assert "approval: edit by person · edited: ls /app\\n" in log
            assert "exit 0" in log and "the model confirmed the task is complete" in log
            screen = app.mirror.text()
            assert "Hello, TUI!" not in screen.splitlines()  # written, never printed: the file was only listed
            assert "hello.txt" in screen  # `ls /app` after the edit
            assert "LINK  \\x9b C1 \\u202eDESREVER RED" in screen.splitlines()  # no title, no link target
            shown = app.terminal_pane.visible_text()
            assert "hello.txt" in shown and "\x1b" not in shown and "\u202e" not in shown
            await pilot.press("q")
        return app

    app = asyncio.run(scenario())
    assert app.result is not None and app.result.status is RunStatus.COMPLETED
    records = [json.loads(line) for line in config.trajectory.read_text().splitlines()]
    assert [r["answer"] for r in records if r["type"] == "approval_answered"] == [
        "allow-once",
        "deny-with-message",
        "edit",
    ]


@pytest.mark.parametrize("key, applied", [("y", True), ("escape", False), ("SIGTERM", False)])
def test_workspace_changes_are_reviewed_in_the_app(tmp_path, sandbox_image, no_leftover_containers, key, applied):
    import dataclasses
    import shutil
    from pathlib import Path

    from termagent.tui.changes_dialog import ChangesDialog
    from termagent.workspace import Workspace, WorkspaceMode

    examples = Path(__file__).parents[2] / "examples" / "fix-test"
    project = tmp_path / "project"
    shutil.copytree(examples / "workspace", project)
    config = dataclasses.replace(
        replay_config(examples / "replies.jsonl", sandbox_image, tmp_path, task="fix it"),
        policy="sandboxed-auto",
        workspace=Workspace(project, WorkspaceMode.COPY),
    )

    async def scenario() -> None:
        app = TermagentApp(config)
        async with app.run_test(size=(200, 60)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ChangesDialog))
            assert "+    return a + b" in app.screen.diff
            assert "return a - b" in (project / "calc.py").read_text()  # nothing written before the answer
            if key == "SIGTERM":  # the signal handler's call: the review ends as "keep", the app quits
                app.end_from_signal(signal.SIGTERM)
                await until(pilot, lambda: not app.is_running)
                return
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, SummaryScreen))
            await pilot.press("q")

    asyncio.run(scenario())
    assert ("return a + b" in (project / "calc.py").read_text()) == applied
