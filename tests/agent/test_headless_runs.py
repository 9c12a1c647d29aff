"""The agent as users run it headless: `termagent --headless ...` with the replay engine and real Docker."""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest
from agent_replies import action
from project_paths import EXAMPLES, TERMAGENT
from replay_run import replay_run_args
from run_watch import WAIT, sent, wait_for_records

from termagent.agent.signals import DOUBLE_PRESS_SECONDS
from termagent.sandbox.lifecycle import LABEL, OWNER_LABEL, owner_identity

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]  # generous: the machine may be busy


def run_headless(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([TERMAGENT, "--headless", *args], capture_output=True, text=True, timeout=timeout)


def events(trajectory: Path) -> list[dict]:
    return [json.loads(line) for line in trajectory.read_text().splitlines()]


def test_every_example_passes_its_check(sandbox_image, tmp_path):
    completed = subprocess.run(
        [TERMAGENT, "batch", str(EXAMPLES / "tasks.yaml"), "--parallel", "2", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] == report["tasks"] >= 2
    assert all(result["check"] == "passed" for result in report["results"])


def test_completion_needs_confirmation_and_exits_0(sandbox_image, replies_file, tmp_path):
    replies = replies_file(
        action([("echo one\n", 30)]),
        action(complete=True),
        action([("echo two\n", 30)]),
        action(complete=True),
        action(complete=True),
    )
    trajectory = tmp_path / "t.jsonl"
    completed = run_headless("--json", *replay_run_args("say one then two", replies, trajectory))
    assert completed.returncode == 0, completed.stderr
    types = [e["type"] for e in events(trajectory)]
    # The first claim is withdrawn by the next reply (false), so two more `true` are needed.
    assert types.count("completion_claimed") == 2 and types.count("completion_confirmed") == 1
    printed = [json.loads(line) for line in completed.stdout.splitlines()]
    assert all({"type", "step"} <= set(record) for record in printed)
    assert printed[-1]["type"] == "run_finished" and printed[-1]["status"] == "completed"


def test_denied_command_is_not_sent_and_the_rest_are_skipped(sandbox_image, replies_file, tmp_path):
    replies = replies_file(
        action([("touch /app/made-it\n", 30), ("ls /app\n", 30)]),
        action([("ls /app\n", 30)]),
        action(complete=True),
        action(complete=True),
    )
    trajectory = tmp_path / "t.jsonl"
    completed = run_headless(*replay_run_args("try", replies, trajectory, policy="default"))
    assert completed.returncode == 0, completed.stderr
    records = events(trajectory)
    sent = [r["keystrokes"] for r in records if r["type"] == "keystrokes_sent"]
    assert sent == ["ls /app\n"]
    assert [r["keystrokes"] for r in records if r["type"] == "command_skipped"] == ["ls /app\n"]
    second_prompt = [r for r in records if r["type"] == "model_replied"][1]["prompt_new_part"]
    assert "was not run" in second_prompt and "touch /app/made-it" in second_prompt
    observed = [r for r in records if r["type"] == "output_observed"]
    assert "made-it" not in observed[0]["output"]


@pytest.mark.parametrize(
    "case, extra, expected",
    [
        ("max steps", ["--max-steps", "2"], 1),
        ("timeout", ["--timeout", "2"], 1),
        ("gave up", [], 1),
        ("bad policy", ["--policy", "no-such-policy"], 2),
        ("no model server", ["--engine", "openai", "--base-url", "http://127.0.0.1:9/v1"], 2),
    ],
)
def test_exit_statuses(sandbox_image, replies_file, case, extra, expected):
    if case == "gave up":
        replies = replies_file("no json here", "{broken", "still nothing")
    elif case == "timeout":
        replies = replies_file(*[action([("sleep 100\n", 60)])] * 3)
    else:
        replies = replies_file(*[action([("true\n", 30)])] * 5)
    args = ["--replay", str(replies)] if case != "no model server" else []
    completed = run_headless(*args, *extra, "a task")
    assert completed.returncode == expected, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr


def _start(replies: Path, trajectory: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [TERMAGENT, "--headless", *replay_run_args("wait a while", replies, trajectory, *extra)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


SLEEP = "sleep 100\n"


def test_ctrl_c_once_interrupts_the_command_twice_stops(sandbox_image, replies_file, tmp_path):
    replies = replies_file(action([(SLEEP, 60)]), action(complete=True), action(complete=True))
    trajectory = tmp_path / "once.jsonl"
    process = _start(replies, trajectory)
    wait_for_records(trajectory, lambda found: sent(found, SLEEP) == 1)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=WAIT)
    assert process.returncode == 0
    assert "interrupted" in [r["type"] for r in events(trajectory)]

    # A command that ignores C-c, so the interrupt takes its full escalation: the second press
    # comes while the same command is still being interrupted.
    stubborn = "bash -c \"trap '' INT; sleep 100\"\n"
    replies = replies_file(*[action([(stubborn, 60)])] * 3)
    trajectory = tmp_path / "twice.jsonl"
    process = _start(replies, trajectory, "--approve", "allow")  # the policy asks before running bash
    wait_for_records(trajectory, lambda found: sent(found, stubborn) == 1)
    process.send_signal(signal.SIGINT)
    _wait_for_line(process.stderr, "interrupting the running command")  # the first press was handled
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=WAIT)
    assert process.returncode == 130
    assert events(trajectory)[-1]["type"] == "run_finished"
    assert sent(events(trajectory), stubborn) == 1


def _wait_for_line(stream, text: str, seconds: float = WAIT) -> None:
    """Read the raw pipe (no buffering that select cannot see) until `text` has been printed."""
    deadline, seen = time.monotonic() + seconds, b""
    while text.encode() not in seen:
        assert time.monotonic() < deadline, f"{text!r} was never printed; got {seen!r}"
        if select.select([stream], [], [], 0.5)[0]:
            seen += os.read(stream.fileno(), 65536)


def test_ctrl_c_much_later_interrupts_the_next_command_again(sandbox_image, replies_file, tmp_path):
    replies = replies_file(action([(SLEEP, 60)]), action([(SLEEP, 60)]), action(complete=True), action(complete=True))
    trajectory = tmp_path / "later.jsonl"
    process = _start(replies, trajectory)
    wait_for_records(trajectory, lambda found: sent(found, SLEEP) == 1)
    process.send_signal(signal.SIGINT)
    first_press = time.monotonic()
    # The next command is running, and the presses are not close together.
    wait_for_records(
        trajectory, lambda found: sent(found, SLEEP) == 2 and time.monotonic() - first_press > DOUBLE_PRESS_SECONDS
    )
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=WAIT)
    assert process.returncode == 0  # the run went on to its completion
    types = [r["type"] for r in events(trajectory)]
    assert types.count("interrupted") == 2 and types[-1] == "run_finished"


def test_kill_9_leaves_a_parseable_trajectory_and_no_container_after_next_start(
    sandbox_image, replies_file, tmp_path, docker_client
):
    steps = [action([(f"echo step {n}; sleep 0.2\n", 1)]) for n in range(30)]
    replies = replies_file(*steps)
    trajectory = tmp_path / "killed.jsonl"
    process = _start(replies, trajectory)
    wait_for_records(trajectory, lambda found: sent(found, "echo step 0; sleep 0.2\n") == 1)
    seed = random.randrange(2**32)
    print(f"kill point seed: {seed}")  # a failure can be replayed with this seed
    time.sleep(random.Random(seed).uniform(0.0, 3.0))  # a random kill point, not synchronisation
    process.kill()
    process.wait()
    lines = trajectory.read_text().splitlines()
    assert lines and all(json.loads(line) for line in lines)
    prefix = owner_identity(process.pid).rsplit(":", 1)[0] + ":"

    def orphaned() -> list[str]:
        return [
            c["Id"]
            for c in docker_client.api.containers(all=True, filters={"label": LABEL})
            if (c.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefix)
        ]

    assert len(orphaned()) == 1
    run_headless("--replay", str(replies_file(action(complete=True), action(complete=True))), "next run")
    assert orphaned() == []


@pytest.mark.timeout(1800)  # a CPU model on a busy machine
def test_tiny_local_model_with_constrained_decoding_runs_to_the_step_limit(sandbox_image, tiny_gemma_dir, tmp_path):
    trajectory = tmp_path / "tiny.jsonl"
    completed = run_headless(
        "--engine",
        "transformers",
        "--model",
        str(tiny_gemma_dir),
        "--max-steps",
        "3",
        "--max-tokens",
        "160",
        "--policy",
        "default",
        "--trajectory",
        str(trajectory),
        "Create /app/hello.txt containing the line 'Hello, termagent!'",
        timeout=1500,
    )
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    records = events(trajectory)
    assert records[-1]["type"] == "run_finished"
    assert not [r for r in records if r["type"] == "reply_rejected"]


@pytest.mark.parametrize("apply", [False, True])
def test_workspace_changes_are_applied_only_with_apply(sandbox_image, tmp_path, apply):
    import shutil

    workspace = tmp_path / "project"
    shutil.copytree(EXAMPLES / "fix-test" / "workspace", workspace)
    before = (workspace / "calc.py").read_text()
    trajectory = tmp_path / "t.jsonl"
    completed = run_headless(
        *replay_run_args(
            "fix the failing test",
            EXAMPLES / "fix-test" / "replies.jsonl",
            trajectory,
            "--workspace",
            str(workspace),
            *(["--apply"] if apply else []),
        )
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "+    return a + b" in completed.stdout
    types = [record["type"] for record in events(trajectory)]
    assert "workspace_changed" in types and ("workspace_applied" in types) == apply
    after = (workspace / "calc.py").read_text()
    assert (after == before.replace("a - b", "a + b")) if apply else (after == before)
