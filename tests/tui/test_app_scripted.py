"""The app driven by a scripted run (no sandbox): the approval dialog's keys, pause, errors."""

from __future__ import annotations

import asyncio

import pytest
from pilot_waits import until
from tui_helpers import (
    ScriptedRun,
    after_approval_events,
    approval_request,
    dialog_open,
    first_step_events,
    offline_config,
)

from termagent.agent.events import Event, EventType
from termagent.agent.loop import RunStatus
from termagent.policy.approval import Answer, Reply
from termagent.tui.app import TermagentApp


class _NoticesKept(TermagentApp):
    """Keeps each notice the app shows, through Textual's public `notify`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[str] = []

    def notify(self, message: str, **kwargs) -> None:
        self.notices.append(message)
        super().notify(message, **kwargs)


async def _answer(tmp_path, *keys: str) -> Reply:
    run = ScriptedRun([*first_step_events(), approval_request(), *after_approval_events()])
    app = TermagentApp(offline_config(tmp_path), runner=run)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: dialog_open(app))
        await pilot.press(*keys)
        await until(pilot, run.done.is_set)
    return run.replies[0]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("y",), Reply(Answer.ALLOW_ONCE)),
        (("a",), Reply(Answer.ALLOW_SESSION)),
        (("A",), Reply(Answer.ALLOW_ALWAYS)),
        (("n",), Reply(Answer.DENY)),
        (("escape",), Reply(Answer.DENY)),
        (("enter",), Reply(Answer.DENY)),  # the focused button is Deny, never an allow
        (("m", "n", "o", "y", "enter"), Reply(Answer.DENY_WITH_MESSAGE, message="noy")),  # letters are text here
        (("m", "y", "escape"), Reply(Answer.DENY)),
    ],
)
def test_each_answer_has_its_key(tmp_path, keys, expected):
    async def scenario():
        assert await _answer(tmp_path, *keys) == expected

    asyncio.run(scenario())


def test_edit_starts_from_the_escaped_keystrokes(tmp_path):
    async def scenario():
        reply = await _answer(tmp_path, "e", "ctrl+u", *"ls /app\\n", "enter")
        assert reply == Reply(Answer.EDIT, keystrokes="ls /app\n")

    asyncio.run(scenario())


def test_the_dialog_shows_keystrokes_escaped(tmp_path):
    async def scenario():
        run = ScriptedRun([approval_request("echo hi\x1b[2J\u202e\n")])
        app = TermagentApp(offline_config(tmp_path), runner=run)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: dialog_open(app))
            shown = app.screen.query_one("#request").content.plain
            assert "echo hi\\x1b[2J\\u202e\\n" in shown and "\x1b" not in shown
            await pilot.press("n")
            await until(pilot, run.done.is_set)

    asyncio.run(scenario())


def test_stop_denies_the_pending_approval(tmp_path):
    async def scenario():
        run = ScriptedRun([approval_request()])
        app = TermagentApp(offline_config(tmp_path), runner=run)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: dialog_open(app))
            app.action_stop()
            await until(pilot, run.done.is_set)
        assert run.replies == [Reply(Answer.DENY)]

    asyncio.run(scenario())


def test_a_failed_start_is_a_notice_and_the_app_stays_usable(tmp_path):
    async def scenario():
        from termagent.errors import TermagentError

        run = ScriptedRun([], fail=TermagentError("unknown policy 'nope'", hint="use default, strict or a file"))
        app = _NoticesKept(offline_config(tmp_path), runner=run)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(
                pilot,
                lambda: (
                    app.result is not None
                    and any("unknown policy 'nope'" in notice and "use default" in notice for notice in app.notices)
                ),
            )
            assert app.result.status is RunStatus.ERROR
            await pilot.press("escape", "t")  # back from the summary; the trajectory viewer still opens
            assert type(app.screen).__name__ == "TrajectoryScreen"

    asyncio.run(scenario())


def test_without_a_task_an_input_asks_for_one(tmp_path):
    async def scenario():
        run = ScriptedRun(first_step_events()[:3])
        app = TermagentApp(offline_config(tmp_path, task=""), runner=run)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause(0.1)
            assert not run.done.is_set()
            await pilot.press(*"list /app", "enter")
            await until(pilot, lambda: app.result is not None)
            assert run.config.task == "list /app"

    asyncio.run(scenario())


def test_scrollback_shows_what_scrolled_off_and_back(tmp_path):
    output = "".join(f"line {i}\r\n" for i in range(60))
    run = ScriptedRun([Event(EventType.TERMINAL_OUTPUT, 0, {"text": output})], hold=120)

    async def scenario():
        app = TermagentApp(offline_config(tmp_path), runner=run)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda: "line 59" in app.mirror.text())
            pane = app.terminal_pane
            await pilot.press("b")
            assert [strip.text for strip in pane.history[:2]] == ["line 0", "line 1"]
            pane.scroll_home(animate=False)
            await until(pilot, lambda: pane.visible_text().startswith("line 0"))
            await pilot.press("b")
            await until(pilot, lambda: pane.history == [] and pane.visible_text().startswith("line 21"))
            run.release.set()

    asyncio.run(scenario())


def test_help_opens_and_closes_with_the_question_mark(tmp_path):
    async def scenario():
        app = TermagentApp(offline_config(tmp_path), runner=ScriptedRun([], hold=120))
        async with app.run_test(size=(200, 50)) as pilot:
            await pilot.press("question_mark")
            assert app.screen.query("HelpPanel")
            await pilot.press("question_mark")
            await until(pilot, lambda: not app.screen.query("HelpPanel"))
            app.runner.release.set()

    asyncio.run(scenario())


def test_a_click_on_a_button_answers_too(tmp_path):
    run = ScriptedRun([approval_request()])

    async def scenario():
        app = TermagentApp(offline_config(tmp_path), runner=run)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda: dialog_open(app))
            await pilot.click("#answer-allow-session")
            await until(pilot, run.done.is_set)

    asyncio.run(scenario())
    assert run.replies == [Reply(Answer.ALLOW_SESSION)]


def test_quit_while_running_waits_for_the_run_to_end(tmp_path):
    run = ScriptedRun(first_step_events()[:3], hold=120)  # runs until released, however slow the machine

    async def scenario():
        app = TermagentApp(offline_config(tmp_path), runner=run)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda: app.status_bar.status.step == 1)
            await pilot.press("q")
            await pilot.pause(0.1)
            assert app.is_running and not run.done.is_set()  # still there: the sandbox is being removed
            run.release.set()
            await until(pilot, lambda: not app.is_running)
        return app

    app = asyncio.run(scenario())
    assert app.return_value is not None and app.return_value.status is RunStatus.COMPLETED
