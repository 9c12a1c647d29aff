"""Running a batch: each task headless in its own sandbox, N at a time, one shared engine
(except tasks that bring recorded replies; an engine that takes one request at a time is taken in
turns), a check per task, a report per task. `ray_backend` runs the same `run_task` on a cluster."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from termagent.agent.events import Event, EventType
from termagent.agent.loop import AgentLimits, RunResult
from termagent.agent.runner import RunConfig, run_agent
from termagent.batch.tasks import BatchTask
from termagent.errors import TermagentError
from termagent.model.engines.base import Engine, shared
from termagent.sandbox.container import Sandbox
from termagent.sandbox.profiles import load_profile
from termagent.workspace import Workspace, WorkspaceMode

CHECK_TIMEOUT_SECONDS = 300
CHECK_OUTPUT_CHARS = 2000  # the end of the output, where a failure usually shows
APP_DIR = "/app"  # where checks run: the task's files
Item = TypeVar("Item")


@dataclass
class TaskReport:
    name: str
    status: str = "pending"
    steps: int = 0
    wall_time: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    check: str | None = None  # "passed", "failed", or None when the task has no check
    check_output: str = ""
    policy_denials: int = 0
    parse_failures: int = 0
    error: str = ""
    trajectory: str = ""
    started_at: float = 0.0  # Unix time the (last) attempt started
    node: str = ""  # the Ray node id it ran on; empty for a local run
    attempts: int = 1

    @property
    def passed(self) -> bool:
        return self.check == "passed" if self.check is not None else self.status == "completed"

    def outcome_line(self) -> str:
        """The PASS/FAIL line printed as each task finishes."""
        error = f" ({self.error})" if self.error else ""
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict} {self.name}: {self.status}, {self.steps} steps, {self.wall_time:.1f}s{error}"


class _Counter:
    """A per-task view: counts what the report needs, prints nothing."""

    def __init__(self, report: TaskReport) -> None:
        self.report = report

    def __call__(self, event: Event) -> None:
        denied_by_policy = event.type is EventType.POLICY_DECIDED and event.data.get("decision") == "deny"
        denied_by_approver = event.type is EventType.APPROVAL_ANSWERED and str(event.data.get("answer", "")).startswith(
            "deny"
        )
        if denied_by_policy or denied_by_approver:
            self.report.policy_denials += 1
        elif event.type is EventType.REPLY_REJECTED:
            self.report.parse_failures += 1


def task_config(base: RunConfig, task: BatchTask, trajectory: Path) -> RunConfig:
    settings = task.settings
    sandbox = base.sandbox
    if "image" in settings or "sandbox_profile" in settings:
        profile = load_profile(settings["sandbox_profile"]) if "sandbox_profile" in settings else sandbox.profile
        sandbox = dataclasses.replace(sandbox, image=settings.get("image", sandbox.image), profile=profile)
    engine = base.engine
    if task.replay is not None:
        engine = dataclasses.replace(engine, kind="replay", replay_path=str(task.replay))
    limits = AgentLimits(
        max_steps=settings.get("max_steps", base.limits.max_steps),
        timeout=settings.get("timeout", base.limits.timeout),
        max_bad_replies=base.limits.max_bad_replies,
    )
    # A task's workspace is copied in for the run and its check; the host copy is never changed.
    workspace = Workspace(task.workspace, WorkspaceMode.COPY) if task.workspace else None
    return dataclasses.replace(
        base,
        task=task.task,
        engine=engine,
        sandbox=sandbox,
        limits=limits,
        workspace=workspace,
        apply_changes=False,
        policy=settings.get("policy", base.policy),
        approve=settings.get("approve", base.approve),
        trajectory=trajectory,
        cast=None,
    )


def run_check(sandbox: Sandbox, script: str, report: TaskReport) -> None:
    """A task's check, in its sandbox once the run is over: passed when the script exits 0."""
    exit_code, output = sandbox.container.exec_run(
        ["timeout", str(CHECK_TIMEOUT_SECONDS), "bash", "-c", script], workdir=APP_DIR, demux=False
    )
    report.check = "passed" if exit_code == 0 else "failed"
    report.check_output = (output or b"").decode("utf-8", "replace")[-CHECK_OUTPUT_CHARS:]


def run_task(config: RunConfig, task: BatchTask, shared_engine: Engine | None) -> TaskReport:
    report = TaskReport(task.name, trajectory=str(config.trajectory), started_at=time.time())
    started = time.monotonic()

    def check(sandbox: Sandbox, result: RunResult) -> None:
        if task.check is not None:
            run_check(sandbox, task.check, report)

    try:
        result = run_agent(config, _Counter(report), engine=None if task.replay else shared_engine, after_run=check)
        report.status, report.steps = str(result.status), result.steps
        report.prompt_tokens, report.completion_tokens = result.prompt_tokens, result.completion_tokens
        report.error = result.message if result.status == "error" else ""
    except TermagentError as error:
        report.status, report.error = "error", str(error)
    report.wall_time = round(time.monotonic() - started, 3)
    return report


def run_batch_task(
    base: RunConfig, task: BatchTask, trajectory: Path, shared_engine: Engine | None = None
) -> TaskReport:
    """One task of a batch, the same whether a local thread or a Ray worker runs it."""
    return run_task(task_config(base, task, trajectory), task, shared_engine)


def run_batch(
    base: RunConfig,
    tasks: list[BatchTask],
    *,
    parallel: int,
    output_dir: Path,
    shared_engine: Engine | None,
    on_done: Callable[[TaskReport], None],
) -> list[TaskReport]:
    output_dir.mkdir(parents=True, exist_ok=True)
    engine = shared(shared_engine) if shared_engine is not None else None
    return run_parallel(
        tasks,
        lambda task: run_batch_task(base, task, output_dir / f"{task.name}.jsonl", engine),
        parallel=parallel,
        on_done=on_done,
        thread_name="termagent-batch",
    )


def run_parallel(
    items: Sequence[Item],
    work: Callable[[Item], TaskReport],
    *,
    parallel: int,
    on_done: Callable[[TaskReport], None],
    thread_name: str,
) -> list[TaskReport]:
    """`work` on each item, `parallel` at a time, in threads; `on_done` hears each report, one at a
    time, as it comes; the reports come back in the items' order."""
    lock = threading.Lock()

    def one(item: Item) -> TaskReport:
        report = work(item)
        with lock:
            on_done(report)
        return report

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix=thread_name) as pool:
        return list(pool.map(one, items))
