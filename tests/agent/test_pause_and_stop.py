"""Pause and stop belong to the agent: a live agent in the real sandbox, paused when a command has
been approved, types it after a resume and never types it after a stop. A model that gives up
leaves every reply in the trajectory."""

from __future__ import annotations

import json
import subprocess
import threading

import pytest
from agent_replies import action
from project_paths import TERMAGENT
from replay_run import replay_run_args

from termagent.agent.events import Event, EventType
from termagent.agent.loop import Agent, AgentLimits, RunStatus
from termagent.model.engines.replay import ReplayEngine
from termagent.policy.approval import Answer, Reply
from termagent.policy.loader import load_policy

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

WAIT = 300  # generous: the machine may be busy


class PausingPerson:
    """Approves every command and pauses the agent before answering, as a person who presses
    `p` in the approval dialog and then `y`."""

    name = "person"

    def __init__(self) -> None:
        self.agent: Agent | None = None
        self.answered = threading.Event()

    def ask(self, request) -> Reply:
        self.agent.pause()
        self.answered.set()
        return Reply(Answer.ALLOW_ONCE)


@pytest.mark.parametrize("then", ["resume", "stop"])
def test_a_paused_command_is_typed_after_resume_and_never_after_stop(sandbox_factory, replies_file, tmp_path, then):
    sandbox = sandbox_factory()
    marker = "/app/typed-after-pause"
    replies = replies_file(action([(f"touch {marker}\n", 5)]), action(complete=True), action(complete=True))
    events: list[Event] = []
    person = PausingPerson()
    agent = Agent(
        ReplayEngine(replies),
        sandbox.shell,
        load_policy("default"),
        person,
        events.append,
        limits=AgentLimits(max_steps=5),
    )
    person.agent = agent
    results = []
    thread = threading.Thread(target=lambda: results.append(agent.run("touch a file")))
    thread.start()
    assert person.answered.wait(WAIT)
    assert agent.paused
    if then == "resume":
        agent.resume()
    else:
        agent.request_stop()
    thread.join(WAIT)
    assert not thread.is_alive()
    sent = [e.data["keystrokes"] for e in events if e.type is EventType.KEYSTROKES_SENT]
    assert events[-1].type is EventType.RUN_FINISHED
    check = sandbox.shell.run(f"test -e {marker} && echo PRESENT || echo ABSENT\n", 10)
    if then == "resume":
        assert results[0].status is RunStatus.COMPLETED
        assert sent == [f"touch {marker}\n"] and "PRESENT" in check.output
    else:
        assert results[0].status is RunStatus.INTERRUPTED
        assert sent == [] and "ABSENT" in check.output


def test_a_model_that_gives_up_keeps_every_reply(sandbox_image, replies_file, tmp_path):
    replies = replies_file("no json here", "{broken", "still nothing")
    trajectory = tmp_path / "gave-up.jsonl"
    completed = subprocess.run(
        [TERMAGENT, "--headless", *replay_run_args("a task", replies, trajectory, policy=None)],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    records = [json.loads(line) for line in trajectory.read_text().splitlines()]
    types = [r["type"] for r in records]
    assert [r["raw"] for r in records if r["type"] == "model_replied"] == ["no json here", "{broken", "still nothing"]
    # Each reply is followed by its rejection, in the order they happened, before the give-up.
    assert types[types.index("model_replied") :] == [
        "model_replied",
        "reply_rejected",
        "model_replied",
        "reply_rejected",
        "model_replied",
        "reply_rejected",
        "error",
        "run_finished",
    ]
    assert all(r["errors"] for r in records if r["type"] == "reply_rejected")
    finished = records[-1]
    assert finished["status"] == "gave_up"
    replied = [r for r in records if r["type"] == "model_replied"]
    assert finished["completion_tokens"] == sum(r["completion_tokens"] for r in replied) > 0
    assert finished["prompt_tokens"] == sum(r["prompt_tokens"] for r in replied) > 0
