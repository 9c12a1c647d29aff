"""The status bar marks token figures that are estimates (a server that streams no usage), shown
through Textual's test harness."""

from __future__ import annotations

import asyncio

import pytest
from pilot_waits import until
from textual.app import App, ComposeResult

from termagent.agent.events import Event, EventType
from termagent.sandbox.profiles import load_profile
from termagent.tui.status_bar import StatusBar


class _Bar(App):
    def compose(self) -> ComposeResult:
        yield StatusBar(load_profile("default"), clock=lambda: 0.0)


def _replied(step: int, estimated: bool | None) -> Event:
    data: dict = {"prompt_tokens": 600, "completion_tokens": 40}
    if estimated is not None:
        data["tokens_estimated"] = estimated
    return Event(EventType.MODEL_REPLIED, step, data)


@pytest.mark.parametrize(
    ("estimates", "shown"),
    [
        ((False, False), "tokens 1200+80 │"),
        ((None,), "tokens 600+40 │"),  # a trajectory written before the flag existed
        ((False, True), "tokens ~1200+80 (estimated) │"),
        ((True, False), "tokens ~1200+80 (estimated) │"),  # a sum with one estimate in it is one
    ],
)
def test_token_figures_say_when_they_are_estimates(estimates, shown) -> None:
    async def scenario() -> str:
        app = _Bar()
        async with app.run_test(size=(200, 3)) as pilot:
            bar = app.query_one(StatusBar)
            bar.follow(Event(EventType.RUN_STARTED, 0, {"engine": "openai", "model": "m", "max_steps": 10}))
            for step, estimated in enumerate(estimates, start=1):
                bar.follow(_replied(step, estimated))
            await until(pilot, lambda: f"step {len(estimates)}/10" in bar.render_line(0).text)
            return bar.render_line(0).text

    line = asyncio.run(scenario())
    assert shown in line
    assert ("estimated" in line) == any(estimates)
