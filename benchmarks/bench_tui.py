"""TUI benchmarks (issue 6): the terminal pane's frame time on a full 160x40 update, and the
key-press latency while the sandbox floods the terminal (`yes` for 10 s).

    .venv/bin/python benchmarks/bench_tui.py [--frames 200] [--no-flood]

The flood part needs a Docker engine and the sandbox image (replay engine, real sandbox).
Prints medians and worst cases; never a pass/fail."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.style import Style

from termagent.tui.terminal_pane import ScreenMirror

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "tui"))
from tui_helpers import (FLOOD_REPLIES, FLOOD_SECONDS, dialog_open, key_latencies_during,  # noqa: E402
                         replay_config, until, write_replies)


def full_screen(frame: int) -> str:
    """40 lines of 160 columns, every cell different from the last frame, in 8 colours."""
    lines = []
    for row in range(40):
        cells = "".join(f"\x1b[3{(row + col + frame) % 8}m{chr(33 + (row * 7 + col + frame) % 90)}"
                        for col in range(160))
        lines.append(f"\x1b[{row + 1};1H{cells}")
    return "".join(lines) + "\x1b[0m"


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, max {max(values) * 1000:.2f} ms"


def frame_time(frames: int) -> None:
    mirror = ScreenMirror(160, 40)
    console = Console(width=160, color_system="truecolor", force_terminal=True)
    pane_style = Style(color="white", bgcolor="black")
    screens = [full_screen(frame) for frame in range(frames)]
    feed, cells_to_strips, strips_to_bytes = [], [], []
    for screen in screens:
        started = time.perf_counter()
        mirror.feed(screen)
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
    print(f"  frame total (what a redraw costs)        {ms([a + b for a, b in zip(cells_to_strips, strips_to_bytes)])}")


def flood_latency() -> None:
    from termagent.sandbox import DEFAULT_IMAGE
    from termagent.tui.app import TermagentApp

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")  # "allow always" never touches yours
        config = replay_config(write_replies(tmp / "replies.jsonl", FLOOD_REPLIES), DEFAULT_IMAGE, tmp,
                               task="Flood the terminal")

        async def scenario() -> list[float]:
            app = TermagentApp(config)
            async with app.run_test(size=(200, 50)) as pilot:
                await until(pilot, lambda: dialog_open(app))
                await pilot.press("y")
                await until(pilot, lambda: app.mirror.text().endswith("y\ny"))
                latencies = await key_latencies_during(app, FLOOD_SECONDS - 2, every=0.1)
                await until(pilot, lambda: app.result is not None, seconds=30)
                await pilot.press("q")
            return latencies

        latencies = asyncio.run(scenario())
    print(f"key press -> action under a {FLOOD_SECONDS} s `yes` flood, {len(latencies)} presses: {ms(latencies)}, "
          f"p95 {statistics.quantiles(latencies, n=20)[-1] * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--no-flood", action="store_true", help="skip the part that needs Docker")
    args = parser.parse_args()
    frame_time(args.frames)
    if not args.no_flood:
        flood_latency()


if __name__ == "__main__":
    main()
