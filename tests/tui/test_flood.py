"""Responsiveness while the sandbox floods the terminal (`yes` for 10 s): key presses are still
handled (the latency is printed, not asserted), memory stays bounded, and the interrupt key
stops the flooding command."""

from __future__ import annotations

import asyncio
import statistics

import pytest

from termagent.tui.app import TermagentApp
from tui_helpers import (FLOOD_REPLIES, FLOOD_SECONDS, dialog_open, key_latencies_during, replay_config,
                         resident_megabytes, until, write_replies)

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_keys_stay_responsive_under_an_output_flood(tmp_path, sandbox_image, no_leftover_containers, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    config = replay_config(write_replies(tmp_path / "replies.jsonl", FLOOD_REPLIES), sandbox_image, tmp_path,
                           task="Flood the terminal")

    async def scenario() -> None:
        app = TermagentApp(config)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda: dialog_open(app))
            await pilot.press("y")
            await until(pilot, lambda: app.mirror.text().endswith("y\ny"))
            memory_before = resident_megabytes()
            latencies = await key_latencies_during(app, FLOOD_SECONDS - 2)
            memory_after = resident_megabytes()
            flooded_lines = app.mirror.screen.scrolled_total
            await pilot.press("i")  # interrupt the flood: the agent goes on to its next step
            await until(pilot, lambda: app.result is not None, seconds=30)
            log = "\n".join(s.content.plain for s in app.step_log.query("StepEntry Static"))
            assert "interrupted by the person" in log
            print(f"\nkey press under a {FLOOD_SECONDS} s `yes` flood: {len(latencies)} presses, "
                  f"median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; "
                  f"{flooded_lines} lines scrolled through the pane; "
                  f"resident memory {memory_before:.0f} -> {memory_after:.0f} MiB")
            assert len(latencies) >= 10  # every press was handled (key_latencies_during waits for each)
            assert flooded_lines > 10_000  # it really was a flood
            assert len(app.mirror.screen.scrollback) <= app.mirror.screen.scrollback.maxlen
            assert memory_after - memory_before < 200  # bounded: the flood is megabytes of text
            await pilot.press("q")

    asyncio.run(scenario())
