"""Trajectories written before format version 2 (policy events' keystrokes escaped for display)
are still read, exported and replayed; version 2 holds them raw."""

from __future__ import annotations

import json
from pathlib import Path

from export_helpers import json_lines, termagent

from termagent.export.reader import read_run

V1 = Path(__file__).parent / "fixtures" / "trajectory_v1.jsonl"  # written by hand in the old shape


def _as_version_2(tmp_path: Path) -> Path:
    """The same run as version 2 writes it: format_version 2, policy keystrokes raw."""
    records = json_lines(V1)
    records[0]["format_version"] = 2
    raw = {"make\\x1b\\n": "make\x1b\n", "make\\n": "make\n"}
    for record in records:
        if record["type"] in ("policy_decided", "approval_asked", "approval_answered"):
            record["keystrokes"] = raw[record["keystrokes"]]
            if record.get("edited"):
                record["edited"] = raw[record["edited"]]
    path = tmp_path / "v2.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_version_1_policy_keystrokes_are_read_raw(tmp_path: Path) -> None:
    (command,) = read_run(V1).steps[0].commands
    assert [d["keystrokes"] for d in command.decisions] == ["make\x1b\n"] * 3 + ["make\n"]
    assert command.decisions[2]["edited"] == "make\n" and command.sent == "make\n"
    assert read_run(_as_version_2(tmp_path)).steps[0].commands[0].decisions == command.decisions


def test_version_1_exports_to_atif_with_raw_keystrokes(tmp_path: Path) -> None:
    out = tmp_path / "doc.json"
    done = termagent("export", str(V1), "--format", "atif", "--output", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    extras = [call["extra"] for step in document["steps"] for call in step.get("tool_calls") or [] if "extra" in call]
    extras += [step["extra"] for step in document["steps"] if "policy" in (step.get("extra") or {})]
    policies = [d for extra in extras for d in extra.get("policy", [])]
    assert [d["keystrokes"] for d in policies] == ["make\x1b\n"] * 3 + ["make\n"]


def test_replay_reads_a_version_1_trajectory(tmp_path: Path) -> None:
    replies = tmp_path / "replies.jsonl"
    done = termagent("replay", str(V1), "--to-replies", str(replies))
    assert done.returncode == 0, done.stderr
    recorded = [json.loads(line)["reply"] for line in replies.read_text().splitlines()]
    assert [json.loads(r)["plan"] for r in recorded] == ["run make", "finish"]
