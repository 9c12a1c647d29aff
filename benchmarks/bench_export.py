"""Export benchmark (issue 15): steps per second that `termagent export` turns into ATIF, SFT and
replay records, over 1,000 recorded steps in two shapes:

- short runs: the examples batch (3 runs, 10 steps) recorded once in the sandbox, copied to 1,000 steps;
- long runs: one 100-step run recorded in the sandbox (replay engine, `:` each step), copied 10 times.

    .venv/bin/python benchmarks/bench_export.py

Needs a Docker engine and the sandbox image (the runs are recorded for real). Times the export
in process (reading, rebuilding the prompts, writing), median of 5; prints, never a pass/fail."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from termagent.export.dataset import Format, export
from termagent.export.reader import read_runs
from termagent.export.selection import Selection

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the runs are started as the tests start them
from project_paths import EXAMPLES, TERMAGENT  # noqa: E402
from replay_run import replay_run_args  # noqa: E402

TOTAL_STEPS = 1000
LONG_RUN_STEPS = 100
REPEATS = 5


def record_examples(workdir: Path) -> Path:
    folder = workdir / "examples"
    subprocess.run(
        [TERMAGENT, "batch", str(EXAMPLES / "tasks.yaml"), "--parallel", "2", "--output-dir", str(folder)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return folder


def record_long_run(workdir: Path) -> Path:
    step = {"analysis": "a", "plan": "p", "commands": [{"keystrokes": ":\n", "duration": 0.1}], "task_complete": False}
    replies = workdir / "long-replies.jsonl"
    replies.write_text("".join(json.dumps({"reply": json.dumps(step, indent=2)}) + "\n" for _ in range(LONG_RUN_STEPS)))
    folder = workdir / "long"
    folder.mkdir()
    subprocess.run(
        [
            TERMAGENT,
            "--headless",
            *replay_run_args("keep going", replies, folder / "long.jsonl", "--max-steps", str(LONG_RUN_STEPS)),
        ],
        capture_output=True,
        timeout=1200,
    )  # ends at the step limit: exit status 1
    return folder / "long.jsonl"


def copies(trajectories: list[Path], folder: Path) -> int:
    """Copies of the recorded trajectories in `folder` until they hold TOTAL_STEPS steps; returns the count."""
    folder.mkdir()
    per_round = sum(len(run.steps) for run in read_runs(trajectories))
    steps = 0
    for n in range(-(-TOTAL_STEPS // per_round)):
        for path in trajectories:
            shutil.copy(path, folder / f"{n:03d}-{path.name}")
        steps += per_round
    return steps


def time_export(folder: Path, fmt: Format, out: Path) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        export([folder], fmt, out / f"out-{fmt}" if fmt is Format.ATIF else out / f"out-{fmt}.jsonl", Selection())
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-export-") as scratch:
        workdir = Path(scratch)
        examples = sorted(record_examples(workdir).glob("*.jsonl"))
        long_run = record_long_run(workdir)
        shapes = {"short runs (examples)": examples, f"long runs ({LONG_RUN_STEPS} steps)": [long_run]}
        print(f"export throughput, median of {REPEATS}, in process")
        for name, trajectories in shapes.items():
            folder = workdir / f"copies-{name.split()[0]}"
            steps = copies(trajectories, folder)
            for fmt in Format:
                seconds = time_export(folder, fmt, workdir)
                print(f"  {name:<24} {fmt:<7} {steps} steps in {seconds:.3f} s = {steps / seconds:,.0f} steps/s")


if __name__ == "__main__":
    main()
