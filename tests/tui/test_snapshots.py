"""Snapshots of the main states, from scripted events (no live sandbox, a fixed clock).
Update them with `pytest tests/tui/test_snapshots.py --snapshot-update` and look at the SVGs."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from tui_helpers import ScriptedRun, after_approval_events, approval_request, first_step_events, offline_config

from termagent.errors import TermagentError
from termagent.tui.app import TermagentApp
from termagent.tui.approval_dialog import ApprovalDialog
from termagent.tui.screens import SummaryScreen

SIZE = (200, 50)


def _app(tmp_path, run: ScriptedRun) -> TermagentApp:
    # A relative trajectory path (never written: the run is scripted) keeps the summary the same.
    config = dataclasses.replace(offline_config(tmp_path), trajectory=Path("trajectory.jsonl"))
    return TermagentApp(config, runner=run, clock=lambda: 100.0)


def _waiting_for(condition):
    async def run_before(pilot) -> None:
        deadline = time.monotonic() + 60  # generous: the machine may be busy
        while not condition(pilot.app):
            if time.monotonic() > deadline:
                raise AssertionError("the app never reached the state to photograph")
            await pilot.pause(0.02)
        pilot.app.drain_events()
        pilot.app.terminal_pane.redraw()
        await pilot.pause(0.1)

    return run_before


def test_running(snap_compare, tmp_path):
    run = ScriptedRun(first_step_events()[:7], hold=120)  # released below, however slow the machine
    app = _app(tmp_path, run)
    assert snap_compare(
        # Once the script is played, `_waiting_for` drains what the app still holds.
        app,
        terminal_size=SIZE,
        run_before=_waiting_for(lambda a: a.status_bar.status.step == 1 and run.played.is_set()),
    )
    run.release.set()


def test_approval_dialog(snap_compare, tmp_path):
    app = _app(tmp_path, ScriptedRun([*first_step_events(), approval_request()]))
    assert snap_compare(
        app,
        terminal_size=SIZE,
        run_before=_waiting_for(lambda a: isinstance(a.screen, ApprovalDialog) and bool(a.screen.query("#request"))),
    )


def test_finished(snap_compare, tmp_path):
    app = _app(tmp_path, ScriptedRun([*first_step_events()[:-2], *after_approval_events()]))
    assert snap_compare(
        app,
        terminal_size=SIZE,
        run_before=_waiting_for(lambda a: isinstance(a.screen, SummaryScreen) and bool(a.screen.query("#summary"))),
    )


def test_error_notice(snap_compare, tmp_path):
    run = ScriptedRun(
        [],
        fail=TermagentError(
            "cannot reach the model server at http://127.0.0.1:8000/v1",
            hint="start vLLM (`vllm serve MODEL`) or pass --engine transformers",
        ),
    )
    app = _app(tmp_path, run)
    assert snap_compare(
        app,
        terminal_size=SIZE,
        press=["escape"],
        run_before=_waiting_for(lambda a: isinstance(a.screen, SummaryScreen) and bool(a.screen.query("#summary"))),
    )
