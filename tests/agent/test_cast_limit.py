"""A sandbox that prints without end cannot fill the host's disk through a --cast recording: the
file stops at --cast-max-size with a note, and the run says so; a real headless run in the real
sandbox floods its terminal."""

from __future__ import annotations

import json
import subprocess

import pytest
from agent_replies import action
from project_paths import TERMAGENT
from replay_run import replay_run_args

pytestmark = pytest.mark.docker

CAP = 1024 * 1024
FLOOD = "yes flooding-the-recording | head -c 8000000\n"  # 8 MB, eight times the cap
# Split by '' so that only the command's output, not its echo, spells the marker.
AFTER = "echo after-the-''cut\n"


def _run(replies, trajectory, cast, *options: str) -> subprocess.CompletedProcess:
    args = replay_run_args("flood the terminal", replies, trajectory, "--cast", str(cast), *options)
    return subprocess.run(
        [TERMAGENT, "--headless", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_flood_is_cut_at_the_cap_with_a_note_and_a_warning(sandbox_image, replies_file, tmp_path):
    replies = replies_file(action([(FLOOD, 120)]), action([(AFTER, 10)]), action(complete=True), action(complete=True))
    trajectory, cast = tmp_path / "run.jsonl", tmp_path / "run.cast"
    completed = _run(replies, trajectory, cast, "--cast-max-size", "1m")
    assert completed.returncode == 0, completed.stdout + completed.stderr

    # The run went on past the cut: the next command ran and was observed.
    events = [json.loads(line) for line in trajectory.read_text(encoding="utf-8").splitlines()]
    assert any("after-the-cut" in event.get("output", "") for event in events if event["type"] == "output_observed")

    data = cast.read_bytes()
    lines = data.decode("utf-8").splitlines(keepends=True)
    cut_at = len(data) - len(lines[-1].encode("utf-8"))
    # The cap, then one line; the output is kept up to near the cap (a piece of output may be
    # megabytes: what fits of it is kept, not the whole piece dropped).
    assert CAP // 2 < cut_at <= CAP
    header, *frames = [json.loads(line) for line in lines]
    assert header["version"] == 2 and header["width"] > 0 and header["height"] > 0
    assert all(len(frame) == 3 and frame[1] == "o" and isinstance(frame[2], str) for frame in frames)
    assert [time for time, _, _ in frames] == sorted(time for time, _, _ in frames)
    assert "flooding-the-recording" in frames[-2][2]
    note = frames[-1][2]
    assert f"[termagent] recording cut at {cut_at} bytes" in note
    assert not any("after-the-cut" in text for _, _, text in frames)

    warnings = [event["message"] for event in events if event["type"] == "warning"]
    assert len(warnings) == 1 and f"was cut at {cut_at} bytes" in warnings[0] and str(cast) in warnings[0]
    assert f"was cut at {cut_at} bytes" in completed.stdout  # the headless view shows it


def test_the_cap_must_be_a_size_a_recording_fits_in(tmp_path, replies_file):
    replies = replies_file(action(complete=True))
    for size, says in (("lots", "is not a size"), ("100", "too small")):
        completed = _run(replies, tmp_path / "run.jsonl", tmp_path / "run.cast", "--cast-max-size", size)
        assert completed.returncode == 2 and says in completed.stderr and "Traceback" not in completed.stderr
        assert not (tmp_path / "run.cast").exists()
