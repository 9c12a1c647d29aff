"""A conflict on apply names the path the sandbox chose: every view shows it escaped. A real
sandbox makes a file whose name holds a newline and an escape sequence below a directory that
the host then turns into a file, so the change cannot apply; the run's events, its text view
and its trajectory carry the name escaped, on one line."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from agent_replies import action

from termagent.agent.events import Event, EventType
from termagent.agent.runner import RunConfig, run_agent
from termagent.model.engines.auto import EngineOptions
from termagent.sandbox.container import SandboxSpec
from termagent.views.event_lines import TextLines
from termagent.workspace import ApplyAnswer, Workspace, WorkspaceMode

pytestmark = pytest.mark.docker

MAKE = "mkdir -p /app/dir && printf x > \"/app/dir/$(printf 'a\\nforged line \\033[2Jb')\"\n"


def test_a_conflicting_name_is_escaped_in_every_view(sandbox_image, replies_file, tmp_path):
    project = tmp_path / "project"
    (project / "dir").mkdir(parents=True)
    replies = replies_file(action([(MAKE, 2)]), action(complete=True), action(complete=True))
    events: list[Event] = []
    text = io.StringIO()
    view = TextLines(text)

    def record(event: Event) -> None:
        events.append(event)
        view(event)

    def approve(changes) -> ApplyAnswer:
        shutil.rmtree(project / "dir")  # the host changed meanwhile: the new file cannot go in
        (project / "dir").write_text("now a file\n")
        return ApplyAnswer.APPLY

    config = RunConfig(
        task="make a file",
        engine=EngineOptions(kind="replay", replay_path=str(replies)),
        sandbox=SandboxSpec(image=sandbox_image),
        policy="sandboxed-auto",
        trajectory=tmp_path / "run.jsonl",
        workspace=Workspace(project, WorkspaceMode.COPY),
    )
    run_agent(config, record, approve_changes=approve)

    applied = next(event for event in events if event.type is EventType.WORKSPACE_APPLIED)
    (conflict,) = applied.data["conflicts"]
    assert "\n" not in conflict and "\x1b" not in conflict and "forged line" in conflict
    shown = text.getvalue()
    assert "\x1b" not in shown
    assert not [line for line in shown.splitlines() if line.startswith("forged line")]
    recorded = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert any("forged line" in c and "\n" not in c for r in recorded for c in r.get("conflicts", []))
