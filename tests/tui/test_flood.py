"""Responsiveness while the sandbox floods the terminal (`yes`): key presses are still handled
(the latency is printed, not asserted), memory stays bounded, the interrupt key stops the
flooding command, and the stop key ends the run while a second flood runs. How fast they act
is measured in benchmarks/bench_tui.py; here, that they act at all."""

from __future__ import annotations

import asyncio
import json
import statistics

import pytest
from pilot_waits import until
from tui_helpers import (
    FLOOD_REPLIES,
    dialog_open,
    flooding,
    key_latencies_during,
    replay_config,
    resident_megabytes,
    write_replies,
)

from termagent.agent.loop import RunStatus
from termagent.tui.app import TermagentApp

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]
WAIT = 300  # generous: the machine may be busy


def test_keys_stay_responsive_under_an_output_flood(tmp_path, sandbox_image, no_leftover_containers, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    config = replay_config(
        write_replies(tmp_path / "replies.jsonl", FLOOD_REPLIES), sandbox_image, tmp_path, task="Flood the terminal"
    )

    async def scenario() -> None:
        app = TermagentApp(config)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda: dialog_open(app), seconds=WAIT)
            await pilot.press("y")
            await until(pilot, lambda: flooding(app, 1), seconds=WAIT)
            memory_before = resident_megabytes()
            latencies = await key_latencies_during(app)
            memory_after = resident_megabytes()
            flooded_lines = app.mirror.screen.scrolled_total
            await pilot.press("i")  # interrupt the flood: the agent goes on to its next step
            await until(pilot, lambda: dialog_open(app), seconds=WAIT)
            log = "\n".join(s.content.plain for s in app.step_log.query("StepEntry Static"))
            assert "interrupted by the person" in log
            await pilot.press("y")
            await until(pilot, lambda: flooding(app, 2), seconds=WAIT)
            await pilot.press("s")  # stop while the second flood runs
            await until(pilot, lambda: app.result is not None, seconds=WAIT)
            assert app.result.status is RunStatus.INTERRUPTED
            print(
                f"\nkey press under a `yes` flood: {len(latencies)} presses, "
                f"median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; "
                f"{flooded_lines} lines scrolled through the pane; "
                f"resident memory {memory_before:.0f} -> {memory_after:.0f} MiB"
            )
            assert flooded_lines > 10_000  # it really was a flood
            assert len(app.mirror.screen.scrollback) <= app.mirror.screen.scrollback.maxlen
            assert memory_after - memory_before < 200  # bounded: the flood is megabytes of text
            await pilot.press("q")

    asyncio.run(scenario())
    records = [json.loads(line) for line in config.trajectory.read_text().splitlines()]
    # Both floods were still running when the person's key ended the wait for them.
    assert [r["finished"] for r in records if r["type"] == "output_observed"] == [False, False]
    assert [r["type"] for r in records].count("interrupted") == 1
    assert records[-1]["type"] == "run_finished" and records[-1]["status"] == "interrupted"
