"""TUI benchmarks (issues 6 and 12): the terminal pane's frame time on a full 160x40 update; while
the sandbox floods the terminal (`yes`), the key-press latency, and how long the interrupt key
and the stop key take to act (the wait for the command ends; the interrupt's escalation is done;
the run is finished), with and without other processes keeping cores busy.

    .venv/bin/python benchmarks/bench_tui.py [--frames 200] [--no-flood] [--rounds 3] [--busy 1]

The flood part needs a Docker engine and the sandbox image (replay engine, real sandbox).
Prints medians and worst cases; never a pass/fail."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.style import Style

from termagent.sandbox.terminal import Terminal
from termagent.tui.terminal_pane import ScreenMirror

_TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(_TESTS), str(_TESTS / "tui")]
from pilot_waits import until  # noqa: E402
from tui_helpers import FLOOD_REPLIES, dialog_open, flooding, key_latencies_during, replay_config, write_replies  # noqa: E402

FLOOD_BEFORE_KEY = 3.0  # seconds of flood before the interrupt or stop key is pressed


def full_screen(frame: int) -> str:
    """40 lines of 160 columns, every cell different from the last frame, in 8 colours."""
    lines = []
    for row in range(40):
        cells = "".join(
            f"\x1b[3{(row + col + frame) % 8}m{chr(33 + (row * 7 + col + frame) % 90)}" for col in range(160)
        )
        lines.append(f"\x1b[{row + 1};1H{cells}")
    return "".join(lines) + "\x1b[0m"


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, max {max(values) * 1000:.2f} ms"


def frame_time(frames: int) -> None:
    terminal = Terminal(160, 40)  # the session's emulator
    console = Console(width=160, color_system="truecolor", force_terminal=True)
    pane_style = Style(color="white", bgcolor="black")
    screens = [full_screen(frame) for frame in range(frames)]
    feed, cells_to_strips, strips_to_bytes = [], [], []
    for screen in screens:
        mirror = ScreenMirror(160, 40)  # the pane's copy, with no row drawn before (its cache is cold)
        started = time.perf_counter()
        terminal.feed(screen)
        mirror.apply(terminal.changes())
        fed = time.perf_counter()
        rows = mirror.render()
        drawn = time.perf_counter()
        # What the pane and Textual's compositor do with each row: crop to the view, add the
        # pane's style, turn into terminal sequences.
        for y in range(40):
            rows[y].crop_extend(0, 160, pane_style).apply_style(pane_style).render(console)
        done = time.perf_counter()
        feed.append(fed - started)
        cells_to_strips.append(drawn - fed)
        strips_to_bytes.append(done - drawn)
    print(f"full 160x40 update (every cell new, 8 colours), {frames} frames:")
    print(f"  pyte feed (sandbox bytes -> cells)       {ms(feed)}")
    print(f"  frame: cells -> Strips (all rows dirty)  {ms(cells_to_strips)}")
    print(f"  frame: Strips -> terminal sequences      {ms(strips_to_bytes)}")
    totals = [a + b for a, b in zip(cells_to_strips, strips_to_bytes, strict=True)]
    print(f"  frame total (what a redraw costs)        {ms(totals)}")


def _busy_loop() -> None:
    while True:
        pass


def flood_round(tmp: Path) -> dict[str, list[float]]:
    """One run: key latencies under the first flood, then `i`; under the second flood, `s`.
    Times are from the key press to the trajectory's records (wall clock on both sides)."""
    from termagent.sandbox import DEFAULT_IMAGE
    from termagent.tui.app import TermagentApp

    config = replay_config(
        write_replies(tmp / "replies.jsonl", FLOOD_REPLIES), DEFAULT_IMAGE, tmp, task="Flood the terminal"
    )
    pressed: dict[str, float] = {}

    async def scenario() -> list[float]:
        app = TermagentApp(config)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda: dialog_open(app), seconds=120)
            await pilot.press("y")
            await until(pilot, lambda: flooding(app, 1), seconds=120)
            latencies = await key_latencies_during(app, presses=20, every=0.1)
            await asyncio.sleep(FLOOD_BEFORE_KEY)
            pressed["i"] = time.time()
            await pilot.press("i")
            await until(pilot, lambda: dialog_open(app), seconds=120)
            await pilot.press("y")
            await until(pilot, lambda: flooding(app, 2), seconds=120)
            await asyncio.sleep(FLOOD_BEFORE_KEY)
            pressed["s"] = time.time()
            await pilot.press("s")
            await until(pilot, lambda: app.result is not None, seconds=120)
            await pilot.press("q")
        return latencies

    latencies = asyncio.run(scenario())
    records = [json.loads(line) for line in config.trajectory.read_text().splitlines()]
    times = {
        kind: [r["time"] for r in records if r["type"] == kind]
        for kind in ("output_observed", "interrupted", "run_finished")
    }
    if len(times["output_observed"]) != 2 or len(times["interrupted"]) != 1:
        raise SystemExit(f"unexpected run: {[r['type'] for r in records]}")
    return {
        "key press -> action (p)": latencies,
        "i -> wait for the command ends": [times["output_observed"][0] - pressed["i"]],
        "i -> interrupt escalation done": [times["interrupted"][0] - pressed["i"]],
        "s -> wait for the command ends": [times["output_observed"][1] - pressed["s"]],
        "s -> run finished (run_finished)": [times["run_finished"][0] - pressed["s"]],
    }


def flood_controls(rounds: int, busy: int) -> None:
    workers = [multiprocessing.Process(target=_busy_loop, daemon=True) for _ in range(busy)]
    for worker in workers:
        worker.start()
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp()  # "allow always" never touches yours
    try:
        results: dict[str, list[float]] = {}
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as folder:
                for name, values in flood_round(Path(folder)).items():
                    results.setdefault(name, []).extend(values)
    finally:
        for worker in workers:
            worker.terminate()
    print(f"under a `yes` flood, {rounds} rounds, {busy} other busy core(s):")
    for name, values in results.items():
        print(f"  {name:34s} {ms(values)} ({len(values)} samples)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--no-flood", action="store_true", help="skip the part that needs Docker")
    parser.add_argument("--rounds", type=int, default=3, help="flood runs per setting (default: %(default)s)")
    parser.add_argument("--busy", type=int, default=1, help="also measure with this many busy cores (default: 1)")
    args = parser.parse_args()
    frame_time(args.frames)
    if not args.no_flood:
        flood_controls(args.rounds, 0)
        if args.busy:
            flood_controls(args.rounds, args.busy)


if __name__ == "__main__":
    main()
