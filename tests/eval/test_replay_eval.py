"""`termagent eval replay` end to end: records, prompts, engines (replay, OpenAI stub, tiny Gemma 4), files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from project_paths import EXAMPLES

from termagent.cli.main import main
from termagent.errors import ConfigurationError
from termagent.eval.records import load_records, messages_from_prompt
from termagent.eval.replay_eval import build_messages
from termagent.model.conversation import load_instructions

DATA = EXAMPLES / "replay" / "tb2_mini.jsonl"
REPLIES = EXAMPLES / "replay" / "tb2_mini.replies.jsonl"
STEPS = 16


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_the_example_set_scores_100_when_the_replies_are_the_references(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert (
        main(["eval", "replay", str(DATA), "--engine", "replay", "--replay", str(REPLIES), "--output-dir", str(out)])
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["score"] == 100.0 and summary["first_cmd_exact_pct"] == 100.0
    assert (summary["steps"], summary["tasks"]) == (STEPS, 4)
    assert summary["valid_json_pct"] == summary["termagent_parse_ok_pct"] == summary["schema_valid_pct"] == 100.0
    assert summary["premature_complete_rate_pct"] == 0.0 and summary["complete_true_recall_pct"] == 100.0
    assert summary["prompt_rebuilt_pct"] == 100.0
    assert set(summary["by_bucket"]) == {"early", "mid", "late"}
    assert {"avg_precision", "avg_recall", "sec_per_step", "by_source_group"} <= summary.keys()
    rows = _lines(out / "steps.jsonl")
    assert len(rows) == STEPS and all(row["command_f1"] == 1.0 for row in rows)
    assert "score (100 x mean step F1) │ 100.0" in capsys.readouterr().out


def test_replies_that_are_not_json_score_zero(tmp_path) -> None:
    replies = _write(tmp_path / "replies.jsonl", [{"reply": "I would run ls, I think."}] * STEPS)
    out = tmp_path / "out"
    assert (
        main(["eval", "replay", str(DATA), "--engine", "replay", "--replay", str(replies), "--output-dir", str(out)])
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["score"] == 0.0 and summary["valid_json_pct"] == 0.0 and summary["termagent_parse_ok_pct"] == 0.0
    assert summary["premature_complete_rate_pct"] == 0.0


def test_limit_takes_the_first_records(tmp_path) -> None:
    out = tmp_path / "out"
    main(
        [
            "eval",
            "replay",
            str(DATA),
            "--engine",
            "replay",
            "--replay",
            str(REPLIES),
            "--output-dir",
            str(out),
            "--limit",
            "3",
        ]
    )
    assert [row["step_idx"] for row in _lines(out / "steps.jsonl")] == [0, 1, 2]


def test_failed_requests_are_reported_and_resume_asks_only_for_them(tmp_path, stub_server, capsys) -> None:
    reference = _lines(REPLIES)[0]["reply"]
    stub_server.state.replies = [reference]
    # The first two requests fail (a 404 is neither retried nor taken for a dialect the server lacks,
    # as a 400 before any success is).
    stub_server.state.statuses = [404, 404]
    out = tmp_path / "out"
    common = [
        "eval",
        "replay",
        str(DATA),
        "--engine",
        "openai",
        "--base-url",
        stub_server.base_url,
        "--model",
        "test/tiny-model",
        "--output-dir",
        str(out),
        "--concurrency",
        "4",
    ]
    assert main(common) == 1
    assert "step failed" in capsys.readouterr().err
    assert len(_lines(out / "steps.jsonl")) == STEPS - 2
    assert json.loads((out / "summary.json").read_text())["failed_steps"] == 2

    asked_before = len(stub_server.state.chat_bodies())
    assert main(common + ["--resume"]) == 0
    assert len(stub_server.state.chat_bodies()) - asked_before == 2
    rows = _lines(out / "steps.jsonl")
    assert sorted((row["task_id"], row["step_idx"]) for row in rows) == sorted(r.key for r in load_records(DATA))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == STEPS and summary["failed_steps"] == 0 and summary["generated_steps"] == 2
    # The first step's reference was replied everywhere: that step is exact, the others mostly not.
    first = next(row for row in rows if (row["task_id"], row["step_idx"]) == ("count-csv-rows", 0))
    assert first["command_f1"] == 1.0 and 0 < summary["score"] < 100


def test_the_openai_engine_receives_the_rebuilt_prompt(tmp_path, stub_server) -> None:
    stub_server.state.replies = ["{}"]
    main(
        [
            "eval",
            "replay",
            str(DATA),
            "--engine",
            "openai",
            "--base-url",
            stub_server.base_url,
            "--model",
            "test/tiny-model",
            "--output-dir",
            str(tmp_path),
            "--limit",
            "2",
            "--concurrency",
            "1",
        ]
    )
    first, second = stub_server.state.chat_bodies()
    record = load_records(DATA, limit=2)[1]
    assert second["messages"] == build_messages(record, load_instructions())[0]
    assert "<think>" not in json.dumps(second["messages"])
    assert first["messages"][0]["content"].startswith(load_instructions().rstrip())


@pytest.mark.parametrize("prompt", ["record", "termagent"])
def test_the_prompt_option_chooses_whose_instructions(tmp_path, stub_server, prompt: str) -> None:
    [row] = _lines(DATA)[:1]
    first = row["messages"][0]["content"]
    row["messages"][0]["content"] = "The record's own words." + first[first.find("\n\nTask Description:\n") :]
    data = _write(tmp_path / "data.jsonl", [row])
    stub_server.state.replies = ["{}"]
    main(
        [
            "eval",
            "replay",
            str(data),
            "--engine",
            "openai",
            "--base-url",
            stub_server.base_url,
            "--model",
            "test/tiny-model",
            "--output-dir",
            str(tmp_path / "out"),
            "--prompt",
            prompt,
        ]
    )
    [body] = stub_server.state.chat_bodies()
    sent = body["messages"][0]["content"]
    if prompt == "record":
        assert sent == row["messages"][0]["content"]
    else:
        assert sent == first  # the examples were built with termagent's instructions


def test_resume_with_the_replay_engine_is_refused(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    args = ["eval", "replay", str(DATA), "--engine", "replay", "--replay", str(REPLIES), "--output-dir", str(out)]
    main(args + ["--limit", "2"])
    assert main(args + ["--resume"]) == 2
    assert "plays its replies in order" in capsys.readouterr().err


@pytest.mark.slow
def test_the_tiny_local_model_runs_the_example_set(tmp_path, tiny_gemma_dir) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "eval",
            "replay",
            str(DATA),
            "--engine",
            "transformers",
            "--model",
            str(tiny_gemma_dir),
            "--max-tokens",
            "64",
            "--limit",
            "2",
            "--output-dir",
            str(out),
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    # Random weights, but constrained decoding: the replies are valid actions whatever they say.
    assert summary["steps"] == 2 and summary["schema_valid_pct"] == 100.0 and summary["valid_json_pct"] == 100.0
    assert all(row["completion_tokens"] <= 64 for row in _lines(out / "steps.jsonl"))


def test_record_prompts_are_rebuilt_byte_for_byte() -> None:
    records = load_records(DATA)
    record = records[2]  # its history has a reply with thinking
    messages, rebuilt = build_messages(record, None)
    assert rebuilt and len(messages) == len(record.messages) == 5
    assert messages == record.messages  # the examples were written by termagent's Conversation


def test_termagent_instructions_replace_only_the_first_turns_instructions() -> None:
    record = load_records(DATA)[1]
    with_record, _ = build_messages(record, None)
    swapped, _ = build_messages(record, "Be brief.")
    assert swapped[0]["content"].startswith("Be brief.\n\nTask Description:\nCount the data rows")
    assert swapped[0]["content"].endswith(
        with_record[0]["content"][with_record[0]["content"].find("\n\nCurrent terminal state") :]
    )
    assert swapped[1:] == with_record[1:]


def test_history_thinking_is_removed_from_records() -> None:
    think = {"role": "assistant", "content": '<think>secret</think>\n{"commands": []}'}
    record = _record(
        [
            {
                "role": "user",
                "content": "Task Description:\nx\n\nCurrent terminal state:\nCurrent Terminal Screen:\n$ ",
            },
            think,
            {"role": "user", "content": "New Terminal Output:\n$ "},
        ]
    )
    messages, rebuilt = build_messages(record, None)
    assert rebuilt and messages[1]["content"] == '{"commands": []}'


def test_a_record_without_the_headers_is_sent_as_recorded() -> None:
    record = _record([{"role": "system", "content": "Return JSON."}, {"role": "user", "content": "list files"}])
    assert build_messages(record, "ignored") == (record.messages, False)


def _record(messages: list[dict]):
    from termagent.eval.records import parse_record

    return parse_record({"task_id": "t", "step_idx": 0, "messages": messages, "ref_commands": []}, "test")


def test_a_flattened_prompt_is_split_into_turns() -> None:
    prompt = 'USER:\nTask Description:\nx\n\nASSISTANT:\n{"a": 1}\n\nUSER:\nNew Terminal Output:\n$ '
    assert messages_from_prompt(prompt) == [
        {"role": "user", "content": "Task Description:\nx"},
        {"role": "assistant", "content": '{"a": 1}'},
        {"role": "user", "content": "New Terminal Output:\n$ "},
    ]
    assert messages_from_prompt("just text") == [{"role": "user", "content": "just text"}]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", ":1: not a JSON line"),
        ('{"task_id": "t", "step_idx": 0, "ref_commands": []}', "missing messages or prompt"),
        ('{"task_id": "t", "prompt": "x"}', "missing step_idx, ref_commands"),
        ('{"task_id": "t", "step_idx": 0, "prompt": "x", "ref_commands": "ls"}', "ref_commands must be a list"),
        ('{"task_id": "t", "step_idx": 0, "messages": [], "ref_commands": []}', "non-empty list"),
    ],
)
def test_bad_records_name_their_line(tmp_path, line: str, message: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ConfigurationError, match=message):
        load_records(path)


def test_a_step_recorded_twice_is_an_error(tmp_path) -> None:
    row = {"task_id": "t", "step_idx": 0, "prompt": "x", "ref_commands": []}
    with pytest.raises(ConfigurationError, match=":2: step 0 of task t appears twice"):
        load_records(_write(tmp_path / "data.jsonl", [row, row]))


def test_resume_after_a_kill_mid_line_asks_for_that_step_again(tmp_path, stub_server) -> None:
    stub_server.state.replies = [_lines(REPLIES)[0]["reply"]]
    out = tmp_path / "out"
    common = [
        "eval",
        "replay",
        str(DATA),
        "--engine",
        "openai",
        "--base-url",
        stub_server.base_url,
        "--model",
        "test/tiny-model",
        "--output-dir",
        str(out),
        "--concurrency",
        "1",
    ]
    assert main(common) == 0
    steps = out / "steps.jsonl"
    text = steps.read_text(encoding="utf-8")
    steps.write_text(text[:-30], encoding="utf-8")  # the last line cut mid-write, as a kill leaves it
    asked_before = len(stub_server.state.chat_bodies())
    assert main(common + ["--resume"]) == 0
    assert len(stub_server.state.chat_bodies()) - asked_before == 1
    rows = _lines(steps)  # every line whole: the new row did not land on the cut one
    assert sorted((row["task_id"], row["step_idx"]) for row in rows) == sorted(r.key for r in load_records(DATA))
