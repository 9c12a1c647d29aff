"""The one JSON-lines reader: its single tolerance rule (a last line cut mid-write, when the
caller expects one) and errors naming file:line for everything else."""

from __future__ import annotations

import json
import subprocess

import pytest
from project_paths import TERMAGENT

from termagent.agent.trajectory import read_trajectory
from termagent.errors import ConfigurationError
from termagent.jsonl import read_json_lines

LINES = [{"type": "run_started", "step": 0}, {"type": "step_started", "step": 1, "note": "a\u2028b"}]


def _read(path, **options) -> list:
    return [value for _, value in read_json_lines(path, "test file", **options)]


def _file(tmp_path, text: str | bytes):
    path = tmp_path / "lines.jsonl"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_values_and_places(tmp_path):
    text = json.dumps(LINES[0]) + "\n\n" + json.dumps(LINES[1], ensure_ascii=False) + "\n"
    path = _file(tmp_path, text)
    assert list(read_json_lines(path, "test file")) == [(f"{path}:1", LINES[0]), (f"{path}:3", LINES[1])]


@pytest.mark.parametrize("cut", ['{"type": "output_obs', '{"type": "x", "text": "\xe9'.encode()[:-1]])
def test_a_last_line_cut_mid_write_is_tolerated_only_when_asked_and_reported(tmp_path, cut):
    whole = "".join(json.dumps(line) + "\n" for line in LINES).encode()
    path = _file(tmp_path, whole + (cut if isinstance(cut, bytes) else cut.encode()))
    with pytest.raises(ConfigurationError, match=rf"{path.name}:3: not"):
        _read(path)
    reported: list[int] = []
    assert _read(path, on_cut_end=reported.append) == LINES and reported == [3]
    assert read_trajectory(path) == LINES


@pytest.mark.parametrize("damage", ["{broken\n", b"\xff\xfe\n"])
def test_damage_before_the_end_is_an_error_naming_file_and_line(tmp_path, damage):
    middle = damage if isinstance(damage, bytes) else damage.encode()
    path = _file(tmp_path, json.dumps(LINES[0]).encode() + b"\n" + middle + json.dumps(LINES[1]).encode() + b"\n")
    for read in (lambda: _read(path, on_cut_end=lambda line: None), lambda: read_trajectory(path)):
        with pytest.raises(ConfigurationError, match=rf"{path.name}:2: not"):
            read()


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot read the test file .*nothing.jsonl"):
        _read(tmp_path / "nothing.jsonl")


def test_policy_check_batch_reads_standard_input_through_the_reader():
    done = subprocess.run(
        [TERMAGENT, "policy", "check", "--batch", "-"],
        input='"ls\\n"\n\n[1]\n',
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "-:3: expected a JSON string, got list" in done.stderr
    assert json.loads(done.stdout.splitlines()[0])["decision"] == "allow"
