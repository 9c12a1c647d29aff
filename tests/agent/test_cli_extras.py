"""The config file, `termagent doctor`, `--cast` and `termagent replay`, as users run them."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from project_paths import EXAMPLES, TERMAGENT
from replay_run import replay_run_args

HELLO_TASK = "Create /app/hello.txt containing the line 'Hello, termagent!'"


def termagent(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TERMAGENT, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def test_config_file_sets_defaults_and_flags_win(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("policy: no-such-policy-from-config\nmax-steps: 3\n")
    completed = termagent("--headless", "--config", str(config), "--replay", "x.jsonl", "task")
    assert completed.returncode == 2 and "no-such-policy-from-config" in completed.stderr
    completed = termagent(
        "--headless", "--config", str(config), "--policy", "no-such-flag-policy", "--replay", "x.jsonl", "task"
    )
    assert completed.returncode == 2 and "no-such-flag-policy" in completed.stderr


def test_config_file_in_xdg_config_home_and_unknown_settings(tmp_path):
    (tmp_path / "termagent").mkdir()
    (tmp_path / "termagent" / "config.yaml").write_text("colour: blue\n")
    completed = termagent("--headless", "task", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert completed.returncode == 2 and "unknown setting(s) colour" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.docker
def test_doctor_reports_each_check_and_what_to_do(sandbox_image):
    ok = termagent("doctor", "--replay", str(EXAMPLES / "hello-file" / "replies.jsonl"))
    assert ok.returncode == 0 and ok.stdout.count("  ok  ") == 4, ok.stdout
    broken = termagent(
        "doctor",
        "--engine",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--policy",
        "nope",
        env={"DOCKER_HOST": "unix:///tmp/no-such-docker.sock"},
    )
    assert broken.returncode == 2 and broken.stdout.count("FAIL") == 4
    assert "vllm serve" in broken.stdout and "fix:" in broken.stdout


@pytest.mark.docker
def test_cast_recording_and_replay_of_a_trajectory(sandbox_image, tmp_path):
    trajectory, cast = tmp_path / "run.jsonl", tmp_path / "run.cast"
    first = termagent(
        "--headless",
        *replay_run_args(HELLO_TASK, EXAMPLES / "hello-file" / "replies.jsonl", trajectory, "--cast", str(cast)),
    )
    assert first.returncode == 0, first.stderr
    header, *frames = [json.loads(line) for line in cast.read_text().splitlines()]
    assert header["version"] == 2 and (header["width"], header["height"]) == (160, 40)
    assert all(kind == "o" for _, kind, _ in frames)
    assert "Hello, termagent!" in "".join(text for _, _, text in frames)
    assert [t for t, _, _ in frames] == sorted(t for t, _, _ in frames)

    replies = tmp_path / "replies.jsonl"
    assert termagent("replay", str(trajectory), "--to-replies", str(replies)).returncode == 0
    assert replies.read_text() == (EXAMPLES / "hello-file" / "replies.jsonl").read_text()
    again = termagent("replay", str(trajectory), "--headless", "--trajectory", str(tmp_path / "again.jsonl"))
    assert again.returncode == 0, again.stderr
    assert "Hello, termagent!" in again.stdout
