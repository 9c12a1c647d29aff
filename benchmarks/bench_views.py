"""What the shared view code costs (issue 14): escape_for_display as the unicode_escape codec
against the character loop it replaced, one event described and rendered by the headless text
view and by the TUI's step log, and reading a trajectory through termagent.jsonl.

    .venv/bin/python benchmarks/bench_views.py [--runs 7]

Runs are interleaved; prints medians and the per-run ratio's median; never pass/fail."""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import timeit
from pathlib import Path

from termagent.agent.events import Event, EventType
from termagent.jsonl import read_json_lines
from termagent.text_safety import escape_for_display
from termagent.tui.step_log import describe as step_log_line
from termagent.views.event_lines import TextLines

KEYSTROKES = "printf 'Hello\\n' > /app/hello.txt\n" * 4 + "\x1b[A\t\u202e\U0001f600"
EVENT = Event(
    EventType.OUTPUT_OBSERVED,
    3,
    {
        "keystrokes": KEYSTROKES,
        "finished": True,
        "exit_status": 0,
        "foreground": None,
        "elapsed": 0.05,
        "stopped": None,
        "output": "\x1b[01;34mdirectory\x1b[0m  file.txt  naïve.py\n" * 40,
    },
)


def loop_escape(text: str) -> str:
    """The character loop escape_for_display was before (the reference for the ratio)."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def per_call_us(function, number: int) -> float:
    return min(timeit.repeat(function, number=number, repeat=3)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    assert loop_escape(KEYSTROKES) == escape_for_display(KEYSTROKES)
    loop, codec, text_view, tui = [], [], [], []
    sink = TextLines(io.StringIO())
    for _ in range(runs):  # interleaved, so a busy machine slows both sides alike
        loop.append(per_call_us(lambda: loop_escape(KEYSTROKES), 5000))
        codec.append(per_call_us(lambda: escape_for_display(KEYSTROKES), 5000))
        text_view.append(per_call_us(lambda: sink(EVENT), 2000))
        tui.append(per_call_us(lambda: step_log_line(EVENT), 2000))
    ratios = [b / a for a, b in zip(loop, codec, strict=True)]
    print(
        f"escape {len(KEYSTROKES)} characters of keystrokes: loop {statistics.median(loop):.2f} us, "
        f"unicode_escape {statistics.median(codec):.2f} us (median ratio {statistics.median(ratios):.2f})"
    )
    print(
        f"one output event: text view {statistics.median(text_view):.1f} us, "
        f"TUI step log line {statistics.median(tui):.1f} us"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.jsonl"
        path.write_text("".join(json.dumps(EVENT.to_json(), ensure_ascii=False) + "\n" for _ in range(2000)))
        reads = [per_call_us(lambda: sum(1 for _ in read_json_lines(path, "trajectory")), 3) for _ in range(runs)]
        size = path.stat().st_size >> 10
        print(f"read a 2000-record trajectory ({size} KiB): {statistics.median(reads) / 1e3:.1f} ms")


if __name__ == "__main__":
    main()
