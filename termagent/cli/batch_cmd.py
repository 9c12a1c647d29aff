"""`termagent batch TASKS.yaml --parallel N`: many headless runs, a progress bar, a summary
table and a JSON report."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import time
from pathlib import Path

from termagent.cli.agent_options import PER_TASK, add_agent_arguments, agent_config_from_args
from termagent.cli.engine_options import add_engine_arguments
from termagent.cli.ray_options import add_ray_arguments
from termagent.cli.sandbox_options import add_sandbox_arguments, sandbox_spec_from_args
from termagent.cli.subcommands import Subcommands


def register(subparsers: Subcommands) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "batch",
        help="run many tasks headless, N at a time",
        description="Runs each task of TASKS.yaml headless in its own sandbox. Exit status 0 when every task "
        "passed (its check, or completion when it has none), 1 otherwise, 2 on a bad batch file.",
    )
    parser.add_argument("tasks_file", metavar="TASKS.yaml", type=Path)
    add_ray_arguments(parser)
    parser.add_argument("--output-dir", type=Path, help="trajectories and report (default: batch-<time>/)")
    add_agent_arguments(parser, parser, PER_TASK)
    add_engine_arguments(parser)
    add_sandbox_arguments(parser, profile_flag="--sandbox-profile")
    parser.set_defaults(handler=batch)
    return parser


def batch(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from termagent.batch.ray_backend import Job, new_run_id, remote_engine_options, run_on_ray
    from termagent.batch.runner import run_batch, run_batch_task
    from termagent.batch.tasks import load_batch
    from termagent.model.engines.auto import create_engine

    tasks = load_batch(args.tasks_file)
    output_dir = args.output_dir or Path(f"batch-{time.strftime('%Y%m%d-%H%M%S')}")
    base = agent_config_from_args(args, task="", sandbox=sandbox_spec_from_args(args))
    console = Console(stderr=True)
    shared_engine = None
    run_id = new_run_id() if args.ray is not None else None
    if args.ray is not None:
        if any(task.replay is None for task in tasks):
            base = dataclasses.replace(base, engine=remote_engine_options(base.engine))
        jobs = [Job(task.name, functools.partial(run_batch_task, base, task)) for task in tasks]
    elif any(task.replay is None for task in tasks):
        choice = create_engine(base.engine)
        shared_engine = choice.engine
        console.print(choice.reason)
    started = time.monotonic()
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            where = f"{args.parallel} at a time" if args.ray is None else f"on Ray ({args.ray or 'local cluster'})"
            bar = progress.add_task(f"batch of {len(tasks)}, {where}", total=len(tasks))

            def done(report) -> None:
                progress.advance(bar)
                progress.console.print(report.outcome_line())

            if run_id is not None:  # made for a Ray run only
                shared_dir = output_dir if args.shared_output_dir else None
                reports = run_on_ray(
                    jobs,
                    address=args.ray or None,
                    slots=args.parallel,
                    output_dir=output_dir,
                    run_id=run_id,
                    on_done=done,
                    shared_dir=shared_dir,
                    on_cancel=lambda count: console.print(f"cancelled {count} Ray task(s)"),
                )
            else:
                reports = run_batch(
                    base,
                    tasks,
                    parallel=args.parallel,
                    output_dir=output_dir,
                    shared_engine=shared_engine,
                    on_done=done,
                )
    finally:
        if shared_engine is not None:
            shared_engine.close()
    wall = time.monotonic() - started
    table = Table(title=f"termagent batch: {sum(r.passed for r in reports)}/{len(reports)} passed in {wall:.1f}s")
    for column in ("task", "status", "check", "steps", "time (s)", "tokens", "denials", "parse failures"):
        table.add_column(column)
    for r in reports:
        table.add_row(
            r.name,
            r.status,
            r.check or "-",
            str(r.steps),
            f"{r.wall_time:.1f}",
            str(r.prompt_tokens + r.completion_tokens),
            str(r.policy_denials),
            str(r.parse_failures),
        )
    Console().print(table)
    report_path = output_dir / "report.json"
    summary = {
        "tasks": len(reports),
        "passed": sum(r.passed for r in reports),
        "wall_time": round(wall, 3),
        "parallel": args.parallel,
        "ray": args.ray,
        "run_id": run_id,
        "results": [dataclasses.asdict(r) | {"passed": r.passed} for r in reports],
    }
    report_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    console.print(f"report: {report_path}")
    return 0 if all(r.passed for r in reports) else 1
