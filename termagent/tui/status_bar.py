"""The status bar: engine and model, step, tokens, elapsed time, the sandbox, the agent's state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from termagent.agent.events import Event, EventType
from termagent.sandbox.profiles import SandboxProfile
from termagent.tui.safe_text import safe_text


@dataclass
class StatusInfo:
    engine: str = "-"
    model: str = "-"
    step: int = 0
    max_steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False  # some figure is an estimate (a server that streams no usage)
    started: float | None = None
    elapsed: float | None = None  # set when the run finished
    state: str = "starting"

    def follow(self, event: Event, now: float) -> None:
        data = event.data
        self.step = max(self.step, event.step)
        if event.type is EventType.RUN_STARTED:
            self.engine, self.model, self.max_steps = data["engine"], data["model"], data["max_steps"]
            self.started, self.state = now, "running"
        elif event.type is EventType.MODEL_REPLIED:
            self.prompt_tokens += data["prompt_tokens"]
            self.completion_tokens += data["completion_tokens"]
            self.tokens_estimated |= bool(data.get("tokens_estimated"))  # absent in older trajectories
        elif event.type is EventType.RUN_FINISHED:
            self.elapsed, self.state = data["elapsed"], f"finished: {data['status']}"


def token_figures(status: StatusInfo) -> str:
    """`tokens P+C`, marked `~… (estimated)` once any figure in it is an estimate."""
    figures = f"{status.prompt_tokens}+{status.completion_tokens}"
    return f"tokens ~{figures} (estimated)" if status.tokens_estimated else f"tokens {figures}"


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes:02d}:{seconds:02d}"


class StatusBar(Static):
    DEFAULT_CSS = "StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }"

    def __init__(self, profile: SandboxProfile, clock: Callable[[], float], **kwargs) -> None:
        super().__init__(**kwargs)
        self.status = StatusInfo()
        self.profile = profile
        self.clock = clock

    def on_mount(self) -> None:
        self.set_interval(1.0, self.show)

    def follow(self, event: Event) -> None:
        self.status.follow(event, self.clock())
        self.show()

    def set_state(self, state: str) -> None:
        self.status.state = state
        self.show()

    def show(self) -> None:
        s, p = self.status, self.profile
        elapsed = s.elapsed
        if elapsed is None:
            elapsed = 0.0 if s.started is None else self.clock() - s.started
        limits = f"{p.memory} · {p.cpus:g} cpu · {p.pids_limit} pids" + (" · read-only" if p.read_only else "")
        self.update(
            Text.assemble(
                safe_text(f"{s.engine} {s.model}", "bold"),
                f" │ step {s.step}/{s.max_steps} │ {token_figures(s)} │ {_clock(elapsed)} │ ",
                safe_text(f"sandbox {p.name} · network {p.network} · {limits}"),
                " │ ",
                (s.state, "reverse" if s.state != "running" else "bold green"),
            )
        )
