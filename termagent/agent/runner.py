"""Setting up one run: policy, engine, sandbox, trajectory and recording around the agent loop.
Used the same way by the headless and plain command line, the TUI, `replay` and `batch`."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from termagent.agent.cast import CastOptions, CastRecorder
from termagent.agent.events import Event, EventSink, EventType, fan_out
from termagent.agent.loop import Agent, AgentLimits, RunResult, RunStatus, run_finished_data, run_started_data
from termagent.agent.signals import run_signals
from termagent.agent.trajectory import TrajectoryWriter, default_trajectory_path
from termagent.errors import TermagentError
from termagent.model.engines.auto import EngineOptions, create_engine
from termagent.model.engines.base import Engine
from termagent.policy.approval import Approver, approver_for
from termagent.policy.loader import load_policy
from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.workspace import Workspace
from termagent.workspace.changes import ApplyAnswer, WorkspaceChanges


@dataclass(frozen=True)
class RunConfig:
    task: str
    engine: EngineOptions
    sandbox: SandboxSpec
    policy: str = "default"
    approve: str = "deny"  # what `ask` becomes without a person: ask (a person answers), deny, allow
    limits: AgentLimits = AgentLimits()
    instructions: str | None = None
    trajectory: Path | None = None  # None: a new file under ~/.local/state/termagent/trajectories
    cast: CastOptions | None = None
    workspace: Workspace | None = None
    apply_changes: bool = False  # copy mode without a person: apply the changes at the end
    apply_git: bool = False  # ... the held-back ones (.git/, git hooks and config) too


ChangesApprover = Callable[[WorkspaceChanges], ApplyAnswer | bool]


def run_agent(
    config: RunConfig,
    view: EventSink,
    *,
    person: Approver | None = None,
    engine: Engine | None = None,
    on_agent: Callable[[Agent], None] | None = None,
    after_run: Callable[[Sandbox, RunResult], None] | None = None,
    approve_changes: ChangesApprover | None = None,
    ctrl_c_interrupts: bool = False,
) -> RunResult:
    """Run one task to its end. Configuration and environment errors raise TermagentError
    before anything runs; `after_run` sees the sandbox before it is removed (e.g. to run a
    check); a copied-in workspace's changes are applied when `approve_changes` says so (without
    it, when the config says so); the sandbox and workspace staging are removed whatever
    happens, signals included (termagent.agent.signals: with `ctrl_c_interrupts`, a first Ctrl-C
    interrupts the running command instead of ending the run)."""
    policy = load_policy(config.policy)
    approver = approver_for(config.approve, person)
    own_engine = engine is None
    if engine is None:
        choice = create_engine(config.engine)
        engine, engine_note, engine_warnings = choice.engine, choice.reason, choice.warnings
    else:
        engine_note, engine_warnings = f"engine: {engine.name} (shared)", ()
    started = time.monotonic()
    trajectory = _Bracketed(TrajectoryWriter(config.trajectory or default_trajectory_path()))
    sinks: list[EventSink] = [trajectory, view]
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(trajectory.close)
        if own_engine:
            cleanup.callback(engine.close)
        if config.cast:
            recorder = CastRecorder(
                config.cast, config.sandbox.columns, config.sandbox.lines, fan_out(trajectory, view)
            )
            cleanup.callback(recorder.close)
            sinks.append(recorder)
        signals = cleanup.enter_context(run_signals(ctrl_c_interrupts))
        started_data = run_started_data(config.task, engine, policy.name, config.limits, engine_note)
        recorded = _recorded_to_the_end(trajectory, fan_out(*sinks), started_data, started)
        # Armed until the clean-up starts: a signal ends the run, never the clean-up.
        with recorded, signals.armed():
            workspace = config.workspace
            spec = config.sandbox
            if workspace is not None:
                cleanup.enter_context(workspace)
                if workspace.warning:
                    view(Event(EventType.WARNING, 0, {"message": workspace.warning}))
                spec = dataclasses.replace(spec, mounts=spec.mounts + workspace.mounts())
            with signals.deferred():
                sandbox = cleanup.enter_context(Sandbox(spec))
            if workspace is not None:
                workspace.populate(sandbox.container)
            for warning in engine_warnings:  # e.g. constrained decoding off: loud in every view and the trajectory
                fan_out(*sinks)(Event(EventType.WARNING, 0, {"message": warning}))
            for warning in sandbox.shell.warnings:
                view(Event(EventType.WARNING, 0, {"message": warning}))
            agent = Agent(
                engine,
                sandbox.shell,
                policy,
                approver,
                fan_out(*sinks),
                limits=config.limits,
                instructions=config.instructions,
            )
            signals.agent = agent
            if on_agent is not None:
                on_agent(agent)
            result = agent.run(config.task, note=engine_note)
            if after_run is not None:
                after_run(sandbox, result)
            if workspace is not None:
                approve = approve_changes or (lambda _: ApplyAnswer.unattended(config.apply_changes, config.apply_git))
                _review_changes(workspace, sandbox, fan_out(*sinks), approve, signals.deferred)
            return result


class _Bracketed:
    """The trajectory sink, which must open with `run_started` and close with `run_finished`:
    what comes before `run_started` (the engine's warnings) is written right after it."""

    def __init__(self, writer: TrajectoryWriter) -> None:
        self.writer = writer
        self.started = self.finished = False
        self._early: list[Event] = []

    def __call__(self, event: Event) -> None:
        if event.type is EventType.RUN_STARTED:
            self.started = True
            self.writer(event)
            for early in self._early:
                self.writer(early)
            self._early.clear()
        elif not self.started:
            self._early.append(event)
        else:
            self.finished = self.finished or event.type is EventType.RUN_FINISHED
            self.writer(event)

    def close(self) -> None:
        self.writer.close()


@contextlib.contextmanager
def _recorded_to_the_end(trajectory: _Bracketed, emit: EventSink, started: dict, clock: float) -> Iterator[None]:
    """A run that ends before the loop began (a signal or an error while the sandbox starts or
    the workspace is copied in), or before the loop recorded its end, is still recorded: started
    (`started`: run_started's data) and finished. A signal's end goes to every view; an error
    only to the trajectory, since the command line reports it."""
    try:
        yield
    except KeyboardInterrupt as interrupt:
        _finish(trajectory, emit, started, clock, RunStatus.INTERRUPTED, str(interrupt) or "interrupted")
        raise
    except Exception as error:  # TermagentError, or one the command line shows as a traceback
        if isinstance(error, TermagentError):
            message, hint = error.message, error.hint
        else:
            message, hint = f"{type(error).__name__}: {error}", None
        if not trajectory.finished:
            trajectory(Event(EventType.ERROR, 0, {"message": message, "hint": hint}))
        _finish(trajectory, trajectory, started, clock, RunStatus.ERROR, message)
        raise


def _finish(trajectory: _Bracketed, emit: EventSink, started: dict, clock: float, status: RunStatus, why: str) -> None:
    if trajectory.finished:
        return
    if not trajectory.started:
        emit(Event(EventType.RUN_STARTED, 0, started))
    result = RunResult(status, 0, round(time.monotonic() - clock, 3), 0, 0, why)
    emit(Event(EventType.RUN_FINISHED, 0, run_finished_data(result)))


def _review_changes(
    workspace: Workspace,
    sandbox: Sandbox,
    emit: EventSink,
    approve: ChangesApprover,
    uncut: Callable[[], contextlib.AbstractContextManager[None]],
) -> None:
    changes = workspace.collect(sandbox.container)
    if not changes:
        return
    emit(
        Event(
            EventType.WORKSPACE_CHANGED,
            0,
            {"counts": changes.counts(), "summary": changes.summary(), "diff": "".join(changes.diff())},
        )
    )
    answer = approve(changes)
    if not answer:
        return
    with uncut():  # what the person said yes to is applied whole (and reported), then a signal ends the run
        applied = workspace.apply(changes, include_held=answer is ApplyAnswer.APPLY_ALL)
        emit(
            Event(
                EventType.WORKSPACE_APPLIED,
                0,
                {"summary": applied.summary(), "conflicts": [conflict.line() for conflict in applied.conflicts]},
            )
        )
