"""One ATIF document per run (Harbor's Agent Trajectory Interchange Format, RFC 0001), laid out
as Harbor's own Terminus-2 agent writes the same protocol, so Harbor's tools read it alike:

- step 1 (user): the first prompt (instructions, task, first screen);
- one agent step per model request: `message` is the raw reply; each parsed command is a
  `bash_command` tool call ({keystrokes, duration}), and a confirmed-or-claimed completion a
  `mark_task_complete` call; the observation holds each command's result (output, with exit
  status and elapsed time in `extra`), and the next prompt's new part (what the model was shown
  next) as a result of its own;
- the policy's decisions, a person's approvals and the keystrokes really sent are in each tool
  call's `extra`; rejections, warnings and compactions in the step's `extra`;
- token counts per step in `metrics`, totals and the run's outcome in `final_metrics`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from termagent import __version__
from termagent.export.reader import Attempt, CommandRun, ExportError, RecordedRun, Step
from termagent.export.turns import requests

SCHEMA_VERSION = "ATIF-v1.7"  # the fields used here (tool-call and result `extra`) arrived in v1.7
AGENT_NAME = "termagent"
COMMAND_TOOL = "bash_command"
COMPLETE_TOOL = "mark_task_complete"


def document(run: RecordedRun) -> dict[str, Any]:
    sent = list(requests(run))
    steps: list[dict[str, Any]] = []
    if sent:
        first_prompt = sent[0].prompt[0]["content"]
        steps.append({"step_id": 1, "timestamp": _iso(run.time), "source": "user", "message": first_prompt})
    for index, request in enumerate(sent):
        following = sent[index + 1].prompt[-1]["content"] if index + 1 < len(sent) else None
        steps.append(_agent_step(len(steps) + 1, run, request.step, request.attempt, following))
    if not steps:
        # ATIF needs one step at least: a run killed before its first reply still says what it was asked.
        steps.append({"step_id": 1, "timestamp": _iso(run.time), "source": "user", "message": run.task})
    finished = run.finished or {}
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "session_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"termagent:{run.task_id}:{run.time}")),
        "agent": {
            "name": AGENT_NAME,
            "version": __version__,
            "model_name": run.model,
            "extra": {"engine": run.engine, "policy": run.policy, **run.settings},
        },
        "steps": steps,
        "final_metrics": {
            "total_prompt_tokens": sum(r.attempt.prompt_tokens for r in sent),
            "total_completion_tokens": sum(r.attempt.completion_tokens for r in sent),
            "total_steps": len(steps),
            "extra": {
                "status": run.status,
                "check": run.check,
                "agent_steps": len(run.steps),
                "elapsed": finished.get("elapsed"),
                "message": finished.get("message"),
            },
        },
        "extra": {"task": run.task, "task_id": run.task_id, "trajectory": run.path.name},
    }
    if run.dropped:
        doc["notes"] = "Left out of this document: " + "; ".join(run.dropped)
    return doc


def _agent_step(step_id: int, run: RecordedRun, step: Step, attempt: Attempt, following: str | None) -> dict[str, Any]:
    prefix = f"call_{step.number}_{step.attempts.index(attempt) + 1}"
    tool_calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    acted = attempt is step.accepted
    if acted:
        for number, command in enumerate(step.commands, start=1):
            call_id = f"{prefix}_{number}"
            tool_calls.append(
                {
                    "tool_call_id": call_id,
                    "function_name": COMMAND_TOOL,
                    "arguments": {"keystrokes": command.keystrokes, "duration": command.duration},
                    "extra": _command_extra(command),
                }
            )
            results.append(_command_result(call_id, command))
        if step.action and step.action["task_complete"]:
            tool_calls.append(
                {
                    "tool_call_id": f"{prefix}_task_complete",
                    "function_name": COMPLETE_TOOL,
                    "arguments": {},
                    "extra": {"confirmed": step.confirmed},
                }
            )
    if following is not None:
        results.append({"content": following, "extra": {"kind": "next_prompt"}})
    extra: dict[str, Any] = {
        "agent_step": step.number,
        "attempt": step.attempts.index(attempt) + 1,
        "finish_reason": attempt.finish_reason,
        "elapsed": attempt.elapsed,
    }
    if attempt.rejected is not None:
        extra["rejected"] = attempt.rejected
    if acted:
        for name, value in (("parse_warnings", step.warnings), ("errors", step.errors)):
            if value:
                extra[name] = value
    if step.compactions and attempt is step.attempts[0]:
        extra["context_compacted"] = step.compactions
    agent_step: dict[str, Any] = {
        "step_id": step_id,
        "timestamp": _iso(attempt.time),
        "source": "agent",
        "model_name": run.model,
        "message": attempt.raw,
        "llm_call_count": 1,
        "metrics": {"prompt_tokens": attempt.prompt_tokens, "completion_tokens": attempt.completion_tokens},
        "extra": extra,
    }
    if tool_calls:
        agent_step["tool_calls"] = tool_calls
    if results:
        agent_step["observation"] = {"results": results}
    return agent_step


def _outcome(command: CommandRun) -> str:
    if command.result is not None:
        return "ran"
    if command.denied:
        return "denied"
    return "skipped" if command.skipped is not None else "not reached"


def _command_extra(command: CommandRun) -> dict[str, Any]:
    extra: dict[str, Any] = {"outcome": _outcome(command), "policy": command.decisions}
    if command.sent is not None:
        extra.update(sent=command.sent, edited=command.edited)
    if command.skipped is not None:
        extra["skipped"] = command.skipped
    return extra


def _command_result(call_id: str, command: CommandRun) -> dict[str, Any]:
    result = command.result
    if result is None:  # denied, skipped or never reached: what the policy said is in the tool call
        return {"source_call_id": call_id, "content": "", "extra": {"outcome": _outcome(command)}}
    extra = {
        name: result.get(name)
        for name in ("exit_status", "elapsed", "finished", "cwd", "foreground", "output_is_screen", "alive", "stopped")
    }
    extra["interrupted"] = command.interrupted
    return {"source_call_id": call_id, "content": str(result.get("output", "")), "extra": extra}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Replayable:
    """What `termagent replay` needs of a document: the task, the policy, the replies in order."""

    task: str
    policy: str | None
    replies: list[str]


def replayable(document: Any, where: str) -> Replayable:
    """Read back a document this module wrote; anything else is an error naming what is missing."""
    if not isinstance(document, dict) or not str(document.get("schema_version", "")).startswith("ATIF-"):
        raise ExportError(f"{where} is not an ATIF document (no ATIF schema_version)")
    agent, extra = document.get("agent"), document.get("extra")
    if not isinstance(agent, dict) or agent.get("name") != AGENT_NAME or not isinstance(extra, dict):
        raise ExportError(
            f"{where} is an ATIF document of another agent ({_name_of(agent)})",
            hint="termagent replays the documents `termagent export --format atif` writes",
        )
    steps = document.get("steps")
    replies = [
        step["message"]
        for step in steps or []
        if isinstance(step, dict) and step.get("source") == "agent" and isinstance(step.get("message"), str)
    ]
    if not isinstance(extra.get("task"), str) or not replies:
        raise ExportError(f"{where} holds no task or no model replies to replay")
    agent_extra = agent.get("extra")
    policy = agent_extra.get("policy") if isinstance(agent_extra, dict) else None
    return Replayable(extra["task"], policy if isinstance(policy, str) and policy else None, replies)


def _name_of(agent: Any) -> str:
    return repr(agent.get("name")) if isinstance(agent, dict) else "no agent"
