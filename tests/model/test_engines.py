"""Engine choice (auto and explicit), the CLI flags, the replay engine, and the step loop over it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from openai_stub_server import MODEL, StubServer

from termagent.cli.engine_options import (
    add_engine_arguments,
    engine_from_args,
    instructions_from_args,
    options_from_args,
)
from termagent.errors import TermagentError
from termagent.model.conversation import Conversation, load_instructions
from termagent.model.engines.auto import SEED_MODEL, EngineOptions, create_engine
from termagent.model.engines.base import DecodingSettings
from termagent.model.engines.replay import ReplayEngine
from termagent.model.step import BadRepliesError, next_action

GOOD = json.dumps({"analysis": "a", "plan": "p", "commands": [{"keystrokes": "ls\n", "duration": 0.1}]})


def _replay_file(tmp_path: Path, replies: list[str]) -> Path:
    path = tmp_path / "replies.jsonl"
    path.write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies))
    return path


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    return parser.parse_args(argv)


def test_flag_defaults_are_the_card_settings_and_the_seed_model() -> None:
    options = options_from_args(_parse([]))
    assert options == EngineOptions()
    assert options.model == SEED_MODEL == "LLM-OS-Models/gemma-4-E4B-Terminal-SFT-Native-Liquid-1Epoch"
    assert options.settings == DecodingSettings(temperature=0.0, top_p=1.0, max_tokens=1024, constrained=True)


def test_flags_reach_the_options() -> None:
    args = _parse(
        [
            "--engine",
            "vllm",
            "--model",
            "m",
            "--base-url",
            "http://h:1/v1",
            "--api-key",
            "k",
            "--temperature",
            "0.3",
            "--top-p",
            "0.8",
            "--max-tokens",
            "64",
            "--max-model-len",
            "4096",
            "--gpu-memory-utilization",
            "0.5",
            "--tensor-parallel-size",
            "4",
            "--no-constrained",
        ]
    )
    assert options_from_args(args) == EngineOptions(
        kind="vllm",
        model="m",
        base_url="http://h:1/v1",
        api_key="k",
        settings=DecodingSettings(temperature=0.3, top_p=0.8, max_tokens=64, constrained=False),
        max_model_len=4096,
        gpu_memory_utilization=0.5,
        tensor_parallel_size=4,
    )


def test_prompt_template_flag(tmp_path: Path) -> None:
    assert instructions_from_args(_parse([])) == load_instructions()
    template = tmp_path / "instructions.txt"
    template.write_text("Answer in JSON, please.")
    assert instructions_from_args(_parse(["--prompt-template", str(template)])) == "Answer in JSON, please."


def test_auto_picks_the_server_when_it_answers(stub_server: StubServer) -> None:
    choice = engine_from_args(_parse(["--base-url", stub_server.base_url, "--model", MODEL]))
    assert choice.engine.name == "openai"
    assert choice.reason.startswith(f"engine: openai (a server listens at {stub_server.base_url})\n  vLLM at ")
    assert (
        "structured output: response_format json_schema; context: 4096 (max_model_len of /v1/models)" in choice.reason
    )


def test_auto_falls_back_to_transformers_without_a_server(closed_port_url: str, tiny_gemma_dir) -> None:
    choice = create_engine(EngineOptions(base_url=closed_port_url, model=str(tiny_gemma_dir)))
    assert choice.engine.name == "transformers"  # this machine has no vllm and no GPU
    assert choice.reason.startswith(f"engine: transformers (in-process: no server at {closed_port_url}")


def test_explicit_replay_and_its_errors(tmp_path: Path) -> None:
    choice = create_engine(EngineOptions(kind="replay", replay_path=str(_replay_file(tmp_path, [GOOD]))))
    assert choice.engine.complete([]).text == GOOD
    with pytest.raises(TermagentError, match="has no more replies"):
        choice.engine.complete([])
    with pytest.raises(TermagentError, match="needs --replay FILE"):
        create_engine(EngineOptions(kind="replay"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"reply": "x"}\n{"text": "y"}\n')
    with pytest.raises(TermagentError, match=r"bad.jsonl:2: expected an object"):
        ReplayEngine(bad)


def test_step_loop_corrects_a_bad_reply_then_accepts_a_good_one(tmp_path: Path) -> None:
    engine = ReplayEngine(_replay_file(tmp_path, ["I think I should run ls", GOOD]))
    conversation = Conversation("t", "s")
    streamed: list[str] = []
    outcome = next_action(engine, conversation, on_token=streamed.append)
    assert outcome.action.commands[0].keystrokes == "ls\n"
    assert [a.result.ok for a in outcome.attempts] == [False, True]
    assert streamed == ["I think I should run ls", GOOD]
    contents = [m["content"] for m in conversation.messages]
    assert contents[1] == "I think I should run ls"
    assert contents[2].startswith("Your previous reply could not be used:\n- no JSON object found in the reply")
    assert contents[3] == GOOD


def test_step_loop_gives_up_after_n_bad_replies(tmp_path: Path) -> None:
    engine = ReplayEngine(_replay_file(tmp_path, ["no", '{"answer": 1}', "<think>still thinking", GOOD]))
    with pytest.raises(BadRepliesError) as caught:
        next_action(engine, Conversation("t", "s"), max_bad_replies=3)
    assert str(caught.value).startswith("the model gave 3 unusable replies in a row; the last one: the reply is empty")


def test_step_loop_reports_compaction(tmp_path: Path) -> None:
    engine = ReplayEngine(
        _replay_file(tmp_path, [GOOD] * 40), max_model_len=1400, settings=DecodingSettings(max_tokens=200)
    )
    conversation = Conversation("t", "s")
    compactions = []
    for step in range(40):
        compactions += next_action(engine, conversation).compactions
        conversation.add_observation(f"step {step} " + "o" * 200)
    assert compactions and all(c.tokens_after <= 1400 - 200 - 16 for c in compactions)
