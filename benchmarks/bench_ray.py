"""A batch on Ray against the same batch run locally, in one run: 16 replayed tasks (the examples,
round robin), local `--parallel 2` against a Ray cluster of two nodes with one sandbox slot each
(started here as separate processes, as in tests/batch/ray_cluster.py).

Run: .venv/bin/python benchmarks/bench_ray.py [--tasks 16]
Prints the wall time of each, Ray's scheduling overhead per task and the throughput ratio.
Overhead of a task: from the moment it could start (the submission, or the end of the task before
it on the same one-slot node) to the moment it started on the worker. On one 2-core machine Ray
cannot be faster; the target (issue 13) is an overhead under 10% of a typical task's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_agent import example_batch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "batch"))
from ray_cluster import new_cluster  # noqa: E402

from termagent.agent.loop import AgentLimits  # noqa: E402
from termagent.agent.runner import RunConfig  # noqa: E402
from termagent.batch.ray_backend import Job, new_run_id, run_on_ray  # noqa: E402
from termagent.batch.runner import TaskReport, run_batch, run_batch_task  # noqa: E402
from termagent.batch.tasks import load_batch  # noqa: E402
from termagent.model.engines.auto import EngineOptions  # noqa: E402
from termagent.sandbox.container import SandboxSpec  # noqa: E402


def overheads_ms(reports: list[TaskReport], submitted: float) -> tuple[list[float], list[float]]:
    """Per task: start - (submission, or the end of the previous task on its one-slot node); the
    first task of each node (a fresh Ray worker that imports termagent) apart from the others."""
    first, warm, free_at = [], [], {}
    for report in sorted(reports, key=lambda r: r.started_at):
        ready = max(submitted, free_at.get(report.node, submitted))
        (warm if report.node in free_at else first).append((report.started_at - ready) * 1000)
        free_at[report.node] = report.started_at + report.wall_time
    return first, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=16)
    args = parser.parse_args()
    base = RunConfig(
        task="",
        engine=EngineOptions(),
        sandbox=SandboxSpec(),
        policy="sandboxed-auto",
        limits=AgentLimits(max_steps=10),
    )
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as scratch:
        folder = Path(scratch)
        tasks = load_batch(example_batch(folder / "tasks.yaml", args.tasks))
        cluster = new_cluster()
        try:
            cluster.start_node("head", {"termagent_sandbox": 1}, head=True)
            cluster.alive_nodes(1)
            cluster.start_node("worker", {"termagent_sandbox": 1})
            cluster.alive_nodes(2)
            # This process is the cluster's driver: Ray reads its settings (the token) on import.
            os.environ.update(cluster.environment())
            import ray

            started = time.monotonic()
            local = run_batch(
                base, tasks, parallel=2, output_dir=folder / "local", shared_engine=None, on_done=lambda report: None
            )
            local_wall = time.monotonic() - started

            connect_started = time.monotonic()
            ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
            connect = time.monotonic() - connect_started
            jobs = [
                Job(task.name, lambda trajectory, task=task: run_batch_task(base, task, trajectory)) for task in tasks
            ]
            submitted, started = time.time(), time.monotonic()
            remote = run_on_ray(
                jobs,
                address=cluster.address,
                slots=2,
                output_dir=folder / "ray",
                run_id=new_run_id(),
                on_done=lambda report: None,
            )
            ray_wall = time.monotonic() - started
        finally:
            cluster.stop()
    first, gaps = overheads_ms(remote, submitted)
    task_wall = statistics.median(report.wall_time for report in local + remote)
    print(
        json.dumps(
            {
                "tasks": len(tasks),
                "passed_local": sum(r.passed for r in local),
                "passed_ray": sum(r.passed for r in remote),
                "nodes_used": len({r.node for r in remote}),
                "local_parallel2_wall_s": round(local_wall, 2),
                "ray_two_nodes_wall_s": round(ray_wall, 2),
                "ray_connect_s": round(connect, 2),
                "throughput_ratio_ray_over_local": round(local_wall / ray_wall, 3),
                "median_task_wall_s": round(task_wall, 2),
                "ray_overhead_ms_median": round(statistics.median(gaps), 1),
                "ray_overhead_ms_p90": round(statistics.quantiles(gaps, n=10)[-1], 1),
                "ray_overhead_ms_max": round(max(gaps), 1),
                "ray_overhead_ms_first_task_per_node": [round(gap) for gap in first],
                "overhead_pct_of_median_task": round(100 * statistics.median(gaps) / 1000 / task_wall, 1),
                "target_pct": 10,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
