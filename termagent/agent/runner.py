"""Setting up one run: policy, engine, sandbox, trajectory and recording around the agent loop.
Used the same way by the headless and plain command line, the TUI, `replay` and `batch`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from termagent.agent.cast import CastRecorder
from termagent.agent.events import Event, EventSink, EventType, fan_out
from termagent.agent.loop import Agent, AgentLimits, RunResult
from termagent.agent.trajectory import TrajectoryWriter, default_trajectory_path
from termagent.model.engines.auto import EngineOptions, create_engine
from termagent.model.engines.base import Engine
from termagent.policy.approval import Approver, approver_for
from termagent.policy.loader import load_policy
from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.lifecycle import sigterm_as_exit


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
    cast: Path | None = None


def run_agent(config: RunConfig, view: EventSink, *, person: Approver | None = None,
              engine: Engine | None = None, on_agent: Callable[[Agent], None] | None = None,
              after_run: Callable[[Sandbox, RunResult], None] | None = None) -> RunResult:
    """Run one task to its end. Configuration and environment errors raise TermagentError
    before anything runs; `after_run` sees the sandbox before it is removed (e.g. to run a
    check); the sandbox is removed whatever happens."""
    policy = load_policy(config.policy)
    approver = approver_for(config.approve, person)
    own_engine = engine is None
    if engine is None:
        choice = create_engine(config.engine)
        engine, engine_note = choice.engine, choice.reason
    else:
        engine_note = f"engine: {engine.name} (shared)"
    trajectory = TrajectoryWriter(config.trajectory or default_trajectory_path())
    sinks = [trajectory, view]
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(trajectory.close)
        if own_engine:
            cleanup.callback(engine.close)
        if config.cast:
            recorder = CastRecorder(config.cast, config.sandbox.columns, config.sandbox.lines)
            cleanup.callback(recorder.close)
            sinks.append(recorder)
        cleanup.enter_context(sigterm_as_exit())
        sandbox = cleanup.enter_context(Sandbox(config.sandbox))
        for warning in sandbox.shell.warnings:
            view(Event(EventType.ERROR, 0, {"message": f"warning: {warning}"}))
        agent = Agent(engine, sandbox.shell, policy, approver, fan_out(*sinks),
                      limits=config.limits, instructions=config.instructions)
        if on_agent is not None:
            on_agent(agent)
        result = agent.run(config.task, note=engine_note)
        if after_run is not None:
            after_run(sandbox, result)
        return result
