"""Running live tasks: each in a fresh sandbox, by the agent (through `termagent batch`'s runner) or
by the oracle, then its check; and the pass-rate summary.

The task's files and tests are copied into a temporary folder that is bind-mounted into the sandbox
(/app and /tests), so both modes see the same environment from the first keystroke; the user's
files are never mounted. A Terminal-Bench harness copies tests in only after the agent has
finished; here they are there from the start (a model could read them: see docs/eval.md).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from docker.types import Mount

from termagent.agent.runner import RunConfig
from termagent.batch.runner import APP_DIR, TaskReport, run_check, run_task
from termagent.batch.tasks import BatchTask
from termagent.errors import TermagentError
from termagent.eval.live_tasks import TESTS_DIR, LiveTask
from termagent.eval.oracle import replay_solution
from termagent.model.engines.base import Engine
from termagent.sandbox.container import Sandbox, SandboxSpec


def check_script(task: LiveTask) -> str:
    return f"export TEST_DIR={TESTS_DIR}\n{task.check}"


@contextmanager
def task_sandbox(task: LiveTask, base: SandboxSpec) -> Iterator[SandboxSpec]:
    """The sandbox spec for `task`: its image, and copies of its files and tests mounted in."""
    with tempfile.TemporaryDirectory(prefix=f"termagent-eval-{task.name}-") as scratch:
        mounts = list(base.mounts)
        if task.files is not None:
            mounts.append(_mount(_copy(task.files, Path(scratch) / "app"), APP_DIR))
        if task.tests:
            tests = Path(scratch) / "tests"
            tests.mkdir()
            for source, name in task.tests:
                _copy(source, tests / name)
            mounts.append(_mount(tests, TESTS_DIR))
        yield dataclasses.replace(base, image=task.image or base.image, mounts=tuple(mounts))


def _copy(source: Path, target: Path) -> Path:
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)
    return target


def _mount(source: Path, target: str) -> Mount:
    return Mount(target=target, source=str(source), type="bind", read_only=False)


def run_oracle(task: LiveTask, base: SandboxSpec) -> TaskReport:
    """Type the task's solution into a fresh sandbox, then run the check in the same sandbox."""
    report = TaskReport(task.name)
    if task.solution is None:
        report.status, report.error = "error", "the task has no solution script"
        return report
    started = time.monotonic()
    try:
        with task_sandbox(task, base) as spec, Sandbox(spec) as sandbox:
            report.steps, alive = replay_solution(sandbox.shell, task.solution)
            report.status = "completed" if alive else "shell_exited"
            run_check(sandbox, check_script(task), report)
    except TermagentError as error:
        report.status, report.error = "error", str(error)
    report.wall_time = round(time.monotonic() - started, 3)
    return report


def run_with_agent(task: LiveTask, base: RunConfig, engine: Engine | None, trajectory: Path) -> TaskReport:
    """The full agent on `task`, through the batch runner (policy, limits, trajectory, check)."""
    with task_sandbox(task, base.sandbox) as spec:
        limits = dataclasses.replace(base.limits, timeout=task.timeout or base.limits.timeout)
        config = dataclasses.replace(base, task=task.instruction, sandbox=spec, limits=limits, trajectory=trajectory)
        return run_task(config, BatchTask(task.name, task.instruction, check=check_script(task)), engine)


def result_row(report: TaskReport) -> dict[str, Any]:
    return {
        "task": report.name,
        "passed": report.passed,
        "status": report.status,
        "check": report.check,
        "steps": report.steps,
        "wall_s": report.wall_time,
        "tokens": report.prompt_tokens + report.completion_tokens,
        "policy_denials": report.policy_denials,
        "parse_failures": report.parse_failures,
        "error": report.error,
        "check_output": report.check_output,
        "trajectory": report.trajectory,
    } | ({"node": report.node, "attempts": report.attempts} if report.node else {})


def live_summary(reports: Sequence[TaskReport], *, mode: str, wall_seconds: float) -> dict[str, Any]:
    passed = sum(report.passed for report in reports)
    return {
        "mode": mode,
        "tasks": len(reports),
        "passed": passed,
        "pass_rate_pct": round(100.0 * passed / max(len(reports), 1), 1),
        "total_steps": sum(report.steps for report in reports),
        "mean_steps": round(sum(report.steps for report in reports) / max(len(reports), 1), 2),
        "wall_seconds": round(wall_seconds, 3),
        "tokens": sum(report.prompt_tokens + report.completion_tokens for report in reports),
        "policy_denials": sum(report.policy_denials for report in reports),
        "parse_failures": sum(report.parse_failures for report in reports),
        "errors": sum(bool(report.error) for report in reports),
    }
