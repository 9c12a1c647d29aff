"""The TUI review of collected changes: held-back changes need a second, separate yes."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from pilot_waits import until
from textual.app import App
from textual.widgets import Static
from workspace_helpers import run

from termagent.tui.changes_dialog import ChangesDialog, HeldBackDialog
from termagent.workspace import ApplyAnswer

pytestmark = pytest.mark.docker


class ReviewApp(App):
    def __init__(self, changes) -> None:
        super().__init__()
        self.changes, self.answer = changes, None

    def on_mount(self) -> None:
        self.push_screen(ChangesDialog(self.changes), self.answered)

    def answered(self, answer: ApplyAnswer) -> None:
        self.answer = answer


def shown_text(screen) -> str:
    return "\n".join(str(static.render()) for static in screen.query(Static))


@pytest.fixture
def changes(tmp_path, copied):
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.txt").write_text("a\n")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    workspace, sandbox = copied(project)
    run(
        sandbox,
        "cd /app && printf 'b\\033]0;title\\a\\n' >> a.txt"
        " && printf '#!/bin/sh\\ntouch /tmp/x\\n' > .git/hooks/pre-commit && chmod 755 .git/hooks/pre-commit",
    )
    return workspace.collect(sandbox.container)


@pytest.mark.parametrize(
    "keys, answer",
    [
        (["n"], ApplyAnswer.KEEP),
        (["escape"], ApplyAnswer.KEEP),
        (["y", "n"], ApplyAnswer.APPLY),
        (["y", "escape"], ApplyAnswer.APPLY),
        (["y", "enter"], ApplyAnswer.APPLY),  # the focused button of the second dialog is "no"
        (["y", "tab", "enter"], ApplyAnswer.APPLY_ALL),
    ],
)
def test_held_back_changes_need_a_second_separate_yes(changes, keys, answer):
    assert [change.path for change in changes.held] == [".git/hooks/pre-commit"]

    app = ReviewApp(changes)

    async def scenario() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ChangesDialog))
            first = shown_text(app.screen)
            assert "HELD BACK" in first and "\x1b" not in first and "\\x1b]0;title\\x07" in first
            for key in keys:
                await pilot.press(key)
                if key == "y":
                    await until(pilot, lambda: isinstance(app.screen, HeldBackDialog))
                    second = shown_text(app.screen)
                    assert ".git/hooks/pre-commit" in second and "why:" in second
            await until(pilot, lambda: app.answer is not None)

    asyncio.run(scenario())
    assert app.answer is answer
