"""No input crashes termagent, and the sandbox's limits reach the model: replayed runs of the real
command against a real sandbox, with bytes that are not text where text is expected."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from agent_replies import action
from project_paths import TERMAGENT

pytestmark = pytest.mark.docker


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [TERMAGENT, "--headless", "--approve", "allow", "--policy", "sandboxed-auto", *args],
        capture_output=True,
        timeout=timeout,
    )
    assert b"Traceback" not in completed.stderr, completed.stderr.decode("utf-8", "replace")
    return completed


def _records(trajectory: Path) -> list[dict]:
    return [json.loads(line) for line in trajectory.read_text(encoding="utf-8").splitlines()]


def test_a_disk_stop_is_reported_to_the_model_and_in_the_view(sandbox_image, replies_file, tmp_path):
    trajectory = tmp_path / "run.jsonl"
    # Many files, each under the kernel's bound on one file: the watchdog has to stop this.
    fill = "for n in $(seq 20); do head -c 100M /dev/zero > /root/fill$n; done\n"
    replies = replies_file(action([(fill, 120)]), action(complete=True), action(complete=True))
    completed = _run("--disk", "256m", "--replay", str(replies), "--trajectory", str(trajectory), "fill the disk")
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    records = _records(trajectory)
    observed = next(r for r in records if r["type"] == "output_observed")
    assert observed["stopped"]["limit"] == "disk" and observed["stopped"]["allowed"] == 256 << 20
    told = [r["prompt_new_part"] for r in records if r["type"] == "model_replied"][1]
    assert "The sandbox stopped this command" in told and "disk limit" in told
    assert "stopped by the sandbox: its disk limit (256 MiB) was reached" in completed.stdout.decode()


def test_a_sandbox_ended_at_its_disk_limit_ends_the_run_clearly(sandbox_image, replies_file, tmp_path, docker_client):
    trajectory = tmp_path / "run.jsonl"
    # 1.6 GB reserved at once, each file under the bound on one file: faster than any stop, so the
    # watchdog ends the container; the next command finds no shell and cannot start one.
    reserve = "for n in 1 2 3 4 5 6 7 8; do fallocate -l 200M /root/big$n; done\n"
    replies = replies_file(
        action([(reserve, 10)]), action([("sleep 30\n", 60)]), action([("echo again\n", 5)]), action(complete=True)
    )
    completed = _run("--disk", "256m", "--replay", str(replies), "--trajectory", str(trajectory), "reserve space")
    assert completed.returncode == 2
    assert "the sandbox ended: its disk limit (256 MiB) was passed faster" in completed.stdout.decode()
    records = _records(trajectory)
    assert records[-1]["type"] == "run_finished" and records[-1]["status"] == "error"
    # The prompt names the container (its hostname is its short id): removed at the end, as always.
    observed = next(r for r in records if r["type"] == "output_observed")
    short_id = re.search(r"root@([0-9a-f]{12}):", observed["output"]).group(1)
    assert not docker_client.containers.list(all=True, filters={"id": short_id})


def test_a_replay_file_that_is_not_utf8_is_a_clear_error(sandbox_image, tmp_path):
    replies = tmp_path / "replies.jsonl"
    replies.write_bytes(b'{"reply": "fine"}\n{"reply": "\xff\xfe"}\n')
    completed = _run("--replay", str(replies), "task")
    assert completed.returncode == 2
    assert f"{replies}:2: not UTF-8 (byte 0xff".encode() in completed.stderr


def test_lone_surrogates_in_replies_and_keystrokes_are_typed_and_shown_as_replacements(
    sandbox_image, replies_file, tmp_path
):
    trajectory = tmp_path / "run.jsonl"
    # One surrogate in the reply text itself, one as a JSON escape inside the action.
    first = json.dumps(action([("echo a\ud800b\n", 3)], analysis="x\udfffy"))
    replies = tmp_path / "replies.jsonl"
    lines = [
        {"reply": "\ud83d" + first},
        {"reply": json.dumps(action(complete=True))},
        {"reply": json.dumps(action(complete=True))},
    ]
    replies.write_text("".join(json.dumps(line) + "\n" for line in lines))
    completed = _run("--json", "--replay", str(replies), "--trajectory", str(trajectory), "task")
    assert completed.returncode == 0
    records = [json.loads(line) for line in completed.stdout.decode("utf-8").splitlines()]
    sent = next(r for r in records if r["type"] == "keystrokes_sent")
    assert sent["keystrokes"] == "echo a\ufffdb\n"
    assert next(r for r in records if r["type"] == "action_parsed")["analysis"] == "x\ufffdy"
    assert "a\ufffdb" in next(r for r in records if r["type"] == "output_observed")["output"]
    assert _records(trajectory)[-1]["type"] == "run_finished"


def test_one_unrepresentable_file_name_is_reported_and_the_rest_applies(sandbox_image, replies_file, tmp_path):
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "README").write_text("a project\n")
    make = r"""echo good > /app/good.txt; touch "/app/$(printf 'bad\377name')"; printf 'out\377put\n'""" "\n"
    replies = replies_file(action([(make, 5)]), action(complete=True), action(complete=True))
    completed = _run("--replay", str(replies), "--workspace", str(workspace), "--apply", "make files")
    assert completed.returncode == 0
    stdout = completed.stdout.decode("utf-8")
    assert (workspace / "good.txt").read_text() == "good\n"
    assert sorted(path.name for path in workspace.iterdir()) == ["README", "good.txt"]
    assert "bad\\udcffname" in stdout  # reported, escaped
    assert "out\ufffdput" in stdout  # the terminal's invalid UTF-8, replaced


def test_a_server_reply_with_lone_surrogates_is_typed_and_shown_as_replacements(sandbox_image, stub_server, tmp_path):
    from openai_stub_server import MODEL

    trajectory = tmp_path / "run.jsonl"
    # The server's JSON escapes carry the surrogates: around the reply, and inside its strings.
    stub_server.state.replies = [
        "\ud83d" + json.dumps(action([("echo a\udc00b\n", 3)], plan="p\ud800")),
        json.dumps(action(complete=True)),
        json.dumps(action(complete=True)),
    ]
    completed = _run(
        "--engine",
        "openai",
        "--base-url",
        stub_server.base_url,
        "--model",
        MODEL,
        "--trajectory",
        str(trajectory),
        "task",
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    records = _records(trajectory)
    assert next(r for r in records if r["type"] == "keystrokes_sent")["keystrokes"] == "echo a\ufffdb\n"
    assert next(r for r in records if r["type"] == "action_parsed")["plan"] == "p\ufffd"
    assert next(r for r in records if r["type"] == "model_replied")["raw"].startswith("\ufffd{")
    assert "plan: p\ufffd" in completed.stdout.decode("utf-8")  # U+FFFD is a visible character
