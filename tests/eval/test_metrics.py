"""The card's metrics on examples computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest

from termagent.eval.metrics import (
    WAIT_UNIT,
    command_units,
    extract_json,
    read_reply,
    score_step,
    step_bucket,
    summarize,
    token_f1,
    tokens,
)


def test_units_split_lines_strip_and_collapse_white_space() -> None:
    commands = [{"keystrokes": "  ls   -la \n", "duration": 0.1}, {"keystrokes": "cd /app\r\npwd\n"}]
    assert command_units(commands) == ["ls -la", "cd /app", "pwd"]


def test_empty_keystrokes_are_the_wait_unit() -> None:
    # "" and a bare newline have no text: both are waits; non-objects are skipped.
    assert command_units([{"keystrokes": ""}, {"keystrokes": "\n"}, "ls", {"duration": 3}]) == [WAIT_UNIT] * 3


def test_a_heredoc_is_one_unit_per_line() -> None:
    heredoc = {"keystrokes": "cat > f.py << 'EOF'\nprint(1)\n\nEOF\n"}
    assert command_units([heredoc]) == ["cat > f.py << 'EOF'", "print(1)", "EOF"]


def test_token_f1_of_a_subset() -> None:
    # [ls, -la] against [ls, -la, /tmp]: overlap 2, precision 1, recall 2/3, F1 = (4/3)/(5/3) = 0.8
    assert token_f1("ls -la", "ls -la /tmp") == pytest.approx(0.8)


def test_tokens_are_lowercased_shell_words() -> None:
    assert tokens("GREP 'Two Words' X.TXT") == ["grep", "two words", "x.txt"]
    # quotes group words: [echo, "a b"] against [echo, a, b]: overlap 1, P 1/2, R 1/3, F1 = (1/3)/(5/6) = 0.4
    assert token_f1("echo 'a b'", "echo a b") == pytest.approx(0.4)


def test_tokens_fall_back_to_a_plain_split_when_shlex_fails() -> None:
    assert tokens("echo 'unterminated") == ["echo", "'unterminated"]
    # [echo, 'unterminated] against [echo, unterminated]: overlap 1, P = R = 1/2, F1 0.5
    assert token_f1("echo 'unterminated", "echo unterminated") == pytest.approx(0.5)


def test_token_f1_edges() -> None:
    assert token_f1("", "") == 1.0
    assert token_f1("ls", "") == 0.0
    assert token_f1("ls", "pwd") == 0.0
    assert token_f1("<WAIT>", "<wait>") == 1.0


def test_step_precision_recall_f1() -> None:
    # recall: "ls -la /tmp" best against "ls -la" = 0.8 -> 0.8
    # precision: "ls -la" -> 0.8, "cat a.txt" -> 0 -> 0.4; F1 = 2*0.8*0.4/1.2 = 0.5333
    score = score_step(["ls -la", "cat a.txt"], ["ls -la /tmp"])
    assert (score.precision, score.recall) == (pytest.approx(0.4), pytest.approx(0.8))
    assert score.f1 == pytest.approx(0.64 / 1.2)
    assert score.first_cmd_exact is False


def test_a_heredoc_with_other_quoting_scores_full_but_is_not_exact() -> None:
    # shlex removes the quotes: both first units are [cat, >, f.py, <<, eof]; the text differs.
    reference = command_units([{"keystrokes": "cat > f.py << 'EOF'\nprint(1)\nEOF\n"}])
    score = score_step(["cat > f.py << EOF", "print(1)", "EOF"], reference)
    assert score.f1 == pytest.approx(1.0)
    assert score.first_cmd_exact is False


def test_first_command_is_compared_case_insensitively_after_normalising() -> None:
    assert score_step(["LS   -LA", "x"], ["ls -la"]).first_cmd_exact is True


def test_both_empty_steps_score_zero_as_on_the_card() -> None:
    assert score_step([], []) == score_step([], ["ls"]) == score_step(["ls"], [])
    assert score_step([], []).f1 == 0.0


def test_waits_match_waits() -> None:
    score = score_step([WAIT_UNIT], command_units([{"keystrokes": "", "duration": 10}]))
    assert (score.f1, score.first_cmd_exact) == (1.0, True)


def test_extraction_prefers_a_fenced_block_then_the_outer_braces() -> None:
    assert extract_json('Sure:\n```json\n{"a": 1}\n```\nthen {"b": 2}') == {"a": 1}
    assert extract_json('text {"a": {"b": 2}} more') == {"a": {"b": 2}}
    assert extract_json('{"a": 1} and {"b": 2}') is None  # first { to last } does not load
    assert extract_json("no json") is None


def test_a_broken_reply_is_invalid_but_still_yields_its_keystrokes() -> None:
    reply = '{"analysis": "x", "commands": [{"keystrokes": "ls -la\\ncd \\"my dir\\"\\n", "duration": 0.1}], "plan": '
    reading = read_reply(reply)
    assert reading.valid_json is False
    assert reading.units == ["ls -la", 'cd "my dir"']
    assert (reading.has_analysis, reading.task_complete) == (False, None)


def test_reading_a_valid_reply() -> None:
    reply = (
        '<think>hm</think>{"analysis": "a", "plan": "", "commands": [{"keystrokes": "C-c"}], "task_complete": "yes"}'
    )
    reading = read_reply(reply)
    assert (reading.valid_json, reading.has_analysis, reading.has_plan) == (True, True, False)
    assert reading.units == ["C-c"]
    assert reading.task_complete is None  # not a boolean


def test_step_buckets() -> None:
    assert [step_bucket(i) for i in range(7)] == ["early", "early", "mid", "mid", "mid", "late", "late"]


def _row(task: str, step: int, f1: float, *, ref_done: bool = False, pred_done: bool | None = False) -> dict:
    return {
        "task_id": task,
        "step_idx": step,
        "source_group": task[0],
        "bucket": step_bucket(step),
        "command_f1": f1,
        "command_precision": f1,
        "command_recall": f1,
        "first_cmd_exact": f1 == 1.0,
        "valid_json": True,
        "termagent_parse_ok": True,
        "schema_valid": f1 > 0,
        "has_analysis": True,
        "has_plan": False,
        "ref_task_complete": ref_done,
        "pred_task_complete": pred_done,
        "ref_command_units": ["a"],
        "pred_command_units": ["a", "b"],
    }


def test_summary_of_four_steps() -> None:
    rows = [
        _row("a1", 0, 1.0),
        _row("a1", 1, 0.5, pred_done=True),  # premature: the reference goes on
        _row("b1", 0, 0.0, ref_done=True, pred_done=None),
        _row("b1", 5, 0.25, ref_done=True, pred_done=True),
    ]
    summary = summarize(rows)
    # mean F1 = 1.75 / 4 = 0.4375
    assert summary["score"] == 43.75 and summary["avg_command_f1"] == 0.4375
    assert (summary["steps"], summary["tasks"]) == (4, 2)
    assert summary["first_cmd_exact_pct"] == 25.0 and summary["schema_valid_pct"] == 75.0
    assert summary["premature_complete_rate_pct"] == 50.0  # 1 of the 2 steps whose reference is not done
    assert summary["complete_true_recall_pct"] == 50.0  # 1 of the 2 steps whose reference is done
    assert summary["avg_pred_cmds"] == 2.0
    assert summary["by_source_group"]["a"] == {"steps": 2, "avg_command_f1": 0.75, "first_cmd_exact_pct": 50.0}
    assert summary["by_bucket"] == {
        "early": {"steps": 3, "avg_command_f1": 0.5},
        "late": {"steps": 1, "avg_command_f1": 0.25},
    }
