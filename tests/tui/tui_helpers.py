"""Helpers for the TUI tests: replies files for the replay engine, run configurations, and a
scripted stand-in for `run_agent` that emits a fixed sequence of events (for deterministic
snapshots without a live sandbox)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from termagent.agent.events import Event, EventSink, EventType
from termagent.agent.loop import AgentLimits, RunResult, RunStatus
from termagent.agent.runner import RunConfig
from termagent.model.engines.auto import EngineOptions
from termagent.policy.approval import ApprovalRequest, Approver, Reply
from termagent.policy.decision import Decision, Verdict
from termagent.policy.state import TerminalState
from termagent.sandbox.container import SandboxSpec
from termagent.tui.app import TermagentApp
from termagent.tui.approval_dialog import ApprovalDialog

# What a sandbox program may print to attack the person's terminal: an OSC 52 clipboard write,
# a title change, a hyperlink, a device status query, cursor movement and text that fakes the
# approval dialog, a C1 CSI byte, and a right-to-left override.
HOSTILE_PRINTF = (
    r"printf '\033]52;c;UFdORUQ=\007\033]0;PWNED-TITLE\007\033]8;;http://evil.example/\007LINK\033]8;;\007"
    r" \033[6n\033[5n \302\233 C1 \342\200\256DESREVER \033[1;31mRED\033[0m"
    r"\033[s\033[20;5HFAKE allow once [y]\033[u\n'"
    "\n"
)


def reply(analysis: str, plan: str, commands: list[str], complete: bool = False, duration: float = 30) -> str:
    """A reply in the protocol; the duration is generous (a command returns at its prompt anyway),
    so a busy machine never makes the agent type over a command still running."""
    return json.dumps(
        {
            "analysis": analysis,
            "plan": plan,
            "task_complete": complete,
            "commands": [{"keystrokes": k, "duration": duration} for k in commands],
        }
    )


def write_replies(path: Path, replies: list[str]) -> Path:
    path.write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies), encoding="utf-8")
    return path


def replay_config(replies: Path, image: str, tmp_path: Path, task: str = "Create /app/hello.txt") -> RunConfig:
    return RunConfig(
        task=task,
        engine=EngineOptions(kind="replay", replay_path=str(replies)),
        sandbox=SandboxSpec(image=image),
        policy="default",
        approve="ask",
        limits=AgentLimits(max_steps=10),
        trajectory=tmp_path / "trajectory.jsonl",
    )


def offline_config(tmp_path: Path, task: str = "Create /app/hello.txt") -> RunConfig:
    """A configuration for the scripted runner: nothing in it is started."""
    return RunConfig(
        task=task,
        engine=EngineOptions(kind="replay", replay_path="unused.jsonl"),
        sandbox=SandboxSpec(),
        approve="ask",
        trajectory=tmp_path / "trajectory.jsonl",
    )


class ScriptedRun:
    """Plays `run_agent`'s part with a fixed script: each item is an Event to emit or an
    ApprovalRequest to put to the person. `hold` seconds it waits after the script (unless
    released), so a test can look at a running state; `fail` raises instead of finishing."""

    def __init__(
        self, script: list[Event | ApprovalRequest], *, hold: float = 0.0, fail: Exception | None = None
    ) -> None:
        self.script, self.fail, self.hold = script, fail, hold
        self.release = threading.Event()
        self.replies: list[Reply] = []
        self.done = threading.Event()
        self.played = threading.Event()  # the whole script is in the view's hands
        self.config: RunConfig | None = None

    def __call__(
        self,
        config: RunConfig,
        view: EventSink,
        *,
        person: Approver | None = None,
        on_agent: Callable | None = None,
        approve_changes: Callable | None = None,
    ) -> RunResult:
        self.config = config
        try:
            for item in self.script:
                if isinstance(item, ApprovalRequest):
                    assert person is not None
                    self.replies.append(person.ask(item))
                else:
                    view(item)
            self.played.set()
            self.release.wait(self.hold)
            if self.fail is not None:
                raise self.fail
            result = RunResult(RunStatus.COMPLETED, 2, 3.5, 1200, 80, "the model confirmed that the task is complete")
            view(
                Event(
                    EventType.RUN_FINISHED,
                    2,
                    {
                        "status": str(result.status),
                        "steps": 2,
                        "elapsed": 3.5,
                        "prompt_tokens": 1200,
                        "completion_tokens": 80,
                        "message": result.message,
                    },
                )
            )
            return result
        finally:
            self.done.set()


def approval_request(keystrokes: str = "printf 'Hello\\n' > /app/hello.txt\n") -> ApprovalRequest:
    verdict = Verdict(
        Decision.ASK,
        "construct:write_redirect",
        "writes to a file: > /app/hello.txt",
        keystrokes.replace("\n", "\\n"),
        ("printf 'Hello\\n'",),
    )
    return ApprovalRequest(keystrokes, verdict, TerminalState(), can_remember=False, policy_file="/home/me/policy.yaml")


def first_step_events() -> list[Event]:
    """A started run and one step up to the approval, with a fixed prompt on the screen."""
    return [
        Event(
            EventType.RUN_STARTED,
            0,
            {
                "task": "Create /app/hello.txt",
                "engine": "replay",
                "model": "replay:demo",
                "policy": "default",
                "max_steps": 10,
                "timeout": None,
                "note": "",
            },
        ),
        Event(EventType.TERMINAL_OUTPUT, 0, {"text": "root@sandbox:/app# "}),
        Event(EventType.STEP_STARTED, 1),
        Event(EventType.MODEL_TOKEN, 1, {"text": '{"analysis": "An empty prompt'}),
        Event(EventType.MODEL_REPLIED, 1, {"prompt_tokens": 600, "completion_tokens": 40}),
        Event(
            EventType.ACTION_PARSED,
            1,
            {
                "analysis": "The prompt is empty.",
                "plan": "Write the file.",
                "commands": [{"keystrokes": "printf 'Hello\\n' > /app/hello.txt\n", "duration": 0.1}],
                "task_complete": False,
            },
        ),
        Event(
            EventType.POLICY_DECIDED,
            1,
            {
                "keystrokes": "printf 'Hello\\n' > /app/hello.txt\n",
                "decision": "ask",
                "rule": "construct:write_redirect",
                "reason": "writes to a file",
                "commands": [],
                "foreground": None,
            },
        ),
        Event(EventType.APPROVAL_ASKED, 1, {"keystrokes": "printf 'Hello\\n' > /app/hello.txt\n"}),
    ]


def after_approval_events() -> list[Event]:
    return [
        Event(
            EventType.APPROVAL_ANSWERED, 1, {"keystrokes": "printf ...", "answer": "allow-once", "approver": "person"}
        ),
        Event(
            EventType.KEYSTROKES_SENT,
            1,
            {"keystrokes": "printf 'Hello\\n' > /app/hello.txt\n", "duration": 0.1, "edited": False},
        ),
        Event(
            EventType.TERMINAL_OUTPUT,
            1,
            {"text": "printf 'Hello\\n' > /app/hello.txt\r\n\x1b[1;32mroot@sandbox\x1b[0m:/app# "},
        ),
        Event(
            EventType.OUTPUT_OBSERVED,
            1,
            {
                "keystrokes": "printf",
                "finished": True,
                "exit_status": 0,
                "foreground": None,
                "elapsed": 0.05,
                "output": "",
            },
        ),
        Event(EventType.STEP_STARTED, 2),
        Event(
            EventType.ACTION_PARSED,
            2,
            {"analysis": "The file is written.", "plan": "Done.", "commands": [], "task_complete": True},
        ),
        Event(EventType.COMPLETION_CLAIMED, 2),
    ]


def dialog_open(app: TermagentApp) -> bool:
    return isinstance(app.screen, ApprovalDialog) and bool(app.screen.query("#request"))


# A flood that runs until a key (interrupt or stop) ends it, however slow the machine is; the
# model floods twice, then claims completion.
FLOOD = "timeout 600 yes\n"
FLOOD_REPLIES = [
    reply("An empty prompt.", "Flood the terminal.", [FLOOD], duration=900),
    reply("It stopped.", "Flood again.", [FLOOD], duration=900),
    reply("It stopped.", "Done.", [], complete=True),
    reply("Sure.", "Done.", [], complete=True),
]


def flooding(app: TermagentApp, count: int) -> bool:
    """The `count`th flood has been typed and its output is on the screen."""
    records = app.config.trajectory.read_text().splitlines() if app.config.trajectory.exists() else []
    typed = sum(1 for line in records if '"keystrokes_sent"' in line and "timeout 600 yes" in line)
    return typed == count and app.mirror.text().endswith("y\ny")


async def key_latencies_during(app: TermagentApp, presses: int = 20, every: float = 0.25) -> list[float]:
    """Press `p` (pause/resume) `presses` times, `every` seconds apart, and time each press from
    the key event to the app having acted on it. Ends unpaused."""
    from textual import events

    latencies: list[float] = []
    for _ in range(presses + presses % 2):
        before = app.paused
        started = time.perf_counter()
        app.post_message(events.Key("p", "p"))
        while app.paused == before:
            if time.perf_counter() - started > 120:
                raise AssertionError("a key press was not handled within 120 s")
            await asyncio.sleep(0.0005)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(every)
    return latencies


def resident_megabytes() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
