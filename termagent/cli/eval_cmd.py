"""`termagent eval ...`: the card's replay evaluation, and tasks run live in the sandbox."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from termagent.cli.agent_options import PER_TASK, add_agent_arguments, agent_config_from_args
from termagent.cli.engine_options import add_engine_arguments, engine_from_args, instructions_from_args
from termagent.cli.ray_options import add_ray_arguments
from termagent.cli.sandbox_options import add_sandbox_arguments, sandbox_spec_from_args
from termagent.cli.subcommands import Subcommands
from termagent.errors import EXIT_NOT_COMPLETED, ConfigurationError


def register(subparsers: Subcommands) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model: replay scoring, or tasks in the sandbox",
        description="Evaluate a model the way its card did (replay), or on tasks run in the sandbox (live).",
    )
    commands = parser.add_subparsers(dest="eval_command", metavar="SUBCOMMAND", required=True)

    replay = commands.add_parser(
        "replay",
        help="score next-step predictions against recorded references (the card's tb2-lite eval)",
        description="Ask the engine for every step of DATA (JSONL replay records) and score each reply with "
        "the card's metrics. Writes steps.jsonl and summary.json into --output-dir.",
    )
    replay.add_argument("data", metavar="DATA.jsonl", help="replay records (see docs/eval.md)")
    replay.add_argument("--output-dir", type=Path, default=Path("eval-replay"), help="(default: %(default)s)")
    replay.add_argument("--limit", type=int, default=None, help="only the first N records")
    replay.add_argument("--resume", action="store_true", help="keep steps already scored in --output-dir")
    replay.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="requests in flight at once, for the openai engine (a vLLM server batches "
        "them); other engines take one at a time (default: as many as the server runs "
        "at once: 16 for vLLM, its slots for llama-server, 1 for llama-cpp-python)",
    )
    replay.add_argument(
        "--prompt",
        choices=("termagent", "record"),
        default="termagent",
        help="instructions of the first turn: termagent's own (or --prompt-template), or the "
        "record's, as the card evaluated (default: %(default)s)",
    )
    add_engine_arguments(replay)
    replay.set_defaults(handler=_replay)

    live = commands.add_parser(
        "live",
        help="run tasks in the sandbox and check them",
        description="Run each task of TASKS (a task folder, or a folder of them: termagent's layout or "
        "Terminal-Bench's) in a fresh sandbox, then its check; report pass rate and costs.",
    )
    live.add_argument("tasks", metavar="TASKS", type=Path)
    live.add_argument(
        "--oracle",
        action="store_true",
        help="type each task's own solution script instead of asking a model (proves the harness)",
    )
    live.add_argument("--output-dir", type=Path, default=Path("eval-live"), help="(default: %(default)s)")
    live.add_argument("--limit", type=int, default=None, help="only the first N tasks")
    add_ray_arguments(live, parallel_note="; the replay engine's replies are shared in order, so keep 1 with it")
    agent = live.add_argument_group("agent (without --oracle)")
    add_agent_arguments(agent, agent, PER_TASK)
    add_sandbox_arguments(live)
    add_engine_arguments(live)
    live.set_defaults(handler=_live)
    return parser


def _replay(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from termagent.eval.records import load_records
    from termagent.eval.replay_eval import replay_summary, run_replay
    from termagent.eval.report import print_replay, write_json

    if args.limit is not None and args.limit < 1:
        raise ConfigurationError("--limit must be at least 1")
    records = load_records(args.data, limit=args.limit)
    if not records:
        raise ConfigurationError(
            f"{args.data} holds no records", hint='one JSON record per line; see docs/eval.md ("Records")'
        )
    instructions = instructions_from_args(args) if args.prompt == "termagent" else None
    choice = engine_from_args(args)
    errors = Console(stderr=True)
    errors.print(choice.reason, highlight=False)
    engine = choice.engine
    try:
        with Progress(
            "{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=errors,
            transient=True,
        ) as progress:
            bar = progress.add_task("steps", total=len(records))
            run = run_replay(
                records,
                engine,
                args.output_dir / "steps.jsonl",
                instructions=instructions,
                resume=args.resume,
                concurrency=args.concurrency or getattr(engine, "parallel_requests", 1),
                on_steps=lambda done: progress.advance(bar, done),
            )
    finally:
        engine.close()
    summary = replay_summary(run, data=str(args.data), engine=engine.name, model=engine.model, prompt=args.prompt)
    write_json(args.output_dir / "summary.json", summary)
    print_replay(summary, Console())
    for failure in run.failures:
        errors.print(f"termagent: step failed: {failure}", highlight=False)
    print(f"wrote {args.output_dir / 'steps.jsonl'} and {args.output_dir / 'summary.json'}", file=sys.stderr)
    return EXIT_NOT_COMPLETED if run.failures else 0


def _live(args: argparse.Namespace) -> int:
    import dataclasses
    import functools
    import time

    from rich.console import Console

    from termagent.batch.ray_backend import Job, new_run_id, remote_engine_options, run_on_ray
    from termagent.batch.runner import TaskReport, run_parallel
    from termagent.eval.live_run import live_summary, result_row, run_oracle, run_with_agent
    from termagent.eval.live_tasks import load_tasks
    from termagent.eval.report import print_live, write_json

    tasks = load_tasks(args.tasks)[: args.limit]
    spec = sandbox_spec_from_args(args)
    errors = Console(stderr=True)
    engine = None
    args.output_dir.mkdir(parents=True, exist_ok=True)
    if args.oracle:
        missing = [task.name for task in tasks if task.solution is None]
        if missing:
            raise ConfigurationError(
                f"--oracle needs a solution script; none for: {', '.join(missing)}",
                hint="give those tasks solution.sh (solution/solve.sh for Terminal-Bench 2), or leave out --oracle",
            )
        run_one = lambda task, trajectory: run_oracle(task, spec)  # noqa: E731
    else:
        from termagent.model.engines.base import shared

        base = agent_config_from_args(args, task="", sandbox=spec)
        if args.ray is not None:  # each worker builds its own engine
            base = dataclasses.replace(base, engine=remote_engine_options(base.engine))
        else:
            choice = engine_from_args(args)
            engine = shared(choice.engine)
            errors.print(choice.reason, highlight=False)
        run_one = lambda task, trajectory: run_with_agent(task, base, engine, trajectory)  # noqa: E731
    started = time.monotonic()

    def announce(report: TaskReport) -> None:
        errors.print(report.outcome_line(), highlight=False)

    try:
        if args.ray is not None:
            jobs = [Job(task.name, functools.partial(run_one, task)) for task in tasks]
            with errors.status(f"{len(tasks)} task(s) on Ray ({args.ray or 'local cluster'})"):
                reports = run_on_ray(
                    jobs,
                    address=args.ray or None,
                    slots=args.parallel,
                    output_dir=args.output_dir,
                    run_id=new_run_id(),
                    on_done=announce,
                    shared_dir=args.output_dir if args.shared_output_dir else None,
                    on_cancel=lambda count: errors.print(f"cancelled {count} Ray task(s)"),
                )
        else:
            with errors.status(f"{len(tasks)} task(s), {args.parallel} at a time"):
                reports = run_parallel(
                    tasks,
                    lambda task: run_one(task, args.output_dir / f"{task.name}.jsonl"),
                    parallel=args.parallel,
                    on_done=announce,
                    thread_name="termagent-eval",
                )
    finally:
        if engine is not None:
            engine.close()
    summary = live_summary(reports, mode="oracle" if args.oracle else "agent", wall_seconds=time.monotonic() - started)
    rows = [result_row(report) for report in reports]
    write_json(args.output_dir / "summary.json", summary | {"tasks_dir": str(args.tasks), "results": rows})
    print_live(rows, summary, Console())
    print(f"wrote {args.output_dir / 'summary.json'}", file=sys.stderr)
    return 0 if summary["passed"] == summary["tasks"] else EXIT_NOT_COMPLETED
