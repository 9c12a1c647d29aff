"""Agent benchmarks (issue 5): overhead per step outside the model and the commands, and a
batch of 16 replayed example tasks with --parallel 4 against --parallel 1.

    .venv/bin/python benchmarks/bench_agent.py

Needs a Docker engine and the sandbox image. Prints medians; never a pass/fail."""

from __future__ import annotations

import itertools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from termagent.agent.events import Event, EventType
from termagent.agent.loop import AgentLimits
from termagent.agent.runner import RunConfig, run_agent
from termagent.model.engines.auto import EngineOptions
from termagent.sandbox.container import SandboxSpec

EXAMPLES = Path(__file__).parents[1] / "examples"
STEPS = 50


def per_step_overhead(workdir: Path) -> None:
    replies = workdir / "replies.jsonl"
    step = {"analysis": "a", "plan": "p", "commands": [{"keystrokes": ":\n", "duration": 1.0}], "task_complete": False}
    replies.write_text("".join(json.dumps({"reply": json.dumps(step, indent=2)}) + "\n" for _ in range(STEPS)))
    marks: list[tuple[str, float, dict]] = []

    def view(event: Event) -> None:
        if event.type in (
            EventType.STEP_STARTED,
            EventType.MODEL_REPLIED,
            EventType.OUTPUT_OBSERVED,
            EventType.RUN_FINISHED,
        ):
            marks.append((event.type, time.perf_counter(), event.data))

    config = RunConfig(
        task="overhead",
        engine=EngineOptions(kind="replay", replay_path=str(replies)),
        sandbox=SandboxSpec(),
        policy="default",
        approve="deny",
        limits=AgentLimits(max_steps=STEPS),
        trajectory=workdir / "trajectory.jsonl",
    )
    run_agent(config, view)
    overheads = []
    starts = [i for i, mark in enumerate(marks) if mark[0] == EventType.STEP_STARTED] + [len(marks) - 1]
    for begin, end in itertools.pairwise(starts):
        wall = marks[end][1] - marks[begin][1]
        model = sum(m[2]["elapsed"] for m in marks[begin:end] if m[0] == EventType.MODEL_REPLIED)
        commands = sum(m[2]["elapsed"] for m in marks[begin:end] if m[0] == EventType.OUTPUT_OBSERVED)
        overheads.append(wall - model - commands)
    overheads.sort()
    print(
        f"agent overhead per step (prompt, parse, policy, capture, trajectory; {len(overheads)} steps): "
        f"p50 {statistics.median(overheads) * 1000:.2f} ms, p90 {overheads[int(len(overheads) * 0.9)] * 1000:.2f} ms"
    )


def example_batch(batch_file: Path, count: int = 16) -> Path:
    """A batch file of `count` replayed example tasks (the examples, round-robin)."""
    examples = yaml.safe_load((EXAMPLES / "tasks.yaml").read_text())
    tasks = []
    for copy in range(count):
        task = dict(examples["tasks"][copy % len(examples["tasks"])])
        task["name"] = f"{task['name']}-{copy}"
        for key in ("replay", "workspace"):
            if key in task:
                task[key] = str(EXAMPLES / task[key])
        tasks.append(task)
    batch_file.write_text(yaml.safe_dump({"defaults": examples["defaults"], "tasks": tasks}))
    return batch_file


def batch_speedup(workdir: Path) -> None:
    batch_file = example_batch(workdir / "batch16.yaml")
    results = {}
    for parallel in (1, 4):
        child = (
            "import resource, sys; from termagent.cli.main import main; code = main(sys.argv[1:]); "
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)"
        )
        began = time.perf_counter()
        completed = subprocess.run(
            [
                sys.executable,
                "-c",
                child,
                "batch",
                str(batch_file),
                "--parallel",
                str(parallel),
                "--output-dir",
                str(workdir / f"p{parallel}"),
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - began
        maxrss = int(completed.stderr.split("MAXRSS")[1].split()[0]) / 1024
        report = json.loads((workdir / f"p{parallel}" / "report.json").read_text())
        results[parallel] = wall
        for failed in (r for r in report["results"] if not r["passed"]):
            print(f"  failed: {failed['name']}: {failed['status']} {failed['error']} {failed['check_output']}")
        print(
            f"batch of 16 replayed examples, --parallel {parallel}: {wall:.2f} s wall, "
            f"{report['passed']}/16 passed, peak memory {maxrss:.0f} MiB"
        )
    print(f"speed-up of --parallel 4 over --parallel 1: {results[1] / results[4]:.2f}x")


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        per_step_overhead(Path(work))
        batch_speedup(Path(work))
    print(f"(this process peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
